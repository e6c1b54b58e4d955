"""Conversation endpoints: create, list, browse, change, members, read markers, settings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .auth import require_user
from .http import json_object, no_content, ok, services


async def create(request: Request) -> Response:
    principal = await require_user(request)
    body = await json_object(request)
    conversation, created = await services(request).conversations.create(
        principal.user, body.get("kind"), body.get("name"), body.get("topic"), body.get("members")
    )
    return ok({"conversation": conversation.to_json()}, 201 if created else 200)


async def list_mine(request: Request) -> Response:
    principal = await require_user(request)
    found = await services(request).conversations.list_mine(principal.user)
    return ok({"conversations": [c.to_json() for c in found]})


async def get(request: Request) -> Response:
    principal = await require_user(request)
    found = await services(request).conversations.get(principal.user, request.path_params["id"])
    return ok({"conversation": found.to_json()})


async def update(request: Request) -> Response:
    principal = await require_user(request)
    body = await json_object(request)
    found = await services(request).conversations.update(
        principal.user,
        request.path_params["id"],
        body.get("name"),
        body.get("topic"),
        body.get("archived"),
    )
    return ok({"conversation": found.to_json()})


async def browse_channels(request: Request) -> Response:
    principal = await require_user(request)
    params = request.query_params
    found = await services(request).conversations.browse_channels(
        principal.user, params.get("q"), params.get("limit")
    )
    return ok({"conversations": [c.to_json() for c in found]})


async def join(request: Request) -> Response:
    principal = await require_user(request)
    found = await services(request).conversations.join(principal.user, request.path_params["id"])
    return ok({"conversation": found.to_json()})


async def add_member(request: Request) -> Response:
    principal = await require_user(request)
    body = await json_object(request)
    found = await services(request).conversations.add_member(
        principal.user, request.path_params["id"], body.get("user_id")
    )
    return ok({"conversation": found.to_json()})


async def remove_member(request: Request) -> Response:
    principal = await require_user(request)
    await services(request).conversations.remove_member(
        principal.user, request.path_params["id"], request.path_params["user_id"]
    )
    return no_content()


async def mark_read(request: Request) -> Response:
    principal = await require_user(request)
    body = await json_object(request)
    found = await services(request).conversations.mark_read(
        principal.user, request.path_params["id"], body.get("seq")
    )
    return ok({"conversation": found.to_json()})


async def settings(request: Request) -> Response:
    principal = await require_user(request)
    body = await json_object(request)
    found = await services(request).conversations.set_settings(
        principal.user, request.path_params["id"], body.get("muted"), body.get("notify")
    )
    return ok({"conversation": found.to_json()})
