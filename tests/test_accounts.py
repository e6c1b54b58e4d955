"""Setup, registration modes, sign-in, sessions, passwords and admin rules over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import PASSWORD, ChatdServer, Team, start_server


@pytest.fixture(scope="module")
def invite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatdServer]:
    """The default registration mode (invite) and a small login throttle."""
    srv = start_server(tmp_path_factory.mktemp("invite"), auth_login_max_failures="3")
    yield srv
    srv.stop()


def test_first_run_setup(invite_server: ChatdServer) -> None:
    with invite_server.client() as http:
        assert http.get("/api/v1/setup").json() == {"needed": True}
        assert invite_server.setup_token
        body = {"username": "Boss", "password": PASSWORD, "setup_token": "wrong"}
        wrong = http.post("/api/v1/setup", json=body)
        assert wrong.status_code == 403
        assert wrong.json()["error"]["code"] == "forbidden"
        bad = http.post(
            "/api/v1/setup",
            json={**body, "setup_token": invite_server.setup_token, "username": "no spaces"},
        )
        assert bad.status_code == 422
        assert "username" in bad.json()["error"]["fields"]
        made = http.post("/api/v1/setup", json={**body, "setup_token": invite_server.setup_token})
        assert made.status_code == 201, made.text
        assert made.json()["user"]["username"] == "boss"
        assert made.json()["user"]["role"] == "admin"
        again = http.post("/api/v1/setup", json={**body, "setup_token": invite_server.setup_token})
        assert again.status_code == 409
        assert http.get("/api/v1/setup").json() == {"needed": False}


def test_invite_registration(invite_server: ChatdServer) -> None:
    with invite_server.client() as http:
        admin = http.post("/api/v1/auth/login", json={"username": "boss", "password": PASSWORD})
        token = admin.json()["token"]
        new = {"username": "newbie", "password": PASSWORD}
        assert http.post("/api/v1/auth/register", json=new).status_code == 403
        assert http.post("/api/v1/auth/register", json={**new, "invite": "nope"}).status_code == 403
        made = http.post(
            "/api/v1/admin/invites",
            json={"max_uses": 1, "expires_in_s": 3600},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text
        invite = made.json()
        assert invite["max_uses"] == 1
        assert invite["url"] == f"{invite_server.url}/register#invite={invite['code']}"
        assert invite["expires_at"].endswith("Z")
        registered = http.post("/api/v1/auth/register", json={**new, "invite": invite["code"]})
        assert registered.status_code == 201, registered.text
        assert registered.json()["user"]["role"] == "member"
        used_up = http.post(
            "/api/v1/auth/register",
            json={"username": "second", "password": PASSWORD, "invite": invite["code"]},
        )
        assert used_up.status_code == 403
        member = registered.json()["token"]
        refused = http.post(
            "/api/v1/admin/invites", json={}, headers={"Authorization": f"Bearer {member}"}
        )
        assert refused.status_code == 403


def test_login_same_answer_and_throttle(invite_server: ChatdServer) -> None:
    with invite_server.client() as http:
        unknown = http.post("/api/v1/auth/login", json={"username": "ghost", "password": "x" * 9})
        wrong = http.post("/api/v1/auth/login", json={"username": "newbie", "password": "x" * 9})
        assert unknown.status_code == wrong.status_code == 401
        assert unknown.json() == wrong.json()
        http.post("/api/v1/auth/login", json={"username": "newbie", "password": "y" * 9})
        http.post("/api/v1/auth/login", json={"username": "newbie", "password": "z" * 9})
        blocked = http.post("/api/v1/auth/login", json={"username": "newbie", "password": PASSWORD})
        assert blocked.status_code == 429
        assert blocked.json()["error"]["code"] == "rate_limited"
        assert int(blocked.headers["Retry-After"]) >= 1


def test_login_throttle_per_ip(tmp_path: Path) -> None:
    """5x the per-username limit from one address, spread over many names, is refused too."""
    srv = start_server(tmp_path, auth_login_max_failures="2")  # 10 per IP
    try:
        with srv.client() as http:
            answers = [
                http.post("/api/v1/auth/login", json={"username": f"n{i}", "password": "x" * 9})
                for i in range(11)
            ]
        assert [a.status_code for a in answers[:10]] == [401] * 10  # each name failed once
        assert answers[10].status_code == 429
        assert int(answers[10].headers["Retry-After"]) >= 1
    finally:
        srv.stop()


def test_closed_and_open_registration(tmp_path: Path) -> None:
    closed = start_server(tmp_path / "closed", auth_registration="closed")
    try:
        with closed.client() as http:
            answer = http.post(
                "/api/v1/auth/register", json={"username": "a", "password": PASSWORD}
            )
            assert answer.status_code == 403
    finally:
        assert closed.stop() == 0
    opened = start_server(tmp_path / "open", auth_registration="open")
    try:
        with opened.client() as http:
            first = http.post(
                "/api/v1/auth/register", json={"username": "Ann", "password": PASSWORD}
            )
            assert first.status_code == 201
            taken = http.post(
                "/api/v1/auth/register", json={"username": "ann", "password": PASSWORD}
            )
            assert taken.status_code == 409
    finally:
        assert opened.stop() == 0


def test_tokens_are_hashed_at_rest_and_ids_random(server: ChatdServer, team: Team) -> None:
    user, token = team.user()
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", user["id"])
    raw = b""
    for name in ("chatd.db", "chatd.db-wal"):
        path = server.data_dir / name
        if path.exists():
            raw += path.read_bytes()
    for table in ("sessions", "users"):  # every value, as the database returns it
        for row in server.sql(f"SELECT * FROM {table}"):
            raw += b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
    assert token.encode() not in raw
    assert len(token) >= 22  # 128 bits or more
    hashes = server.sql("SELECT password_hash FROM users")
    assert all(h[0].startswith("$argon2id$") for h in hashes)


def test_cookie_session_and_csrf(server: ChatdServer, team: Team) -> None:
    user, _ = team.user()
    with server.client() as http:
        answer = http.post(
            "/api/v1/auth/login",
            json={"username": user["username"], "password": PASSWORD, "session_cookie": True},
        )
        cookie = answer.headers["set-cookie"]
        assert "chatd_session=" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Path=/" in cookie
        assert http.get("/api/v1/users/me").json()["user"]["id"] == user["id"]
        refused = http.patch("/api/v1/users/me", json={"display_name": "X"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "csrf"
        allowed = http.patch(
            "/api/v1/users/me", json={"display_name": "Cookie"}, headers={"X-Chatd-CSRF": "1"}
        )
        assert allowed.status_code == 200
        # the Authorization header wins over the cookie
        wins = http.get("/api/v1/users/me", headers={"Authorization": "Bearer nonsense"})
        assert wins.status_code == 401
        out = http.post("/api/v1/auth/logout", headers={"X-Chatd-CSRF": "1"})
        assert out.status_code == 204
        assert (
            'chatd_session=""' in out.headers["set-cookie"]
            or "Max-Age=0" in out.headers["set-cookie"]
        )
    without = server.client()
    assert (
        without.post(
            "/api/v1/auth/login", json={"username": user["username"], "password": PASSWORD}
        ).headers.get("set-cookie")
        is None
    )


def test_logout_sessions_and_revoke(server: ChatdServer, team: Team) -> None:
    user, first = team.user()
    with server.client() as http:
        second = http.post(
            "/api/v1/auth/login",
            json={"username": user["username"], "password": PASSWORD},
            headers={"User-Agent": "second-device"},
        ).json()
    with server.client(first) as http:
        listed = http.get("/api/v1/auth/sessions").json()["sessions"]
        assert len(listed) == 2
        assert sum(s["current"] for s in listed) == 1
        assert {"id", "created_at", "last_used_at", "user_agent", "ip", "current"} <= set(listed[0])
        assert http.delete("/api/v1/auth/sessions/unknown").status_code == 404
        assert http.delete(f"/api/v1/auth/sessions/{second['session']['id']}").status_code == 204
    with server.client(second["token"]) as http:
        assert http.get("/api/v1/users/me").status_code == 401
    with server.client(first) as http:
        assert http.post("/api/v1/auth/logout").status_code == 204
        assert http.get("/api/v1/users/me").status_code == 401


def test_password_change_revokes_other_sessions(server: ChatdServer, team: Team) -> None:
    user, first = team.user()
    with server.client() as http:
        other = http.post(
            "/api/v1/auth/login", json={"username": user["username"], "password": PASSWORD}
        ).json()["token"]
    with server.client(first) as http:
        wrong = http.post(
            "/api/v1/users/me/password",
            json={"current_password": "not it at all", "new_password": "another secret"},
        )
        assert wrong.status_code == 403
        short = http.post(
            "/api/v1/users/me/password", json={"current_password": PASSWORD, "new_password": "x"}
        )
        assert short.status_code == 422
        done = http.post(
            "/api/v1/users/me/password",
            json={"current_password": PASSWORD, "new_password": "another secret"},
        )
        assert done.status_code == 204
        assert http.get("/api/v1/users/me").status_code == 200
    with server.client(other) as http:
        assert http.get("/api/v1/users/me").status_code == 401
    with server.client() as http:
        assert (
            http.post(
                "/api/v1/auth/login",
                json={"username": user["username"], "password": "another secret"},
            ).status_code
            == 200
        )


def test_profile_and_directory(server: ChatdServer, team: Team) -> None:
    user, token = team.user("zelda", "Princess Zelda")
    with server.client(token) as http:
        assert http.patch("/api/v1/users/me", json={"display_name": "a\x07b"}).status_code == 422
        assert http.patch("/api/v1/users/me", json={"display_name": "x" * 65}).status_code == 422
        named = http.patch("/api/v1/users/me", json={"display_name": "  Zelda  ", "extra": 1})
        assert named.json()["user"]["display_name"] == "Zelda"
        by_name = http.get("/api/v1/users", params={"q": "ZEL"}).json()["users"]
        assert [u["id"] for u in by_name] == [user["id"]]
        assert (
            http.get(f"/api/v1/users/{user['id']}").json()["user"]["username"] == user["username"]
        )
        assert http.get("/api/v1/users/nobody").status_code == 404
        assert http.get("/api/v1/users", params={"limit": 0}).status_code == 422
        assert http.get("/api/v1/users", params={"limit": "x"}).status_code == 422
        assert len(http.get("/api/v1/users", params={"limit": 1}).json()["users"]) == 1


def test_admin_manages_users(server: ChatdServer, team: Team) -> None:
    user, token = team.user()
    with server.client(token) as member:
        assert member.post("/api/v1/admin/users", json={}).status_code == 403
        assert member.get("/api/v1/admin/users").status_code == 403
    with server.client(team.admin_token) as admin:
        assert (
            admin.patch(f"/api/v1/admin/users/{user['id']}", json={"active": "no"}).status_code
            == 422
        )
        off = admin.patch(f"/api/v1/admin/users/{user['id']}", json={"active": False})
        assert off.status_code == 200
        assert off.json()["user"]["active"] is False
        everyone = admin.get("/api/v1/admin/users", params={"q": user["username"]}).json()["users"]
        assert [u["active"] for u in everyone] == [False]
        assert admin.get("/api/v1/users", params={"q": user["username"]}).json()["users"] == []
        last = admin.patch(f"/api/v1/admin/users/{team.admin['id']}", json={"role": "member"})
        assert last.status_code == 409
        assert admin.patch("/api/v1/admin/users/nobody", json={"active": False}).status_code == 404
        dup = admin.post(
            "/api/v1/admin/users", json={"username": user["username"], "password": PASSWORD}
        )
        assert dup.status_code == 409
    with server.client(token) as member:
        assert member.get("/api/v1/users/me").status_code == 401
    with server.client() as http:
        login = http.post(
            "/api/v1/auth/login", json={"username": user["username"], "password": PASSWORD}
        )
        assert login.status_code == 401
    with server.client(team.admin_token) as admin:
        assert (
            admin.patch(f"/api/v1/admin/users/{user['id']}", json={"active": True}).status_code
            == 200
        )


def test_secrets_never_logged(server: ChatdServer, team: Team) -> None:
    _, token = team.user()
    log = server.log
    assert PASSWORD not in log
    assert token not in log
    assert server.setup_token is not None
    assert f"token={server.setup_token}" not in "".join(
        line for line in server.output if not line.startswith("First run")
    )
    assert "route=/api/v1/users/{id}" in log or "route=/api/v1/auth/login" in log
