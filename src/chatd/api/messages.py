"""Message endpoints: send, history, get, edit, delete, replies."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chatd.services.messages import Draft

from .auth import require_user
from .http import json_object, no_content, ok, services


async def send(request: Request) -> Response:
    principal = await require_user(request)
    body = await json_object(request)
    draft = Draft(
        body.get("body"),
        body.get("client_id"),
        body.get("reply_to"),
        body.get("file_ids"),
        body.get("thread"),
    )
    message, created = await services(request).messages.send(
        principal.user, request.path_params["id"], draft
    )
    return ok({"message": message.to_json()}, 201 if created else 200)


async def history(request: Request) -> Response:
    principal = await require_user(request)
    params = request.query_params
    found, more = await services(request).messages.history(
        principal.user,
        request.path_params["id"],
        params.get("before"),
        params.get("after"),
        params.get("limit"),
    )
    return ok({"messages": [m.to_json() for m in found], "has_more": more})


async def get(request: Request) -> Response:
    principal = await require_user(request)
    message = await services(request).messages.get(principal.user, request.path_params["id"])
    return ok({"message": message.to_json()})


async def edit(request: Request) -> Response:
    principal = await require_user(request)
    body = await json_object(request)
    message = await services(request).messages.edit(
        principal.user, request.path_params["id"], body.get("body")
    )
    return ok({"message": message.to_json()})


async def delete(request: Request) -> Response:
    principal = await require_user(request)
    await services(request).messages.delete(principal.user, request.path_params["id"])
    return no_content()


async def replies(request: Request) -> Response:
    principal = await require_user(request)
    params = request.query_params
    found, more = await services(request).messages.replies(
        principal.user, request.path_params["id"], params.get("after"), params.get("limit")
    )
    return ok({"messages": [m.to_json() for m in found], "has_more": more})
