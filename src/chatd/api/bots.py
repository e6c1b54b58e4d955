"""Admin routes for bot users: create (the token is shown once), list, replace the token.

Disabling a bot is the ordinary `PATCH /admin/users/{id}` `{active: false}`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .auth import require_admin
from .http import json_object, ok, services


async def create(request: Request) -> Response:
    principal = await require_admin(request)
    body = await json_object(request)
    bot, token = await services(request).bots.create(
        principal, body.get("username"), body.get("display_name")
    )
    return ok({"user": bot.to_json(), "token": token}, 201)


async def list_all(request: Request) -> Response:
    principal = await require_admin(request)
    found = await services(request).bots.list(principal)
    return ok({"users": [u.to_json() for u in found]})


async def replace_token(request: Request) -> Response:
    principal = await require_admin(request)
    token = await services(request).bots.replace_token(principal, request.path_params["id"])
    return ok({"token": token}, 201)
