"""Notifications away from the page, assembled: Web Push, email settings and digests, and the
notifier that decides who hears about each new message."""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from chatd.clock import Clock
from chatd.config import Config
from chatd.db.database import Database
from chatd.realtime.hub import Hub
from chatd.realtime.presence import PresenceTracker
from chatd.services.digests import DigestSender
from chatd.services.email_settings import EmailSettings
from chatd.services.mailer import Mailer, default_sender
from chatd.services.notifier import Notifier
from chatd.services.outbound import Outbound
from chatd.services.push import PushService
from chatd.services.users import Site


def vapid_subject(sender: str, site_url: str) -> str:
    """The VAPID `sub` (RFC 8292): how a push service reaches the operator. The sender's
    address from `email.from`, else the site when it is https, else a placeholder push
    services accept (some want a real contact: set `email.from`)."""
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2]
    if address and "." in domain.strip("."):
        return f"mailto:{address}"
    host = urlsplit(site_url).hostname or ""
    if site_url.startswith("https://") and "." in host:
        return site_url
    return "mailto:chatd@localhost"


@dataclass
class Notify:
    push: PushService
    email: EmailSettings
    notifier: Notifier
    digests: DigestSender | None  # None when `email.smtp_host` is empty

    @classmethod
    async def start(
        cls,
        config: Config,
        db: Database,
        hub: Hub,
        tracker: PresenceTracker,
        clock: Clock,
        site: Site,
        outbound: Outbound,
        serving: bool = True,
    ) -> Notify:
        """`serving`: keys are made or loaded only by a serving process (admin commands send
        nothing, and `chatd import` needs a database with no rows of its own)."""

        def sender() -> str:
            return config.email.from_ or default_sender(site.url)

        def subject() -> str:
            return vapid_subject(config.email.from_, site.url)

        push = PushService(db, clock, subject, outbound)
        email = EmailSettings(db)
        if serving:
            await email.load_key()
        notifier = Notifier(db, hub, tracker, push, config.email.enabled)
        digests = None
        if config.email.enabled:
            digests = DigestSender(
                db,
                clock,
                Mailer(config.email),
                config.email.delay_s,
                lambda: site.url,
                sender,
                lambda user_id: email.unsubscribe_url(site.url, user_id),
            )
        return cls(push, email, notifier, digests)

    def background(self) -> list[tuple[Coroutine[Any, Any, Any], str]]:
        tasks: list[tuple[Coroutine[Any, Any, Any], str]] = [
            (self.push.run(), "push"),
            (self.notifier.run(), "notifier"),
        ]
        if self.digests is not None:
            tasks.append((self.digests.run(), "email-digests"))
        return tasks
