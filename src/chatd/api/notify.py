"""Notifications away from the page: the VAPID key, push subscriptions, and the one-click
unsubscribe link of digest emails."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from chatd.errors import ChatdError

from .auth import require_user
from .http import json_object, no_content, ok, read_body, services
from .web import WEB_DIR

SW_HEADERS = {"cache-control": "no-cache", "service-worker-allowed": "/"}


async def service_worker(request: Request) -> Response:
    """The web client's service worker, served from the root so that it controls every page."""
    return FileResponse(WEB_DIR / "sw.js", media_type="text/javascript", headers=SW_HEADERS)


async def push_key(request: Request) -> Response:
    await require_user(request)
    return ok({"public_key": await services(request).notify.push.public_key()})


async def subscribe(request: Request) -> Response:
    principal = await require_user(request)
    body = await json_object(request)
    await services(request).notify.push.subscribe(
        principal.user, body.get("endpoint"), body.get("keys")
    )
    return ok({}, 201)


async def unsubscribe(request: Request) -> Response:
    principal = await require_user(request)
    body = await json_object(request)
    await services(request).notify.push.unsubscribe(principal.user, body.get("endpoint"))
    return no_content()


def _page(title: str, text: str, form: bool = False, status: int = 200) -> HTMLResponse:
    button = (
        '<form method="post"><button type="submit">Stop email notifications</button></form>'
        if form
        else ""
    )
    return HTMLResponse(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{button}"
        "</body></html>",
        status_code=status,
    )


async def email_unsubscribe(request: Request) -> Response:
    """POST (RFC 8058 one-click, or the page's button) turns email notifications off; GET
    only shows a button, since mail scanners follow links on their own."""
    params = request.query_params
    email = services(request).notify.email
    if request.method == "GET":
        if not email.valid(params.get("user"), params.get("token")):
            return _page("Unknown link", "This unsubscribe link is not valid.", status=404)
        return _page("Email notifications", "Stop the chatd emails sent to you?", form=True)
    await read_body(request, 4096)  # "List-Unsubscribe=One-Click", or the form's empty body
    try:
        await email.unsubscribe(params.get("user"), params.get("token"))
    except ChatdError:
        return _page("Unknown link", "This unsubscribe link is not valid.", status=404)
    return _page(
        "Unsubscribed",
        "chatd will send you no more emails. You can turn them back on in your settings.",
    )
