"""`chatd export` / `chatd import`: a live service out to one archive and into a new one.

The source is a real server holding every kind of record; the export runs while a sender
keeps writing; the import goes into a fresh data directory that a second server then serves,
where people sign in with their old passwords and find everything where it was.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import tarfile
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from chatd.cli import main
from chatd.config import load
from chatd.services import archive
from chatd.services.datadir import prepare_data_dir
from chatd.store import archive as archive_store

from .conftest import PASSWORD, ChatdServer, Team, backend_env, backend_vars, start_server

# Reviewed: the tables an archive carries. A new table fails `test_every_table_is_reviewed`
# until it is added here or to `archive.EXCLUDED` (with its reason).
EXPORTED = {
    "users", "invites", "conversations", "members", "messages", "mentions", "blobs", "files",
    "message_files", "reactions", "webhooks", "commands", "outgoing_hooks",
    "notify_keys", "push_subscriptions", "email_digests", "avatars",
}  # fmt: skip


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def archive_rows(path: Path) -> dict[str, list[list[Any]]]:
    """Every table's rows in an archive, sorted, for comparing two archives."""
    found: dict[str, list[list[Any]]] = {}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            if member.name.startswith("tables/"):
                stream = tar.extractfile(member)
                assert stream is not None
                rows = [archive.decode_row(line, member.name) for line in stream]
                found.setdefault(member.name.split("/")[1], []).extend(rows)
    return {name: sorted(rows, key=repr) for name, rows in found.items()}


def test_every_table_is_reviewed(tmp_path: Path) -> None:
    config = load(None, {}, {"storage.data_dir": str(tmp_path)})
    conn = sqlite3.connect(prepare_data_dir(config))
    try:
        schema = archive_store.tables(conn)
    finally:
        conn.close()
    carried = {t.name for t in archive.carried(schema)}
    assert carried - EXPORTED == set(), "new tables: add them to EXPORTED or archive.EXCLUDED"
    assert {t.name for t in schema if not t.derived} == carried | (
        set(archive.EXCLUDED) & {t.name for t in schema}
    )
    assert "search_trigram" not in {t.name for t in schema}  # in its own file: search.db


@pytest.fixture(scope="module")
def source(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Any:
    """A running server on each backend, the one exported from."""
    srv = start_server(
        tmp_path_factory.mktemp("source"),
        auth_default_channels="",
        **backend_env(request, backend),
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def made(source: ChatdServer) -> dict[str, Any]:
    return fill(source)


def target_env(request: pytest.FixtureRequest, backend: str, data_dir: Path) -> dict[str, str]:
    """The settings of an empty service on `backend` (a fresh database on PostgreSQL)."""
    wanted = os.environ.get("CHATD_TEST_BACKENDS")
    if wanted and backend not in wanted.split(","):
        pytest.skip(f"CHATD_TEST_BACKENDS leaves out {backend}")
    return {**backend_vars(request, backend), "CHATD_STORAGE_DATA_DIR": str(data_dir)}


def fill(server: ChatdServer) -> dict[str, Any]:
    """One of everything: users of each state, three kinds of conversation, replies, edits,
    tombstones, reactions, pins, mentions, read markers, a file attached twice."""
    team = Team(server)
    ann, ann_token = team.user("ann", "Ann")
    bob, bob_token = team.user("bob")
    gone, _ = team.user("gone")
    with server.client(team.admin_token) as admin:
        assert admin.patch(f"/api/v1/admin/users/{gone['id']}", json={"active": False}).is_success
        assert admin.post("/api/v1/admin/invites", json={"max_uses": 3}).status_code == 201
        assert admin.post("/api/v1/admin/bots", json={"username": "deploy"}).status_code == 201
    with server.client(ann_token) as http, server.client(bob_token) as bob_http:
        channel = http.post(
            "/api/v1/conversations",
            json={"kind": "channel", "name": "General", "topic": "all", "members": [bob["id"]]},
        ).json()["conversation"]
        group = http.post(
            "/api/v1/conversations", json={"kind": "group", "name": "g", "members": [bob["id"]]}
        ).json()["conversation"]
        direct = http.post(
            "/api/v1/conversations", json={"kind": "direct", "members": [bob["id"]]}
        ).json()["conversation"]
        hook = http.post(f"/api/v1/conversations/{channel['id']}/webhooks", json={"name": "ci"})
        assert hook.status_code == 201, hook.text
        upload = http.post("/api/v1/files", files={"file": ("a.bin", bytes(range(256)) * 9)})
        file = upload.json()["file"]
        url = f"/api/v1/conversations/{channel['id']}/messages"
        first = http.post(url, json={"body": "hello @bob", "file_ids": [file["id"]]}).json()
        reply = bob_http.post(url, json={"body": "hi", "reply_to": first["message"]["id"]})
        edited = http.post(url, json={"body": "tpyo", "client_id": "c-1"}).json()["message"]
        assert http.patch(f"/api/v1/messages/{edited['id']}", json={"body": "typo"}).is_success
        doomed = http.post(url, json={"body": "oops"}).json()["message"]
        assert http.delete(f"/api/v1/messages/{doomed['id']}").status_code == 204
        mid = first["message"]["id"]
        assert bob_http.put(f"/api/v1/messages/{mid}/reactions/👍").is_success
        assert http.put(f"/api/v1/messages/{mid}/pin").is_success
        assert bob_http.post(f"/api/v1/conversations/{channel['id']}/read", json={"seq": 2})
        for conv in (group, direct):
            http.post(f"/api/v1/conversations/{conv['id']}/messages", json={"body": "private"})
    assert reply.status_code == 201
    hook_path = "/hooks/" + hook.json()["webhook"]["url"].rsplit("/hooks/", 1)[1]
    assert direct["created_by"] == ann["id"]  # who opened it (issue 15, item 15)
    return {"team": team, "ann_token": ann_token, "channel": channel, "file": file,
            "hook": hook_path, "direct": direct}  # fmt: skip


def keep_sending(server: ChatdServer, token: str, conv: str, stop: threading.Event) -> None:
    with server.client(token) as http:
        while not stop.is_set():
            assert http.post(f"/api/v1/conversations/{conv}/messages", json={"body": "more"})


@pytest.mark.parametrize("into", ["sqlite", "postgres"])
def test_round_trip(
    source: ChatdServer,
    made: dict[str, Any],
    backend: str,
    into: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    """From each backend into each (SQLite to PostgreSQL is the documented way up): every
    row as it was (ids, seqs, times, hashes, password hashes), the export of the imported
    service the same rows again, and the imported service serves them."""
    target = tmp_path / "target"
    into_env = target_env(request, into, target)
    key = source.data_dir / "integrations.key"
    first, second = tmp_path / "one.tar.gz", tmp_path / "two.tar.gz"
    stop = threading.Event()
    sender = threading.Thread(
        target=keep_sending, args=(source, made["ann_token"], made["channel"]["id"], stop)
    )
    sender.start()
    try:
        code, out = cli("export", str(first), env=source.storage_env)
    finally:
        stop.set()
        sender.join()
    assert code == 0, out
    assert "messages:" in out and out.splitlines()[-1].startswith("exported ")
    assert header(first)["backend"] == backend
    rows = archive_rows(first)
    assert "sessions" not in rows and "search_trigram" not in rows
    # One snapshot: every conversation's last_seq is its highest message seq, gapless.
    columns = {t["name"]: t["columns"] for t in header(first)["tables"]}
    seqs: dict[str, list[int]] = {}
    conv_at, seq_at = columns["messages"].index("conversation_id"), columns["messages"].index("seq")
    for row in rows["messages"]:
        seqs.setdefault(row[conv_at], []).append(row[seq_at])
    for row in rows["conversations"]:
        last = row[columns["conversations"].index("last_seq")]
        assert sorted(seqs.get(row[0], [])) == list(range(1, last + 1))

    code, out = cli("import", str(first), env=into_env)
    assert code == 0, out
    assert out.splitlines()[-1].startswith("imported ")
    assert (target / "integrations.key").read_bytes() == key.read_bytes()
    code, out = cli("export", str(second), env=into_env)
    assert code == 0, out
    assert header(second)["backend"] == into
    assert archive_rows(second) == rows  # every id, seq, time, hash and password hash

    served = ChatdServer(target, into_env).start()
    try:
        check_served(served, made)
    finally:
        served.stop()
    code, out = cli("import", str(first), env=into_env)
    assert code == 1 and "not empty" in out


def header(path: Path) -> dict[str, Any]:
    with tarfile.open(path, "r:gz") as tar:
        stream = tar.extractfile(archive.HEADER)
        assert stream is not None
        value: dict[str, Any] = json.load(stream)
        return value


def check_served(server: ChatdServer, made: dict[str, Any]) -> None:
    assert server.setup_token is None  # not a new service
    with httpx.Client(base_url=server.url) as http:
        signed = http.post("/api/v1/auth/login", json={"username": "ann", "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        http.headers["Authorization"] = f"Bearer {signed.json()['token']}"
        conv = made["channel"]["id"]
        history = http.get(f"/api/v1/conversations/{conv}/messages", params={"after": 0}).json()
        first = history["messages"][0]
        assert first["body"] == "hello @bob" and first["seq"] == 1
        assert first["files"][0]["sha256"] == made["file"]["sha256"]
        assert first["reactions"][0]["emoji"] == "👍"
        assert [m["deleted"] for m in history["messages"][:4]] == [False, False, False, True]
        assert history["messages"][2]["edited_at"] is not None
        data = http.get(f"/api/v1/files/{made['file']['id']}").content
        assert data == bytes(range(256)) * 9
        found = http.get("/api/v1/search", params={"q": "typo"}).json()
        assert [m["id"] for m in found["messages"]] == [history["messages"][2]["id"]]
        direct = http.get(f"/api/v1/conversations/{made['direct']['id']}").json()
        assert direct["conversation"]["created_by"] == signed.json()["user"]["id"]  # ann's
        gone = http.post("/api/v1/auth/login", json={"username": "gone", "password": PASSWORD})
        assert gone.status_code == 401
        login = {"username": "admin", "password": PASSWORD}
        admin = http.post("/api/v1/auth/login", json=login).json()["token"]
        listed = http.get("/api/v1/admin/bots", headers={"Authorization": f"Bearer {admin}"})
        bots = listed.json()["users"]
        assert sorted(u["username"].split("-")[0] for u in bots) == ["ci", "deploy"]
        posted = httpx.post(server.url + made["hook"], json={"text": "still works"})
        assert posted.status_code == 200, posted.text  # the same URL, the same key


def test_refuses_a_cut_off_archive_and_leaves_nothing(source: ChatdServer, tmp_path: Path) -> None:
    whole = tmp_path / "whole.tar.gz"
    assert cli("export", str(whole), env=source.storage_env)[0] == 0
    raw = gzip.decompress(whole.read_bytes())
    cut = tmp_path / "cut.tar.gz"
    end = raw.index(archive.MANIFEST.encode())  # the manifest's header: cut just before it
    cut.write_bytes(gzip.compress(raw[:end]))
    target = tmp_path / "target"
    code, out = cli("import", str(cut), "--data-dir", str(target))
    assert code == 1 and "cut.tar.gz" in out, out
    assert not [p for p in (target / "files").rglob("*") if p.is_file()]
    code, out = cli("import", str(whole), "--data-dir", str(target))
    assert code == 0, out
    code, out = cli("import", str(tmp_path / "missing.tar.gz"), "--data-dir", str(target))
    assert code == 1 and "not a file" in out
    code, out = cli("export", str(whole), env=source.storage_env)
    assert code == 1 and "exists" in out
