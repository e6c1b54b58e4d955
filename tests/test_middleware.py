"""The outermost layer's answer to an error nobody handled: the contract's 500 envelope and
one log record with the traceback. Starlette's own error middleware answered and re-raised,
so uvicorn logged the same traceback a second time and dropped the keep-alive connection."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from chatd.api.middleware import AccessMiddleware


async def _call(app: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/api/v1/x", "headers": []}
    await AccessMiddleware(app, route_of=lambda _: None)(scope, receive, send)
    return sent


def test_an_unexpected_error_is_answered_once_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("a bug")

    with caplog.at_level(logging.INFO):
        sent = asyncio.run(_call(broken))  # nothing re-raised for the server to log again
    assert sent[0]["status"] == 500
    assert json.loads(sent[1]["body"]) == {
        "error": {"code": "internal", "message": "internal error"}
    }
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1 and failures[0].exc_info is not None
    assert [r.getMessage() for r in caplog.records if r.name == "chatd.access"] == ["http"]


def test_an_error_after_the_answer_began_is_left_to_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def half(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("mid-body")

    with pytest.raises(RuntimeError):
        asyncio.run(_call(half))
