"""Reactions: the caller's emoji on a message, capped, announced as `message.updated`."""

from __future__ import annotations

import sqlite3

from chatd.clock import Clock
from chatd.db.database import Database
from chatd.errors import Conflict
from chatd.models import Message, User
from chatd.realtime.hub import Hub
from chatd.services import validation
from chatd.services.messages import publish_if_changed
from chatd.services.sends import load_visible
from chatd.store import messages, reactions

# A message holds at most this many distinct emoji, and one person at most this many
# reactions on one message (the contract's "Team features"). Real teams stay far below
# both; the caps bound what one member can pile on a message and so the size of every
# `message.updated` frame, which carries the message with its whole `reactions` list.
MAX_EMOJI_PER_MESSAGE = 50
MAX_REACTIONS_PER_USER = 20


def _check_caps(found: reactions.Tally) -> None:
    if found.user_has_it:
        return  # adding it again changes nothing, so it is never refused
    if found.by_user >= MAX_REACTIONS_PER_USER:
        raise validation.fail(
            "emoji", f"at most {MAX_REACTIONS_PER_USER} reactions of yours on one message"
        )
    if not found.emoji_present and found.distinct_emoji >= MAX_EMOJI_PER_MESSAGE:
        raise validation.fail(
            "emoji", f"a message holds at most {MAX_EMOJI_PER_MESSAGE} different emoji"
        )


class Reactions:
    def __init__(self, db: Database, hub: Hub, clock: Clock) -> None:
        self.db = db
        self.hub = hub
        self.clock = clock

    async def react(self, user: User, message_id: str, emoji: str, add: bool) -> Message:
        """Add or remove the caller's reaction; doing it twice changes nothing the second time."""
        emoji = validation.emoji(emoji)

        def change(conn: sqlite3.Connection) -> tuple[Message, bool]:
            message, _ = load_visible(conn, user, message_id)
            if message.deleted:
                raise Conflict("the message is deleted")
            if add:
                _check_caps(reactions.tally(conn, message_id, emoji, user.id))
                changed = reactions.add(conn, message_id, emoji, user.id)
            else:
                changed = reactions.remove(conn, message_id, emoji, user.id)
            messages.hydrate(conn, [message])
            return message, changed

        # On PostgreSQL several nodes write: the lock makes the caps' count and the insert
        # one step per message (a single writer's batches already are, on SQLite).
        lock = f"reactions {message_id}"
        message, _ = await self.db.write(
            change, after=lambda result: publish_if_changed(self.hub, result), lock=lock
        )
        return message
