"""WebSocket frame types, close codes and frame encoding (a leaf: imports nothing of chatd)."""

from __future__ import annotations

from typing import Any

import orjson

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_UNAUTHORIZED = 4001
CLOSE_SLOW = 4008

MAX_FRAME_BYTES = 64 * 1024
MAX_REF_CHARS = 64
AUTH_TIMEOUT_S = 10.0
HEARTBEAT_S = 30


def encode(frame: dict[str, Any]) -> str:
    """One frame as JSON text; events are encoded once and the same string goes to every socket."""
    return orjson.dumps(frame).decode()


def error_frame(code: str, message: str, ref: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        frame["ref"] = ref
    return frame
