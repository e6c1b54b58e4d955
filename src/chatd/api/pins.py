"""Pin endpoints: pin or unpin a message, list a conversation's pins."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .auth import require_user
from .http import ok, services


async def pin(request: Request) -> Response:
    principal = await require_user(request)
    message = await services(request).pins.pin(principal.user, request.path_params["id"], True)
    return ok({"message": message.to_json()})


async def unpin(request: Request) -> Response:
    principal = await require_user(request)
    message = await services(request).pins.pin(principal.user, request.path_params["id"], False)
    return ok({"message": message.to_json()})


async def pins(request: Request) -> Response:
    principal = await require_user(request)
    found = await services(request).pins.listed(principal.user, request.path_params["id"])
    return ok({"messages": [m.to_json() for m in found]})
