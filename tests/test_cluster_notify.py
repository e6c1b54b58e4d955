"""Notifications with two nodes on one PostgreSQL database and one NATS server: a push and a
digest email go out once for a message, not once per node, and whether someone is away
follows their sockets on either node (issue 18). Both nodes mail through one aiosmtpd and
push to one local push service (tests/pushkit.py)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

import pytest

from .conftest import Team
from .pgcluster import PostgresCluster
from .pushkit import Browser, Mailbox, PushReceiver
from .test_cluster import Cluster
from .test_conversations import Person
from .wsclient import WS

DELAY_S = 1  # email.delay_s: each node sweeps for due digests every 0.25 s


@pytest.fixture(scope="module")
def receiver(cert: tuple[Path, Path]) -> Iterator[PushReceiver]:
    found = PushReceiver(*cert)
    yield found
    found.stop()


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    found = Mailbox()
    yield found
    found.stop()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresCluster,
    cert: tuple[Path, Path],
    mailbox: Mailbox,
) -> Iterator[Cluster]:
    found = Cluster(tmp_path_factory.mktemp("cluster"), postgres)
    try:
        nodes = (found.node("a"), found.node("b"))
        for node in nodes:
            node.env.update(
                {
                    "CHATD_EMAIL_SMTP_HOST": "127.0.0.1",
                    "CHATD_EMAIL_SMTP_PORT": str(mailbox.port),
                    "CHATD_EMAIL_SMTP_SECURITY": "none",
                    "CHATD_EMAIL_DELAY_S": str(DELAY_S),
                    "SSL_CERT_FILE": str(cert[0]),  # trust the test push service
                }
            )
        with ThreadPoolExecutor(2) as pool:  # together, on the empty database
            list(pool.map(lambda s: s.start(timeout=60), nodes))
        yield found
    finally:
        found.stop()


@pytest.fixture(scope="module")
def team(cluster: Cluster) -> Team:
    a = cluster.nodes["a"]
    if a.setup_token is None:  # b printed the setup link
        a.setup_token = cluster.nodes["b"].setup_token
    return Team(a)


def parse(raw: bytes | str) -> EmailMessage:
    data = raw if isinstance(raw, bytes) else raw.encode()
    found = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(found, EmailMessage)
    return found


def presence_of(watcher: WS, user_id: str, status: str) -> None:
    """Wait until the watcher hears that `user_id` is now `status`."""
    while True:
        seen = watcher.expect("presence", timeout=10)["presence"]
        if (seen["user_id"], seen["status"]) == (user_id, status):
            return


def test_one_push_and_one_digest_per_message(
    cluster: Cluster, team: Team, receiver: PushReceiver, mailbox: Mailbox
) -> None:
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    ann_user, ann_token = team.user("ann", "Ann")
    bob_user, bob_token = team.user("bob", "Bob")
    ann, bob = Person(a, ann_user, ann_token), Person(b, bob_user, bob_token)
    assert bob.http.patch("/api/v1/users/me", json={"email": "bob@example.test"}).status_code == (
        200
    )
    browser = Browser()
    subscribed = bob.http.post(
        "/api/v1/push/subscriptions",
        json={"endpoint": receiver.origin + "/bob", "keys": browser.keys()},
    )
    assert subscribed.status_code == 201, subscribed.text
    cid = ann.create("direct", [bob.id]).json()["conversation"]["id"]
    watcher = WS(a.url, ann_token)  # on node a, hears bob's presence from node b
    watcher.welcome()
    try:
        # at his desk on node b, a message committed on node a pushes and mails nothing
        desk = WS(b.url, bob_token)
        desk.welcome()
        presence_of(watcher, bob.id, "online")
        seen = ann.http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "there?"})
        assert seen.status_code == 201
        assert desk.expect("message.created")["message"]["body"] == "there?"
        desk.close()
        presence_of(watcher, bob.id, "offline")
        # away on both nodes: one push and, after the delay, one digest
        sent = ann.http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "lunch?"})
        assert sent.status_code == 201
        [push] = receiver.wait("/bob")
        assert browser.decrypt(push.body)["message_id"] == sent.json()["message"]["id"]
        [mail] = mailbox.wait(1, timeout=DELAY_S + 10)
        # both nodes kept sweeping (every 0.25 s) and pushing: nothing more arrives
        assert len(receiver.wait("/bob", 2, timeout=1.5)) == 1
        assert len(mailbox.wait(2, timeout=1.0)) == 1
        assert mail.rcpt_tos == ["bob@example.test"]
        digest = parse(mail.content)  # type: ignore[arg-type]
        assert digest["Subject"] == "1 unread message on chatd"
        plain = digest.get_body(("plain",))
        assert plain is not None
        assert "lunch?" in plain.get_content() and "there?" not in plain.get_content()
    finally:
        watcher.close()
