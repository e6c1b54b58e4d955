"""Pins: marking a message for the whole conversation, announced as `message.updated`."""

from __future__ import annotations

import sqlite3

from chatd.clock import Clock, now_ms
from chatd.db.database import Database
from chatd.errors import Conflict, Forbidden
from chatd.models import Message, User
from chatd.realtime.hub import Hub
from chatd.services import access
from chatd.services.messages import publish_if_changed
from chatd.services.sends import load_visible
from chatd.store import conversations, messages, pins

MAX_LISTED_PINS = 200


class Pins:
    def __init__(self, db: Database, hub: Hub, clock: Clock) -> None:
        self.db = db
        self.hub = hub
        self.clock = clock

    async def pin(self, user: User, message_id: str, pinned: bool) -> Message:
        """Any member of a group, the owner or an admin in a channel, either person in a DM."""

        def change(conn: sqlite3.Connection) -> tuple[Message, bool]:
            message, found = load_visible(conn, user, message_id)
            if found.kind == "channel" and not access.is_owner(found, user):
                raise Forbidden("only the channel's owner or an admin may pin")
            if message.deleted:
                raise Conflict("the message is deleted")
            if (message.pinned_at is not None) == pinned:
                return message, False
            message.pinned_at = now_ms(self.clock) if pinned else None
            pins.set_pinned(conn, message_id, message.pinned_at)
            return message, True

        message, _ = await self.db.write(
            change, after=lambda result: publish_if_changed(self.hub, result)
        )
        return message

    async def listed(self, user: User, conversation_id: str) -> list[Message]:
        """The conversation's pinned messages, most recently pinned first."""

        def read(conn: sqlite3.Connection) -> list[Message]:
            access.member(conversations.access(conn, conversation_id, user.id), user)
            found = [
                messages.get(conn, mid)
                for mid in pins.pinned_ids(conn, conversation_id, MAX_LISTED_PINS)
            ]
            result = [m for m in found if m is not None]
            messages.hydrate(conn, result)
            return result

        return await self.db.read(read)
