"""Team feature endpoints: reactions, pins, search."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .auth import require_user
from .http import ok, raw_path_tail, services


async def add_reaction(request: Request) -> Response:
    principal = await require_user(request)
    message = await services(request).team.react(
        principal.user, request.path_params["id"], raw_path_tail(request, "emoji"), add=True
    )
    return ok({"message": message.to_json()})


async def remove_reaction(request: Request) -> Response:
    principal = await require_user(request)
    message = await services(request).team.react(
        principal.user, request.path_params["id"], raw_path_tail(request, "emoji"), add=False
    )
    return ok({"message": message.to_json()})


async def pin(request: Request) -> Response:
    principal = await require_user(request)
    message = await services(request).team.pin(principal.user, request.path_params["id"], True)
    return ok({"message": message.to_json()})


async def unpin(request: Request) -> Response:
    principal = await require_user(request)
    message = await services(request).team.pin(principal.user, request.path_params["id"], False)
    return ok({"message": message.to_json()})


async def pins(request: Request) -> Response:
    principal = await require_user(request)
    found = await services(request).team.pins(principal.user, request.path_params["id"])
    return ok({"messages": [m.to_json() for m in found]})


async def search(request: Request) -> Response:
    principal = await require_user(request)
    params = request.query_params
    found, cursor = await services(request).search.find(
        principal.user,
        params.get("q"),
        params.get("conversation_id"),
        params.get("author_id"),
        params.get("limit"),
        params.get("cursor"),
    )
    return ok({"messages": [m.to_json() for m in found], "next_cursor": cursor})
