"""One socket's bounded outbox, the turn that writes it and the task that drains it.

The hub never awaits a socket. While the transport takes bytes, everything pushed to a
socket during one turn of the event loop (a send's `ack`, the events of the commits that
just landed, a `pong`) leaves at the end of that turn in one write: one system call per
socket per turn however many frames, and no task switch. When the transport pauses, frames
wait in order for the socket's writer task, which writes them in one go when it drains. When
the queued frames pass the byte budget (JSON payload bytes) the outbox is dropped and the
socket is closed with 4008, so a client that cannot keep up costs its own connection and
nobody else's time.
"""

from __future__ import annotations

import asyncio
from collections import deque
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
        "_queued",
        "_send",
        "_transport",
        "_turn",
        "_wake",
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
        self._frames: deque[Encoded] = deque()
        self._queued = 0
        self._wake = asyncio.Event()
        # Frames go out at the end of the turn (not through the writer task): on once the
        # stream has opened, off while the transport is paused.
        self._direct = False
        self.closing: tuple[int, str] | None = None

    @property
    def batched(self) -> bool:
        return self._transport is not None

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
        elif not self._over_budget() and was_empty:
            self._wake.set()

    def _over_budget(self) -> bool:
        if self._queued <= self.max_bytes:
            return False
        metrics.SLOW_SOCKET_CLOSES.inc()
        self.close_soon(CLOSE_SLOW, "too slow: reconnect and resync")
        return True

    def push_first(self, frame: Encoded) -> None:
        """Queue ahead of everything else (the `hello` that must open the stream)."""
        if self.closing is None:
            self._frames.appendleft(frame)
            self._queued += len(frame.payload)
            self._wake.set()

    def close_soon(self, code: int, reason: str) -> None:
        if self.closing is None:
            self.closing = (code, reason)
            self._direct = False
            self._frames.clear()
            self._queued = 0
            self._wake.set()

    def write_due(self) -> None:
        """The turn is over: write what it pushed, or leave it to the writer task while the
        transport is paused."""
        if self.closing is not None or not self._direct or not self._frames:
            return
        assert self._transport is not None
        try:
            written = self._transport.try_write(list(self._frames))
        except ConnectionError:
            written = True  # dropped: the reader sees the disconnect and cleans up

        if written:
            self._frames.clear()
            self._queued = 0
        else:
            self._direct = False
            if not self._over_budget():
                self._wake.set()

    async def run(self) -> None:
        """Drain frames in order until the socket is closed; then send the close frame."""
        frames = self._frames
        try:
            while self.closing is None:
                await self._wake.wait()
                self._wake.clear()
                while frames and self.closing is None:
                    if self._transport is not None:
                        if not self._transport.try_write(list(frames)):
                            await self._transport.drained()
                            continue
                        frames.clear()
                        self._queued = 0
                        continue
                    frame = frames.popleft()
                    self._queued -= len(frame.payload)
                    await self._send(frame.text())
                if self._transport is not None and self.closing is None:
                    self._direct = True
            code, reason = self.closing
            await self._close(code, reason)
        except Exception:
            return  # the peer is gone (each server says so its own way); the reader cleans up
