"""Admin commands through click's CliRunner, on a data directory a server also uses."""

from __future__ import annotations

import time
from pathlib import Path

from click.testing import CliRunner

from chatd.cli import main, parse_duration

from .conftest import PASSWORD, start_server


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.output


def test_user_commands(tmp_path: Path) -> None:
    data = str(tmp_path)
    code, out = run(
        "user",
        "add",
        "Alice",
        "--admin",
        "--display-name",
        "Alice A",
        "--password-stdin",
        "--data-dir",
        data,
        stdin=PASSWORD + "\n",
    )
    assert code == 0, out
    assert "created admin alice" in out
    code, out = run("user", "add", "bob", "--password-stdin", "--data-dir", data, stdin="short\n")
    assert code == 1
    assert "password" in out
    code, out = run(
        "user", "add", "bob", "--password-stdin", "--data-dir", data, stdin=PASSWORD + "\n"
    )
    assert code == 0
    code, out = run(
        "user", "add", "BOB", "--password-stdin", "--data-dir", data, stdin=PASSWORD + "\n"
    )
    assert code == 1
    assert "taken" in out
    code, out = run("user", "list", "--data-dir", data)
    assert code == 0
    assert "alice" in out and "admin" in out and "bob" in out
    assert run("user", "disable", "bob", "--data-dir", data)[0] == 0
    assert "bob      " in run("user", "list", "--data-dir", data)[1]
    lines = [
        line
        for line in run("user", "list", "--data-dir", data)[1].splitlines()
        if line.startswith("bob")
    ]
    assert " no " in lines[0]
    assert run("user", "enable", "bob", "--data-dir", data)[0] == 0
    assert run("user", "disable", "nobody", "--data-dir", data)[0] == 1
    code, out = run(
        "user", "passwd", "bob", "--password-stdin", "--data-dir", data, stdin="a new password\n"
    )
    assert code == 0
    code, out = run("invite", "create", "--max-uses", "3", "--expires", "2d", "--data-dir", data)
    assert code == 0
    assert "/register#invite=" in out


def test_parse_duration() -> None:
    assert parse_duration("90") == 90
    assert parse_duration("30m") == 1800
    assert parse_duration("7d") == 604800


def test_disable_while_server_runs(tmp_path: Path) -> None:
    """`chatd user disable` in another process ends the user's sessions on a live server."""
    server = start_server(tmp_path)
    try:
        data = str(tmp_path)
        assert (
            run(
                "user",
                "add",
                "carol",
                "--password-stdin",
                "--data-dir",
                data,
                stdin=PASSWORD + "\n",
            )[0]
            == 0
        )
        with server.client() as http:
            token = http.post(
                "/api/v1/auth/login", json={"username": "carol", "password": PASSWORD}
            ).json()["token"]
        with server.client(token) as http:
            assert http.get("/api/v1/users/me").status_code == 200
            assert run("user", "disable", "carol", "--data-dir", data)[0] == 0
            deadline = time.monotonic() + 5
            while http.get("/api/v1/users/me").status_code != 401:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        assert server.stop() == 0
