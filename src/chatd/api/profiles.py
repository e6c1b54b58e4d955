"""The web client's second round: avatars, the mentions view, invite and password admin."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chatd.clock import iso_ms
from chatd.errors import ValidationFailed
from chatd.services.avatars import MAX_AVATAR_BYTES
from chatd.services.users import Invite

from .auth import require_admin, require_user
from .http import json_object, no_content, ok, read_body, services
from .multipart import MultipartReader, Part

MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the image
AVATAR_CSP = "default-src 'none'; sandbox"


async def _image_part(request: Request) -> tuple[bytes, str | None]:
    """The bytes and declared type of the multipart part `file` (bounded by the avatar limit)."""
    reader = MultipartReader.for_content_type(request.headers.get("content-type"))
    raw = await read_body(request, MAX_AVATAR_BYTES + MULTIPART_SLACK)
    chunks: list[bytes] = []
    part: Part | None = None
    current: Part | None = None
    done = False
    for kind, value in reader.feed(raw):
        if kind == "part":
            assert isinstance(value, Part)
            current = value
            if part is None and value.name == "file":
                part = value
        elif kind == "data" and current is part and part is not None and not done:
            assert isinstance(value, bytes)
            chunks.append(value)
        elif kind == "end" and current is part and part is not None:
            done = True
    if part is None or not done or not reader.finished:
        raise ValidationFailed({"file": "a multipart part named 'file' is required"})
    return b"".join(chunks), part.content_type


async def put_avatar(request: Request) -> Response:
    principal = await require_user(request)
    data, declared = await _image_part(request)  # a client gone mid-upload: see app.py
    user = await services(request).avatars.set(principal.user.id, data, declared)
    return ok({"user": user.to_json()})


async def delete_avatar(request: Request) -> Response:
    principal = await require_user(request)
    user = await services(request).avatars.remove(principal.user.id)
    return ok({"user": user.to_json()})


async def get_avatar(request: Request) -> Response:
    """Any signed-in user may load it; `?v=` in `avatar_url` changes with the image."""
    await require_user(request)
    key, content_type, data = await services(request).avatars.image(request.path_params["id"])
    etag = f'"{key}"'
    headers = {
        "etag": etag,
        "cache-control": "private, max-age=31536000, immutable",
        "content-disposition": 'inline; filename="avatar.webp"',
        "content-security-policy": AVATAR_CSP,
        "x-content-type-options": "nosniff",
        "cross-origin-resource-policy": "same-origin",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers={"etag": etag})
    return Response(data, media_type=content_type, headers=headers)


async def mentions(request: Request) -> Response:
    principal = await require_user(request)
    params = request.query_params
    found, cursor = await services(request).messages.mentioning(
        principal.user, params.get("cursor"), params.get("limit")
    )
    return ok({"messages": [m.to_json() for m in found], "next_cursor": cursor})


def _invite_json(invite: Invite) -> dict[str, object]:
    return {
        "code": invite.code,
        "url": invite.url,
        "created_at": iso_ms(invite.created_at),
        "created_by": invite.created_by,
        "expires_at": iso_ms(invite.expires_at) if invite.expires_at else None,
        "max_uses": invite.max_uses,
        "uses": invite.uses,
    }


async def list_invites(request: Request) -> Response:
    principal = await require_admin(request)
    found = await services(request).users.list_invites(principal)
    return ok({"invites": [_invite_json(invite) for invite in found]})


async def revoke_invite(request: Request) -> Response:
    principal = await require_admin(request)
    await services(request).users.revoke_invite(principal, request.path_params["code"])
    return no_content()


async def set_password(request: Request) -> Response:
    principal = await require_admin(request)
    body = await json_object(request)
    await services(request).users.admin_set_password(
        principal, request.path_params["id"], body.get("password")
    )
    return no_content()
