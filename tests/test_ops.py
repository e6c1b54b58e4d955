"""Operations: metrics and dashboard, sd_notify READY, signals, backup and restore, logs."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from chatd.cli import main

from .conftest import ROOT, ChatdServer, Team, start_server
from .test_durability import all_messages

METRICS = [
    "chatd_open_sockets", "chatd_online_users", "chatd_messages_accepted_total",
    "chatd_events_delivered_total", "chatd_slow_socket_closes_total",
    "chatd_http_request_duration_seconds", "chatd_db_commit_seconds", "chatd_db_batch_size",
    "chatd_upload_bytes_total", "process_cpu_seconds_total", "process_resident_memory_bytes",
]  # fmt: skip


def exported(server: ChatdServer) -> set[str]:
    with server.client() as http:
        text = http.get("/metrics").text
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def test_metrics_are_exported(server: ChatdServer, team: Team) -> None:
    with server.client(team.admin_token) as http:
        cid = http.post("/api/v1/conversations", json={"kind": "group", "members": []}).json()
        http.post(f"/api/v1/conversations/{cid['conversation']['id']}/messages", json={"body": "x"})
        http.get("/api/v1/users/me")
    names = exported(server)
    for metric in METRICS:
        assert any(name == metric or name.startswith(metric + "_") for name in names), metric
    with server.client() as http:
        text = http.get("/metrics").text
    assert 'route="/api/v1/conversations/{id}/messages"' in text  # templates, never raw paths
    assert cid["conversation"]["id"] not in text


def write_batches(server: ChatdServer) -> float:
    """How many write batches the server has committed (chatd_db_batch_size's count)."""
    with server.client() as http:
        text = http.get("/metrics").text
    found = re.search(r"^chatd_db_batch_size_count (\S+)$", text, re.MULTILINE)
    assert found, text
    return float(found.group(1))


def test_readyz_adds_no_write(server: ChatdServer) -> None:
    """/readyz is polled every second: it used to queue a probe write on each call (issue 15,
    item 7). Fifty calls now commit nothing; a background heartbeat (PostgreSQL's node
    registry beats every 2 s) may add one batch while they run, never fifty."""
    before = write_batches(server)
    with server.client() as http:
        for _ in range(50):
            assert http.get("/readyz").status_code == 200
    assert write_batches(server) - before <= 1


def test_metrics_only_from_metrics_networks(tmp_path: Path) -> None:
    """`server.metrics_networks`: others get 404 in the envelope; behind a trusted proxy the
    forwarded address is the one that counts (issue 15, item 7)."""
    server = start_server(
        tmp_path, server_trusted_proxies="127.0.0.1", server_metrics_networks="192.0.2.0/24"
    )
    try:
        with server.client() as http:
            direct = http.get("/metrics")  # from 127.0.0.1, outside the networks
            assert direct.status_code == 404
            assert direct.json()["error"]["code"] == "not_found"
            outsider = http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
            assert outsider.status_code == 404
            inside = http.get("/metrics", headers={"X-Forwarded-For": "192.0.2.7"})
            assert inside.status_code == 200 and "chatd_open_sockets" in inside.text
            assert http.get("/healthz").status_code == 200
    finally:
        server.stop()


def test_dashboard_queries_only_exported_metrics(server: ChatdServer) -> None:
    dashboard = json.loads((ROOT / "packaging" / "grafana" / "chatd.json").read_text())
    names = exported(server)
    bases = {re.sub(r"_(bucket|sum|count|created|total)$", "", n) for n in names} | names
    queried = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for found in re.findall(r"\b((?:chatd|process)_[a-z_]+)", target["expr"]):
                queried.add(found)
    assert queried
    for metric in queried:
        assert metric in names or metric in bases, f"dashboard queries unknown metric {metric}"
    covered = {re.sub(r"_(bucket|sum|count|total)$", "", m) for m in queried}
    for metric in METRICS:
        assert re.sub(r"_total$", "", metric) in covered, f"no panel shows {metric}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ready_notification_after_port_accepts(tmp_path: Path) -> None:
    notify_path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.settimeout(30)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatd", "serve", "--port", str(port), "--data-dir",
         str(tmp_path / "data")],
        env={**os.environ, "NOTIFY_SOCKET": str(notify_path)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        message = listener.recv(256).decode()
        assert "READY=1" in message
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass  # the port already accepts when READY arrives
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        assert "STOPPING=1" in listener.recv(256).decode()
    finally:
        proc.kill()
        listener.close()


def test_sigterm_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    team = Team(server)
    _, token = team.user()
    with server.client(token) as http:
        cid = http.post("/api/v1/conversations", json={"kind": "group", "members": []}).json()[
            "conversation"
        ]["id"]
    acked: list[dict[str, Any]] = []
    stop = threading.Event()

    def sender() -> None:
        with server.client(token) as http:
            while not stop.is_set():
                try:
                    answer = http.post(
                        f"/api/v1/conversations/{cid}/messages", json={"body": "during"}
                    )
                except Exception:
                    return
                if answer.status_code == 201:
                    acked.append(answer.json()["message"])

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    assert server.stop(signal.SIGTERM) == 0
    stop.set()
    for thread in threads:
        thread.join(10)
    server.start()
    with server.client(token) as http:
        stored = {m["id"] for m in all_messages(http, cid)}
    assert acked and all(m["id"] in stored for m in acked)
    server.stop()


def test_backup_while_serving_then_restore(tmp_path: Path) -> None:
    server = start_server(tmp_path / "live")
    team = Team(server)
    _, token = team.user()
    blobs = {f"f{i}.bin": os.urandom(5000 + i) for i in range(3)}
    with server.client(token) as http:
        cid = http.post("/api/v1/conversations", json={"kind": "group", "members": []}).json()[
            "conversation"
        ]["id"]
        ids = []
        for name, data in blobs.items():
            ids.append(
                http.post("/api/v1/files", files={"file": (name, data, "x/y")}).json()["file"]["id"]
            )
        http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "files", "file_ids": ids})
        for i in range(50):
            http.post(f"/api/v1/conversations/{cid}/messages", json={"body": f"m{i}"})
        before = all_messages(http, cid)
    dest = tmp_path / "copy"
    result = CliRunner().invoke(main, ["backup", str(dest), "--data-dir", str(server.data_dir)])
    assert result.exit_code == 0, result.output
    assert "3 files" in result.output
    again = CliRunner().invoke(main, ["backup", str(dest), "--data-dir", str(server.data_dir)])
    assert again.exit_code != 0 and "not an empty directory" in again.output
    server.stop()
    restored = ChatdServer(dest).start()
    try:
        with restored.client(token) as http:
            after = all_messages(http, cid)
            assert [(m["id"], m["body"], m["seq"]) for m in after] == [
                (m["id"], m["body"], m["seq"]) for m in before
            ]
            for file_id, data in zip(ids, blobs.values(), strict=True):
                got = http.get(f"/api/v1/files/{file_id}")
                assert hashlib.sha256(got.content).digest() == hashlib.sha256(data).digest()
    finally:
        restored.stop()


def test_json_logs_one_event_per_line(tmp_path: Path) -> None:
    server = start_server(tmp_path, log_format="json")
    team = Team(server)
    with server.client(team.admin_token) as http:
        http.get("/api/v1/users/me")
    server.stop()
    events = []
    for line in server.output:
        if line.startswith(("chatd is running", "First run")):
            continue
        events.append(json.loads(line))
    access = [e for e in events if e.get("event") == "http"]
    assert access and {"method", "route", "status", "ms", "request_id"} <= set(access[-1])
    assert all(team.admin_token not in json.dumps(e) for e in events)


def test_cli_reference_is_current() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    import cli_docs

    assert (ROOT / "docs" / "cli.md").read_text() == cli_docs.render(), "run tools/cli_docs.py"
