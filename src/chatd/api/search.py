"""The search endpoint: messages from the caller's conversations."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .auth import require_user
from .http import ok, services


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
