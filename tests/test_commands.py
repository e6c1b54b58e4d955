"""Slash commands against a real server, answered by a real local HTTP server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from .conftest import ChatdServer, Team, backend_env, start_server
from .receiver import Receiver, Reply
from .wsclient import WS


@pytest.fixture(scope="module")
def receiver(backend: str) -> Iterator[Receiver]:
    """One per backend's server: what it records must not carry over to the next server."""
    found = Receiver()
    yield found
    found.close()


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[tuple[ChatdServer, Team]]:
    srv = start_server(tmp_path_factory.mktemp("commands"), **backend_env(request, backend))
    yield srv, Team(srv)
    srv.stop()


@pytest.fixture(scope="module")
def crew(site: tuple[ChatdServer, Team]) -> dict[str, Any]:
    server, team = site
    ann, ann_token = team.user("ann")
    _ben, ben_token = team.user("ben")
    with server.client(ann_token) as http:
        ops = http.post(
            "/api/v1/conversations", json={"kind": "channel", "name": "ops", "members": []}
        ).json()["conversation"]
    return {"ann": ann, "ann_token": ann_token, "ben_token": ben_token, "ops": ops}


def add_command(server: ChatdServer, team: Team, trigger: str, url: str) -> dict[str, Any]:
    with server.client(team.admin_token) as http:
        made = http.post(
            "/api/v1/admin/commands",
            json={"trigger": trigger, "url": url, "description": f"runs {trigger}"},
        )
    assert made.status_code == 201, made.text
    command: dict[str, Any] = made.json()["command"]
    return command


def run(server: ChatdServer, token: str, conversation_id: str, text: str) -> httpx.Response:
    with server.client(token) as http:
        return http.post(f"/api/v1/conversations/{conversation_id}/commands", json={"text": text})


def history(server: ChatdServer, token: str, conversation_id: str) -> list[dict[str, Any]]:
    with server.client(token) as http:
        found: list[dict[str, Any]] = http.get(
            f"/api/v1/conversations/{conversation_id}/messages"
        ).json()["messages"]
    return found


def test_admin_manages_commands_and_everyone_lists_them(
    site: tuple[ChatdServer, Team], crew: dict[str, Any], receiver: Receiver
) -> None:
    server, team = site
    command = add_command(server, team, "/Weather", receiver.url("/weather"))
    assert command["trigger"] == "weather" and len(command["token"]) >= 22
    with server.client(crew["ben_token"]) as http:
        listed = http.get("/api/v1/commands").json()["commands"]
        assert [c["trigger"] for c in listed] == ["weather"]
        assert "token" not in listed[0]  # shown once, at creation
        refused = http.post("/api/v1/admin/commands", json={"trigger": "x", "url": "http://a.b/"})
        assert refused.status_code == 403
        assert http.delete(f"/api/v1/admin/commands/{command['id']}").status_code == 403
    with server.client(team.admin_token) as http:
        taken = http.post("/api/v1/admin/commands", json={"trigger": "weather", "url": "http://a/"})
        assert taken.status_code == 409
        bad = http.post("/api/v1/admin/commands", json={"trigger": "no way", "url": "ftp://a/"})
        assert bad.status_code == 422
        assert set(bad.json()["error"]["fields"]) == {"trigger", "url"}
        assert http.delete(f"/api/v1/admin/commands/{command['id']}").status_code == 204
        assert http.delete(f"/api/v1/admin/commands/{command['id']}").status_code == 404
        assert http.get("/api/v1/commands").json()["commands"] == []


def test_ephemeral_answer_reaches_the_caller_only_and_stores_nothing(
    site: tuple[ChatdServer, Team], crew: dict[str, Any], receiver: Receiver
) -> None:
    server, team = site
    answer = {"text": "Sunny, 21 C", "response_type": "ephemeral"}
    url = receiver.answer("/forecast", Reply(body=json.dumps(answer).encode()))
    command = add_command(server, team, "forecast", url)
    ops = crew["ops"]["id"]
    before = history(server, crew["ann_token"], ops)
    ran = run(server, crew["ann_token"], ops, "/forecast  berlin tomorrow ")
    assert ran.status_code == 200, ran.text
    assert ran.json() == {"ephemeral": {"text": "Sunny, 21 C"}}
    assert history(server, crew["ann_token"], ops) == before
    (call,) = receiver.wait("/forecast")
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = {key: values[0] for key, values in parse_qs(call.body.decode()).items()}
    assert form["command"] == "/forecast" and form["text"] == "berlin tomorrow"
    assert form["user_id"] == crew["ann"]["id"] and form["user_name"] == "ann"
    assert form["channel_id"] == ops and form["channel_name"] == "ops"
    assert form["token"] == command["token"]
    assert form["response_url"].startswith(f"{server.url}/hooks/commands/")


def test_in_channel_plain_text_and_failures(
    site: tuple[ChatdServer, Team], crew: dict[str, Any], receiver: Receiver
) -> None:
    server, team = site
    ops = crew["ops"]["id"]
    shout = {"text": "Deploying *main*", "response_type": "in_channel"}
    command = add_command(
        server, team, "deploy", receiver.answer("/deploy", Reply(body=json.dumps(shout).encode()))
    )
    ran = run(server, crew["ann_token"], ops, "/deploy main")
    assert ran.status_code == 200
    message = ran.json()["message"]
    assert message["body"] == "Deploying *main*"
    assert message["via"] == {"kind": "command", "id": command["id"], "name": "/deploy"}
    assert history(server, crew["ann_token"], ops)[-1]["id"] == message["id"]
    with server.client(crew["ann_token"]) as http:
        bot = http.get(f"/api/v1/users/{message['author_id']}").json()["user"]
    assert bot["bot"] is True

    plain = Reply(body=b"just text", content_type="text/plain")
    add_command(server, team, "echo", receiver.answer("/echo", plain))
    assert run(server, crew["ann_token"], ops, "/echo").json() == {
        "ephemeral": {"text": "just text"}
    }

    add_command(server, team, "broken", receiver.answer("/broken", Reply(status=500)))
    add_command(server, team, "moved", receiver.answer("/moved", Reply(
        status=302, headers={"Location": receiver.url("/echo")}
    )))  # fmt: skip
    add_command(server, team, "slow", receiver.answer("/slow", Reply(delay_s=5)))
    calls_to_echo = len(receiver.at("/echo"))
    for trigger in ("broken", "moved"):
        failed = run(server, crew["ann_token"], ops, f"/{trigger}")
        assert failed.status_code == 502 and failed.json()["error"]["code"] == "bad_gateway"
        assert f"/{trigger}" in failed.json()["error"]["message"]
    assert len(receiver.at("/echo")) == calls_to_echo  # the redirect was not followed
    started = time.monotonic()
    slow = run(server, crew["ann_token"], ops, "/slow")
    assert slow.status_code == 502 and 2.5 < time.monotonic() - started < 4.5  # the 3 s deadline
    assert run(server, crew["ann_token"], ops, "/nosuch").status_code == 404
    assert run(server, crew["ann_token"], ops, "no slash").status_code == 422
    assert run(server, crew["ben_token"], ops, "/echo").status_code == 403  # not joined


def test_response_url_takes_one_post(
    site: tuple[ChatdServer, Team], crew: dict[str, Any], receiver: Receiver
) -> None:
    server, team = site
    ops = crew["ops"]["id"]
    add_command(server, team, "later", receiver.answer("/later", Reply(body=b"")))
    ws = WS(server.url, crew["ann_token"])
    try:
        ws.welcome()
        assert run(server, crew["ann_token"], ops, "/later one").json() == {
            "ephemeral": {"text": ""}
        }
        assert run(server, crew["ann_token"], ops, "/later two").status_code == 200
        first, second = (
            parse_qs(call.body.decode())["response_url"][0] for call in receiver.wait("/later", 2)
        )
        with httpx.Client() as http:
            answer = http.post(first, json={"text": "Done: one", "response_type": "in_channel"})
            assert answer.status_code == 200
            assert http.post(first, json={"text": "again"}).status_code == 404  # one POST only
            assert http.post(second, json={"text": "Only you see this"}).status_code == 200
        posted = ws.expect("message.created")["message"]
        assert posted["body"] == "Done: one" and posted["via"]["name"] == "/later"
        note = ws.expect("command.ephemeral")
        assert note["text"] == "Only you see this" and note["conversation_id"] == ops
    finally:
        ws.close()


def test_a_refused_response_does_not_use_up_the_response_url(
    site: tuple[ChatdServer, Team], crew: dict[str, Any], receiver: Receiver
) -> None:
    """400 (a bad payload) and 409 (an archived conversation) leave the response_url for a
    corrected retry; only the answered POST uses it."""
    server, team = site
    add_command(server, team, "retry", receiver.answer("/retry", Reply(body=b"")))
    with server.client(crew["ann_token"]) as http:
        room = http.post("/api/v1/conversations", json={"kind": "group", "members": []}).json()
    cid = room["conversation"]["id"]
    assert run(server, crew["ann_token"], cid, "/retry").status_code == 200
    (call,) = receiver.wait("/retry")
    url = parse_qs(call.body.decode())["response_url"][0]
    with httpx.Client() as http:
        for bad in ([1, 2], {"text": ""}, {"text": "x", "response_type": "loud"}):
            assert http.post(url, json=bad).status_code == 400, bad
        with server.client(crew["ann_token"]) as ann:
            assert ann.patch(f"/api/v1/conversations/{cid}", json={"archived": True}).is_success
            answer = http.post(url, json={"text": "Done", "response_type": "in_channel"})
            assert answer.status_code == 409
            assert ann.patch(f"/api/v1/conversations/{cid}", json={"archived": False}).is_success
        answer = http.post(url, json={"text": "Done", "response_type": "in_channel"})
        assert answer.status_code == 200
        assert http.post(url, json={"text": "again"}).status_code == 404  # now it is used
    assert [m["body"] for m in history(server, crew["ann_token"], cid)] == ["Done"]


def test_runs_are_limited_per_person(
    site: tuple[ChatdServer, Team], crew: dict[str, Any], receiver: Receiver
) -> None:
    server, team = site
    add_command(
        server,
        team,
        "tick",
        receiver.answer("/tick", Reply(body=b"tock", content_type="text/plain")),
    )
    _cal, cal_token = team.user("cal")
    with server.client(cal_token) as http:
        room = http.post("/api/v1/conversations", json={"kind": "group", "members": []}).json()
    cid = room["conversation"]["id"]
    for _ in range(30):
        assert run(server, cal_token, cid, "/tick").status_code == 200
    limited = run(server, cal_token, cid, "/tick")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert run(server, crew["ann_token"], crew["ops"]["id"], "/tick").status_code == 200
