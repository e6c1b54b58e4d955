"""Notifications in the browser: the service worker shows a pushed DM while chatd's page is
closed, and the notify and email settings work from the web client.

Headless Chromium has no push service to subscribe to (no network to its vendor's), so the
push leg runs through the test's own push service: chatd encrypts and sends the DM's push to
it, the test decrypts it as a browser would, and hands the payload to the real service
worker with the DevTools protocol (`ServiceWorker.deliverPushMessage`), the path a push
takes inside Chromium after decryption.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ChatdServer, Team
from .pushkit import Browser as PushBrowser
from .pushkit import PushReceiver
from .test_web import Visitor, browser  # noqa: F401 (the module's browser fixture)

pytestmark = pytest.mark.browser

from playwright.sync_api import Browser, expect  # noqa: E402


@pytest.fixture(scope="module")
def receiver(cert: tuple[Path, Path]) -> Iterator[PushReceiver]:
    found = PushReceiver(*cert)
    yield found
    found.stop()


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, cert: tuple[Path, Path]
) -> Iterator[tuple[ChatdServer, Team]]:
    env = {"CHATD_AUTH_REGISTRATION": "open", "SSL_CERT_FILE": str(cert[0])}
    srv = ChatdServer(tmp_path_factory.mktemp("web"), env).start()
    yield srv, Team(srv)
    srv.stop()


def test_service_worker_shows_a_pushed_dm(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
    receiver: PushReceiver,
) -> None:
    server, team = site
    amy, amy_token = team.user("amy", "Amy Adams")
    bob, bob_token = team.user("bob", "Bob Brown")
    visitor = Visitor(browser, server)
    visitor.context.grant_permissions(["notifications"], origin=server.url)
    page = visitor.page
    cdp = visitor.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    visitor.sign_in("bob")
    assert page.evaluate("() => Notification.permission") == "granted"
    state = page.evaluate("() => navigator.serviceWorker.ready.then((r) => r.active.state)")
    assert state in ("activating", "activated")
    scope = server.url + "/"
    deadline = time.monotonic() + 5
    while not [r for r in registrations if r["scopeURL"] == scope and not r["isDeleted"]]:
        assert time.monotonic() < deadline, registrations
        page.wait_for_timeout(50)
    registration_id = next(r["registrationId"] for r in registrations if r["scopeURL"] == scope)
    # chatd pushes to the test's push service on bob's behalf
    keys = PushBrowser()
    with server.client(bob_token) as http:
        made = http.post(
            "/api/v1/push/subscriptions",
            json={"endpoint": receiver.origin + "/web-bob", "keys": keys.keys()},
        )
        assert made.status_code == 201
    # bob closes chatd: the page goes elsewhere, its socket closes
    page.goto("about:blank")
    with server.client(amy_token) as http:
        cid = http.post(
            "/api/v1/conversations", json={"kind": "direct", "members": [bob["id"]]}
        ).json()["conversation"]["id"]
        sent = http.post(
            f"/api/v1/conversations/{cid}/messages", json={"body": "Are you there, <Bob>?"}
        ).json()["message"]
    found = receiver.wait("/web-bob")
    assert found, server.log[-3000:]
    [delivery] = found
    payload = keys.decrypt(delivery.body)
    assert payload["message_id"] == sent["id"]
    shown: list[dict[str, Any]] = []
    # A push handed to the worker through DevTools right after its last page went away is
    # now and then not shown (1 run in 4 here, cause not found; a push service delivers to
    # a started worker); it is handed over again, as a push service retries, and the tag
    # keeps it to one notification.
    for _ in range(5):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": server.url, "registrationId": registration_id, "data": json.dumps(payload)},
        )
        [worker] = visitor.context.service_workers
        deadline = time.monotonic() + 1
        while not shown and time.monotonic() < deadline:
            shown = worker.evaluate(
                "() => self.registration.getNotifications().then((all) => all.map((n) => "
                "({title: n.title, body: n.body, tag: n.tag, data: n.data})))"
            )
        if shown:
            break
    assert shown == [
        {
            "title": "Amy Adams (direct message)",
            "body": "Are you there, <Bob>?",
            "tag": cid,
            "data": {"conversation_id": cid, "message_id": sent["id"], "seq": sent["seq"]},
        }
    ]
    assert amy["id"] != bob["id"]
    visitor.close()


def test_notify_and_email_settings_in_the_client(
    browser: Browser,  # noqa: F811
    site: tuple[ChatdServer, Team],
) -> None:
    server, team = site
    _, cat_token = team.user("cat", "Cat")
    with server.client(cat_token) as http:
        channel = http.post(
            "/api/v1/conversations", json={"kind": "channel", "name": "web-notify"}
        ).json()["conversation"]
    visitor = Visitor(browser, server).sign_in("cat")
    page = visitor.page
    visitor.open("web-notify")
    level = page.get_by_role("combobox", name="Notifications")
    expect(level).to_have_value("default")
    level.select_option("all")
    with server.client(cat_token) as http:
        deadline = time.monotonic() + 5
        while True:
            got = http.get(f"/api/v1/conversations/{channel['id']}").json()["conversation"]
            if got["notify"] == "all" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert got["notify"] == "all"
    page.get_by_role("button", name="Notifications", exact=True).click()
    dialog = page.get_by_role("dialog", name="Notifications")
    dialog.get_by_label("Email", exact=True).fill("not an address")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_contain_text("valid email")
    dialog.get_by_label("Email", exact=True).fill("cat@example.test")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("status")).to_have_text("Saved.")
    expect(dialog.get_by_role("checkbox", name="Email notifications")).to_be_checked()
    with server.client(cat_token) as http:
        me = http.get("/api/v1/users/me").json()["user"]
    assert me["email"] == "cat@example.test" and me["email_notifications"] is True
    visitor.close()
