"""Setup, sign-in, sessions, profiles and admin user management."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chatd.clock import iso_ms
from chatd.services.accounts import SignedIn

from .auth import clear_session_cookie, require_admin, require_user, set_session_cookie
from .http import client_info, json_object, no_content, ok, services


def _signed_in(request: Request, result: SignedIn, want_cookie: object, status: int) -> Response:
    response = ok(
        {
            "user": result.user.to_json(),
            "token": result.token,
            "session": result.session.to_json(result.session.id),
        },
        status,
    )
    if want_cookie is True:
        set_session_cookie(request, response, result.token)
    return response


async def setup_status(request: Request) -> Response:
    return ok({"needed": await services(request).accounts.setup_needed()})


async def setup(request: Request) -> Response:
    body = await json_object(request)
    result = await services(request).accounts.setup(
        body.get("setup_token"),
        body.get("username"),
        body.get("password"),
        body.get("display_name"),
        client_info(request),
    )
    return _signed_in(request, result, body.get("session_cookie"), 201)


async def register(request: Request) -> Response:
    body = await json_object(request)
    result = await services(request).accounts.register(
        body.get("username"),
        body.get("password"),
        body.get("display_name"),
        body.get("invite"),
        client_info(request),
    )
    return _signed_in(request, result, body.get("session_cookie"), 201)


async def login(request: Request) -> Response:
    body = await json_object(request)
    result = await services(request).accounts.login(
        body.get("username"), body.get("password"), client_info(request)
    )
    return _signed_in(request, result, body.get("session_cookie"), 200)


async def logout(request: Request) -> Response:
    principal = await require_user(request)
    await services(request).accounts.logout(principal)
    response = no_content()
    clear_session_cookie(request, response)
    return response


async def list_sessions(request: Request) -> Response:
    principal = await require_user(request)
    found = await services(request).accounts.list_sessions(principal)
    return ok({"sessions": [s.to_json(principal.session_id) for s in found]})


async def revoke_session(request: Request) -> Response:
    principal = await require_user(request)
    await services(request).accounts.revoke_session(principal, request.path_params["id"])
    return no_content()


async def me(request: Request) -> Response:
    principal = await require_user(request)
    user = await services(request).users.get(principal.user.id)
    prefs = await services(request).notify.email.get(user.id)
    return ok({"user": {**user.to_json(), **prefs.to_json()}})


async def update_me(request: Request) -> Response:
    principal = await require_user(request)
    body = await json_object(request)
    email = services(request).notify.email
    given, address, notifications = email.check(body)  # refuse bad input before any write
    user = await services(request).users.update_profile(principal, body.get("display_name"))
    prefs = await email.update(user, given, address, notifications)
    return ok({"user": {**user.to_json(), **prefs.to_json()}})


async def change_password(request: Request) -> Response:
    principal = await require_user(request)
    body = await json_object(request)
    await services(request).accounts.change_password(
        principal, body.get("current_password"), body.get("new_password")
    )
    return no_content()


async def directory(request: Request) -> Response:
    await require_user(request)
    params = request.query_params
    found = await services(request).users.directory(params.get("q"), params.get("limit"))
    return ok({"users": [u.to_json() for u in found]})


async def get_user(request: Request) -> Response:
    await require_user(request)
    user = await services(request).users.get(request.path_params["id"])
    return ok({"user": user.to_json()})


async def admin_list_users(request: Request) -> Response:
    principal = await require_admin(request)
    params = request.query_params
    found = await services(request).users.admin_directory(
        principal, params.get("q"), params.get("limit")
    )
    emails = await services(request).notify.email.get_many(principal, [u.id for u in found])
    return ok({"users": [{**u.to_json(), "email": emails[u.id].email} for u in found]})


async def admin_create_invite(request: Request) -> Response:
    principal = await require_admin(request)
    body = await json_object(request)
    invite = await services(request).users.create_invite(
        principal, body.get("max_uses"), body.get("expires_in_s")
    )
    return ok(
        {
            "code": invite.code,
            "url": invite.url,
            "expires_at": iso_ms(invite.expires_at) if invite.expires_at else None,
            "max_uses": invite.max_uses,
        },
        201,
    )


async def admin_create_user(request: Request) -> Response:
    principal = await require_admin(request)
    body = await json_object(request)
    user = await services(request).users.create(
        principal,
        body.get("username"),
        body.get("password"),
        body.get("display_name"),
        body.get("role"),
    )
    return ok({"user": user.to_json()}, 201)


async def admin_update_user(request: Request) -> Response:
    principal = await require_admin(request)
    body = await json_object(request)
    user = await services(request).users.update(
        principal, request.path_params["id"], body.get("active"), body.get("role")
    )
    return ok({"user": user.to_json()})
