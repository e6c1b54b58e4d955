"""Shared fixtures: a real chatd server in a subprocess on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .pgcluster import PostgresCluster

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


class ChatdServer:
    """`chatd serve` as a person runs it; stdout and stderr are collected for assertions."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = {**os.environ, "CHATD_LOG_LEVEL": "info", **(env or {})}
        self.env.pop("CHATD_CONFIG", None)
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.setup_token: str | None = None
        self.output: list[str] = []
        self._reader: threading.Thread | None = None

    def start(self, port: int = 0, timeout: float = 20) -> ChatdServer:
        self.output = []
        self.url = ""
        self.setup_token = None
        cmd = [sys.executable, "-m", "chatd", "serve", "--port", str(port)]
        cmd += ["--data-dir", str(self.data_dir)]
        self.proc = subprocess.Popen(
            cmd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                found = re.search(r"chatd is running at (\S+)/$", line.rstrip())
                if found:
                    self.url = found.group(1)
                token = re.search(r"/setup#token=(\S+) ", line)
                if token:
                    self.setup_token = token.group(1)
                if line.startswith("First run") or (self.url and "First run" not in line):
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=pump, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self.url and time.monotonic() < deadline and self.proc.poll() is None:
            ready.wait(0.05)
        if not self.url:
            self.stop()
            raise RuntimeError("chatd did not start:\n" + "".join(self.output))
        time.sleep(0.05)  # let the setup line arrive when there is one
        return self

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def log(self) -> str:
        return "".join(self.output)

    def wait_for_log(self, needle: str, since: int = 0, timeout: float = 15) -> str:
        """The log after `since` characters, once it holds `needle`: a line the server
        writes reaches `output` through the reader thread, a moment after the server acts."""
        deadline = time.monotonic() + timeout
        while needle not in self.log[since:]:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {needle!r} in the log:\n{self.log[since:][-1500:]}")
            time.sleep(0.02)
        return self.log[since:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        if self._reader is not None:
            self._reader.join(5)
        self.proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    @property
    def storage_env(self) -> dict[str, str]:
        """CHATD_STORAGE_* for an admin command working on this server's data."""
        found = {k: v for k, v in self.env.items() if k.startswith("CHATD_STORAGE_")}
        return {**found, "CHATD_STORAGE_DATA_DIR": str(self.data_dir)}

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """Rows of a query on the server's own database, whichever backend it runs on."""
        url = self.env.get("CHATD_STORAGE_POSTGRES_URL")
        if self.env.get("CHATD_STORAGE_BACKEND") == "postgres" and url:
            import psycopg

            with psycopg.connect(url) as conn:
                return list(conn.execute(query.encode()).fetchall())
        with contextlib.closing(sqlite3.connect(self.data_dir / "chatd.db")) as conn:
            return list(conn.execute(query).fetchall())

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


class Team:
    """An admin and helpers to make more people on one server."""

    def __init__(self, server: ChatdServer) -> None:
        self.server = server
        with server.client() as http:
            answer = http.post(
                "/api/v1/setup",
                json={
                    "setup_token": server.setup_token,
                    "username": "admin",
                    "password": PASSWORD,
                    "display_name": "The Admin",
                },
            )
            assert answer.status_code == 201, answer.text
            self.admin_token: str = answer.json()["token"]
            self.admin: dict[str, Any] = answer.json()["user"]
        self._count = 0

    def user(self, name: str | None = None, display_name: str = "") -> tuple[dict[str, Any], str]:
        """Create a member through the admin API and sign them in: (user, token)."""
        self._count += 1
        name = name or f"user{self._count}-{os.getpid()}"
        with self.server.client(self.admin_token) as http:
            made = http.post(
                "/api/v1/admin/users",
                json={"username": name, "password": PASSWORD, "display_name": display_name},
            )
            assert made.status_code == 201, made.text
            signed = http.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
            assert signed.status_code == 200, signed.text
        return signed.json()["user"], signed.json()["token"]


def start_server(tmp: Path, **env: str) -> ChatdServer:
    return ChatdServer(tmp, {f"CHATD_{k.upper()}": v for k, v in env.items()}).start()


# ---- storage backends ----------------------------------------------------------------
# Every module that uses the `server` fixture runs once per backend: on the embedded SQLite
# and on PostgreSQL (one throw-away cluster per test session, a fresh database per server).
# A module that tests something only one backend has sets `BACKENDS = ("sqlite",)`;
# CHATD_TEST_BACKENDS=sqlite (or postgres) narrows a local run.


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    wanted: tuple[str, ...] = getattr(metafunc.module, "BACKENDS", ("sqlite", "postgres"))
    only = os.environ.get("CHATD_TEST_BACKENDS")
    if only:
        wanted = tuple(name for name in wanted if name in only.split(","))
    metafunc.parametrize("backend", wanted, scope="module", indirect=True)


@pytest.fixture(scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster for the whole session (see tests/pgcluster.py)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail("the postgres tests need chatd[cluster]: pip install -e '.[test,cluster]'")
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


def backend_env(request: pytest.FixtureRequest, backend: str) -> dict[str, str]:
    """The settings that put a server on `backend` (a fresh database on PostgreSQL)."""
    if backend != "postgres":
        return {}
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return {"storage_backend": "postgres", "storage_postgres_url": cluster.new_database()}


def backend_vars(request: pytest.FixtureRequest, backend: str) -> dict[str, str]:
    """`backend_env` as the environment variables of a `ChatdServer`."""
    return {f"CHATD_{k.upper()}": v for k, v in backend_env(request, backend).items()}


def backend_flags(request: pytest.FixtureRequest, backend: str) -> dict[str, str]:
    """`backend_env` as `chatd.config.load` flags, for tests that start `Services` themselves."""
    return {k.replace("_", ".", 1): v for k, v in backend_env(request, backend).items()}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[ChatdServer]:
    """One server per test module and backend, registration open, short presence timers,
    no default channels (each test decides who shares a conversation with whom)."""
    srv = start_server(
        tmp_path_factory.mktemp("data"),
        auth_registration="open",
        auth_default_channels="",
        presence_away_after_s="2",
        presence_offline_grace_s="1",
        **backend_env(request, backend),
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def team(server: ChatdServer) -> Team:
    return Team(server)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (cert.pem, key.pem), per test module."""
    from .pushkit import make_cert  # cryptography: only the modules that use TLS load it

    return make_cert(tmp_path_factory.mktemp("tls"))
