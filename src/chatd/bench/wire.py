"""The load side's own WebSocket and HTTP clients: raw asyncio streams, nothing to spare.

Client frames must be masked; a zero mask key is valid and leaves the payload as is, so a
frame is a header plus the bytes we already have. Received frames are split in place and
handed on as `bytes` without decoding; pings are answered so idle sockets stay open.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable
from urllib.parse import urlsplit

ZERO_MASK = b"\x00\x00\x00\x00"


def text_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    return head + ZERO_MASK + payload


class RawSocket:
    """One WebSocket client; `on_frame(payload)` is called for each text frame."""

    def __init__(self, on_frame: Callable[[bytes], None]) -> None:
        self.on_frame = on_frame
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._task: asyncio.Task[None] | None = None

    async def connect(self, url: str, path: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        self.reader, self.writer = await asyncio.open_connection(host, port, limit=2**20)
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
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
        self._task = asyncio.create_task(self._read())

    def send(self, payload: bytes) -> None:
        assert self.writer is not None
        self.writer.write(text_frame(payload))

    async def _read(self) -> None:
        assert self.reader is not None and self.writer is not None
        buffer = b""
        try:
            while True:
                chunk = await self.reader.read(262144)
                if not chunk:
                    break
                buffer = buffer + chunk if buffer else chunk
                offset, end = 0, len(buffer)
                while end - offset >= 2:
                    first, second = buffer[offset], buffer[offset + 1]
                    size, start = second & 0x7F, offset + 2
                    if size == 126:
                        if end - offset < 4:
                            break
                        size, start = int.from_bytes(buffer[offset + 2 : offset + 4]), offset + 4
                    elif size == 127:
                        if end - offset < 10:
                            break
                        size, start = int.from_bytes(buffer[offset + 2 : offset + 10]), offset + 10
                    if end - start < size:
                        break
                    opcode = first & 0x0F
                    if opcode == 0x1:
                        self.on_frame(buffer[start : start + size])
                    elif opcode == 0x9:  # ping
                        self.writer.write(text_frame(buffer[start : start + size], 0xA))
                    elif opcode == 0x8:
                        payload = buffer[start : start + size]
                        self.close_code = int.from_bytes(payload[:2]) if len(payload) >= 2 else 1005
                        return
                    offset = start + size
                buffer = buffer[offset:]
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.closed.set()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self._task is not None:
            self._task.cancel()


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
