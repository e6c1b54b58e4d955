"""Who is calling: bearer token or session cookie, and the CSRF rule for cookies."""

from __future__ import annotations

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from chatd.errors import Csrf, Unauthorized
from chatd.services.principal import Principal

from .http import services

COOKIE = "chatd_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


async def require_user(request: Request) -> Principal:
    """The signed-in caller; the Authorization header wins over the cookie."""
    token = bearer_token(request)
    if token is None:
        token = request.cookies.get(COOKIE)
        if token is None:
            raise Unauthorized("sign in first")
        if request.method not in SAFE_METHODS and not request.headers.get("x-chatd-csrf"):
            raise Csrf()
    principal = await services(request).accounts.authenticate(token)
    request.state.user_id = principal.user.id
    return principal


async def require_admin(request: Request) -> Principal:
    principal = await require_user(request)
    services(request).users.require_admin(principal)
    return principal


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    ttl_days = services(request).config.auth.session_ttl_days
    response.set_cookie(
        COOKIE,
        token,
        max_age=ttl_days * 86_400,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
