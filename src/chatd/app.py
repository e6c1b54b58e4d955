"""The ASGI application: routes, middleware, error envelope, and the lifespan that runs it all."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from chatd.api import routes
from chatd.api.http import JSONResponse
from chatd.api.middleware import AccessMiddleware
from chatd.clock import Clock
from chatd.config import Config
from chatd.errors import (
    BadRequest,
    ChatdError,
    Internal,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
)
from chatd.services.container import Services

log = logging.getLogger("chatd")

CLIENT_GONE = 499  # nginx's "client closed request": only ever in our own log and metrics


def _error_response(error: ChatdError) -> Response:
    return JSONResponse(error.envelope(), status_code=error.status, headers=error.headers)


async def _chatd_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ChatdError)
    return _error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    mapped: dict[int, type[ChatdError]] = {
        404: NotFound,
        405: MethodNotAllowed,
        413: PayloadTooLarge,
    }
    # Starlette's own headers (a 405's `Allow`) are part of the answer
    error = mapped.get(exc.status_code, BadRequest)(headers=dict(exc.headers or {}))
    if exc.status_code not in mapped and exc.status_code != 400:
        error.status = exc.status_code
    return _error_response(error)


async def _client_gone(request: Request, exc: Exception) -> Response:
    """The client left mid-request (or its body stalled past `server.body_timeout_s`):
    nobody reads an answer, and it is no error of ours. The access line says 499, as
    nginx's does; no traceback."""
    return Response(status_code=CLIENT_GONE)


async def _unexpected(request: Request, exc: Exception) -> Response:
    """The safety net under AccessMiddleware, which answers and logs a route's unexpected
    error itself (Starlette answers with this, then re-raises to the server)."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_response(Internal())


def create_app(config: Config, clock: Clock | None = None) -> Starlette:
    """Build the app; its lifespan starts the services and stops them on shutdown."""
    table = routes.table()
    templates = routes.templates(table)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await Services.start(config, clock)
        app.state.services = services
        try:
            yield
        finally:
            await services.stop()

    handlers: dict[Any, Any] = {
        ChatdError: _chatd_error,
        HTTPException: _http_error,
        ClientDisconnect: _client_gone,
        Exception: _unexpected,
    }
    return Starlette(
        routes=table,
        lifespan=lifespan,
        exception_handlers=handlers,
        middleware=[
            Middleware(AccessMiddleware, route_of=templates.get, sockets=routes.sockets(table))
        ],
    )
