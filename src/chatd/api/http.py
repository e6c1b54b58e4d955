"""Request parsing and JSON answers shared by every endpoint."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from starlette.requests import Request
from starlette.responses import Response

from chatd.errors import InvalidJson, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from chatd.services.accounts import ClientInfo
from chatd.services.container import Services

MAX_DEPTH = 64


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(content: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in item)
    return False


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes `max_bytes` (never fully buffered)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; an absent body counts as `{}`."""
    raw = await read_body(request, services(request).config.limits.max_body_bytes)
    if not raw.strip():
        return {}
    content_type = request.headers.get("content-type", "application/json").lower()
    media = content_type.split(";")[0].strip()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType()
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidJson("the body is not valid JSON (or not UTF-8)") from None
    if depth_exceeds(value, MAX_DEPTH):
        raise InvalidJson(f"JSON nested deeper than {MAX_DEPTH} levels")
    if not isinstance(value, dict):
        raise ValidationFailed({"body": "must be a JSON object"})
    return value


def raw_path_tail(request: Request, field: str) -> str:
    """The path's last segment, percent-decoded as strict UTF-8.

    The server decodes the path with replacement, so `%ff` would arrive as U+FFFD and be
    stored as if the client had sent it; text taken from a path (a reaction's emoji) is
    read again from the raw bytes instead, and invalid UTF-8 is refused (422).
    """
    raw = request.scope.get("raw_path") or request.url.path.encode()
    segment = unquote_to_bytes(raw.rsplit(b"/", 1)[-1])
    try:
        return segment.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed({field: "is not valid UTF-8"}) from None


def client_info(request: Request) -> ClientInfo:
    host = request.client.host if request.client else ""
    return ClientInfo(user_agent=request.headers.get("user-agent", ""), ip=host)
