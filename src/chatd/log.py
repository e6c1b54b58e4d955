"""Structured logging: one event per line, as `key=value` text or as JSON.

Call sites log an event name and fields (`log.info("login.failed", extra={"fields": {...}})`
through `event()`); secrets never reach here because callers never pass them, and the
formatter drops any field whose name says it is one, as a second line of defence.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

# The per-socket chatter of uvicorn's WebSocket protocol and of websockets (`[accepted]`,
# `connection open`, `connection closed`: three unstructured lines per socket beside chatd's
# own `ws.open` / `ws.close`) goes to this logger, which shows warnings and errors only.
SOCKET_CHATTER = "chatd.ws.protocol"

_SECRET_WORDS = ("password", "token", "secret", "cookie", "authorization", "invite_code")


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        key: ("***" if any(word in key.lower() for word in _SECRET_WORDS) else value)
        for key, value in fields.items()
    }


class _TextFormatter(logging.Formatter):
    def __init__(self, node: str | None = None) -> None:
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        parts = [f"{stamp}.{int(record.msecs):03d}Z", record.levelname.lower(), record.getMessage()]
        if self.node is not None:
            parts.append(f"node={self.node}")
        for key, value in _clean(getattr(record, "fields", {})).items():
            text = str(value)
            if not text or any(c in text for c in ' "=\n'):
                text = (
                    '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
                )
            parts.append(f"{key}={text}")
        if record.exc_info:
            parts.append("exc=" + repr(self.formatException(record.exc_info)))
        return " ".join(parts)


class _JsonFormatter(logging.Formatter):
    def __init__(self, node: str | None = None) -> None:
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        if self.node is not None:
            data["node"] = self.node
        data.update(_clean(getattr(record, "fields", {})))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(data, default=str).decode()


def setup(level: str = "info", fmt: str = "text", node: str | None = None) -> None:
    """Route chatd's and uvicorn's loggers to stderr in the chosen format; `node` (one node
    of several) is added to every line, so merged logs tell the nodes apart."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter(node) if fmt == "json" else _TextFormatter(node))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger(SOCKET_CHATTER).setLevel(max(logging.WARNING, root.level))


def event(logger: logging.Logger, level: int, name: str, **fields: Any) -> None:
    """Log one structured event."""
    if logger.isEnabledFor(level):
        logger.log(level, name, extra={"fields": fields})
