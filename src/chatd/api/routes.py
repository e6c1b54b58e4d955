"""The whole HTTP and WebSocket surface of chatd, in one table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from . import (
    bots,
    conversations,
    files,
    hooks,
    integrations,
    messages,
    notify,
    openapi,
    ops,
    pins,
    presence,
    profiles,
    reactions,
    search,
    users,
    web,
    ws,
)

API = "/api/v1"


def table() -> list[BaseRoute]:
    """Starlette matches routes in order: the hot paths come first."""
    return [
        # messages
        Route(f"{API}/conversations/{{id}}/messages", messages.send, methods=["POST"]),
        Route(f"{API}/conversations/{{id}}/messages", messages.history, methods=["GET"]),
        Route(f"{API}/messages/{{id}}", messages.get, methods=["GET"]),
        Route(f"{API}/messages/{{id}}", messages.edit, methods=["PATCH"]),
        Route(f"{API}/messages/{{id}}", messages.delete, methods=["DELETE"]),
        Route(f"{API}/messages/{{id}}/replies", messages.replies, methods=["GET"]),
        # real time
        Route(f"{API}/presence", presence.presence, methods=["GET"]),
        WebSocketRoute(f"{API}/ws", ws.endpoint),
        # conversations
        Route(f"{API}/conversations", conversations.create, methods=["POST"]),
        Route(f"{API}/conversations", conversations.list_mine, methods=["GET"]),
        Route(f"{API}/conversations/{{id}}", conversations.get, methods=["GET"]),
        Route(f"{API}/conversations/{{id}}", conversations.update, methods=["PATCH"]),
        Route(f"{API}/channels", conversations.browse_channels, methods=["GET"]),
        Route(f"{API}/conversations/{{id}}/join", conversations.join, methods=["POST"]),
        Route(f"{API}/conversations/{{id}}/members", conversations.add_member, methods=["POST"]),
        Route(
            f"{API}/conversations/{{id}}/members/{{user_id}}",
            conversations.remove_member,
            methods=["DELETE"],
        ),
        Route(f"{API}/conversations/{{id}}/read", conversations.mark_read, methods=["POST"]),
        Route(f"{API}/conversations/{{id}}/settings", conversations.settings, methods=["PATCH"]),
        # reactions, pins, search (the contract's "Team features")
        Route(
            f"{API}/messages/{{id}}/reactions/{{emoji}}", reactions.add_reaction, methods=["PUT"]
        ),
        Route(
            f"{API}/messages/{{id}}/reactions/{{emoji}}",
            reactions.remove_reaction,
            methods=["DELETE"],
        ),
        Route(f"{API}/messages/{{id}}/pin", pins.pin, methods=["PUT"]),
        Route(f"{API}/messages/{{id}}/pin", pins.unpin, methods=["DELETE"]),
        Route(f"{API}/conversations/{{id}}/pins", pins.pins, methods=["GET"]),
        Route(f"{API}/search", search.search, methods=["GET"]),
        # files
        Route(f"{API}/files", files.upload, methods=["POST"]),
        Route(f"{API}/files/{{id}}", files.download, methods=["GET"]),
        Route(f"{API}/files/{{id}}/meta", files.meta, methods=["GET"]),
        # accounts
        Route(f"{API}/setup", users.setup_status, methods=["GET"]),
        Route(f"{API}/setup", users.setup, methods=["POST"]),
        Route(f"{API}/auth/register", users.register, methods=["POST"]),
        Route(f"{API}/auth/login", users.login, methods=["POST"]),
        Route(f"{API}/auth/logout", users.logout, methods=["POST"]),
        Route(f"{API}/auth/sessions", users.list_sessions, methods=["GET"]),
        Route(f"{API}/auth/sessions/{{id}}", users.revoke_session, methods=["DELETE"]),
        Route(f"{API}/users/me", users.me, methods=["GET"]),
        Route(f"{API}/users/me", users.update_me, methods=["PATCH"]),
        Route(f"{API}/users/me/password", users.change_password, methods=["POST"]),
        Route(f"{API}/users", users.directory, methods=["GET"]),
        Route(f"{API}/users/{{id}}", users.get_user, methods=["GET"]),
        Route(f"{API}/admin/invites", users.admin_create_invite, methods=["POST"]),
        Route(f"{API}/admin/users", users.admin_list_users, methods=["GET"]),
        Route(f"{API}/admin/users", users.admin_create_user, methods=["POST"]),
        Route(f"{API}/admin/users/{{id}}", users.admin_update_user, methods=["PATCH"]),
        # the web client's second round: avatars, mentions, invite and password admin
        Route(f"{API}/users/me/avatar", profiles.put_avatar, methods=["PUT"]),
        Route(f"{API}/users/me/avatar", profiles.delete_avatar, methods=["DELETE"]),
        Route(f"{API}/users/{{id}}/avatar", profiles.get_avatar, methods=["GET"]),
        Route(f"{API}/mentions", profiles.mentions, methods=["GET"]),
        Route(f"{API}/admin/invites", profiles.list_invites, methods=["GET"]),
        Route(f"{API}/admin/invites/{{code}}", profiles.revoke_invite, methods=["DELETE"]),
        Route(f"{API}/admin/users/{{id}}/password", profiles.set_password, methods=["POST"]),
        # integrations: bots, incoming webhooks, slash commands, outgoing webhooks
        Route(f"{API}/admin/bots", bots.create, methods=["POST"]),
        Route(f"{API}/admin/bots", bots.list_all, methods=["GET"]),
        Route(f"{API}/admin/bots/{{id}}/token", bots.replace_token, methods=["POST"]),
        Route(
            f"{API}/conversations/{{id}}/webhooks", integrations.create_webhook, methods=["POST"]
        ),
        Route(f"{API}/conversations/{{id}}/webhooks", integrations.list_webhooks, methods=["GET"]),
        Route(f"{API}/webhooks/{{id}}", integrations.delete_webhook, methods=["DELETE"]),
        Route("/hooks/commands/{token}", hooks.command_response, methods=["POST"]),
        Route("/hooks/{secret}", hooks.incoming, methods=["POST"]),
        Route(f"{API}/admin/commands", integrations.create_command, methods=["POST"]),
        Route(f"{API}/commands", integrations.list_commands, methods=["GET"]),
        Route(f"{API}/admin/commands/{{id}}", integrations.delete_command, methods=["DELETE"]),
        Route(f"{API}/conversations/{{id}}/commands", integrations.run_command, methods=["POST"]),
        Route(f"{API}/admin/outgoing-hooks", integrations.create_outgoing, methods=["POST"]),
        Route(f"{API}/admin/outgoing-hooks", integrations.list_outgoing, methods=["GET"]),
        Route(
            f"{API}/admin/outgoing-hooks/{{id}}", integrations.delete_outgoing, methods=["DELETE"]
        ),
        # notifications away from the page: Web Push and email digests
        Route(f"{API}/push/key", notify.push_key, methods=["GET"]),
        Route(f"{API}/push/subscriptions", notify.subscribe, methods=["POST"]),
        Route(f"{API}/push/subscriptions", notify.unsubscribe, methods=["DELETE"]),
        Route(f"{API}/email/unsubscribe", notify.email_unsubscribe, methods=["GET", "POST"]),
        Route("/sw.js", notify.service_worker, methods=["GET"]),
        # the web client
        Route("/", web.page, methods=["GET"]),
        Route("/setup", web.page, methods=["GET"]),
        Route("/register", web.page, methods=["GET"]),
        Route("/login", web.page, methods=["GET"]),
        Mount("/static", app=web.static_files(), name="static"),
        Route(f"{API}/info", web.info, methods=["GET"]),
        Route(f"{API}/openapi.json", openapi.openapi, methods=["GET"]),
        # operations
        Route("/healthz", ops.healthz, methods=["GET"]),
        Route("/readyz", ops.readyz, methods=["GET"]),
        Route("/metrics", ops.metrics, methods=["GET"]),
    ]


def templates(routes: list[BaseRoute]) -> dict[object, str]:
    """endpoint -> path template, so logs and metrics name routes, never raw paths."""
    found: dict[object, str] = {}
    for route in routes:
        endpoint = getattr(route, "endpoint", None)
        path = getattr(route, "path", None)
        if endpoint is not None and path is not None:
            found[endpoint] = path
    return found


def sockets(routes: list[BaseRoute]) -> dict[str, Callable[[WebSocket], Awaitable[None]]]:
    """path -> endpoint of the WebSocket routes (fixed paths), for `AccessMiddleware` to call
    before the router."""
    return {
        route.path: route.endpoint
        for route in routes
        if isinstance(route, WebSocketRoute) and "{" not in route.path
    }
