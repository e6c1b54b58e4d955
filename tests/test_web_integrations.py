"""The web client's integrations in a real browser: `/` commands in the composer, the
conversation's webhooks, the BOT badge and the admin console's bots."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from .conftest import ChatdServer, Team, start_server
from .receiver import Received, Receiver, Reply
from .test_web import ARGS, CHROMIUM, Visitor

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChatdServer, Team]]:
    srv = start_server(tmp_path_factory.mktemp("web-integrations"))
    yield srv, Team(srv)
    srv.stop()


@pytest.fixture(scope="module")
def crew(site: tuple[ChatdServer, Team], receiver: Receiver) -> dict[str, Any]:
    """amy owns #ops with bob in it; /weather answers amy alone, /announce the channel."""
    server, team = site
    _amy, amy_token = team.user("amy", "Amy Adams")
    bob, _ = team.user("bob", "Bob Brown")

    def weather(call: Received) -> Reply:
        place = parse_qs(call.body.decode())["text"][0]
        return Reply(body=json.dumps({"text": f"Sunny in {place}"}).encode())

    with server.client(team.admin_token) as http:
        shout = b'{"text": "Release 2.0 is out", "response_type": "in_channel"}'
        for trigger, reply, about in (
            ("weather", weather, "today's weather"),
            ("announce", Reply(body=shout), "tell everyone"),
        ):
            made = http.post(
                "/api/v1/admin/commands",
                json={"trigger": trigger, "url": receiver.answer(f"/{trigger}", reply),
                      "description": about},
            )  # fmt: skip
            assert made.status_code == 201, made.text
    with server.client(amy_token) as http:
        ops = http.post(
            "/api/v1/conversations", json={"kind": "channel", "name": "ops", "members": [bob["id"]]}
        ).json()["conversation"]
    return {"amy_token": amy_token, "ops": ops}


def test_slash_commands_complete_run_and_answer_only_the_caller(
    browser: Browser, site: tuple[ChatdServer, Team], crew: dict[str, Any]
) -> None:
    server, _ = site
    amy = Visitor(browser, server).sign_in("amy")
    bob = Visitor(browser, server).sign_in("bob")
    amy.open("ops")
    bob.open("ops")
    box = amy.page.get_by_role("textbox", name="Message")
    box.fill("")
    box.press_sequentially("/wea")
    suggestions = amy.page.get_by_role("listbox", name="Command suggestions")
    expect(suggestions.get_by_role("option", name="/weather")).to_be_visible()
    box.press("Enter")  # picks the suggestion
    expect(box).to_have_value("/weather ")
    box.press_sequentially("berlin")
    box.press("Enter")
    note = amy.page.get_by_role("list", name="Only visible to you")
    expect(note).to_contain_text("Sunny in berlin")
    expect(box).to_have_value("")
    # nothing was stored, and bob sees nothing
    with server.client(crew["amy_token"]) as http:
        stored = http.get(f"/api/v1/conversations/{crew['ops']['id']}/messages").json()
    assert not [m for m in stored["messages"] if "Sunny" in m["body"]]
    amy.send("/announce")
    for visitor in (amy, bob):
        posted = visitor.messages().filter(has_text="Release 2.0 is out")
        expect(posted).to_have_count(1)
        expect(posted.locator(".bot-badge")).to_have_text("BOT")
    expect(bob.page.get_by_text("Sunny in berlin")).to_have_count(0)
    amy.send("/nosuchcommand")
    expect(amy.page.get_by_role("alert")).to_contain_text("no /nosuchcommand command")
    amy.close()
    bob.close()


def test_webhook_settings_create_copy_and_delete(
    browser: Browser, site: tuple[ChatdServer, Team], crew: dict[str, Any]
) -> None:
    server, _ = site
    amy = Visitor(browser, server).sign_in("amy")
    amy.open("ops")
    amy.page.get_by_role("button", name="Webhooks").click()
    dialog = amy.page.get_by_role("dialog", name="Webhooks of ops")
    dialog.get_by_label("Webhook name").fill("Grafana")
    dialog.get_by_role("button", name="Create webhook").click()
    url_box = dialog.get_by_role("textbox", name="URL of Grafana")
    expect(url_box).to_be_visible()
    url = url_box.input_value()
    assert url.startswith(f"{server.url}/hooks/") and len(url) > len(server.url) + 30
    expect(dialog.get_by_role("button", name="Copy URL of Grafana")).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    with httpx.Client() as http:
        assert http.post(url, json={"text": "CPU is high on web-1"}).status_code == 200
    posted = amy.messages().filter(has_text="CPU is high on web-1")
    expect(posted).to_have_count(1)
    expect(posted).to_contain_text("Grafana")
    expect(posted.locator(".bot-badge")).to_have_text("BOT")
    amy.page.get_by_role("button", name="Webhooks").click()
    dialog = amy.page.get_by_role("dialog", name="Webhooks of ops")
    dialog.get_by_role("button", name="Delete Grafana").click()  # the confirm() is accepted
    expect(dialog.get_by_role("textbox", name="URL of Grafana")).to_have_count(0)
    with httpx.Client() as http:
        assert http.post(url, json={"text": "gone"}).status_code == 404
    amy.close()


def test_admin_console_creates_a_bot_and_shows_its_token_once(
    browser: Browser, site: tuple[ChatdServer, Team], crew: dict[str, Any], receiver: Receiver
) -> None:
    server, team = site
    with server.client(team.admin_token) as http:  # the admin joins #ops to pick it below
        assert http.post(f"/api/v1/conversations/{crew['ops']['id']}/join").status_code == 200
    admin = Visitor(browser, server).sign_in("admin")
    admin.page.get_by_role("button", name="Admin").click()
    dialog = admin.page.get_by_role("dialog", name="Admin")
    dialog.get_by_label("Bot username").fill("ci-bot")
    dialog.get_by_role("button", name="Create bot").click()
    token = dialog.get_by_role("textbox", name="Token of ci-bot")
    expect(token).to_be_visible()
    with server.client(token.input_value()) as http:
        me = http.get("/api/v1/users/me").json()["user"]
    assert me["username"] == "ci-bot" and me["bot"] is True
    dialog.get_by_role("button", name="Disable ci-bot").click()
    expect(dialog.get_by_role("button", name="Enable ci-bot")).to_be_visible()
    with server.client(token.input_value()) as http:
        assert http.get("/api/v1/users/me").status_code == 401
    # a slash command and an outgoing webhook, their secrets shown once
    dialog.get_by_label("Command trigger").fill("status")
    dialog.get_by_label("Command URL").fill(receiver.url("/status"))
    dialog.get_by_role("button", name="Create command").click()
    expect(dialog.get_by_role("textbox", name="Verification token of /status")).to_be_visible()
    expect(dialog.get_by_role("button", name="Delete /status")).to_be_visible()
    dialog.get_by_label("Hook name").fill("Mirror")
    dialog.get_by_label("Hook URL").fill(receiver.url("/mirror"))
    dialog.get_by_label("Hook conversations").select_option(label="ops")
    dialog.get_by_role("button", name="Create outgoing webhook").click()
    secret = dialog.get_by_role("textbox", name="Signing secret of Mirror")
    expect(secret).to_be_visible()
    expect(dialog.get_by_text("in ops")).to_be_visible()
    with server.client(crew["amy_token"]) as http:
        http.post(f"/api/v1/conversations/{crew['ops']['id']}/messages", json={"body": "mirror me"})
    (call,) = receiver.wait("/mirror")
    assert json.loads(call.body)["message"]["body"] == "mirror me"
    assert (
        call.headers["X-Chatd-Signature"]
        == "sha256="
        + hmac.new(secret.input_value().encode(), call.body, hashlib.sha256).hexdigest()
    )
    admin.close()
