"""Admin commands beside a running server: they leave its working files alone and refuse a
schema that a server of another version uses (services/datadir.py)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from .conftest import PASSWORD, ROOT, Team, start_server
from .pgcluster import PostgresCluster

# A chatd one schema version newer (shift 1: an extra migration that leaves a mark) or
# older (shift -1: the last migration unknown) than this one, for the length of one command.
OTHER_VERSION = """
import sys
from chatd.db import migrate, pgmigrate
real = migrate.migrations
shift = int(sys.argv[1])

def other(folder="migrations"):
    found = real(folder)
    if shift < 0:
        return found[:shift]
    n = len(found) + 1
    return found + [(n, f"{n:04d}_cli_was_here.sql", "CREATE TABLE cli_was_here (x INTEGER);")]

migrate.migrations = other
pgmigrate.migrations = other
from chatd.cli import main
main(sys.argv[2:], prog_name="chatd")
"""


def chatd(
    *args: str, env: dict[str, str], stdin: str = "", shift: int = 0
) -> subprocess.CompletedProcess[str]:
    """`chatd ARGS` in its own process, as an operator runs it beside the server."""
    prefix = ["-c", OTHER_VERSION, str(shift)] if shift else ["-m", "chatd"]
    return subprocess.run(
        [sys.executable, *prefix, *args],
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def schema(db: Path) -> tuple[int, list[str]]:
    with closing(sqlite3.connect(db)) as conn:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master ORDER BY name")]
    return version, tables


def test_upload_in_flight_survives_an_admin_command(tmp_path: Path) -> None:
    """Before: `chatd user add` wiped tmp/ and the server's half-received upload then failed
    with 500. The body is sent in two parts over a raw socket, the command runs in between."""
    server = start_server(tmp_path)
    try:
        token = Team(server).admin_token
        payload = os.urandom(256 * 1024)
        boundary = "chatdtestboundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="half.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        body = head + payload + f"\r\n--{boundary}--\r\n".encode()
        request = (
            f"POST /api/v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nConnection: close\r\n\r\n"
        ).encode()
        half = len(head) + len(payload) // 2
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(request + body[:half])
            tmp = tmp_path / "tmp"
            deadline = time.monotonic() + 10
            while not any(tmp.glob("*.part")):  # the server has begun writing the upload
                assert time.monotonic() < deadline, "no upload in progress in tmp/"
                time.sleep(0.01)
            env = {"CHATD_STORAGE_DATA_DIR": str(tmp_path)}
            made = chatd("user", "add", "dora", "--password-stdin", env=env, stdin=PASSWORD)
            assert made.returncode == 0, made.stderr
            assert any(tmp.glob("*.part")), "the admin command removed the upload in flight"
            sock.sendall(body[half:])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 201"), answer[:400]
    finally:
        assert server.stop() == 0
    assert "dora" in chatd("user", "list", env=env).stdout


def test_a_second_server_on_one_sqlite_directory_is_refused(tmp_path: Path) -> None:
    """Before: a second `chatd serve` on the same SQLite data directory wiped the first one's
    tmp/ (its uploads in flight) and ran a second writer beside it."""
    server = start_server(tmp_path)
    try:
        in_flight = tmp_path / "tmp" / "0123456789abcdef.part"
        in_flight.write_bytes(b"half an upload")
        second = subprocess.Popen(
            [sys.executable, "-m", "chatd", "serve", "--port", "0", "--data-dir", str(tmp_path)],
            env=server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        try:
            _, err = second.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            second.kill()
            second.communicate()
            raise AssertionError("a second server started on the same data directory") from None
        assert second.returncode != 0
        assert f"another chatd server is running on {tmp_path}" in err
        assert in_flight.read_bytes() == b"half an upload"
        with server.client() as http:
            assert http.get("/readyz").status_code == 200
    finally:
        assert server.stop() == 0
    again = start_server(tmp_path)  # the lock went with the first server
    assert again.stop() == 0


@pytest.mark.parametrize("shift", [1, -1], ids=["newer-cli", "older-cli"])
def test_cli_of_another_version_refuses_beside_a_running_server(tmp_path: Path, shift: int) -> None:
    server = start_server(tmp_path)
    db = tmp_path / "chatd.db"
    env = {"CHATD_STORAGE_DATA_DIR": str(tmp_path)}
    try:
        before = schema(db)
        answer = chatd("user", "list", env=env, shift=shift)
        assert answer.returncode != 0
        assert "a chatd server is running on" in answer.stderr
        assert f"schema version {before[0]}" in answer.stderr
        assert f"this chatd is for version {before[0] + shift}" in answer.stderr
        assert "refusing to touch the database" in answer.stderr
        assert schema(db) == before
        assert not (tmp_path / "backups").exists()  # not even the copy before an upgrade
        assert chatd("user", "list", env=env).returncode == 0  # the same version may
    finally:
        assert server.stop() == 0
    after_stop = chatd("user", "list", env=env, shift=shift)
    if shift > 0:  # with the server stopped, the newer chatd upgrades the database
        assert after_stop.returncode == 0, after_stop.stderr
        assert "cli_was_here" in schema(db)[1]
    else:  # and the older one still cannot use it
        assert after_stop.returncode != 0
        assert "newer than this chatd knows" in after_stop.stderr


def test_pg_cli_refuses_to_migrate_under_live_nodes(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    """On PostgreSQL a node may run on another machine: the node registry tells."""
    url = postgres.new_database()
    storage = {"storage_backend": "postgres", "storage_postgres_url": url}
    server = start_server(tmp_path / "node", **storage)
    env = {
        "CHATD_STORAGE_BACKEND": "postgres",
        "CHATD_STORAGE_POSTGRES_URL": url,
        "CHATD_STORAGE_DATA_DIR": str(tmp_path / "elsewhere"),  # not the node's directory
    }
    try:
        deadline = time.monotonic() + 10
        while not server.sql("SELECT name FROM nodes"):  # the node's first heartbeat
            assert time.monotonic() < deadline
            time.sleep(0.05)
        version = server.sql("SELECT max(version) FROM schema_version")[0][0]
        answer = chatd("user", "list", env=env, shift=1)
        assert answer.returncode != 0
        assert "chatd nodes are running on this database" in answer.stderr
        assert f"schema version {version}" in answer.stderr
        assert server.sql("SELECT max(version) FROM schema_version")[0][0] == version
        assert not server.sql("SELECT to_regclass('cli_was_here')")[0][0]
        assert chatd("user", "list", env=env).returncode == 0
    finally:
        assert server.stop() == 0
    # A clean stop leaves the registry at once: the upgrade goes through.
    assert chatd("user", "list", env=env, shift=1).returncode == 0
    assert server.sql("SELECT to_regclass('cli_was_here')")[0][0]
