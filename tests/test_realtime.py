"""WebSocket delivery with real sockets against a real server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from websockets.exceptions import InvalidStatus

from chatd.cli import main

from .conftest import PASSWORD, ChatdServer, Team, start_server
from .test_conversations import Person
from .wsclient import WS, StalledSocket


@pytest.fixture(scope="module")
def people(server: ChatdServer, team: Team) -> dict[str, Person]:
    return {
        name: Person(server, *team.user(name, name.title()))
        for name in ("gus", "hal", "ivy", "jon")
    }


def token_of(person: Person) -> str:
    return str(person.http.headers["Authorization"].split(" ", 1)[1])


def group(owner: Person, *others: Person) -> str:
    made = owner.create("group", [p.id for p in others])
    cid: str = made.json()["conversation"]["id"]
    return cid


def gus_and_hal(server: ChatdServer, people: dict[str, Person]) -> tuple[str, WS, WS]:
    """A new group of gus and hal, and a welcomed socket each."""
    cid = group(people["gus"], people["hal"])
    sockets = WS(server.url, token_of(people["gus"])), WS(server.url, token_of(people["hal"]))
    for ws in sockets:
        ws.welcome()
    return cid, *sockets


def test_authentication_ways(server: ChatdServer, people: dict[str, Person]) -> None:
    gus = people["gus"]
    by_header = WS(server.url, token_of(gus))
    hello = by_header.welcome()
    assert hello["user"]["id"] == gus.id
    assert hello["heartbeat_s"] > 0
    assert hello["session_id"]
    by_header.close()
    # first frame: nothing is answered before it
    late = WS(server.url)
    late.send({"type": "ping", "ref": "early"})
    assert late.quiet(0.3) == []
    late.send({"type": "auth", "token": token_of(gus)})
    assert late.welcome()["user"]["id"] == gus.id
    late.send({"type": "ping", "ref": "now"})
    assert late.expect("pong")["ref"] == "now"
    late.close()
    bad = WS(server.url, "not-a-token")
    assert bad.close_code() == 4001
    wrong_frame = WS(server.url)
    wrong_frame.send({"type": "auth", "token": "nope"})
    assert wrong_frame.close_code() == 4001


def test_cookie_auth_checks_origin(server: ChatdServer, people: dict[str, Person]) -> None:
    with httpx.Client(base_url=server.url) as http:
        http.post(
            "/api/v1/auth/login",
            json={"username": "gus", "password": PASSWORD, "session_cookie": True},
        )
        cookie = http.cookies["chatd_session"]
    same = WS(server.url, headers={"Cookie": f"chatd_session={cookie}", "Origin": server.url})
    assert same.welcome()["user"]["username"] == "gus"
    same.close()
    with pytest.raises(InvalidStatus) as refused:
        WS(server.url, headers={"Cookie": f"chatd_session={cookie}", "Origin": "http://evil.test"})
    assert refused.value.response.status_code == 403


def test_fan_out_to_members_only(server: ChatdServer, people: dict[str, Person]) -> None:
    gus, hal, ivy = people["gus"], people["hal"], people["ivy"]
    cid = group(gus, hal)
    gus_a, gus_b = WS(server.url, token_of(gus)), WS(server.url, token_of(gus))
    hal_ws, ivy_ws = WS(server.url, token_of(hal)), WS(server.url, token_of(ivy))
    for ws in (gus_a, gus_b, hal_ws, ivy_ws):
        ws.welcome()
    assert any(c["id"] == cid for c in (gus_a.hello or {})["conversations"])
    gus_a.send({"type": "send", "conversation_id": cid, "body": "hi all", "ref": "s1"})
    ack = gus_a.expect("ack")
    assert ack["ref"] == "s1"
    assert ack["message"]["seq"] == 1
    for ws in (gus_a, gus_b, hal_ws):  # the sender's own sockets too
        created = ws.expect("message.created")
        assert created["message"]["id"] == ack["message"]["id"]
    assert ivy_ws.quiet(0.5, "message.created") == []
    # HTTP sends fan out the same way
    hal.http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "over http"})
    for ws in (gus_b, hal_ws):
        assert ws.expect("message.created")["message"]["body"] == "over http"
    # edits and deletes
    message_id = ack["message"]["id"]
    gus.http.patch(f"/api/v1/messages/{message_id}", json={"body": "edited"})
    assert hal_ws.expect("message.updated")["message"]["body"] == "edited"
    gus.http.delete(f"/api/v1/messages/{message_id}")
    deleted = hal_ws.expect("message.deleted")
    assert deleted == {
        "type": "message.deleted",
        "conversation_id": cid,
        "message_id": message_id,
        "seq": 1,
    }
    # membership events, and a removed member hears nothing more
    gus.http.post(f"/api/v1/conversations/{cid}/members", json={"user_id": ivy.id})
    assert ivy_ws.expect("member.added")["user_id"] == ivy.id
    gus.http.delete(f"/api/v1/conversations/{cid}/members/{ivy.id}")
    assert ivy_ws.expect("member.removed")["user_id"] == ivy.id
    gus.http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "after removal"})
    assert hal_ws.expect("message.created")["message"]["body"] == "after removal"
    assert ivy_ws.quiet(0.5, "message.created") == []
    for ws in (gus_a, gus_b, hal_ws, ivy_ws):
        ws.close()


def test_conversation_events(server: ChatdServer, people: dict[str, Person]) -> None:
    gus, hal = people["gus"], people["hal"]
    hal_ws = WS(server.url, token_of(hal))
    hal_ws.welcome()
    cid = group(gus, hal)
    created = hal_ws.expect("conversation.created")
    assert created["conversation"]["id"] == cid
    gus.http.patch(f"/api/v1/conversations/{cid}", json={"topic": "news"})
    renamed = hal_ws.expect("conversation.updated")
    assert renamed["conversation"]["topic"] == "news"
    assert "own" not in renamed  # a neutral view: no one's settings
    # a settings change reaches the person's own sockets with their view, marked as such
    hal.http.patch(f"/api/v1/conversations/{cid}/settings", json={"muted": True})
    settled = hal_ws.expect("conversation.updated")
    assert settled["own"] is True
    assert settled["conversation"]["muted"] is True
    gus.http.patch("/api/v1/users/me", json={"display_name": "Gus Prime"})
    assert hal_ws.expect("user.updated")["user"]["display_name"] == "Gus Prime"
    hal_ws.close()


def test_send_over_socket_errors_keep_socket_usable(
    server: ChatdServer, people: dict[str, Person]
) -> None:
    jon = people["jon"]
    ws = WS(server.url, token_of(jon))
    ws.welcome()
    ws.send("not json")
    assert ws.expect("error")["code"] == "bad_request"
    ws.send({"type": "dance", "ref": "r1"})
    error = ws.expect("error")
    assert (error["code"], error["ref"]) == ("bad_request", "r1")
    ws.send({"type": "send", "conversation_id": "missing", "body": "x", "ref": "r2"})
    error = ws.expect("error")
    assert (error["code"], error["ref"]) == ("not_found", "r2")
    cid = group(jon)
    ws.send({"type": "send", "conversation_id": cid, "body": "", "ref": "r3"})
    error = ws.expect("error")
    assert (error["code"], error["ref"]) == ("validation_failed", "r3")
    ws.send({"type": "send", "conversation_id": 5, "body": "x", "ref": "r4"})
    assert ws.expect("error")["ref"] == "r4"
    ws.send({"type": "ping", "ref": "x" * 65})
    assert ws.expect("error")["code"] == "bad_request"
    ws.send(json.dumps([1, 2]))
    assert ws.expect("error")["code"] == "bad_request"
    ws.send({"type": "ping", "ref": "alive"})
    assert ws.expect("pong")["ref"] == "alive"
    ws.send({"type": "send", "conversation_id": cid, "body": "ok", "client_id": "k1", "ref": "a"})
    first = ws.expect("ack")["message"]
    ws.send({"type": "send", "conversation_id": cid, "body": "ok", "client_id": "k1", "ref": "b"})
    assert ws.expect("ack", ref="b")["message"]["id"] == first["id"]
    ws.close()


def test_oversized_frame(server: ChatdServer, people: dict[str, Person]) -> None:
    ws = WS(server.url, token_of(people["jon"]))
    ws.welcome()
    ws.send({"type": "ping", "pad": "x" * (70 * 1024)})
    assert ws.close_code() == 1009


def test_order_under_concurrent_senders(server: ChatdServer, people: dict[str, Person]) -> None:
    gus, hal, ivy = people["gus"], people["hal"], people["ivy"]
    cid = group(gus, hal, ivy)
    watcher = WS(server.url, token_of(ivy))
    watcher.welcome()
    senders = [WS(server.url, token_of(p)) for p in (gus, hal)]
    for ws in senders:
        ws.welcome()
    for i in range(100):
        for n, ws in enumerate(senders):
            ws.send({"type": "send", "conversation_id": cid, "body": f"{n}-{i}"})
    seqs = [watcher.expect("message.created")["message"]["seq"] for _ in range(200)]
    assert seqs == list(range(1, 201))
    assert "batched=True" in server.log  # frames go out in batched writes under uvicorn
    # reconnect and resync: what was missed comes with after=
    watcher.close()
    gus.http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "while away"})
    again = WS(server.url, token_of(ivy))
    hello = again.welcome()
    marker = next(c for c in hello["conversations"] if c["id"] == cid)
    assert marker["last_seq"] == 201
    missed = ivy.http.get(f"/api/v1/conversations/{cid}/messages", params={"after": 200}).json()
    assert [m["body"] for m in missed["messages"]] == ["while away"]
    for ws in (again, *senders):
        ws.close()


def test_typing_and_read_events(server: ChatdServer, people: dict[str, Person]) -> None:
    gus, hal, ivy = people["gus"], people["hal"], people["ivy"]
    cid = group(gus, hal)
    gus_a, gus_b, hal_ws = (WS(server.url, token_of(p)) for p in (gus, gus, hal))
    outsider = WS(server.url, token_of(ivy))
    for ws in (gus_a, gus_b, hal_ws, outsider):
        ws.welcome()
    gus_a.send({"type": "typing", "conversation_id": cid})
    typing = hal_ws.expect("typing")
    assert typing == {"type": "typing", "conversation_id": cid, "user_id": gus.id}
    assert gus_b.quiet(0.3, "typing") == []
    assert outsider.quiet(0.1, "typing") == []
    outsider.send({"type": "typing", "conversation_id": cid, "ref": "t"})
    assert outsider.expect("error")["code"] == "not_found"
    hal.http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "read me"})
    gus_a.send({"type": "read", "conversation_id": cid, "seq": 1, "ref": "r"})
    assert gus_a.expect("ack", ref="r")["seq"] == 1
    read = gus_b.expect("read")
    assert read == {"type": "read", "conversation_id": cid, "user_id": gus.id, "seq": 1}
    assert gus_a.quiet(0.3, "read") == []  # not to the socket that sent it
    assert hal_ws.quiet(0.1, "read") == []  # never to others
    gus.http.post(f"/api/v1/conversations/{cid}/read", json={"seq": 1})
    gus_a.expect("read")  # over HTTP: to every socket of the reader
    for kind in ("typing", "read"):  # a frame without its conversation: the same answer
        gus_a.send({"type": kind, "conversation_id": 7, "seq": 1, "ref": kind})
        refused = gus_a.expect("error", ref=kind)
        assert (refused["code"], refused["fields"]) == (
            "validation_failed",
            {"conversation_id": "is required"},
        )
    for ws in (gus_a, gus_b, hal_ws, outsider):
        ws.close()


def test_typing_is_damped_but_a_message_ends_it(
    server: ChatdServer, people: dict[str, Person]
) -> None:
    cid, gus_ws, hal_ws = gus_and_hal(server, people)
    typing = {"type": "typing", "conversation_id": cid}
    gus_ws.send(typing)
    hal_ws.expect("typing")
    gus_ws.send(typing)  # a keystroke within the damping window: not relayed again
    assert hal_ws.quiet(0.1, "typing") == []
    # a message ends the typing (clients clear the indicator on it); the author's next
    # keystroke, however soon, is a new "is typing"
    gus_ws.send({"type": "send", "conversation_id": cid, "body": "done", "ref": "s"})
    gus_ws.expect("ack", ref="s")
    hal_ws.expect("message.created")
    gus_ws.send(typing)
    assert hal_ws.expect("typing")["user_id"] == people["gus"].id
    for ws in (gus_ws, hal_ws):
        ws.close()


def test_revocations_close_sockets(server: ChatdServer, team: Team) -> None:
    user, token = team.user()
    with server.client() as http:
        second = http.post(
            "/api/v1/auth/login", json={"username": user["username"], "password": PASSWORD}
        ).json()
    ws_one, ws_two = WS(server.url, token), WS(server.url, second["token"])
    ws_one.welcome()
    ws_two.welcome()
    with server.client(token) as http:
        http.delete(f"/api/v1/auth/sessions/{second['session']['id']}")
    assert ws_two.close_code() == 4001
    with server.client(token) as http:
        http.post("/api/v1/auth/logout")
    assert ws_one.close_code() == 4001
    # deactivation closes every socket of the user
    user, token = team.user()
    ws = WS(server.url, token)
    ws.welcome()
    with server.client(team.admin_token) as admin:
        admin.patch(f"/api/v1/admin/users/{user['id']}", json={"active": False})
    assert ws.close_code() == 4001


def presence_of(ws: WS, user_id: str, timeout: float = 5) -> dict[str, Any]:
    """The next presence event about `user_id` (others are dropped)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = ws.expect("presence", timeout=max(0.01, deadline - time.monotonic()))
        if frame["presence"]["user_id"] == user_id:
            return frame["presence"]  # type: ignore[no-any-return]


def test_presence_transitions(server: ChatdServer, team: Team) -> None:
    """Module server: away after 2 s idle, offline 1 s after the last socket closes."""
    (kim, kim_token), (lou, lou_token) = team.user("kim"), team.user("lou")
    stranger = team.user("max")
    with server.client(kim_token) as http:
        http.post("/api/v1/conversations", json={"kind": "direct", "members": [lou["id"]]})
    watcher = WS(server.url, lou_token)
    watcher.welcome()
    kim_ws = WS(server.url, kim_token)
    kim_ws.welcome()
    assert presence_of(watcher, kim["id"], 3)["status"] == "online"
    assert presence_of(watcher, kim["id"], 6)["status"] == "away"
    kim_ws.send({"type": "typing", "conversation_id": "x"})  # any frame but ping is activity
    assert presence_of(watcher, kim["id"], 3)["status"] == "online"
    kim_ws.send({"type": "presence", "status": "dnd"})
    assert presence_of(watcher, kim["id"], 3)["status"] == "dnd"
    with server.client(lou_token) as http:
        seen = {p["user_id"]: p for p in http.get("/api/v1/presence").json()["presence"]}
    assert seen[kim["id"]]["status"] == "dnd"
    assert stranger[0]["id"] not in seen
    with server.client(stranger[1]) as http:
        theirs = {p["user_id"] for p in http.get("/api/v1/presence").json()["presence"]}
    assert theirs == {stranger[0]["id"]}
    # a quick reconnect does not flap; a real departure turns offline after the grace
    kim_ws.send({"type": "presence", "status": "online"})
    assert presence_of(watcher, kim["id"], 3)["status"] == "online"
    kim_ws.close()
    kim_again = WS(server.url, kim_token)
    kim_again.welcome()
    assert [
        f for f in watcher.quiet(0.8, "presence") if f["presence"]["user_id"] == kim["id"]
    ] == []
    kim_again.close()
    offline = presence_of(watcher, kim["id"], 5)
    assert offline["status"] == "offline"
    assert offline["last_seen_at"] is not None
    with server.client(lou_token) as http:
        seen = {p["user_id"]: p for p in http.get("/api/v1/presence").json()["presence"]}
    assert seen[kim["id"]]["status"] == "offline"
    watcher.close()


def test_never_connected_user_is_offline_with_null_last_seen(
    server: ChatdServer, team: Team
) -> None:
    (ned, _), (_, oli_token) = team.user("ned"), team.user("oli")
    with server.client(oli_token) as http:
        http.post("/api/v1/conversations", json={"kind": "direct", "members": [ned["id"]]})
        seen = {p["user_id"]: p for p in http.get("/api/v1/presence").json()["presence"]}
    assert seen[ned["id"]] == {"user_id": ned["id"], "status": "offline", "last_seen_at": None}


def test_flood_is_limited_without_hurting_others(
    server: ChatdServer, people: dict[str, Person]
) -> None:
    cid, flooder, calm = gus_and_hal(server, people)
    for i in range(4000):
        flooder.send({"type": "ping", "ref": f"p{i}"})
    people["hal"].http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "still here"})
    assert calm.expect("message.created")["message"]["body"] == "still here"
    answers = [f for f in flooder.quiet(3) if f["type"] in ("pong", "error")]
    assert any(f.get("code") == "rate_limited" for f in answers)
    # every frame is answered once, a pong or a refusal, and the answer carries its ref
    assert sorted(f["ref"] for f in answers) == sorted(f"p{i}" for i in range(4000))
    flooder.close()
    calm.close()


@pytest.fixture
def small_outbox_server(tmp_path: Path) -> Iterator[ChatdServer]:
    srv = start_server(
        tmp_path,
        limits_ws_outbox_bytes="2097152",
        limits_max_message_chars="10000",
        auth_registration="open",
    )
    yield srv
    srv.stop()


def test_slow_consumer_is_closed_and_isolated(small_outbox_server: ChatdServer) -> None:
    server = small_outbox_server
    team = Team(server)
    (slow_user, slow_token), (fast_user, fast_token) = team.user(), team.user()
    with server.client(team.admin_token) as http:
        cid = http.post(
            "/api/v1/conversations",
            json={"kind": "group", "members": [slow_user["id"], fast_user["id"]]},
        ).json()["conversation"]["id"]
    slow = StalledSocket(server.url, slow_token)
    fast = WS(server.url, fast_token)
    fast.welcome()
    sender = WS(server.url, team.admin_token)
    sender.welcome()
    # 12 MB for the stalled socket, more than the kernel's buffers and the outbox can hold; in
    # fewer frames than the sender's burst allowance (2000)
    body = "x" * 8000
    total = 1500
    received: list[int] = []

    def read_fast() -> None:
        while len(received) < total:
            frame = fast.expect("message.created", timeout=30)
            received.append(frame["message"]["seq"])

    acks: list[int] = []

    def read_acks() -> None:  # the sender keeps up with its own acks and events
        while len(acks) < total:
            acks.append(sender.expect("ack", timeout=30)["message"]["seq"])
            sender.backlog.clear()

    readers = [threading.Thread(target=read_fast), threading.Thread(target=read_acks)]
    for reader in readers:
        reader.start()
    for i in range(total):
        # A reader in Python can be slower than the server: the sender keeps at most 100 sends
        # unanswered, so its own socket and the fast one stay well inside their budgets.
        while i - len(acks) > 100:
            time.sleep(0.001)
        sender.send({"type": "send", "conversation_id": cid, "body": f"{i} {body}"})
    for reader in readers:
        reader.join(60)
    assert len(acks) == total
    assert received == list(range(1, total + 1))
    assert slow.close_code(timeout=30) == 4008
    with server.client() as http:
        metrics = http.get("/metrics").text
    assert "chatd_slow_socket_closes_total 1.0" in metrics
    sender.close()
    fast.close()


def test_cli_disable_closes_live_sockets(server: ChatdServer, team: Team) -> None:
    _, token = team.user("pat")
    ws = WS(server.url, token)
    ws.welcome()
    result = CliRunner().invoke(
        main, ["user", "disable", "pat", "--data-dir", str(server.data_dir)], env=server.storage_env
    )
    assert result.exit_code == 0, result.output
    started = time.monotonic()
    assert ws.close_code(timeout=10) == 4001
    assert time.monotonic() - started < 5


def test_sigterm_closes_sockets_with_1001(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    team = Team(server)
    ws = WS(server.url, team.admin_token)
    ws.welcome()
    results: dict[str, Any] = {}

    def wait_close() -> None:
        results["code"] = ws.close_code(timeout=15)

    waiter = threading.Thread(target=wait_close)
    waiter.start()
    assert server.stop() == 0
    waiter.join(15)
    assert results["code"] == 1001
