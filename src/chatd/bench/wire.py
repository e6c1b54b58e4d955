"""The load side's own WebSocket and HTTP clients: raw asyncio protocols, nothing to spare.

Client frames must be masked; a zero mask key is valid and leaves the payload as is, so a
frame is a header plus the bytes we already have. The server's frames are walked by their
headers only. `message.created` frames are not handled one by one: one regex call per read
pulls their bench markers out of all its complete frames, kept with the read's arrival time
and analysed after the measured window. Every other text frame goes to a callback; pings are
answered so idle sockets stay open.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import struct
import time
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

ZERO_MASK = b"\x00\x00\x00\x00"
OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA
TYPE_AT = len(b'{"type":"')  # where a frame's type starts in its payload
# The fields ahead of `body` in a message, in the order the server writes them: the floor
# sends frames of the same shape.
MARKER = re.compile(
    rb'"type":"message\.created","message":\{"id":"[^"]*","conversation_id":"[^"]*",'
    rb'"seq":\d+,"author_id":"[^"]*","body":"bench ([^"]*)"'
)


def frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    return head + ZERO_MASK + payload


class RawSocket(asyncio.Protocol):
    """One WebSocket client.

    `reads` holds `(arrival ns, [marker, ...])` for each read that brought `message.created`
    frames, and `deliveries` their running count; `on_frame(payload)` gets every other text
    frame as it arrives.
    """

    def __init__(self, on_frame: Callable[[bytes], None]) -> None:
        self.on_frame = on_frame
        self.reads: list[tuple[int, list[bytes]]] = []
        self.deliveries = 0
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._opened: asyncio.Future[None] | None = None
        self._head = b""
        self._rest = b""

    async def connect(self, url: str, path: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        loop = asyncio.get_running_loop()
        self._opened = loop.create_future()
        await loop.create_connection(lambda: self, host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self._opened

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if self._opened is not None and not self._opened.done():
            self._opened.set_exception(ConnectionError("closed during the handshake"))
        self.closed.set()

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def send(self, payload: bytes) -> None:
        self.write(frame(payload))

    def data_received(self, data: bytes) -> None:
        if self._opened is not None and not self._opened.done():
            self._handshake(data)
            return
        buffer = self._rest + data if self._rest else data
        end = self.walk(buffer)
        self._rest = buffer[end:]
        markers = MARKER.findall(buffer, 0, end)
        if markers:
            self.reads.append((time.perf_counter_ns(), markers))
            self.deliveries += len(markers)

    def _handshake(self, data: bytes) -> None:
        assert self._opened is not None
        head = self._head + data
        end = head.find(b"\r\n\r\n")
        if end < 0:
            self._head = head
            return
        if not head.startswith(b"HTTP/1.1 101"):
            self._opened.set_exception(ConnectionError(head.split(b"\r\n", 1)[0].decode()))
            return
        self._opened.set_result(None)
        if len(head) > end + 4:
            self.data_received(head[end + 4 :])

    def walk(self, buffer: bytes) -> int:
        """Handle every complete frame but `message.created` ones; return where the complete
        frames end."""
        offset, end = 0, len(buffer)
        while end - offset >= 2:
            size = buffer[offset + 1]
            if size < 126:
                start = offset + 2
            elif size == 126:
                if end - offset < 4:
                    break
                start, size = offset + 4, (buffer[offset + 2] << 8) | buffer[offset + 3]
            else:
                if end - offset < 10:
                    break
                start, size = offset + 10, int.from_bytes(buffer[offset + 2 : offset + 10])
            stop = start + size
            if stop > end:
                break
            opcode = buffer[offset] & 0x0F
            if opcode == OP_TEXT:
                if size <= TYPE_AT or buffer[start + TYPE_AT] != 0x6D:  # not "message.…"
                    self.on_frame(buffer[start:stop])
            elif opcode == OP_PING:
                self.write(frame(buffer[start:stop], OP_PONG))
            elif opcode == OP_CLOSE:
                payload = buffer[start:stop]
                self.close_code = int.from_bytes(payload[:2]) if size >= 2 else 1005
                if self.transport is not None:
                    self.transport.close()
                return end
            offset = stop
        return offset

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class RawHttp:
    """One keep-alive HTTP/1.1 connection doing one request at a time."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, token: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)
