"""One socket's bounded outbox and the writer task that drains it.

The hub never awaits a socket. When the transport can take bytes and nothing is waiting
before them, a frame is written at once, in the hub's own step (one system call, no task
switch: this is most of the cost of a fan-out). Otherwise frames wait in a deque for the
socket's writer task, which writes everything queued in one go when the transport drains.
When the queued frames pass the byte budget (JSON payload bytes) the outbox is dropped and
the socket is closed with 4008, so a client that cannot keep up costs its own connection and
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


class Outbox:
    __slots__ = (  # one per socket: ten thousand idle sockets should cost little
        "_close",
        "_direct",
        "_frames",
        "_queued",
        "_send",
        "_transport",
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
    ) -> None:
        self.conn_id = conn_id
        self.user_id = user_id
        self.session_id = session_id
        self._send = send  # frame by frame through the server, when there is no `transport`
        self._transport = transport
        self._close = close
        self.max_bytes = max_bytes
        self._frames: deque[Encoded] = deque()
        self._queued = 0
        self._wake = asyncio.Event()
        self._direct = False  # writes in the caller's step; on once the stream has opened
        self.closing: tuple[int, str] | None = None

    @property
    def batched(self) -> bool:
        return self._transport is not None

    def push(self, frame: Encoded) -> None:
        self.push_many([frame], len(frame.payload))

    def push_many(self, frames: list[Encoded], size: int) -> None:
        if self.closing is None and not (self._direct and self._write_now(frames)):
            self._enqueue(frames, size)

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

    def _write_now(self, frames: list[Encoded]) -> bool:
        """Written (or dropped for a socket already gone): True; must wait in order: False."""
        if self._frames:
            return False
        assert self._transport is not None
        try:
            return self._transport.try_write(frames)
        except ConnectionError:
            return True  # the reader sees the disconnect and cleans up

    def _enqueue(self, frames: list[Encoded], size: int) -> None:
        was_empty = not self._frames
        self._frames.extend(frames)
        self._queued += size
        if self._queued > self.max_bytes:
            metrics.SLOW_SOCKET_CLOSES.inc()
            self.close_soon(CLOSE_SLOW, "too slow: reconnect and resync")
        elif was_empty:
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
