"""Outgoing webhooks against a real server, delivered to a real local HTTP server; and the
outbound rules (deny_networks) that every integration's call obeys."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    srv = start_server(
        tmp_path_factory.mktemp("outgoing"),
        integrations_timeout_s="1",
        **backend_env(request, backend),
    )
    yield srv, Team(srv)
    srv.stop()


@pytest.fixture(scope="module")
def crew(site: tuple[ChatdServer, Team]) -> dict[str, Any]:
    server, team = site
    _dev, dev_token = team.user("dev")
    with server.client(dev_token) as http:
        make = lambda body: http.post("/api/v1/conversations", json=body).json()["conversation"]  # noqa: E731
        builds = make({"kind": "channel", "name": "builds", "members": []})
        chatter = make({"kind": "channel", "name": "chatter", "members": []})
        private = make({"kind": "group", "name": "private", "members": []})
    return {"token": dev_token, "builds": builds, "chatter": chatter, "private": private}


def add_hook(server: ChatdServer, team: Team, **body: Any) -> tuple[dict[str, Any], str]:
    with server.client(team.admin_token) as http:
        made = http.post("/api/v1/admin/outgoing-hooks", json=body)
    assert made.status_code == 201, made.text
    return made.json()["outgoing_hook"], made.json()["secret"]


def send(server: ChatdServer, token: str, conversation_id: str, body: str) -> dict[str, Any]:
    with server.client(token) as http:
        sent = http.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": body})
    assert sent.status_code == 201, sent.text
    message: dict[str, Any] = sent.json()["message"]
    return message


def metric(server: ChatdServer, name: str) -> float:
    with httpx.Client() as http:
        text = http.get(f"{server.url}/metrics").text
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_admin_manages_outgoing_hooks(site: tuple[ChatdServer, Team], crew: dict[str, Any]) -> None:
    server, team = site
    hook, secret = add_hook(
        server, team, name="Audit", url="https://audit.example/in",
        conversation_ids=[crew["builds"]["id"]], trigger_words=["Audit"],
    )  # fmt: skip
    assert len(secret) >= 22 and hook["trigger_words"] == ["audit"]
    assert set(hook) == {
        "id", "name", "url", "conversation_ids", "trigger_words", "created_by", "created_at"
    }  # fmt: skip
    with server.client(crew["token"]) as http:
        assert http.get("/api/v1/admin/outgoing-hooks").status_code == 403
        made = http.post("/api/v1/admin/outgoing-hooks", json={"name": "x", "url": "http://a/"})
        assert made.status_code == 403
    with server.client(team.admin_token) as http:
        listed = http.get("/api/v1/admin/outgoing-hooks").json()["outgoing_hooks"]
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
        bad = http.post(
            "/api/v1/admin/outgoing-hooks",
            json={"name": "", "url": "file:///etc/passwd", "conversation_ids": ["nope"],
                  "trigger_words": ["two words"]},
        )  # fmt: skip
        assert bad.status_code == 422
        assert set(bad.json()["error"]["fields"]) == {"name", "url", "trigger_words"}
        unknown = http.post(
            "/api/v1/admin/outgoing-hooks",
            json={"name": "x", "url": "http://a/", "conversation_ids": ["nope"]},
        )
        assert (
            unknown.status_code == 422 and "conversation_ids" in unknown.json()["error"]["fields"]
        )
        assert http.delete(f"/api/v1/admin/outgoing-hooks/{hook['id']}").status_code == 204
        assert http.delete(f"/api/v1/admin/outgoing-hooks/{hook['id']}").status_code == 404


def test_signed_delivery_filtered_by_conversation_and_word_with_a_reply(
    site: tuple[ChatdServer, Team], crew: dict[str, Any], receiver: Receiver
) -> None:
    server, team = site
    builds = crew["builds"]["id"]
    url = receiver.answer("/deploys", Reply(body=b'{"text": "Deploy started"}'))
    hook, secret = add_hook(
        server, team, name="Deployer", url=url, conversation_ids=[builds],
        trigger_words=["deploy", "ship"],
    )  # fmt: skip
    send(server, crew["token"], builds, "hello there")  # no trigger word
    send(server, crew["token"], crew["chatter"]["id"], "deploy elsewhere")  # other channel
    asked = send(server, crew["token"], builds, "Deploy main please")
    (call,) = receiver.wait("/deploys")
    expected = "sha256=" + hmac.new(secret.encode(), call.body, hashlib.sha256).hexdigest()
    assert call.headers["X-Chatd-Signature"] == expected
    assert len(call.headers["X-Chatd-Delivery"]) >= 16
    sent = json.loads(call.body)
    assert sent["hook_id"] == hook["id"]
    assert sent["message"]["id"] == asked["id"] and sent["message"]["body"] == "Deploy main please"
    assert sent["conversation"]["id"] == builds and sent["conversation"]["name"] == "builds"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with server.client(crew["token"]) as http:
            replies = http.get(f"/api/v1/messages/{asked['id']}/replies").json()["messages"]
        if replies:
            break
        time.sleep(0.1)
    assert [r["body"] for r in replies] == ["Deploy started"]
    with server.client(crew["token"]) as http:
        bot = http.get(f"/api/v1/users/{replies[0]['author_id']}").json()["user"]
    assert bot["bot"] is True and bot["display_name"] == "Deployer"
    time.sleep(0.5)  # the reply starts with a trigger word, but a bot's message is not delivered
    assert len(receiver.at("/deploys")) == 1
    with server.client(team.admin_token) as http:
        http.delete(f"/api/v1/admin/outgoing-hooks/{hook['id']}")


def test_hanging_url_delays_no_ack_and_no_other_hook(
    site: tuple[ChatdServer, Team], crew: dict[str, Any], receiver: Receiver
) -> None:
    """One hook's URL never answers, another's always fails; acks stay fast, a third hook
    gets every message at once, failures are retried 3 times, a full queue drops."""
    server, team = site
    chatter = crew["chatter"]["id"]
    hanging, _ = add_hook(
        server, team, name="Hangs", url=receiver.answer("/hang", Reply(hang=True))
    )
    failing, _ = add_hook(
        server, team, name="Fails", url=receiver.answer("/fail", Reply(status=503))
    )
    fast, _ = add_hook(server, team, name="Fast", url=receiver.answer("/fast", Reply(status=204)))
    dropped_before = metric(server, "chatd_outgoing_deliveries_dropped_total")
    ws = WS(server.url, crew["token"])
    try:
        ws.welcome()
        worst = 0.0
        for n in range(20):
            started = time.monotonic()
            ws.send({"type": "send", "conversation_id": chatter, "body": f"m{n}", "ref": str(n)})
            ws.expect("ack", ref=str(n))
            worst = max(worst, time.monotonic() - started)
        assert worst < 0.5, worst  # a hanging URL never delays an ack (shared CPU: loose bound)
        assert len(receiver.wait("/fast", 20, timeout=5)) == 20  # not held up by /hang
        assert len(receiver.at("/hang")) == 1  # its worker waits on the first delivery
        for n in range(20, 140):  # past the hanging hook's queue of 100
            send(server, crew["token"], chatter, f"m{n}")
        assert metric(server, "chatd_outgoing_deliveries_dropped_total") - dropped_before >= 10
        assert len(receiver.wait("/fast", 140, timeout=10)) == 140
    finally:
        ws.close()
    # the failing hook: the first delivery and 3 retries, one delivery id, growing gaps
    tries = receiver.wait("/fail", 4, timeout=15)
    assert len({t.headers["X-Chatd-Delivery"] for t in tries}) == 1
    gaps = [b.at - a.at for a, b in itertools.pairwise(tries)]
    assert gaps[0] >= 0.8 and gaps[1] > gaps[0] and gaps[2] > gaps[1]
    assert json.loads(tries[0].body)["message"]["body"] == "m0"
    with server.client(team.admin_token) as http:
        for hook in (hanging, failing, fast):
            http.delete(f"/api/v1/admin/outgoing-hooks/{hook['id']}")


def test_every_channel_means_channels_only(
    site: tuple[ChatdServer, Team], crew: dict[str, Any], receiver: Receiver
) -> None:
    server, team = site
    hook, _ = add_hook(server, team, name="All", url=receiver.answer("/all", Reply()))
    send(server, crew["token"], crew["private"]["id"], "secret plans")
    send(server, crew["token"], crew["builds"]["id"], "public news")
    (call,) = receiver.wait("/all")
    time.sleep(0.3)
    assert [json.loads(c.body)["message"]["body"] for c in receiver.at("/all")] == ["public news"]
    assert json.loads(call.body)["conversation"]["kind"] == "channel"
    with server.client(team.admin_token) as http:
        http.delete(f"/api/v1/admin/outgoing-hooks/{hook['id']}")


def test_deny_networks_refuses_commands_and_hooks(
    tmp_path: Path, receiver: Receiver, request: pytest.FixtureRequest, backend: str
) -> None:
    """127.0.0.1 denied: localhost (a name resolving there) and the literal both refused."""
    server = start_server(
        tmp_path,
        integrations_deny_networks="127.0.0.0/8,::1/128",
        **backend_env(request, backend),
    )
    try:
        team = Team(server)
        with server.client(team.admin_token) as http:
            room = http.post(
                "/api/v1/conversations", json={"kind": "channel", "name": "x", "members": []}
            ).json()["conversation"]
            port = receiver.server.server_port
            for trigger, host in (("byname", "localhost"), ("byip", "127.0.0.1")):
                url = f"http://{host}:{port}/denied-{trigger}"
                made = http.post("/api/v1/admin/commands", json={"trigger": trigger, "url": url})
                assert made.status_code == 201
                ran = http.post(
                    f"/api/v1/conversations/{room['id']}/commands", json={"text": f"/{trigger}"}
                )
                assert ran.status_code == 502 and ran.json()["error"]["code"] == "bad_gateway"
                assert "deny_networks" in ran.json()["error"]["message"]
            url = f"http://localhost:{port}/denied-hook"
            http.post("/api/v1/admin/outgoing-hooks", json={"name": "h", "url": url})
            http.post(f"/api/v1/conversations/{room['id']}/messages", json={"body": "hi"})
        time.sleep(1.5)  # the first attempt and the first retry
        assert not [r for r in receiver.received if r.path.startswith("/denied")]
        server.wait_for_log("deny_networks")
    finally:
        server.stop()
