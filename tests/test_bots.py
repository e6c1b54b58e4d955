"""Bot users against a real server: tokens, the same API and WebSocket, no sign-in."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from chatd.clock import ManualClock
from chatd.config import load
from chatd.services.container import Services
from chatd.services.principal import SYSTEM

from .conftest import PASSWORD, ChatdServer, Team, backend_flags
from .wsclient import WS


def make_bot(server: ChatdServer, team: Team, username: str) -> tuple[dict[str, object], str]:
    with server.client(team.admin_token) as http:
        made = http.post(
            "/api/v1/admin/bots", json={"username": username, "display_name": "Deploy Bot"}
        )
    assert made.status_code == 201, made.text
    return made.json()["user"], made.json()["token"]


def test_bot_is_created_by_an_admin_and_listed(server: ChatdServer, team: Team) -> None:
    bot, token = make_bot(server, team, "deploybot")
    assert bot["bot"] is True and bot["role"] == "member" and bot["active"] is True
    assert len(token) >= 22  # 128 bits or more
    person, person_token = team.user()
    assert person["bot"] is False
    with server.client(person_token) as http:
        refused = http.post("/api/v1/admin/bots", json={"username": "sneaky"})
        assert refused.status_code == 403
        assert http.get("/api/v1/admin/bots").status_code == 403
    with server.client(team.admin_token) as http:
        listed = http.get("/api/v1/admin/bots").json()["users"]
        assert [u["username"] for u in listed if u["id"] == bot["id"]] == ["deploybot"]
        assert all(u["bot"] for u in listed)
        taken = http.post("/api/v1/admin/bots", json={"username": "DeployBot"})
        assert taken.status_code == 409
        bad = http.post("/api/v1/admin/bots", json={"username": "no spaces"})
        assert bad.status_code == 422 and "username" in bad.json()["error"]["fields"]
        assert http.post("/api/v1/admin/bots/nobody/token").status_code == 404
        # a person is not a bot: no token to replace
        assert http.post(f"/api/v1/admin/bots/{person['id']}/token").status_code == 404


def test_bot_uses_api_and_websocket_but_cannot_sign_in(server: ChatdServer, team: Team) -> None:
    bot, token = make_bot(server, team, "helperbot")
    _person, person_token = team.user()
    with server.client(person_token) as http:
        room = http.post(
            "/api/v1/conversations", json={"kind": "group", "members": [bot["id"]]}
        ).json()["conversation"]
    with server.client(token) as http:
        assert http.get("/api/v1/users/me").json()["user"]["id"] == bot["id"]
        sent = http.post(f"/api/v1/conversations/{room['id']}/messages", json={"body": "beep"})
        assert sent.status_code == 201 and sent.json()["message"]["via"] is None
    ws = WS(server.url, token)
    try:
        hello = ws.welcome()
        assert hello["user"]["bot"] is True
        ws.send({"type": "send", "conversation_id": room["id"], "body": "boop", "ref": "1"})
        assert ws.expect("ack", ref="1")["message"]["author_id"] == bot["id"]
    finally:
        ws.close()
    with server.client() as http:
        for password in ("", PASSWORD, token):
            answer = http.post(
                "/api/v1/auth/login", json={"username": "helperbot", "password": password}
            )
            assert answer.status_code == 401
    # nor can an admin command give it a password
    done = subprocess.run(
        [sys.executable, "-m", "chatd", "user", "passwd", "helperbot", "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env={**server.storage_env, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode != 0 and "bot" in (done.stderr + done.stdout)


def test_replacing_the_token_stops_the_old_one_at_once(server: ChatdServer, team: Team) -> None:
    bot, old = make_bot(server, team, "rotatebot")
    ws = WS(server.url, old)
    ws.welcome()
    with server.client(team.admin_token) as http:
        answer = http.post(f"/api/v1/admin/bots/{bot['id']}/token")
    assert answer.status_code == 201
    new = answer.json()["token"]
    assert new != old
    assert ws.close_code() == 4001
    with server.client(old) as http:
        assert http.get("/api/v1/users/me").status_code == 401
    with server.client(new) as http:
        assert http.get("/api/v1/users/me").status_code == 200


def test_disabling_a_bot_stops_it(server: ChatdServer, team: Team) -> None:
    bot, token = make_bot(server, team, "retiredbot")
    ws = WS(server.url, token)
    ws.welcome()
    with server.client(team.admin_token) as http:
        off = http.patch(f"/api/v1/admin/users/{bot['id']}", json={"active": False})
        assert off.status_code == 200 and off.json()["user"]["bot"] is True
    assert ws.close_code() == 4001
    with server.client(token) as http:
        assert http.get("/api/v1/users/me").status_code == 401


def test_a_bot_token_never_expires_from_disuse(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    """People's sessions lapse after auth.session_ttl_days unused; a bot's token does not
    (on a manual clock: no sleeping)."""

    async def scenario() -> None:
        clock = ManualClock()
        flags = {"storage.data_dir": str(tmp_path), "auth.session_ttl_days": 2}
        config = load(None, {}, {**flags, **backend_flags(request, backend)})
        services = await Services.start(config, clock, background=False)
        try:
            bot, token = await services.bots.create(SYSTEM, "nightly", "Nightly")
            clock.advance(40 * 86_400)
            assert await services.accounts.prune_sessions() == 0
            assert (await services.accounts.authenticate(token)).user.id == bot.id
        finally:
            await services.stop()

    asyncio.run(scenario())
