"""Digest emails: written as plain text and HTML (everything from users escaped), sent over
SMTP with aiosmtplib (async: the event loop never waits on a mail server), retried with
backoff, failures logged and never felt by anyone sending messages."""

from __future__ import annotations

import asyncio
import html
import ipaddress
import logging
import socket
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from chatd.config_sections import EmailConfig
from chatd.log import event
from chatd.store.digests import Digest, Item

log = logging.getLogger("chatd.email")

ATTEMPTS = 5


def default_sender(site_url: str) -> str:
    """`chatd <chatd@HOST>`: the public host name, or the machine's when that is an address."""
    host = urlsplit(site_url).hostname or ""
    try:
        ipaddress.ip_address(host)
        host = socket.gethostname()
    except ValueError:
        pass
    return f"chatd <chatd@{host or 'localhost'}>"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _where(item: Item) -> str:
    if item.kind == "channel":
        return f"#{item.conversation_name}"
    if item.kind == "direct":
        return f"Direct message from {item.author}"
    return item.conversation_name or "Group conversation"


def by_conversation(items: list[Item]) -> list[list[Item]]:
    """The items per conversation: conversations in the order of their first unread item,
    items in time order within each (a conversation appears once however they interleave)."""
    groups: dict[str, list[Item]] = {}
    for item in sorted(items, key=lambda i: i.created_at):  # stable: ties keep seq order
        groups.setdefault(item.conversation_id, []).append(item)
    return list(groups.values())


def compose(digest: Digest, site_url: str, sender: str, unsubscribe_url: str) -> EmailMessage:
    """One email listing the unread messages by conversation, each with a link to it."""
    count = len(digest.items)
    noun = "message" if count == 1 else "messages"
    message = EmailMessage()
    message["Subject"] = f"{count} unread {noun} on chatd"
    message["From"] = sender
    message["To"] = digest.email
    message["Date"] = format_datetime(datetime.now(tz=UTC))
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].rstrip(">"))
    message["Auto-Submitted"] = "auto-generated"
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text = [f"You have {count} unread {noun} on chatd while you were away.", ""]
    parts = [
        "<!DOCTYPE html><html><body>",
        f"<p>You have {count} unread {noun} on chatd while you were away.</p>",
    ]
    for items in by_conversation(digest.items):
        link = f"{site_url}/#/c/{items[0].conversation_id}"
        where = _where(items[0])
        text += [f"{where} ({link})"]
        parts.append(
            f'<h3><a href="{html.escape(link, quote=True)}">{html.escape(where)}</a></h3><ul>'
        )
        for item in items:
            text.append(f"  {item.author}, {_when(item.created_at)}:")
            text += [f"    {line}" for line in item.body.splitlines() or [""]]
            parts.append(
                f"<li><strong>{html.escape(item.author)}</strong>, {_when(item.created_at)}:"
                f'<div style="white-space: pre-wrap">{html.escape(item.body)}</div></li>'
            )
        text.append("")
        parts.append("</ul>")
    text += ["--", f"Stop these emails: {unsubscribe_url}"]
    parts.append(
        f'<p><a href="{html.escape(unsubscribe_url, quote=True)}">Stop these emails</a></p>'
        "</body></html>"
    )
    message.set_content("\n".join(text) + "\n")
    message.add_alternative("".join(parts), subtype="html")
    return message


class Mailer:
    def __init__(self, config: EmailConfig, backoff_s: float = 1.0) -> None:
        self.config = config
        self.backoff_s = backoff_s

    async def _send_once(self, message: EmailMessage) -> None:
        import aiosmtplib  # on the first mail: a server at rest does not carry it

        security = self.config.smtp_security
        await aiosmtplib.send(
            message,
            hostname=self.config.smtp_host,
            port=self.config.smtp_port,
            username=self.config.smtp_username or None,
            password=self.config.smtp_password or None,
            use_tls=security == "tls",
            start_tls=security == "starttls",
            timeout=30,
        )

    async def send(self, message: EmailMessage, user_id: str) -> bool:
        """Try a few times with growing waits; whether it went."""
        import aiosmtplib

        for attempt in range(1, ATTEMPTS + 1):
            try:
                await self._send_once(message)
            except (aiosmtplib.SMTPException, OSError) as exc:
                event(
                    log,
                    logging.WARNING,
                    "email.failed",
                    user_id=user_id,
                    attempt=attempt,
                    error=type(exc).__name__,
                    detail=str(exc)[:200],
                )
                if attempt < ATTEMPTS:
                    await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
                continue
            event(log, logging.INFO, "email.sent", user_id=user_id, attempt=attempt)
            return True
        event(log, logging.ERROR, "email.gave_up", user_id=user_id, attempts=ATTEMPTS)
        return False
