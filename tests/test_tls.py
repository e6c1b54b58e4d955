"""TLS where chatd meets the network itself: https and wss served directly
(`server.tls_cert_file` / `tls_key_file`), and digests sent to an SMTP server over STARTTLS
or implicit TLS (`email.smtp_security`), each against a real peer with a self-signed
certificate that chatd is made to trust (SSL_CERT_FILE), and only that one."""

from __future__ import annotations

import email
import email.policy
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from chatd import config
from chatd.config import ConfigError

from .conftest import ChatdServer, Team
from .pushkit import Mailbox
from .test_conversations import Person

DELAY_S = 1
# the mailboxes take AUTH on connections that are TLS anyway (see pushkit.Mailbox)
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
LOGIN = ("chatd-mailer", "smtp secret 42")


def test_tls_config_needs_both(cert: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tls_cert_file and server\.tls_key_file"):
        config.load(env={"CHATD_SERVER_TLS_CERT_FILE": str(cert[0])})
    with pytest.raises(ConfigError, match="tls_key_file"):
        config.load(
            env={
                "CHATD_SERVER_TLS_CERT_FILE": str(cert[0]),
                "CHATD_SERVER_TLS_KEY_FILE": str(tmp_path / "missing.pem"),
            }
        )
    both = config.load(
        env={"CHATD_SERVER_TLS_CERT_FILE": str(cert[0]), "CHATD_SERVER_TLS_KEY_FILE": str(cert[1])}
    )
    assert both.base_url().startswith("https://")


def test_https_serving(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    srv = ChatdServer(
        tmp_path,
        {"CHATD_SERVER_TLS_CERT_FILE": str(cert[0]), "CHATD_SERVER_TLS_KEY_FILE": str(cert[1])},
    ).start()
    try:
        assert srv.url.startswith("https://127.0.0.1:")
        assert f"{srv.url}/setup#token=" in srv.log
        with httpx.Client(
            base_url=srv.url, verify=ssl.create_default_context(cafile=str(cert[0]))
        ) as http:
            assert http.get("/healthz").json() == {"status": "ok"}
            made = http.post(
                "/api/v1/setup",
                json={
                    "setup_token": srv.setup_token,
                    "username": "root",
                    "password": "correct horse battery",
                    "session_cookie": True,
                },
            )
            assert made.status_code == 201
            cookie = made.headers["set-cookie"]
            assert "chatd_session=" in cookie and "Secure" in cookie
            token = made.json()["token"]
        # wss on the same port
        context = ssl.create_default_context(cafile=str(cert[0]))
        with ws_connect(
            srv.url.replace("https://", "wss://") + "/api/v1/ws",
            additional_headers={"Authorization": f"Bearer {token}"},
            ssl=context,
        ) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        with pytest.raises(httpx.HTTPError):  # plain http is not spoken there
            httpx.get(srv.url.replace("https://", "http://") + "/healthz", timeout=5)
    finally:
        srv.stop()


# ---- SMTP over TLS -----------------------------------------------------------------------


@pytest.fixture(params=["starttls", "tls"])
def secure_mailbox(
    request: pytest.FixtureRequest, cert: tuple[Path, Path]
) -> Iterator[tuple[str, Mailbox]]:
    """An SMTP server that takes mail only over TLS, and only from LOGIN."""
    found = Mailbox(security=request.param, cert=cert, login=LOGIN)
    yield request.param, found
    found.stop()


def mail_server(
    data: Path, mailbox: Mailbox, security: str, cert: tuple[Path, Path], password: str
) -> ChatdServer:
    return ChatdServer(
        data,
        {
            "CHATD_EMAIL_SMTP_HOST": "127.0.0.1",
            "CHATD_EMAIL_SMTP_PORT": str(mailbox.port),
            "CHATD_EMAIL_SMTP_SECURITY": security,
            "CHATD_EMAIL_SMTP_USERNAME": LOGIN[0],
            "CHATD_EMAIL_SMTP_PASSWORD": password,
            "CHATD_EMAIL_DELAY_S": str(DELAY_S),
            "CHATD_PRESENCE_OFFLINE_GRACE_S": "1",
            "SSL_CERT_FILE": str(cert[0]),  # the mailbox's self-signed certificate
        },
    ).start()


def digest_for_an_unread_dm(srv: ChatdServer, body: str) -> None:
    """Gil writes to Hana, who has an email address and no socket open."""
    team = Team(srv)
    gil = Person(srv, *team.user("gil", "Gil"))
    hana = Person(srv, *team.user("hana", "Hana"))
    assert hana.http.patch("/api/v1/users/me", json={"email": "hana@example.test"}).is_success
    cid = gil.create("direct", [hana.id]).json()["conversation"]["id"]
    sent = gil.http.post(f"/api/v1/conversations/{cid}/messages", json={"body": body})
    assert sent.status_code == 201, sent.text


def test_digest_over_starttls_and_tls(
    tmp_path: Path, cert: tuple[Path, Path], secure_mailbox: tuple[str, Mailbox]
) -> None:
    security, mailbox = secure_mailbox
    srv = mail_server(tmp_path, mailbox, security, cert, LOGIN[1])
    try:
        digest_for_an_unread_dm(srv, f"sent to you over {security}")
        arrived = mailbox.wait(1, timeout=15)
        assert len(arrived) == 1, srv.log[-2000:]
        assert arrived[0].rcpt_tos == ["hana@example.test"]
        mail = email.message_from_bytes(arrived[0].content, policy=email.policy.default)  # type: ignore[arg-type]
        assert isinstance(mail, email.message.EmailMessage)
        plain = mail.get_body(("plain",))
        assert plain is not None and f"sent to you over {security}" in plain.get_content()
        srv.wait_for_log("email.sent")
        assert "email.failed" not in srv.log
        assert LOGIN[1] not in srv.log  # the SMTP password is a secret
    finally:
        srv.stop()


def test_wrong_smtp_password_is_logged_not_felt(
    tmp_path: Path, cert: tuple[Path, Path], secure_mailbox: tuple[str, Mailbox]
) -> None:
    security, mailbox = secure_mailbox
    srv = mail_server(tmp_path, mailbox, security, cert, "not the password")
    try:
        started = time.monotonic()
        digest_for_an_unread_dm(srv, "this one cannot be mailed")
        assert time.monotonic() - started < 5  # the sender never waits for mail
        # refused at AUTH, so TLS itself went through
        srv.wait_for_log("email.failed user_id=")
        srv.wait_for_log("error=SMTPAuthenticationError")
        assert mailbox.messages == []
        assert "not the password" not in srv.log
    finally:
        srv.stop()
