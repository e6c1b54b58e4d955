"""The web client: one page for every client-side route, and its static files."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from chatd import __version__

from .http import ok, services

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

# Module scripts must be served as JavaScript; older mimetypes tables miss these.
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/manifest+json", ".webmanifest")


async def page(request: Request) -> Response:
    return FileResponse(WEB_DIR / "index.html", headers={"cache-control": "no-cache"})


async def info(request: Request) -> Response:
    """Public facts the sign-in page needs before anyone is signed in."""
    return ok({"version": __version__, "registration": services(request).config.auth.registration})


def static_files() -> StaticFiles:
    return StaticFiles(directory=WEB_DIR)
