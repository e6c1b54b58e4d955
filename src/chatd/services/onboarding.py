"""Default channels: the `#general` every new account lands in (`auth.default_channels`).

Setup creates them, owned by the first admin. Every account made afterwards (registration,
the admin API, `chatd user add`) joins them in the transaction that creates it; a default
channel missing by then (renamed, or added to the configuration later) is created, owned by
the longest-standing active admin. An archived default channel is left alone.

`chatd user add` runs in another process, whose events reach no socket, so it bumps
`members_epoch`; the server notices and adds the new memberships to its routing (and tells
the channels' members) as if they had been made here.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass, field

from chatd.clock import Clock, now_ms
from chatd.db.database import Database
from chatd.ids import new_id
from chatd.models import Conversation
from chatd.realtime.hub import Event, Hub
from chatd.services.conversations import neutral
from chatd.store import conversations as store
from chatd.store import users

log = logging.getLogger("chatd.onboarding")


@dataclass
class Joined:
    """What one account's creation did to the default channels, for the events after commit."""

    user_id: str
    created: list[Conversation] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)


class DefaultChannels:
    def __init__(self, db: Database, hub: Hub, clock: Clock, names: tuple[str, ...]) -> None:
        self.db = db
        self.hub = hub
        self.clock = clock
        self.names = tuple(dict.fromkeys(name.lower() for name in names))

    def join(self, conn: sqlite3.Connection, user_id: str, owner_id: str | None = None) -> Joined:
        """Put a new account in every default channel (inside the creating transaction)."""
        done = Joined(user_id)
        if not self.names:
            return done
        now = now_ms(self.clock)
        owner = owner_id or users.first_active_admin(conn)
        for name in self.names:
            found = store.channel_by_key(conn, name)
            if found is None:
                members = list(dict.fromkeys(m for m in (owner, user_id) if m is not None))
                channel = Conversation(
                    id=new_id(),
                    kind="channel",
                    name=name,
                    topic="",
                    created_at=now,
                    created_by=owner,
                    archived=False,
                    last_seq=0,
                    last_activity_at=now,
                    members=members,
                )
                store.insert(conn, channel, name, None)
                made = store.get(conn, channel.id, user_id)
                assert made is not None
                done.created.append(made)
            elif not found[1] and store.add_member(conn, found[0], user_id, now):
                done.joined.append(found[0])
        return done

    def announce(self, done: Joined) -> None:
        """After the commit: the new channels to their members, the joins to each channel."""
        for channel in done.created:
            frame = {"type": "conversation.created", "conversation": neutral(channel).to_json()}
            self.hub.publish(Event(frame, conversation_id=channel.id))
        for conversation_id in done.joined:
            frame = {
                "type": "member.added",
                "conversation_id": conversation_id,
                "user_id": done.user_id,
            }
            self.hub.publish(Event(frame, conversation_id=conversation_id))

    # ---- accounts made by another process ----------------------------------------------

    async def sync(self) -> int:
        """Route the default channels' memberships this process has not seen; how many."""
        names = self.names
        added: list[int] = []

        def read(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            ids = [found[0] for name in names if (found := store.channel_by_key(conn, name))]
            return store.memberships_of(conn, ids)

        def route(pairs: list[tuple[str, str]]) -> None:
            missing = [(c, u) for c, u in pairs if not self.hub.is_member(c, u)]
            for conversation_id, user_id in missing:
                frame = {
                    "type": "member.added",
                    "conversation_id": conversation_id,
                    "user_id": user_id,
                }
                self.hub.publish(Event(frame, conversation_id=conversation_id))
            added.append(len(missing))

        # Read through the writer and route in its `after` callback: callbacks run in commit
        # order, so no membership change can slip between this snapshot and the events.
        await self.db.write(read, after=route)
        return sum(added)

    async def watch(self, interval_s: float = 1.0) -> None:
        seen = await self.db.read(store.members_epoch)
        while True:
            await asyncio.sleep(interval_s)
            try:
                epoch = await self.db.read(store.members_epoch)
                if epoch != seen:
                    seen = epoch
                    await self.sync()
            except sqlite3.Error:
                log.exception("default channel sync failed")
