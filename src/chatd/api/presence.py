"""Presence: who of the people the caller shares a conversation with is online."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .auth import require_user
from .http import ok, services


async def presence(request: Request) -> Response:
    principal = await require_user(request)
    found = await services(request).presence.visible(principal.user)
    return ok({"presence": [p.to_json() for p in found]})
