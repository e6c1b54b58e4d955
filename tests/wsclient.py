"""A small synchronous WebSocket test client over the `websockets` library."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from typing import Any
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


class WS:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        auth_frame: bool = False,
        max_queue: int | None = None,
    ) -> None:
        all_headers = dict(headers or {})
        if token and not auth_frame:
            all_headers["Authorization"] = f"Bearer {token}"
        ws_url = url.replace("http://", "ws://") + "/api/v1/ws"
        self.conn: ClientConnection = connect(
            ws_url, additional_headers=all_headers, max_queue=max_queue, open_timeout=10
        )
        if token and auth_frame:
            self.send({"type": "auth", "token": token})
        self.hello: dict[str, Any] | None = None
        self.backlog: list[dict[str, Any]] = []  # frames `expect` skipped, for later calls

    def send(self, frame: dict[str, Any] | str) -> None:
        self.conn.send(frame if isinstance(frame, str) else json.dumps(frame))

    def recv(self, timeout: float = 5) -> dict[str, Any]:
        if self.backlog:
            return self.backlog.pop(0)
        frame: dict[str, Any] = json.loads(self.conn.recv(timeout=timeout))
        return frame

    def expect(self, kind: str, timeout: float = 5, **match: Any) -> dict[str, Any]:
        """The first frame of `kind` (and matching fields); others stay queued for later."""

        def wanted(frame: dict[str, Any]) -> bool:
            return frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items())

        for i, frame in enumerate(self.backlog):
            if wanted(frame):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        skipped: list[dict[str, Any]] = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {kind} frame matching {match}")
                frame = json.loads(self.conn.recv(timeout=left))
                if wanted(frame):
                    return frame  # type: ignore[no-any-return]
                skipped.append(frame)
        finally:
            self.backlog.extend(skipped)

    def welcome(self) -> dict[str, Any]:
        self.hello = self.recv()
        assert self.hello["type"] == "hello", self.hello
        return self.hello

    def quiet(self, seconds: float = 0.5, kind: str | None = None) -> list[dict[str, Any]]:
        """Frames that arrive within `seconds` (of `kind`, if given)."""
        found = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = self.recv(left)
            except TimeoutError:
                break
            if kind is None or frame.get("type") == kind:
                found.append(frame)
        return found

    def close_code(self, timeout: float = 10) -> int | None:
        """Read until the server closes; its close code."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.conn.recv(timeout=max(0.01, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            return None
        return None

    def close(self) -> None:
        self.conn.close()


class StalledSocket:
    """A WebSocket client that completes the handshake, then reads nothing until asked.

    A raw socket with a small receive buffer: the server's data backs up at once, as it would
    for a phone that went to sleep mid-stream.
    """

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((parts.hostname, parts.port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /api/v1/ws HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed without a close frame")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def next_frame(self) -> tuple[int, bytes]:
        """The server's next frame: (opcode, payload)."""
        first, second = self._read(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read(8))[0]
        return first & 0x0F, self._read(length)

    def close_code(self, timeout: float = 30) -> int:
        """Drain everything the server sent; the code of its close frame."""
        self.sock.settimeout(timeout)
        while True:
            opcode, payload = self.next_frame()
            if opcode == 0x8:
                code: int = struct.unpack("!H", payload[:2])[0]
                self.sock.close()
                return code


def client_frame(payload: bytes) -> bytes:
    """A masked text frame (a zero mask leaves the payload as it is), under 126 bytes."""
    assert len(payload) < 126
    return bytes((0x81, 0x80 | len(payload))) + b"\x00\x00\x00\x00" + payload
