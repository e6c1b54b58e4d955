"""Every HTTP request: a request id, security headers, one access-log line, latency metric."""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from chatd import metrics
from chatd.errors import Internal
from chatd.log import event

log = logging.getLogger("chatd.access")
errors = logging.getLogger("chatd")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; manifest-src 'self'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


async def _internal_error(send: Send) -> None:
    body = orjson.dumps(Internal().envelope())
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class AccessMiddleware:
    """Also the door to WebSocket routes: `sockets` (path -> endpoint, from the route table)
    are called straight from here. A socket's coroutine stays suspended for the socket's
    whole life, and with it every layer it was called through: the router, the route and
    Starlette's two exception wrappers kept about 4 KiB alive per idle socket."""

    def __init__(
        self,
        app: ASGIApp,
        route_of: Callable[[object], str | None],
        sockets: Mapping[str, Callable[[WebSocket], Awaitable[None]]] | None = None,
    ) -> None:
        self.app = app
        self.route_of = route_of
        self.sockets = dict(sockets or {})
        # Request ids only need to be unique in the logs: a random prefix and a counter.
        self.prefix = secrets.token_hex(4) + "-"
        self.counter = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            endpoint = self.sockets.get(scope["path"]) if scope["type"] == "websocket" else None
            if endpoint is not None:
                await endpoint(WebSocket(scope, receive, send))
                return
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = f"{self.prefix}{next(self.counter):x}"
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        began = False  # the answer's status line is out

        async def send_wrapper(message: Message) -> None:
            nonlocal status, began
            if message["type"] == "http.response.start":
                status = message["status"]
                began = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            # Starlette's ServerErrorMiddleware would answer, then re-raise, and uvicorn would
            # log the same traceback again and drop the connection: answer here, log once.
            if began:
                raise  # part of an answer is out: only closing the connection is left
            errors.error(
                "unhandled error on %s %s", scope["method"], scope.get("path"), exc_info=exc
            )
            await _internal_error(send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = self.route_of(scope.get("endpoint")) or "unmatched"
            method = scope["method"]
            metrics.http_latency(method, route, status).observe(elapsed)
            state = scope.get("state", {})
            event(
                log,
                logging.INFO,
                "http",
                method=method,
                route=route,
                status=status,
                ms=round(elapsed * 1000, 2),
                request_id=request_id,
                user_id=state.get("user_id", ""),
            )
