"""Signed-in routes of integrations: webhooks per conversation, slash commands, outgoing
webhooks (admin). The secret-bearing public endpoints are in `hooks`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .auth import require_admin, require_user
from .http import json_object, no_content, ok, services


async def create_webhook(request: Request) -> Response:
    principal = await require_user(request)
    body = await json_object(request)
    hooks = services(request).webhooks
    hook = await hooks.create(principal.user, request.path_params["id"], body.get("name"))
    return ok({"webhook": hook.to_json(hooks.url(hook))}, 201)


async def list_webhooks(request: Request) -> Response:
    principal = await require_user(request)
    hooks = services(request).webhooks
    found = await hooks.list(principal.user, request.path_params["id"])
    return ok({"webhooks": [hook.to_json(hooks.url(hook)) for hook in found]})


async def delete_webhook(request: Request) -> Response:
    principal = await require_user(request)
    await services(request).webhooks.delete(principal.user, request.path_params["id"])
    return no_content()


async def create_command(request: Request) -> Response:
    principal = await require_admin(request)
    body = await json_object(request)
    command, token = await services(request).commands.create(
        principal, body.get("trigger"), body.get("url"), body.get("description")
    )
    return ok({"command": {**command.to_json(), "token": token}}, 201)


async def list_commands(request: Request) -> Response:
    await require_user(request)
    found = await services(request).commands.list()
    return ok({"commands": [command.to_json() for command in found]})


async def delete_command(request: Request) -> Response:
    principal = await require_admin(request)
    await services(request).commands.delete(principal, request.path_params["id"])
    return no_content()


async def run_command(request: Request) -> Response:
    principal = await require_user(request)
    body = await json_object(request)
    reply = await services(request).commands.run(
        principal.user, request.path_params["id"], body.get("text")
    )
    if reply.message is not None:
        return ok({"message": reply.message.to_json()})
    return ok({"ephemeral": {"text": reply.ephemeral or ""}})


async def create_outgoing(request: Request) -> Response:
    principal = await require_admin(request)
    body = await json_object(request)
    hook, secret = await services(request).outgoing.create(
        principal,
        body.get("name"),
        body.get("url"),
        body.get("conversation_ids"),
        body.get("trigger_words"),
    )
    return ok({"outgoing_hook": hook.to_json(), "secret": secret}, 201)


async def list_outgoing(request: Request) -> Response:
    principal = await require_admin(request)
    found = await services(request).outgoing.list(principal)
    return ok({"outgoing_hooks": [hook.to_json() for hook in found]})


async def delete_outgoing(request: Request) -> Response:
    principal = await require_admin(request)
    await services(request).outgoing.delete(principal, request.path_params["id"])
    return no_content()
