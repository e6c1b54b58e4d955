"""Presence and typing for the API: who shares a conversation, stored last-seen times, relays."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from chatd.clock import Clock
from chatd.db.database import Database
from chatd.errors import NotFound
from chatd.models import Presence, User
from chatd.realtime.hub import Event, Hub, Revoke
from chatd.realtime.presence import PresenceTracker
from chatd.store import users

log = logging.getLogger("chatd.presence")

TYPING_EVERY_S = 0.3  # relay at most this often per user and conversation (damps bursts)


class PresenceService:
    def __init__(self, db: Database, hub: Hub, tracker: PresenceTracker, clock: Clock) -> None:
        self.db = db
        self.hub = hub
        self.tracker = tracker
        self.clock = clock
        self._typing: dict[tuple[str, str], float] = {}
        hub.broker.subscribe(self._on_event)
        hub.presence_of = self._presence_frame

    def _presence_frame(self, user_id: str) -> dict[str, Any]:
        return {"type": "presence", "presence": self.tracker.current(user_id).to_json()}

    def _on_event(self, item: Event | Revoke) -> None:
        """A sent message ends its author's typing (clients clear the indicator on it): the
        author's next keystroke is a new "is typing" and must not be damped away."""
        if isinstance(item, Event) and item.frame.get("type") == "message.created":
            message = item.frame["message"]
            self._typing.pop((message["author_id"], message["conversation_id"]), None)

    async def visible(self, user: User) -> list[Presence]:
        """Every active user who shares a conversation with `user`, and `user`."""
        peers = sorted(self.hub.peers(user.id))
        stored = await self.db.read(users.last_seen, peers)
        return [self.tracker.current(uid, stored[uid]) for uid in peers if uid in stored]

    def typing(self, user: User, conversation_id: str) -> None:
        if not self.hub.is_member(conversation_id, user.id):
            raise NotFound("no such conversation")
        key = (user.id, conversation_id)
        now = self.clock.monotonic()
        if now - self._typing.get(key, -1e9) < TYPING_EVERY_S:
            return
        if len(self._typing) > 10_000:
            self._typing = {k: t for k, t in self._typing.items() if now - t < TYPING_EVERY_S}
        self._typing[key] = now
        frame = {"type": "typing", "conversation_id": conversation_id, "user_id": user.id}
        self.hub.publish(Event(frame, conversation_id=conversation_id, skip_user=user.id))

    async def flush_last_seen(self) -> None:
        if self.tracker.seen:
            seen, self.tracker.seen = self.tracker.seen, {}
            await self.db.write(users.set_last_seen, seen)

    async def run(self, flush_every_s: float = 5.0) -> None:
        """Presence timers, and last-seen times saved in batches."""
        timers = asyncio.create_task(self.tracker.run(), name="chatd-presence-timers")
        try:
            while True:
                await asyncio.sleep(flush_every_s)
                try:
                    await self.flush_last_seen()
                except Exception:
                    log.exception("presence.flush_failed")
        finally:
            timers.cancel()
            await asyncio.gather(timers, return_exceptions=True)
