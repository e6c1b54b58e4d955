"""The public, secret-bearing endpoints: `POST /hooks/<secret>` (incoming webhooks, Slack's
JSON or form-encoded `payload=`) and `POST /hooks/commands/<token>` (a slash command's
`response_url`). No cookie or token is needed or used: the secret in the path is the key."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from chatd.errors import BadRequest, InvalidJson

from .http import MAX_DEPTH, depth_exceeds, read_body, services


async def _payload(request: Request) -> Any:
    """Slack's payload: a JSON body, or the JSON in the `payload` field of a form."""
    raw = await read_body(request, services(request).config.limits.max_body_bytes)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(raw.decode("utf-8"), strict_parsing=False)
        except UnicodeDecodeError:
            raise BadRequest("the form is not UTF-8") from None
        if "payload" not in form:
            raise BadRequest("a form must carry the message as payload=<JSON>")
        raw = form["payload"][0].encode("utf-8", "surrogatepass")
    if not raw.strip():
        raise BadRequest("the payload has neither text nor attachments")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidJson("the payload is not valid JSON (or not UTF-8)") from None
    if depth_exceeds(value, MAX_DEPTH):
        raise InvalidJson(f"JSON nested deeper than {MAX_DEPTH} levels")
    return value


async def incoming(request: Request) -> Response:
    payload = await _payload(request)
    await services(request).webhooks.receive(request.path_params["secret"], payload)
    return PlainTextResponse("ok")


async def command_response(request: Request) -> Response:
    payload = await _payload(request)
    await services(request).commands.respond(request.path_params["token"], payload)
    return PlainTextResponse("ok")
