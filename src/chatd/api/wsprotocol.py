"""uvicorn's sans-io WebSocket protocol, trimmed for ten thousand sockets that mostly wait.

A chat socket lives for hours and is idle nearly all of that time, so what it holds while it
waits is what a server of many sockets costs. uvicorn's protocol keeps, for the life of the
connection, the handshake's request and response (their headers parsed twice over), an
`asyncio.Queue` for the app's receive side and an `asyncio.Event` for write back-pressure:
five deques between them, 760 bytes each before anything is queued. This subclass keeps
uvicorn's behaviour and swaps those for objects that cost nothing until used, lets go of the
handshake once the upgrade is answered (the scope's `headers` are emptied then: read them
before accepting), and offers itself to the app as the ASGI extension
`chatd.websocket`, which `api/ws.py` uses to write frames straight to the transport.

It is chosen with uvicorn's own `ws=` option (`server.py`); under any other server the app
falls back to plain ASGI.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import Protocol

from chatd.log import SOCKET_CHATTER

EXTENSION = "chatd.websocket"


class Inbox:
    """The part of `asyncio.Queue` uvicorn's protocol uses (`put_nowait`, `get`, `empty`),
    for its one consumer, the app: a list read from an index and, only while the app waits,
    one future. Not a deque: an empty deque costs 760 bytes per idle socket, an empty list
    56. Reading by index keeps `get` O(1) where `list.pop(0)` would shift every item
    behind; the read part of the list is dropped when it is drained or makes up half."""

    __slots__ = ("_head", "_items", "_waiter")

    COMPACT_AFTER = 32  # read items kept at most before they are cut off the front

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._head = 0  # the next item to read
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return self._head == len(self._items)

    def __len__(self) -> int:
        return len(self._items) - self._head

    async def get(self) -> Any:
        while self._head == len(self._items):
            if self._waiter is not None:
                raise RuntimeError("a WebSocket's messages have one reader")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        items, head = self._items, self._head
        item = items[head]
        head += 1
        if head == len(items):
            items.clear()
            head = 0
        elif head >= self.COMPACT_AFTER and head * 2 >= len(items):
            del items[:head]
            head = 0
        else:
            items[head - 1] = None  # the app owns it now; do not keep it alive here
        self._head = head
        return item


class Flag:
    """`asyncio.Event` (`set`, `clear`, `is_set`, `wait`) without a deque per instance."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class ChatdWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's protocol with light waiting objects and no handshake kept after it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # chatd logs its own structured `ws.open` / `ws.close`; uvicorn's and websockets'
        # per-socket info lines go to a logger that keeps only warnings and errors
        self.logger = self.conn.logger = logging.getLogger(SOCKET_CHATTER)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]
        self.writable.set()

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][EXTENSION] = self

    async def send(self, message: Any) -> None:
        await super().send(message)
        accepted = message["type"] == "websocket.accept" and self.handshake_complete
        if accepted and getattr(self, "response", None) is not None:
            self._forget_handshake()

    def _forget_handshake(self) -> None:
        """The upgrade is answered: nothing reads the handshake again, so let it go.

        Three things hold it: uvicorn's `request` and `response`; the scope's `headers`, which
        chatd reads before it accepts (credentials, Origin) and never after; and websockets'
        server parser, a generator whose frame keeps the parsed request as a local for the
        connection's life. That parser now waits at the start of frame parsing, with nothing
        buffered (a client sends no frame before it sees the 101 just written), which is
        exactly where a fresh frame parser starts: swap it in.
        """
        self.request = self.response = None  # type: ignore[assignment]
        headers = self.scope.get("headers")
        if isinstance(headers, list):
            headers.clear()  # in place: Starlette's view of them is this same list
        conn = self.conn
        if not conn.reader.buffer and conn.parser_exc is None:
            conn.parser = Protocol.parse(conn)
            next(conn.parser)
