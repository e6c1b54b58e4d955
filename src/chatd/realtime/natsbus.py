"""The cluster bus: a `Broker` that shares every event with the other nodes over core NATS.

Core NATS, not JetStream: the database is the truth and the bus only says what changed, so
losing a bus message must be noticed, never silently absorbed. Three things notice it:
- each origin's counter (one per event, carried by every event and every heartbeat): a
  jump means this node missed something from that origin;
- a `seq` gap in a conversation (the `Sequencer`), filled from the database;
- the client library's own signals: a reconnect (whatever was sent meanwhile is gone) and a
  slow-consumer error (it dropped messages it could not hand us in time).
A jump, a reconnect or a slow consumer is a full resync (`hooks.resync`): the node reloads
what it caches and closes its sockets with 4009, so clients fill their gaps with `after=`.

Local events are delivered here at once (through the sequencer) and queued for the bus; one
task sends the queue in order. Heartbeats go through the same queue, so a heartbeat's
counter is never ahead of the events it follows. A node whose heartbeats stop for
`heartbeat_s * missed_beats` is dropped (`hooks.node_gone`). The connection is retried
forever, at start and after any loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

import nats
from nats import errors as nats_errors
from nats.aio.client import Client
from nats.aio.msg import Msg

from chatd import metrics
from chatd.log import event as log_event
from chatd.realtime import buswire
from chatd.realtime.hub import Event, Revoke
from chatd.realtime.protocol import encode
from chatd.realtime.sequencer import Sequencer

log = logging.getLogger("chatd.bus")

HOLD_S = 0.3  # how long an early message waits for the one before it to cross the bus


class ClusterHooks(Protocol):
    """What the bus asks of the rest of the node (which has the database and the presence)."""

    def fill_gap(self, conversation_id: str, after: int, before: int) -> None: ...

    def resync(self, why: str) -> None: ...

    def node_gone(self, origin: str) -> None: ...

    def control(self, origin: str, message: dict[str, Any]) -> None: ...

    def heartbeat_fields(self) -> dict[str, Any]: ...


class NatsBroker:
    def __init__(
        self,
        servers: list[str],
        node_name: str,
        *,
        heartbeat_s: float = 1.0,
        missed_beats: int = 3,
        hold_s: float = HOLD_S,
        pending_limit: int = 512 * 1024,
    ) -> None:
        self.servers = servers
        self.node_name = node_name
        self.origin = f"{node_name}/{secrets.token_hex(4)}"
        self.heartbeat_s = heartbeat_s
        self.missed_beats = missed_beats
        self.pending_limit = pending_limit  # messages the client library holds for us
        self.hooks: ClusterHooks | None = None
        self._handlers: list[Callable[[Event | Revoke], None]] = []
        self.sequencer = Sequencer(self._hand_out, self._gap, hold_s)
        self._nc: Client | None = None
        self._counter = 0
        self._out: list[tuple[str, bytes]] = []
        self._wake = asyncio.Event()
        self._seen: dict[str, int] = {}  # origin -> last counter received
        self._beats: dict[str, float] = {}  # origin -> loop time of its last heartbeat
        self._tasks: list[asyncio.Task[None]] = []

    # ---- the Broker protocol -----------------------------------------------------------

    def subscribe(self, handler: Callable[[Event | Revoke], None]) -> None:
        self._handlers.append(handler)

    def publish(self, item: Event | Revoke) -> None:
        """Deliver here now and send to the other nodes: the frame is encoded once, and the
        same bytes go to this node's sockets and onto the bus."""
        if isinstance(item, Event):
            if item.local:
                self.sequencer.offer(item)
                return
            if item.encoded is None:
                item = replace(item, encoded=encode(item.frame))
            payload = item.encoded.payload  # type: ignore[union-attr]
        else:
            payload = b""
        self._counter += 1
        data = buswire.encode_event(self.origin, self._counter, item, payload)
        self._send(buswire.SUBJECT_EVENTS, data)
        self.sequencer.offer(item)

    def _hand_out(self, item: Event | Revoke) -> None:
        for handler in self._handlers:
            handler(item)

    def _gap(self, conversation_id: str, after: int, before: int) -> None:
        if self.hooks is None:
            self.sequencer.give_up(conversation_id)
            return
        self.hooks.fill_gap(conversation_id, after, before)

    # ---- control messages --------------------------------------------------------------

    def send_control(self, kind: str, **fields: Any) -> None:
        self._send(buswire.SUBJECT_CONTROL, buswire.encode_control(self.origin, kind, **fields))

    def _send(self, subject: str, data: bytes) -> None:
        self._out.append((subject, data))
        self._wake.set()

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    # ---- connection --------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and subscribe, retrying until the server answers (however long)."""
        attempt = 0
        while True:
            try:
                self._nc = await nats.connect(
                    servers=self.servers,
                    name=f"chatd {self.node_name}",
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=2,
                    no_echo=True,  # our own events were delivered here already
                    pending_size=64 * 1024 * 1024,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
                break
            except (OSError, nats_errors.Error) as exc:
                attempt += 1
                if attempt == 1 or attempt % 30 == 0:
                    log_event(log, logging.WARNING, "bus.unreachable", error=repr(exc))
                await asyncio.sleep(1.0)
        await self._nc.subscribe(
            buswire.SUBJECT_ALL, cb=self._on_message, pending_msgs_limit=self.pending_limit
        )
        await self._nc.flush()
        log_event(log, logging.INFO, "bus.connected", node=self.node_name)

    async def run(self) -> None:
        """The sender and the heartbeat; cancel to stop."""
        self._tasks = [
            asyncio.create_task(self._pump(), name="chatd-bus-pump"),
            asyncio.create_task(self._heartbeat(), name="chatd-bus-heartbeat"),
        ]
        try:
            await asyncio.gather(*self._tasks)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        self.sequencer.close()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.flush(timeout=1)
            with contextlib.suppress(Exception):
                await self._nc.close()

    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._out = self._out, []
            nc = self._nc
            if nc is None:
                continue
            sent = 0
            for subject, data in batch:
                try:
                    await nc.publish(subject, data)
                    sent += 1
                except nats_errors.Error as exc:
                    # the others see the hole in our counter and resync; nothing more to do
                    log_event(log, logging.WARNING, "bus.publish_failed", error=repr(exc))
            metrics.BUS_MESSAGES.labels("out").inc(sent)

    async def _heartbeat(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            fields = self.hooks.heartbeat_fields() if self.hooks is not None else {}
            self.send_control("hb", n=self._counter, **fields)
            await asyncio.sleep(self.heartbeat_s)
            deadline = loop.time() - self.heartbeat_s * self.missed_beats
            for origin, last in list(self._beats.items()):
                if last < deadline:
                    del self._beats[origin]
                    self._seen.pop(origin, None)
                    log_event(log, logging.WARNING, "bus.node_gone", origin=origin)
                    if self.hooks is not None:
                        self.hooks.node_gone(origin)

    # ---- callbacks from the client library ---------------------------------------------

    async def _on_message(self, msg: Msg) -> None:
        metrics.BUS_MESSAGES.labels("in").inc()
        try:
            if msg.subject == buswire.SUBJECT_EVENTS:
                received = buswire.decode_event(msg.data)
                self._count(received.origin, received.counter, event=True)
                self.sequencer.offer(received.item)
            elif msg.subject == buswire.SUBJECT_CONTROL:
                message = buswire.decode_control(msg.data)
                origin = message["o"]
                if message.get("k") == "hb":
                    self._beats[origin] = asyncio.get_running_loop().time()
                    self._count(origin, int(message.get("n", 0)), event=False)
                if self.hooks is not None:
                    self.hooks.control(origin, message)
        except (buswire.BadMessage, TypeError, ValueError) as exc:
            log_event(log, logging.WARNING, "bus.bad_message", subject=msg.subject, error=str(exc))

    def _count(self, origin: str, counter: int, *, event: bool) -> None:
        """Check an origin's counter: an event must be the next one, a heartbeat must not be
        ahead of the last event seen. A new origin starts wherever it is."""
        last = self._seen.get(origin)
        self._seen[origin] = max(counter, last or 0)
        if last is None:
            return
        expected = last + 1 if event else last
        if counter > expected:
            self._lost(f"{counter - expected} event(s) from {origin} never arrived")

    def _lost(self, why: str) -> None:
        metrics.BUS_LOST_EVENTS.inc()
        if self.hooks is not None:
            self.hooks.resync(why)

    async def _on_error(self, exc: Exception) -> None:
        if isinstance(exc, nats_errors.SlowConsumerError):
            self._lost("the bus dropped messages this node did not take in time")
        else:
            log_event(log, logging.WARNING, "bus.error", error=repr(exc))

    async def _on_disconnected(self) -> None:
        log_event(log, logging.WARNING, "bus.disconnected", node=self.node_name)

    async def _on_reconnected(self) -> None:
        log_event(log, logging.INFO, "bus.reconnected", node=self.node_name)
        self._seen.clear()  # every origin starts over: what was lost meanwhile is resynced
        if self.hooks is not None:
            self.hooks.resync("the bus connection was lost and is back")
