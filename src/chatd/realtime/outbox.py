"""One socket's bounded outbox, the turn that writes it and the task that drains it.

The hub never awaits a socket. While the transport takes bytes, everything pushed to a
socket during one turn of the event loop (a send's `ack`, the events of the commits that
just landed, a `pong`) leaves at the end of that turn in one write: one system call per
socket per turn however many frames, and no task switch. When the transport pauses, frames
wait in order for a writer task, which writes them in one go when it drains. When the queued
frames pass the byte budget (JSON payload bytes) the outbox is dropped and the socket is
closed with 4008, so a client that cannot keep up costs its own connection and nobody
else's time.

The writer task exists only while it has work (the first frames, a paused transport, the
close): an idle socket holds no task, no event and no deque, which is most of what ten
thousand idle sockets would otherwise cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from chatd import metrics
from chatd.realtime.protocol import CLOSE_SLOW, Encoded


class Transport(Protocol):
    """Frames straight to a socket's transport, without awaiting."""

    def try_write(self, frames: list[Encoded]) -> bool:
        """Write them all now; False (nothing written) while the transport is paused.

        Raises ConnectionError once the socket is closed."""

    async def drained(self) -> None:
        """Return when the transport takes bytes again (or the socket is gone)."""


class Turn:
    """The outboxes that got frames during this turn of the event loop, written at its end."""

    __slots__ = ("_due", "_scheduled")

    def __init__(self) -> None:
        self._due: list[Outbox] = []
        self._scheduled = False

    def add(self, outbox: Outbox) -> None:
        self._due.append(outbox)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.run)

    def run(self) -> None:
        due, self._due = self._due, []
        self._scheduled = False
        for outbox in due:
            outbox.write_due()


class Outbox:
    __slots__ = (  # one per socket: ten thousand idle sockets should cost little
        "_close",
        "_direct",
        "_frames",
        "_open",
        "_queued",
        "_send",
        "_transport",
        "_turn",
        "_writer",
        "closing",
        "conn_id",
        "max_bytes",
        "session_id",
        "user_id",
    )  # fmt: skip

    def __init__(
        self,
        conn_id: str,
        user_id: str,
        session_id: str,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        max_bytes: int,
        transport: Transport | None = None,
        turn: Turn | None = None,
    ) -> None:
        self.conn_id = conn_id
        self.user_id = user_id
        self.session_id = session_id
        self._send = send  # frame by frame through the server, when there is no `transport`
        self._transport = transport
        self._turn = turn if turn is not None else Turn()  # shared: the hub's, see above
        self._close = close
        self.max_bytes = max_bytes
        self._frames: list[Encoded] = []
        self._queued = 0
        self._writer: asyncio.Task[None] | None = None
        # Until `open()` frames wait: the `hello` must be first on the wire.
        self._open = False
        # Frames go out at the end of the turn (not through a writer task): on once the
        # stream has opened, off while the transport is paused.
        self._direct = False
        self.closing: tuple[int, str] | None = None

    @property
    def batched(self) -> bool:
        return self._transport is not None

    @property
    def writing(self) -> bool:
        """A writer task is at work (frames wait on a paused transport, or the close)."""
        return self._writer is not None

    def push(self, frame: Encoded) -> None:
        self.push_many([frame], len(frame.payload))

    def push_many(self, frames: list[Encoded], size: int) -> None:
        if self.closing is not None:
            return
        was_empty = not self._frames
        self._frames.extend(frames)
        self._queued += size
        if self._direct:  # the budget counts only what waits on a paused transport
            if was_empty:
                self._turn.add(self)
        elif not self._over_budget():
            self._wake()

    def _over_budget(self) -> bool:
        if self._queued <= self.max_bytes:
            return False
        metrics.SLOW_SOCKET_CLOSES.inc()
        self.close_soon(CLOSE_SLOW, "too slow: reconnect and resync")
        return True

    def push_first(self, frame: Encoded) -> None:
        """Queue ahead of everything else (the `hello` that must open the stream)."""
        if self.closing is None:
            self._frames.insert(0, frame)
            self._queued += len(frame.payload)
            self._wake()

    def open(self) -> None:
        """Let frames flow, those waiting first (the `hello` at their head)."""
        self._open = True
        self._wake()

    def close_soon(self, code: int, reason: str) -> None:
        if self.closing is None:
            self.closing = (code, reason)
            self._direct = False
            self._frames.clear()
            self._queued = 0
            self._wake()

    async def finished(self) -> None:
        """Wait for the writer, the close frame included (cancelled with the caller)."""
        if self._writer is not None:
            await self._writer

    def _wake(self) -> None:
        if self._open and self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(
                self._write(), name=f"chatd-ws-writer-{self.conn_id}"
            )

    def write_due(self) -> None:
        """The turn is over: write what it pushed, or leave it to a writer task while the
        transport is paused."""
        if self.closing is not None or not self._direct or not self._frames:
            return
        assert self._transport is not None
        try:
            written = self._transport.try_write(self._frames)
        except ConnectionError:
            written = True  # dropped: the reader sees the disconnect and cleans up

        if written:
            self._frames.clear()
            self._queued = 0
        else:
            self._direct = False
            if not self._over_budget():
                self._wake()

    async def _write(self) -> None:
        """Drain frames in order; then hand the socket to the turn's direct writes, or send
        the close frame. Ends when nothing waits: the next push that needs it starts another."""
        frames = self._frames
        try:
            while frames and self.closing is None:
                if self._transport is not None:
                    if not self._transport.try_write(frames):
                        await self._transport.drained()
                        continue
                    frames.clear()
                    self._queued = 0
                    continue
                # frame by frame through the server: take what waits now, in one piece
                batch = frames.copy()
                frames.clear()
                for frame in batch:
                    if self.closing is not None:
                        break
                    self._queued -= len(frame.payload)
                    await self._send(frame.text())
            if self.closing is None:
                if self._transport is not None:
                    self._direct = True
                return
            code, reason = self.closing
            await self._close(code, reason)
        except Exception:
            return  # the peer is gone (each server says so its own way); the reader cleans up
        finally:
            self._writer = None
