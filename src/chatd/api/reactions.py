"""Reaction endpoints: add or remove the caller's emoji on a message."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .auth import require_user
from .http import ok, raw_path_tail, services


async def add_reaction(request: Request) -> Response:
    principal = await require_user(request)
    message = await services(request).reactions.react(
        principal.user, request.path_params["id"], raw_path_tail(request, "emoji"), add=True
    )
    return ok({"message": message.to_json()})


async def remove_reaction(request: Request) -> Response:
    principal = await require_user(request)
    message = await services(request).reactions.react(
        principal.user, request.path_params["id"], raw_path_tail(request, "emoji"), add=False
    )
    return ok({"message": message.to_json()})
