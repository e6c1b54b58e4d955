"""A team's first day (the web client's second round): default channels for every kind of
new account, presence of new contacts at once, thread replies. Against a real server with
the default configuration (`auth.default_channels` = ["general"])."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chatd.cli import main
from tests.conftest import PASSWORD, ChatdServer, Team, backend_env, start_server
from tests.wsclient import WS


@pytest.fixture(scope="module")
def first(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[tuple[ChatdServer, Team, Path]]:
    data = tmp_path_factory.mktemp("first-day")
    srv = start_server(
        data,
        auth_registration="open",
        presence_offline_grace_s="1",
        **backend_env(request, backend),
    )
    yield srv, Team(srv), data
    srv.stop()


def _general(http: Any) -> dict[str, Any]:
    found = [
        c
        for c in http.get("/api/v1/conversations").json()["conversations"]
        if c["kind"] == "channel"
    ]
    assert [c["name"] for c in found] == ["general"]
    return found[0]  # type: ignore[no-any-return]


def test_default_channel_for_every_new_account(first: tuple[ChatdServer, Team, Path]) -> None:
    server, team, _data = first
    with server.client(team.admin_token) as admin:
        general = _general(admin)
        assert general["created_by"] == team.admin["id"]  # made at setup, owned by the admin
        assert general["members"] == [team.admin["id"]]
        watcher = WS(server.url, team.admin_token)
        watcher.welcome()
    made, made_token = team.user("made")  # by the admin API
    assert watcher.expect("member.added", user_id=made["id"])["conversation_id"] == general["id"]
    with server.client() as anyone:
        signed = anyone.post(
            "/api/v1/auth/register", json={"username": "reg", "password": PASSWORD}
        ).json()
    assert watcher.expect("member.added", user_id=signed["user"]["id"])
    # `chatd user add` in another process, while the server runs: the server routes it too
    result = CliRunner().invoke(
        main,
        ["user", "add", "cli", "--password-stdin"],
        input=PASSWORD + "\n",
        env={**server.storage_env, "CHATD_AUTH_DEFAULT_CHANNELS": "general"},
    )
    assert result.exit_code == 0, result.output
    added = watcher.expect("member.added", timeout=5, conversation_id=general["id"])
    with server.client() as anyone:
        cli_token = anyone.post(
            "/api/v1/auth/login", json={"username": "cli", "password": PASSWORD}
        ).json()["token"]
    with server.client(cli_token) as http:
        cli_general = _general(http)
        me = http.get("/api/v1/users/me").json()["user"]
    assert added["user_id"] == me["id"]
    listening = WS(server.url, cli_token)  # and it reaches the new account's socket
    listening.welcome()
    with server.client(made_token) as http:
        assert _general(http)["id"] == general["id"] == cli_general["id"]
        http.post(f"/api/v1/conversations/{general['id']}/messages", json={"body": "welcome!"})
    assert listening.expect("message.created")["message"]["body"] == "welcome!"
    with server.client(team.admin_token) as admin:
        members = admin.get(f"/api/v1/conversations/{general['id']}").json()["conversation"]
    assert {made["id"], signed["user"]["id"], me["id"], team.admin["id"]} <= set(members["members"])
    watcher.conn.close()
    listening.conn.close()


def test_no_default_channels_when_configured_empty(tmp_path: Path) -> None:
    server = start_server(tmp_path, auth_default_channels="")
    try:
        team = Team(server)
        with server.client(team.admin_token) as admin:
            assert admin.get("/api/v1/conversations").json()["conversations"] == []
            assert admin.get("/api/v1/channels").json()["conversations"] == []
    finally:
        server.stop()


def _presence_of(ws: WS, user_id: str, timeout: float = 3) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        frame = ws.expect("presence", timeout=max(0.01, deadline - time.monotonic()))
        if frame["presence"]["user_id"] == user_id:
            return frame["presence"]  # type: ignore[no-any-return]


def test_new_contacts_hear_each_others_presence(first: tuple[ChatdServer, Team, Path]) -> None:
    server, team, _ = first
    with server.client(team.admin_token) as admin:  # leave #general: share nothing at first
        admin_gen = _general(admin)
    (pia, pia_token), (quin, quin_token), (rex, rex_token) = (
        team.user("pia"),
        team.user("quin"),
        team.user("rex"),
    )
    for token, user in ((pia_token, pia), (quin_token, quin), (rex_token, rex)):
        with server.client(token) as http:
            http.delete(f"/api/v1/conversations/{admin_gen['id']}/members/{user['id']}")
    sockets = {
        name: WS(server.url, token)
        for name, token in (("pia", pia_token), ("quin", quin_token), ("rex", rex_token))
    }
    for ws in sockets.values():
        ws.welcome()
    # created: a direct conversation
    with server.client(pia_token) as http:
        http.post("/api/v1/conversations", json={"kind": "direct", "members": [quin["id"]]})
    assert _presence_of(sockets["pia"], quin["id"])["status"] == "online"
    assert _presence_of(sockets["quin"], pia["id"])["status"] == "online"
    # added: rex joins a group with pia
    with server.client(pia_token) as http:
        group = http.post(
            "/api/v1/conversations", json={"kind": "group", "name": "g", "members": []}
        ).json()["conversation"]
        http.post(f"/api/v1/conversations/{group['id']}/members", json={"user_id": rex["id"]})
    assert _presence_of(sockets["rex"], pia["id"])["status"] == "online"
    assert _presence_of(sockets["pia"], rex["id"])["status"] == "online"
    # joined: quin and rex meet in a channel; pia already knew both, so hears nothing new
    with server.client(quin_token) as http:
        channel = http.post(
            "/api/v1/conversations", json={"kind": "channel", "name": "meet", "members": []}
        ).json()["conversation"]
    with server.client(rex_token) as http:
        http.post(f"/api/v1/conversations/{channel['id']}/join")
    assert _presence_of(sockets["quin"], rex["id"])["status"] == "online"
    assert _presence_of(sockets["rex"], quin["id"])["status"] == "online"
    with server.client(pia_token) as http:
        http.post(f"/api/v1/conversations/{channel['id']}/join")
    sockets["pia"].expect("member.added", user_id=pia["id"])
    assert not [
        f for f in sockets["pia"].quiet(0.5, "presence") if f["presence"]["user_id"] != pia["id"]
    ]
    for ws in sockets.values():
        ws.conn.close()


def test_thread_replies(first: tuple[ChatdServer, Team, Path]) -> None:
    server, team, _ = first
    (sam, sam_token), (tia, tia_token) = team.user("sam"), team.user("tia")
    with server.client(sam_token) as http:
        general = _general(http)
        url = f"/api/v1/conversations/{general['id']}/messages"
        root = http.post(url, json={"body": "root"}).json()["message"]
        assert root["thread"] is False and root["reply_user_ids"] == []
        watcher = WS(server.url, sam_token)
        watcher.welcome()
        first_reply = http.post(
            url, json={"body": "in thread", "reply_to": root["id"], "thread": True}
        )
        assert first_reply.status_code == 201
        reply = first_reply.json()["message"]
        assert reply["thread"] is True and reply["reply_to"] == root["id"]
        updated = watcher.expect("message.updated")["message"]
        assert updated["id"] == root["id"] and updated["thread_reply_count"] == 1
        assert updated["reply_user_ids"] == [sam["id"]]
        quote = http.post(url, json={"body": "quoting", "reply_to": root["id"]}).json()["message"]
        assert quote["thread"] is False
        assert http.post(url, json={"body": "x", "thread": True}).status_code == 422
        assert (
            http.post(url, json={"body": "x", "reply_to": root["id"], "thread": "yes"}).status_code
            == 422
        )
    # a reply to a thread reply joins the root's thread, over the socket too
    tia_ws = WS(server.url, tia_token)
    tia_ws.welcome()
    tia_ws.send(
        {
            "type": "send",
            "ref": "r1",
            "conversation_id": general["id"],
            "body": "me too",
            "reply_to": reply["id"],
            "thread": True,
        }
    )
    ack = tia_ws.expect("ack", ref="r1")
    assert ack["message"]["reply_to"] == root["id"] and ack["message"]["thread"] is True
    with server.client(tia_token) as http:
        got = http.get(f"/api/v1/messages/{root['id']}").json()["message"]
        assert got["thread_reply_count"] == 2 and got["reply_user_ids"] == [sam["id"], tia["id"]]
        assert got["reply_count"] == 3  # the contract's count: every reply, quotes too
        history = http.get(url).json()["messages"]
        assert [m["thread"] for m in history if m["reply_to"] == root["id"]] == [True, False, True]
        replies = http.get(f"/api/v1/messages/{root['id']}/replies").json()["messages"]
        assert [m["body"] for m in replies] == ["in thread", "quoting", "me too"]
        assert http.delete(f"/api/v1/messages/{ack['message']['id']}").status_code == 204
    shrunk = watcher.expect("message.updated", timeout=5)["message"]
    while shrunk["id"] != root["id"] or shrunk["thread_reply_count"] != 1:
        shrunk = watcher.expect("message.updated", timeout=5)["message"]
    assert shrunk["reply_user_ids"] == [sam["id"]]
    watcher.conn.close()
    tia_ws.conn.close()
