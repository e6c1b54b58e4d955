"""Email digests: the messages that waited `email.delay_s` unread while their reader was away,
one email per person at most every `email.delay_s`.

Every node runs this loop. A node takes a person's digest in one transaction that removes
their waiting messages and moves their `email_digests.next_at` forward with a conditional
update; a node that loses that race rolls back (`ClaimLost`), so a digest is sent once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from chatd.clock import Clock, now_ms
from chatd.db.database import Database
from chatd.services.mailer import Mailer, compose
from chatd.store import digests
from chatd.store.digests import ClaimLost

log = logging.getLogger("chatd.email")

SENDING_AT_ONCE = 4


class DigestSender:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        mailer: Mailer,
        delay_s: int,
        site_url: Callable[[], str],
        sender: Callable[[], str],
        unsubscribe_url: Callable[[str], str],
    ) -> None:
        self.db = db
        self.clock = clock
        self.mailer = mailer
        self.delay_ms = delay_s * 1000
        self.site_url = site_url
        self.sender = sender
        self.unsubscribe_url = unsubscribe_url
        self.tick_s = max(0.2, min(5.0, delay_s / 4))
        self._sending: set[asyncio.Task[Any]] = set()
        self._slots = asyncio.Semaphore(SENDING_AT_ONCE)

    async def sweep(self) -> int:
        """Take every digest now due and start sending it; how many were taken."""
        now = now_ms(self.clock)
        cutoff = now - self.delay_ms
        taken = 0
        for user_id in await self.db.read(digests.due_users, cutoff, now):
            try:
                digest = await self.db.write(
                    digests.take, user_id, cutoff, now, now + self.delay_ms
                )
            except ClaimLost:
                continue
            if digest is None:
                continue
            taken += 1
            task = asyncio.create_task(self._send(digest), name="chatd-email-digest")
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return taken

    async def _send(self, digest: digests.Digest) -> None:
        async with self._slots:
            message = compose(
                digest, self.site_url(), self.sender(), self.unsubscribe_url(digest.user_id)
            )
            await self.mailer.send(message, digest.user_id)

    async def run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.tick_s)
                try:
                    await self.sweep()
                except Exception:
                    log.exception("email.sweep_failed")
        finally:
            for task in list(self._sending):
                task.cancel()
            await asyncio.gather(*self._sending, return_exceptions=True)
