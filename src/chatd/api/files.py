"""File endpoints: streamed upload, download with the contract's safe headers, metadata."""

from __future__ import annotations

import asyncio
import os
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from chatd.errors import RangeNotSatisfiable, ValidationFailed
from chatd.services import files as rules
from chatd.services.files import Sink

from .auth import require_user
from .http import ok, services
from .multipart import MultipartReader, Part

FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'"


async def upload(request: Request) -> Response:
    principal = await require_user(request)
    reader = MultipartReader.for_content_type(request.headers.get("content-type"))
    declared = request.headers.get("content-length")
    length = int(declared) if declared and declared.isdigit() else None
    store = services(request).files
    sink: Sink | None = None
    part: Part | None = None
    done = False
    try:
        async for chunk in request.stream():
            for kind, value in reader.feed(chunk):
                if kind == "part" and sink is None and not done:
                    assert isinstance(value, Part)
                    if value.name == "file" and value.filename is not None:
                        part = value
                        sink = await store.begin(principal.user, length)
                elif kind == "data" and sink is not None and not done:
                    assert isinstance(value, bytes)
                    await sink.write(value)
                elif kind == "end" and sink is not None:
                    done = True
        if sink is None or part is None or not done or not reader.finished:
            raise ValidationFailed({"file": "a multipart part named 'file' is required"})
        record = await store.finish(principal.user, sink, part.filename or "", part.content_type)
        sink = None
    finally:  # also when the client left mid-upload (app.py answers ClientDisconnect)
        if sink is not None:
            sink.discard()
    return ok({"file": record.to_json()}, 201)


async def meta(request: Request) -> Response:
    principal = await require_user(request)
    found, _ = await services(request).files.open(principal.user, request.path_params["id"])
    return ok({"file": found.to_json()})


def _content_disposition(kind: str, name: str) -> str:
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# Why chatd reads `Range` itself and lets Starlette's FileResponse only serve the one range it
# accepted (Starlette parses Range on its own, but answers differently from the contract):
# - an unsatisfiable range is a 416 in the contract's JSON envelope with `Content-Range:
#   bytes */SIZE`; Starlette answers a plain-text 416;
# - a malformed Range is ignored (RFC 9110 14.2 allows it: the whole file, 200), where
#   Starlette answers a plain-text 400;
# - several ranges are refused by ignoring the header (200, the whole file): Starlette would
#   answer `multipart/byteranges`, which replaces the Content-Type the contract fixes for a
#   file (the served type, `application/octet-stream` for anything a browser would run) and
#   lets one request ask for up to 100 slices. The contract promises one range with 206 and
#   `Content-Range`; media players and download resumers ask for one.


def _single_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """(start, end) for one satisfiable byte range; None to ignore it (absent, malformed or
    several ranges: the whole file is sent); False if unsatisfiable (416)."""
    if header is None or "," in header:
        return None
    units, _, spec = header.partition("=")
    if units.strip().lower() != "bytes" or "-" not in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            length = int(last)
            return (max(0, size - length), size - 1) if length > 0 and size > 0 else False
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size:
        return False
    return None if start > end else (start, min(end, size - 1))


class _BlobResponse(FileResponse):
    """FileResponse, told whether to honour the request's Range header: only when
    `_single_range` found exactly one satisfiable range, which Starlette then serves (206,
    `Content-Range`, and `If-Range` against the ETag)."""

    def __init__(self, *args: Any, honour_range: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.honour_range = honour_range

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.honour_range:
            headers = [(k, v) for k, v in scope["headers"] if k != b"range"]
            scope = {**scope, "headers": headers}
        await super().__call__(scope, receive, send)


async def download(request: Request) -> Response:
    principal = await require_user(request)
    found, path = await services(request).files.open(principal.user, request.path_params["id"])
    etag = f'"{found.sha256}"'
    served = rules.served_type(found.content_type)
    headers = {
        "etag": etag,
        "content-disposition": _content_disposition(
            rules.disposition(found.content_type), found.name
        ),
        "content-security-policy": FILE_CSP,
        "cache-control": "private, max-age=31536000, immutable",
        "x-content-type-options": "nosniff",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers={"etag": etag})
    wanted = _single_range(request.headers.get("range"), found.size)
    if wanted is False:
        raise RangeNotSatisfiable(headers={"content-range": f"bytes */{found.size}"})
    stat = await asyncio.to_thread(os.stat, path)
    return _BlobResponse(
        path, media_type=served, headers=headers, stat_result=stat, honour_range=wanted is not None
    )
