"""`chatd bench` runs against a real server and accounts for every message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from .conftest import ChatdServer, Team

BACKENDS = ("sqlite",)  # the bench of the embedded default


def bench(server: ChatdServer, *args: str) -> dict[str, object]:
    assert server.proc is not None
    done = subprocess.run(
        [sys.executable, "-m", "chatd", "bench", "--url", server.url, "--json",
         "--pid", str(server.proc.pid), *args],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_fan_out_over_socket_and_floor(server: ChatdServer, team: Team) -> None:
    report = bench(server, "--token", team.admin_token, "--members", "4", "--senders", "2",
                   "--rate", "40", "--duration", "1", "--floor")  # fmt: skip
    chatd = report["chatd"]
    assert isinstance(chatd, dict)
    assert chatd["sent"] == chatd["acked"] == 40
    assert chatd["deliveries"] == 40 * 4
    assert chatd["lost"] == chatd["duplicated"] == chatd["errors"] == 0
    cpu = chatd["server_cpu_s"]
    assert isinstance(cpu, float) and 0 < cpu < 60  # the server's own CPU, read from /proc
    assert chatd["cpu_us_per_delivery"] == round(cpu / (40 * 4) * 1e6, 2)
    assert chatd["cpu_us_per_message"] == round(cpu / 40 * 1e6, 2)
    latency = chatd["latency_ms"]
    assert isinstance(latency, dict)
    assert 0 <= latency["p50"] <= latency["p99"] <= latency["max"] < 10_000
    assert isinstance(chatd["server_rss_mib"], float) and 10 < chatd["server_rss_mib"] < 4096
    floor = report["floor"]
    assert isinstance(floor, dict) and floor["deliveries"] == 40 * 4
    assert floor["lost"] == 0
    # /proc counts CPU in 10 ms ticks: 160 deliveries of the bare floor may take none
    floor_cpu = floor["cpu_us_per_delivery"]
    assert isinstance(floor_cpu, float) and floor_cpu >= 0
    if floor_cpu > 0:
        assert report["cpu_per_delivery_ratio"] == round(
            chatd["cpu_us_per_delivery"] / floor_cpu, 2
        )


def test_closed_loop_sender(server: ChatdServer, team: Team) -> None:
    report = bench(server, "--token", team.admin_token, "--members", "1", "--senders", "1",
                   "--closed", "--duration", "1")  # fmt: skip
    chatd = report["chatd"]
    assert isinstance(chatd, dict)
    assert chatd["sent"] == chatd["acked"] > 10  # one at a time, each after its ack
    assert chatd["unacknowledged"] == 0 and chatd["lost"] == 0


def test_persisted_sends_over_http(server: ChatdServer, team: Team) -> None:
    report = bench(server, "--token", team.admin_token, "--members", "3", "--senders", "3",
                   "--rate", "30", "--duration", "1", "--http")  # fmt: skip
    chatd = report["chatd"]
    assert isinstance(chatd, dict)
    assert chatd["acked"] == 30 and chatd["lost"] == 0
    assert chatd["deliveries"] == 30 * 3  # persisted over HTTP, fanned out to every socket
    ack = chatd["ack_ms"]
    assert isinstance(ack, dict) and 0 < ack["p50"] <= ack["p99"] <= ack["max"] < 10_000


def test_idle_sockets_report_memory(server: ChatdServer, team: Team) -> None:
    report = bench(server, "--token", team.admin_token, "--idle", "50")
    idle = report["idle"]
    assert isinstance(idle, dict)
    assert idle["idle_sockets"] == 50
    per, total = idle["rss_kib_per_socket"], idle["server_rss_mib"]
    assert isinstance(per, float) and isinstance(total, float)
    # The growth over 50 sockets (memory freed by earlier benches may be reused: it can be
    # near 0, never more than the whole process, nor a leak of 256 KiB a socket).
    assert per * 50 <= total * 1024 and per < 256


def test_seed_then_time_reads(tmp_path: Path) -> None:
    seeded = subprocess.run(
        [sys.executable, "-m", "chatd", "bench", "--seed-messages", "500", "--data-dir",
         str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    made = json.loads(seeded.stdout)
    server = ChatdServer(tmp_path).start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "chatd", "bench", "--url", server.url, "--token",
             made["token"], "--queries"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        timed = json.loads(done.stdout)
        assert timed["conversation_messages"] == 500
        assert timed["conversations"] == 500
        assert timed["search_hits_per_page"] > 0
        assert timed["history_page_ms_median"] > 0
    finally:
        server.stop()


def test_load_sends_what_the_web_client_sends_and_both_floors_run(
    server: ChatdServer, team: Team
) -> None:
    """Each send carries a fresh client_id and a string ref, with a body of about 100
    characters; `--floor library` keeps the first round's websockets.broadcast floor."""
    report = bench(server, "--token", team.admin_token, "--members", "3", "--senders", "1",
                   "--rate", "20", "--duration", "1", "--floor", "library")  # fmt: skip
    chatd, floor = report["chatd"], report["floor"]
    assert isinstance(chatd, dict) and isinstance(floor, dict)
    assert chatd["acked"] == 20 and chatd["lost"] == 0
    assert floor["deliveries"] == 20 * 3 and floor["lost"] == 0
    headers = {"Authorization": f"Bearer {team.admin_token}"}
    channels = httpx.get(f"{server.url}/api/v1/channels", headers=headers).json()
    newest = max(channels["conversations"], key=lambda c: c["created_at"])
    page = httpx.get(
        f"{server.url}/api/v1/conversations/{newest['id']}/messages", headers=headers
    ).json()["messages"]
    assert len(page) == 20
    client_ids = {m["client_id"] for m in page}
    assert None not in client_ids and len(client_ids) == 20
    assert all(95 <= len(m["body"]) <= 100 for m in page)


def test_several_urls_spread_clients_and_check_seqs(server: ChatdServer, team: Team) -> None:
    """`--url` more than once (several nodes): here the same server twice, so every client
    is accounted for and the stored history must pass the seq check."""
    report = bench(server, "--url", server.url, "--token", team.admin_token, "--members", "4",
                   "--senders", "4", "--rate", "40", "--duration", "1")  # fmt: skip
    chatd = report["chatd"]
    assert isinstance(chatd, dict)
    assert chatd["sent"] == chatd["acked"] == 40
    assert chatd["lost"] == chatd["duplicated"] == 0
    assert report["seq_check"] == {"stored": 40, "gapless": True, "passed": True}
