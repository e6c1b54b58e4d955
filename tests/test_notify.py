"""Notifications away from the page, end to end: a real server, a local https push service
that checks VAPID and decrypts what it gets, aiosmtpd receiving digests."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatd.models import Message
from chatd.services.notifier import level, notifies, preview, title
from chatd.services.notify import vapid_subject
from chatd.store.notify import Recipient

from .conftest import ChatdServer, Team, backend_vars
from .pushkit import Browser, Mailbox, PushReceiver, check_vapid
from .test_conversations import Person
from .wsclient import WS

DELAY_S = 1


# The push service and the mailbox are per backend, like the server: what the run on one
# backend received (deliveries at the same paths, refusal counts) must not meet the other.
@pytest.fixture(scope="module")
def receiver(cert: tuple[Path, Path], backend: str) -> Iterator[PushReceiver]:
    found = PushReceiver(*cert)
    yield found
    found.stop()


@pytest.fixture(scope="module")
def mailbox(backend: str) -> Iterator[Mailbox]:
    found = Mailbox()
    yield found
    found.stop()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    cert: tuple[Path, Path],
    mailbox: Mailbox,
    request: pytest.FixtureRequest,
    backend: str,
) -> Iterator[ChatdServer]:
    env = {
        **backend_vars(request, backend),
        "CHATD_AUTH_REGISTRATION": "open",
        "CHATD_PRESENCE_AWAY_AFTER_S": "2",
        "CHATD_PRESENCE_OFFLINE_GRACE_S": "1",
        "CHATD_EMAIL_SMTP_HOST": "127.0.0.1",
        "CHATD_EMAIL_SMTP_PORT": str(mailbox.port),
        "CHATD_EMAIL_SMTP_SECURITY": "none",
        "CHATD_EMAIL_DELAY_S": str(DELAY_S),
        "CHATD_EMAIL_FROM": "Team Chat <chat@example.test>",
        # chatd trusts the test push service's self-signed certificate, and only it
        "SSL_CERT_FILE": str(cert[0]),
    }
    srv = ChatdServer(tmp_path_factory.mktemp("data"), env).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def people(server: ChatdServer, team: Team) -> dict[str, Person]:
    return {name: Person(server, *team.user(name, name.title())) for name in ("amy", "bob", "cy")}


def token_of(person: Person) -> str:
    return str(person.http.headers["Authorization"].split(" ", 1)[1])


def direct(a: Person, b: Person) -> str:
    cid: str = a.create("direct", [b.id]).json()["conversation"]["id"]
    return cid


def send(person: Person, cid: str, body: str) -> dict[str, Any]:
    answer = person.http.post(f"/api/v1/conversations/{cid}/messages", json={"body": body})
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()["message"]
    return found


# ---- pure rules --------------------------------------------------------------------------


def test_what_notifies() -> None:
    def who(notify: str, muted: bool = False, active: bool = True) -> Recipient:
        return Recipient("u1", notify, muted, False, active)

    assert level("default", False, "direct") == "all"
    assert level("default", False, "group") == "all"
    assert level("default", False, "channel") == "mentions"
    assert level("all", True, "direct") == "none"
    assert notifies(who("default"), "direct", [])
    assert not notifies(who("default"), "channel", [])
    assert notifies(who("default"), "channel", ["u1"])
    assert notifies(who("all"), "channel", [])
    assert not notifies(who("mentions"), "group", [])
    assert not notifies(who("none"), "direct", ["u1"])
    assert not notifies(who("all", muted=True), "direct", ["u1"])
    assert not notifies(who("all", active=False), "direct", [])
    assert title("Amy", "direct", "") == "Amy (direct message)"
    assert title("Amy", "channel", "general") == "Amy in #general"
    assert title("Amy", "group", "") == "Amy in a group"
    assert vapid_subject("Team <team@example.org>", "http://127.0.0.1:8080") == (
        "mailto:team@example.org"
    )
    assert vapid_subject("", "https://chat.example.org") == "https://chat.example.org"
    assert vapid_subject("", "http://127.0.0.1:8080") == "mailto:chatd@localhost"
    assert vapid_subject("chatd <chatd@vm>", "https://vm:8443") == "mailto:chatd@localhost"
    long = Message("m", "c", 1, "a", "x" * 500, 0, None, False, None, None)
    assert preview(long) == "x" * 200


# ---- settings ----------------------------------------------------------------------------


def test_notify_setting(people: dict[str, Person]) -> None:
    amy, bob = people["amy"], people["bob"]
    cid = direct(amy, bob)
    assert amy.http.get(f"/api/v1/conversations/{cid}").json()["conversation"]["notify"] == (
        "default"
    )
    changed = amy.http.patch(f"/api/v1/conversations/{cid}/settings", json={"notify": "mentions"})
    assert changed.status_code == 200
    assert changed.json()["conversation"]["notify"] == "mentions"
    assert changed.json()["conversation"]["muted"] is False
    listed = {c["id"]: c for c in amy.http.get("/api/v1/conversations").json()["conversations"]}
    assert listed[cid]["notify"] == "mentions"
    # the setting is the caller's own
    assert bob.http.get(f"/api/v1/conversations/{cid}").json()["conversation"]["notify"] == (
        "default"
    )
    bad = amy.http.patch(f"/api/v1/conversations/{cid}/settings", json={"notify": "loud"})
    assert bad.status_code == 422
    assert "notify" in bad.json()["error"]["fields"]
    outsider = people["cy"].http.patch(
        f"/api/v1/conversations/{cid}/settings", json={"notify": "all"}
    )
    assert outsider.status_code == 404
    amy.http.patch(f"/api/v1/conversations/{cid}/settings", json={"notify": "default"})


def test_email_fields(people: dict[str, Person], team: Team, server: ChatdServer) -> None:
    cy = people["cy"]
    me = cy.http.get("/api/v1/users/me").json()["user"]
    assert me["email"] is None
    assert me["email_notifications"] is False
    for bad in ("no-at-sign", "a@b@c", "x y@z.test", "a@b.test\r\nBcc: e@f.test", 5, "@x.test"):
        answer = cy.http.patch("/api/v1/users/me", json={"email": bad, "display_name": "Nope"})
        assert answer.status_code == 422, bad
        assert "email" in answer.json()["error"]["fields"]
    assert cy.http.get("/api/v1/users/me").json()["user"]["display_name"] == "Cy"
    assert cy.http.patch("/api/v1/users/me", json={"email_notifications": "yes"}).status_code == 422
    set_ = cy.http.patch("/api/v1/users/me", json={"email": "cy@example.test"})
    assert set_.status_code == 200
    assert set_.json()["user"]["email"] == "cy@example.test"
    assert set_.json()["user"]["email_notifications"] is True  # on once an email is set
    off = cy.http.patch("/api/v1/users/me", json={"email_notifications": False})
    assert off.json()["user"]["email_notifications"] is False
    # only the user and admins see it
    seen = people["amy"].http.get(f"/api/v1/users/{cy.id}").json()["user"]
    assert "email" not in seen
    listed = people["amy"].http.get("/api/v1/users", params={"q": "cy"}).json()["users"]
    assert all("email" not in u for u in listed)
    with server.client(team.admin_token) as admin:
        found = admin.get("/api/v1/admin/users", params={"q": "cy"}).json()["users"]
    assert [u["email"] for u in found if u["id"] == cy.id] == ["cy@example.test"]
    cleared = cy.http.patch("/api/v1/users/me", json={"email": None})
    assert cleared.json()["user"]["email"] is None


def test_subscription_input(people: dict[str, Person], receiver: PushReceiver) -> None:
    amy = people["amy"]
    keys = Browser().keys()
    cases: list[dict[str, Any]] = [
        {"keys": keys},
        {"endpoint": "http://127.0.0.1/x", "keys": keys},
        {"endpoint": "not a url", "keys": keys},
        {"endpoint": f"{receiver.origin}/a"},
        {"endpoint": f"{receiver.origin}/a", "keys": {**keys, "auth": "short"}},
        {"endpoint": f"{receiver.origin}/a", "keys": {**keys, "p256dh": "A" * 87}},
    ]
    for body in cases:
        answer = amy.http.post("/api/v1/push/subscriptions", json=body)
        assert answer.status_code == 422, body
    assert amy.http.get("/api/v1/push/key").json()["public_key"]
    assert httpx.get(f"{amy.http.base_url}/api/v1/push/key").status_code == 401
    gone = amy.http.request("DELETE", "/api/v1/push/subscriptions", json={"endpoint": "x"})
    assert gone.status_code == 204


# ---- Web Push ----------------------------------------------------------------------------


def test_push_end_to_end(
    server: ChatdServer, people: dict[str, Person], receiver: PushReceiver
) -> None:
    amy, bob = people["amy"], people["bob"]
    public_key = bob.http.get("/api/v1/push/key").json()["public_key"]
    browser, doomed = Browser(), Browser()
    for path, who in (("/bob", browser), ("/gone/bob", doomed)):
        made = bob.http.post(
            "/api/v1/push/subscriptions",
            json={"endpoint": receiver.origin + path, "keys": who.keys()},
        )
        assert made.status_code == 201, made.text
    cid = direct(amy, bob)
    started = time.monotonic()
    sent = send(amy, cid, "lunch at <noon>? " + "y" * 300)
    [delivery] = receiver.wait("/bob")
    assert delivery.at - started < 2.0
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    assert headers["ttl"] == "86400"
    assert headers["content-encoding"] == "aes128gcm"
    check_vapid(headers["authorization"], public_key, receiver.origin)
    payload = browser.decrypt(delivery.body)
    assert payload == {
        "conversation_id": cid,
        "message_id": sent["id"],
        "seq": sent["seq"],
        "title": "Amy (direct message)",
        "body": ("lunch at <noon>? " + "y" * 300)[:200],
    }
    # the push service said 410 for the other endpoint: it is gone, and gets nothing more
    assert len(receiver.wait("/gone/bob")) == 1
    time.sleep(0.3)
    send(amy, cid, "second")
    assert len(receiver.wait("/bob", 2)) == 2
    assert len(receiver.wait("/gone/bob", 2, timeout=0.5)) == 1
    # at the desk (an active socket): nothing is pushed
    ws = WS(server.url, token_of(bob))
    ws.welcome()
    ws.send({"type": "ping"})
    send(amy, cid, "you are here")
    ws.expect("message.created")
    assert len(receiver.wait("/bob", 3, timeout=1.0)) == 2
    ws.close()
    # once the socket is gone, pushes resume
    time.sleep(0.2)
    send(amy, cid, "back to pushes")
    assert len(receiver.wait("/bob", 3)) == 3
    bob.http.request(
        "DELETE", "/api/v1/push/subscriptions", json={"endpoint": receiver.origin + "/bob"}
    )
    send(amy, cid, "unsubscribed")
    assert len(receiver.wait("/bob", 4, timeout=1.0)) == 3


def test_push_follows_the_setting(
    server: ChatdServer, people: dict[str, Person], receiver: PushReceiver
) -> None:
    amy, bob, cy = people["amy"], people["bob"], people["cy"]
    browser = Browser()
    for endpoint in (receiver.origin + "/bob2", "https://169.254.169.254/latest/meta-data"):
        made = bob.http.post(
            "/api/v1/push/subscriptions", json={"endpoint": endpoint, "keys": browser.keys()}
        )
        assert made.status_code == 201
    made = amy.create("channel", [bob.id, cy.id], name="notify-test")
    cid = made.json()["conversation"]["id"]
    send(amy, cid, "a channel message without a mention")
    send(amy, cid, "now @bob please look")
    [first] = receiver.wait("/bob2")
    server.wait_for_log("in integrations.deny_networks")  # it holds for push too
    assert browser.decrypt(first.body)["title"] == "Amy in #notify-test"
    assert browser.decrypt(first.body)["body"] == "now @bob please look"
    bob.http.patch(f"/api/v1/conversations/{cid}/settings", json={"notify": "all"})
    send(amy, cid, "everything notifies now")
    assert len(receiver.wait("/bob2", 2)) == 2
    bob.http.patch(f"/api/v1/conversations/{cid}/settings", json={"muted": True})
    send(amy, cid, "muted: @bob hears nothing")
    bob.http.patch(f"/api/v1/conversations/{cid}/settings", json={"muted": False, "notify": "none"})
    send(amy, cid, "none: @bob hears nothing")
    assert len(receiver.wait("/bob2", 3, timeout=1.0)) == 2


def test_integration_posts_notify(
    server: ChatdServer, people: dict[str, Person], receiver: PushReceiver
) -> None:
    """A webhook's message notifies like anyone's: `all` on every message from someone else,
    `mentions` on a mention (the contract's rule, whoever or whatever the author is)."""
    amy, bob, cy = people["amy"], people["bob"], people["cy"]
    browser = Browser()
    made = bob.http.post(
        "/api/v1/push/subscriptions",
        json={"endpoint": receiver.origin + "/bob-hook", "keys": browser.keys()},
    )
    assert made.status_code == 201, made.text
    group = amy.create("group", [bob.id, cy.id], name="oncall").json()["conversation"]["id"]
    hook = amy.http.post(f"/api/v1/conversations/{group}/webhooks", json={"name": "Grafana"})
    assert hook.status_code == 201, hook.text
    posted = httpx.post(hook.json()["webhook"]["url"], json={"text": "disk full on db1"})
    assert posted.status_code == 200, posted.text
    [delivery] = receiver.wait("/bob-hook")
    payload = browser.decrypt(delivery.body)
    assert payload["title"] == "Grafana in oncall"
    assert payload["body"] == "disk full on db1"
    # in a channel (default: mentions) only a mention of bob notifies him
    channel = amy.create("channel", [bob.id], name="hook-alerts").json()["conversation"]["id"]
    hook = amy.http.post(f"/api/v1/conversations/{channel}/webhooks", json={"name": "CI"})
    assert hook.status_code == 201, hook.text
    url = hook.json()["webhook"]["url"]
    assert httpx.post(url, json={"text": "build 12 passed"}).status_code == 200
    assert httpx.post(url, json={"text": "build 13 failed, @bob"}).status_code == 200
    found = receiver.wait("/bob-hook", 3, timeout=1.5)
    assert [browser.decrypt(d.body)["body"] for d in found[1:]] == ["build 13 failed, @bob"]


# ---- email digests -----------------------------------------------------------------------


def parse(raw: bytes | str) -> EmailMessage:
    data = raw if isinstance(raw, bytes) else raw.encode()
    found = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(found, EmailMessage)
    return found


def test_email_digest(
    server: ChatdServer, people: dict[str, Person], mailbox: Mailbox, team: Team
) -> None:
    dee_user, dee_token = team.user("dee", "Dee")
    dee = Person(server, dee_user, dee_token)
    amy = people["amy"]
    assert dee.http.patch("/api/v1/users/me", json={"email": "dee@example.test"}).status_code == 200
    cid = direct(amy, dee)
    before = len(mailbox.messages)
    # read before the delay: nothing is sent
    sent = send(amy, cid, "read me quickly")
    dee.http.post(f"/api/v1/conversations/{cid}/read", json={"seq": sent["seq"]})
    time.sleep(DELAY_S + 1.0)
    assert len(mailbox.messages) == before
    # unread: one email after the delay
    started = time.monotonic()
    first = send(amy, cid, "<script>alert('x')</script> & more\nsecond line")
    messages = mailbox.wait(before + 1)
    assert len(messages) == before + 1
    assert time.monotonic() - started >= DELAY_S - 0.5
    envelope = messages[-1]
    assert envelope.rcpt_tos == ["dee@example.test"]
    mail = parse(envelope.content)  # type: ignore[arg-type]
    assert mail["From"] == "Team Chat <chat@example.test>"
    assert mail["Subject"] == "1 unread message on chatd"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain = mail.get_body(("plain",))
    rich = mail.get_body(("html",))
    assert plain is not None and rich is not None
    text, markup = plain.get_content(), rich.get_content()
    link = f"{server.url}/#/c/{cid}"
    assert "<script>alert('x')</script> & more\r\n    second line" in text
    assert link in text and "Amy" in text
    assert "<script>" not in markup
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in markup
    assert f'href="{link}"' in markup
    assert first["conversation_id"] == cid
    # a later message gets an email of its own, never sooner than delay_s after the last
    time.sleep(0.3)
    send(amy, cid, "a later one")
    later = mailbox.wait(before + 2)
    assert len(later) == before + 2
    assert mailbox.times[-1] - mailbox.times[-2] >= DELAY_S - 0.05
    assert "a later one" in parse(later[-1].content).get_body(("plain",)).get_content()  # type: ignore[arg-type,union-attr]
    # the one-click unsubscribe (RFC 8058) turns email notifications off
    url = mail["List-Unsubscribe"].strip("<>")
    assert url.startswith(server.url + "/api/v1/email/unsubscribe?")
    assert httpx.get(url).status_code == 200  # shows a button, changes nothing
    assert dee.http.get("/api/v1/users/me").json()["user"]["email_notifications"] is True
    forged = httpx.post(url[:-4] + "0000", content=b"List-Unsubscribe=One-Click")
    assert forged.status_code == 404
    done = httpx.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200
    assert dee.http.get("/api/v1/users/me").json()["user"]["email_notifications"] is False
    send(amy, cid, "no more mail")
    time.sleep(DELAY_S + 1.0)
    assert len(mailbox.messages) == before + 2


def test_email_retries(
    server: ChatdServer, people: dict[str, Person], mailbox: Mailbox, team: Team
) -> None:
    eve_user, eve_token = team.user("eve", "Eve")
    eve = Person(server, eve_user, eve_token)
    eve.http.patch("/api/v1/users/me", json={"email": "eve@example.test"})
    cid = direct(people["amy"], eve)
    before = len(mailbox.messages)
    mailbox.refuse = 1
    started = time.monotonic()
    answer = people["amy"].http.post(
        f"/api/v1/conversations/{cid}/messages", json={"body": "retry me"}
    )
    assert answer.status_code == 201
    assert time.monotonic() - started < 1.0  # the sender never waits for mail
    messages = mailbox.wait(before + 1, timeout=15)
    assert mailbox.refused == 1
    assert [m.rcpt_tos for m in messages[before:]] == [["eve@example.test"]]
    server.wait_for_log("email.failed")
    server.wait_for_log("email.sent")  # logged once the SMTP exchange ends, after delivery
