"""A node of several: the cluster bus joined to this node's database, hub and presence.

Imported only when `cluster.bus = "nats"` (it brings in the NATS client); the embedded
default never loads it. The bus (`realtime.natsbus`) notices what it lost; this module
repairs it from the database, which is the truth:
- a `seq` gap in a conversation: read the missing messages and deliver them in order; if
  that fails, close the sockets of that conversation's members here with 4009;
- a lost event of unknown kind (an origin's counter jumped, the connection was lost, the
  client library dropped messages): reload the membership cache and the delivery
  positions, forget cached sessions (a revocation may be among the losses) and close every
  socket here with 4009, so clients reconnect and fill their gaps with `after=`;
- a node gone quiet (killed): what it committed but never published is read back.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Coroutine
from typing import Any

from chatd import metrics
from chatd.clock import Clock
from chatd.config import Config
from chatd.db.database import Database
from chatd.log import event
from chatd.models import Message
from chatd.realtime.cluster_presence import ClusterPresenceTracker
from chatd.realtime.hub import Event, Hub, Revoke
from chatd.realtime.natsbus import NatsBroker
from chatd.realtime.protocol import CLOSE_RESYNC
from chatd.store import conversations, messages

log = logging.getLogger("chatd.cluster")

MAX_FILL = 1000  # messages read back for one gap; a longer gap is a resync of its sockets

Snapshot = tuple[list[tuple[str, str]], dict[str, int]]


def _missing(
    conn: sqlite3.Connection, conversation_id: str, after: int, before: int
) -> list[Message] | None:
    """Messages `after < seq < before`, or None when there are too many to send."""
    wanted = before - after - 1
    if wanted > MAX_FILL:
        return None
    found, _ = messages.page(conn, conversation_id, before, after, wanted)
    messages.hydrate(conn, found)
    return found


def broker(config: Config) -> NatsBroker:
    return NatsBroker(config.cluster.nats_servers, config.cluster.node_name)


def tracker(hub: Hub, bus: NatsBroker, config: Config, clock: Clock) -> ClusterPresenceTracker:
    presence = config.presence
    return ClusterPresenceTracker(
        hub, clock, presence.away_after_s, presence.offline_grace_s, bus.send_control
    )


def _snapshot(conn: sqlite3.Connection) -> Snapshot:
    return conversations.all_memberships(conn), conversations.all_last_seqs(conn)


class ClusterLink:
    def __init__(
        self,
        db: Database,
        hub: Hub,
        broker: NatsBroker,
        presence: ClusterPresenceTracker,
        forget_sessions: Callable[[], None],
    ) -> None:
        self.db = db
        self.hub = hub
        self.broker = broker
        self.presence = presence
        self.forget_sessions = forget_sessions
        self._tasks: set[asyncio.Task[Any]] = set()
        self._resyncing = False
        self._again = False
        broker.hooks = self
        broker.subscribe(self._on_item)

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=f"chatd-cluster-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_item(self, item: Event | Revoke) -> None:
        if isinstance(item, Revoke):  # another node revoked: its sessions are no longer valid
            self.forget_sessions()

    async def start(self) -> None:
        """Load what the node caches, after subscribing, so nothing falls in between."""
        pairs, last = await self.db.read(_snapshot)
        self.hub.load_memberships(pairs)
        self.broker.sequencer.start(last)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ---- ClusterHooks ------------------------------------------------------------------

    def fill_gap(self, conversation_id: str, after: int, before: int) -> None:
        self._spawn(self._fill(conversation_id, after, before), "fill")

    async def _fill(self, conversation_id: str, after: int, before: int) -> None:
        try:
            found = await self.db.read(_missing, conversation_id, after, before)
        except Exception as exc:
            event(log, logging.WARNING, "cluster.fill_failed", error=repr(exc))
            found = None
        if found is None or len(found) != before - after - 1:
            self.broker.sequencer.give_up(conversation_id)
            metrics.BUS_RESYNCS.inc()
            event(log, logging.WARNING, "cluster.resync", conversation=conversation_id)
            members = self.hub.members(conversation_id)
            self.hub.close_here(CLOSE_RESYNC, "missed events: reconnect and resync", members)
            return
        filled = [
            Event(
                {"type": "message.created", "message": m.to_json()},
                conversation_id=m.conversation_id,
            )
            for m in found
        ]
        self.broker.sequencer.filled(conversation_id, filled)

    def resync(self, why: str) -> None:
        if self._resyncing:
            self._again = True
            return
        self._resyncing = True
        self._spawn(self._resync(why), "resync")

    async def _resync(self, why: str) -> None:
        try:
            while True:
                self._again = False
                metrics.BUS_RESYNCS.inc()
                event(log, logging.WARNING, "cluster.resync_all", why=why)
                self.hub.record_membership()
                try:
                    pairs, last = await self.db.read(_snapshot)
                    self.hub.replace_memberships(pairs)
                    self.broker.sequencer.advance(last)
                except Exception as exc:
                    self.hub.replace_memberships(self.hub.members_snapshot())
                    event(log, logging.ERROR, "cluster.reload_failed", error=repr(exc))
                self.forget_sessions()
                self.hub.close_here(CLOSE_RESYNC, "missed events: reconnect and resync")
                if not self._again:
                    return
        finally:
            self._resyncing = False

    def node_gone(self, origin: str) -> None:
        self.presence.drop_node(origin)
        self._spawn(self._catch_up(), "catch-up")

    async def _catch_up(self) -> None:
        try:
            _, last = await self.db.read(_snapshot)
        except Exception as exc:
            event(log, logging.WARNING, "cluster.catch_up_failed", error=repr(exc))
            self.resync("a node is gone and the database did not answer")
            return
        self.broker.sequencer.behind(last)

    def control(self, origin: str, message: dict[str, Any]) -> None:
        self.presence.control(origin, message)

    def heartbeat_fields(self) -> dict[str, Any]:
        return {"presence": self.presence.snapshot()}
