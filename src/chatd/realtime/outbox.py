"""One socket's bounded outbox and the writer task that drains it.

The hub only appends to a deque here; it never awaits a socket. When the queued frames pass
the byte budget the outbox is dropped and the socket is closed with 4008, so a client that
cannot keep up costs its own connection and nobody else's time. (Sizes count characters of
the JSON payload in bytes.)
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from chatd import metrics
from chatd.realtime.protocol import CLOSE_SLOW, Encoded


class Outbox:
    def __init__(
        self,
        conn_id: str,
        user_id: str,
        session_id: str,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        max_bytes: int,
        send_many: Callable[[list[Encoded]], Awaitable[None]] | None = None,
    ) -> None:
        self.conn_id = conn_id
        self.user_id = user_id
        self.session_id = session_id
        self._send = send
        self._send_many = send_many
        self._close = close
        self.max_bytes = max_bytes
        self._frames: deque[Encoded] = deque()
        self._queued = 0
        self._wake = asyncio.Event()
        self.closing: tuple[int, str] | None = None

    def push(self, frame: Encoded) -> None:
        if self.closing is not None:
            return
        self._frames.append(frame)
        self._queued += len(frame.payload)
        if self._queued > self.max_bytes:
            metrics.SLOW_SOCKET_CLOSES.inc()
            self.close_soon(CLOSE_SLOW, "too slow: reconnect and resync")
            return
        if len(self._frames) == 1:  # the writer is waiting, or will look before it waits
            self._wake.set()

    def push_first(self, frame: Encoded) -> None:
        """Queue ahead of everything else (the `hello` that must open the stream)."""
        if self.closing is None:
            self._frames.appendleft(frame)
            self._queued += len(frame)
            self._wake.set()

    def close_soon(self, code: int, reason: str) -> None:
        if self.closing is None:
            self.closing = (code, reason)
            self._frames.clear()
            self._queued = 0
            self._wake.set()

    @property
    def batched(self) -> bool:
        return self._send_many is not None

    async def run(self) -> None:
        """Drain frames in order until the socket is closed; then send the close frame."""
        frames = self._frames
        try:
            while self.closing is None:
                await self._wake.wait()
                self._wake.clear()
                while frames and self.closing is None:
                    if self._send_many is not None:  # everything queued, in one write
                        batch = list(frames)
                        frames.clear()
                        self._queued = 0
                        await self._send_many(batch)
                        continue
                    frame = frames.popleft()
                    self._queued -= len(frame.payload)
                    await self._send(frame.text())
            code, reason = self.closing
            await self._close(code, reason)
        except Exception:
            return  # the peer is gone (each server says so its own way); the reader cleans up
