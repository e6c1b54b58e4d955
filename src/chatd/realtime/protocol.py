"""WebSocket frame types, close codes and frame encoding (a leaf: imports nothing of chatd)."""

from __future__ import annotations

import struct
from typing import Any

import orjson

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_UNAUTHORIZED = 4001
CLOSE_SLOW = 4008
CLOSE_RESYNC = 4009  # this node may have missed events: reconnect and fill with after=

MAX_FRAME_BYTES = 64 * 1024
MAX_REF_CHARS = 64
AUTH_TIMEOUT_S = 10.0
HEARTBEAT_S = 30


class Encoded:
    """One outbound frame, serialized once and shared by every socket that receives it.

    `payload` is the JSON text as UTF-8. `wire` is a cache for the transport: the complete
    WebSocket frame (header and payload), built by the first socket that writes it, so an
    event fanned out to a thousand sockets is framed once, not a thousand times.
    """

    __slots__ = ("payload", "wire")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.wire: bytes | None = None

    def text(self) -> str:
        return self.payload.decode()


def text_frame(payload: bytes) -> bytes:
    """A whole unmasked text frame, as a server sends it (RFC 6455 5.2; no extension)."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


def encode(frame: dict[str, Any]) -> Encoded:
    """One frame as JSON, ready to be queued on any number of sockets."""
    return Encoded(orjson.dumps(frame))


def error_frame(code: str, message: str, ref: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        frame["ref"] = ref
    return frame
