"""`/api/v1/openapi.json`: an OpenAPI 3.1 description of every HTTP route.

The operations below are keyed by (method, path) exactly as in `routes.table()`; a test keeps
the two sets equal, so a route cannot be added or removed without its description.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from chatd import __version__

from .http import ok

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: tuple[str, ...] = (), **props: Schema) -> Schema:
    schema: Schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
IDS: Schema = {"type": "array", "items": STR}
NULLABLE_STR: Schema = {"type": ["string", "null"]}

COMPONENTS: dict[str, Schema] = {
    "User": obj(
        ("id", "username", "display_name", "role", "active", "created_at", "bot", "avatar_url"),
        id=STR, username=STR, display_name=STR, role={"enum": ["admin", "member"]},
        active=BOOL, created_at=TIME, bot=BOOL, avatar_url=NULLABLE_STR,
        # the caller's own (`/users/me`), and every user's email in the admin directory
        email=NULLABLE_STR, email_notifications=BOOL,
    ),
    "Session": obj(
        id=STR, created_at=TIME, last_used_at=TIME, user_agent=STR, ip=STR, current=BOOL
    ),
    "Conversation": obj(
        id=STR, kind={"enum": ["direct", "group", "channel"]}, name=STR, topic=STR,
        created_at=TIME, created_by=NULLABLE_STR, members=IDS, last_seq=INT, read_seq=INT,
        unread_count=INT, archived=BOOL, muted=BOOL, mention_count=INT,
        notify={"enum": ["default", "all", "mentions", "none"]},
    ),
    "File": obj(
        id=STR, name=STR, size=INT, content_type=STR, sha256=STR, created_at=TIME,
        uploader_id=STR,
    ),
    "Reaction": obj(emoji=STR, count=INT, user_ids=IDS),
    "Message": obj(
        id=STR, conversation_id=STR, seq=INT, author_id=STR, body=STR, created_at=TIME,
        edited_at={"type": ["string", "null"], "format": "date-time"}, deleted=BOOL,
        reply_to=NULLABLE_STR, client_id=NULLABLE_STR,
        files={"type": "array", "items": ref("File")},
        reactions={"type": "array", "items": ref("Reaction")}, mentions=IDS, pinned=BOOL,
        reply_count=INT, via={"oneOf": [{"type": "null"}, ref("Via")]},
        thread=BOOL, thread_reply_count=INT, reply_user_ids=IDS,
    ),
    # integrations
    "Via": obj(kind={"enum": ["webhook", "command"]}, id=STR, name=STR),
    "Webhook": obj(id=STR, name=STR, conversation_id=STR, url=STR, created_by=STR,
                   created_at=TIME),
    "Command": obj(("id", "trigger", "url", "description", "created_by", "created_at"),
                   id=STR, trigger=STR, url=STR, description=STR, created_by=STR,
                   created_at=TIME, token=STR),  # token: in the answer to its creation only
    "OutgoingHook": obj(id=STR, name=STR, url=STR, conversation_ids=IDS, trigger_words=IDS,
                        created_by=STR, created_at=TIME),
    "Presence": obj(
        user_id=STR, status={"enum": ["online", "away", "dnd", "offline"]},
        last_seen_at={"type": ["string", "null"], "format": "date-time"},
    ),
    "Error": obj(
        ("error",),
        error=obj(
            ("code", "message"), code=STR, message=STR,
            fields={"type": "object", "additionalProperties": STR},
        ),
    ),
}  # fmt: skip

SIGNED_IN = obj(("user", "token"), user=ref("User"), token=STR, session=ref("Session"))
ONE = {name: obj((key,), **{key: ref(name)}) for name, key in [
    ("User", "user"), ("Conversation", "conversation"), ("Message", "message"), ("File", "file"),
]}  # fmt: skip
LIST_MESSAGES = obj(messages={"type": "array", "items": ref("Message")}, has_more=BOOL)
LIST_CONVERSATIONS = obj(conversations={"type": "array", "items": ref("Conversation")})
LIST_USERS = obj(users={"type": "array", "items": ref("User")})
LIMIT = ("limit", INT)
ACCOUNT = {"username": STR, "password": STR, "display_name": STR}


def op(
    summary: str,
    status: int = 200,
    answer: Schema | None = None,
    body: Schema | None = None,
    query: tuple[tuple[str, Schema], ...] = (),
    public: bool = False,
    media: str = "application/json",
) -> Schema:
    operation: Schema = {"summary": summary, "parameters": [], "responses": {}}
    for name, schema in query:
        operation["parameters"].append(
            {"name": name, "in": "query", "required": False, "schema": schema}
        )
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {media: {"schema": body}}}
    success: Schema = {"description": summary}
    if answer is not None:
        success["content"] = {"application/json": {"schema": answer}}
    operation["responses"][str(status)] = success
    error = {"description": "an error", "content": {"application/json": {"schema": ref("Error")}}}
    operation["responses"]["default"] = error
    if not public:
        operation["security"] = [{"bearer": []}, {"cookie": []}]
    return operation


API = "/api/v1"
OPERATIONS: dict[tuple[str, str], Schema] = {
    ("GET", "/healthz"): op("the process serves", answer=obj(status=STR), public=True),
    ("GET", "/readyz"): op("ready for writes", answer=obj(status=STR, node=STR), public=True),
    ("GET", "/metrics"): op(
        "Prometheus metrics (text); only to server.metrics_networks, others get 404", public=True
    ),
    ("GET", "/"): op("the web client (HTML)", public=True),
    ("GET", "/setup"): op("the web client's first-run page (HTML)", public=True),
    ("GET", "/register"): op("the web client's registration page (HTML)", public=True),
    ("GET", "/login"): op("the web client's sign-in page (HTML)", public=True),
    ("GET", f"{API}/openapi.json"): op("this document", public=True),
    ("GET", f"{API}/info"): op("version and registration mode", public=True,
                               answer=obj(version=STR, registration=STR)),
    ("GET", f"{API}/setup"): op("whether first-run setup is needed", public=True,
                                answer=obj(needed=BOOL)),
    ("POST", f"{API}/setup"): op("create the first admin", 201, SIGNED_IN, public=True,
                                 body=obj(("setup_token", "username", "password"),
                                          setup_token=STR, session_cookie=BOOL, **ACCOUNT)),
    ("POST", f"{API}/auth/register"): op("register", 201, SIGNED_IN, public=True,
                                         body=obj(("username", "password"), invite=STR,
                                                  session_cookie=BOOL, **ACCOUNT)),
    ("POST", f"{API}/auth/login"): op("sign in", 200, SIGNED_IN, public=True,
                                      body=obj(("username", "password"), username=STR,
                                               password=STR, session_cookie=BOOL)),
    ("POST", f"{API}/auth/logout"): op("sign out", 204),
    ("GET", f"{API}/auth/sessions"): op("the caller's sessions",
                                        answer=obj(sessions={"type": "array",
                                                             "items": ref("Session")})),
    ("DELETE", f"{API}/auth/sessions/{{id}}"): op("revoke a session", 204),
    ("GET", f"{API}/users/me"): op("the caller", answer=ONE["User"]),
    ("PATCH", f"{API}/users/me"): op("change the caller's profile", answer=ONE["User"],
                                     body=obj(display_name=STR, email=NULLABLE_STR,
                                              email_notifications=BOOL)),
    ("POST", f"{API}/users/me/password"): op("change the caller's password", 204,
                                             body=obj(("current_password", "new_password"),
                                                      current_password=STR, new_password=STR)),
    ("GET", f"{API}/users"): op("the directory", answer=LIST_USERS, query=(("q", STR), LIMIT)),
    ("GET", f"{API}/users/{{id}}"): op("one user", answer=ONE["User"]),
    ("POST", f"{API}/admin/invites"): op("create an invite", 201,
                                         obj(code=STR, url=STR, expires_at=TIME,
                                             max_uses={"type": ["integer", "null"]}),
                                         body=obj(max_uses=INT, expires_in_s=INT)),
    ("GET", f"{API}/admin/users"): op("every user", answer=LIST_USERS,
                                      query=(("q", STR), LIMIT)),
    ("POST", f"{API}/admin/users"): op("create a user", 201, ONE["User"],
                                       body=obj(("username", "password"), role=STR, **ACCOUNT)),
    ("PATCH", f"{API}/admin/users/{{id}}"): op("activate, deactivate, change role",
                                               answer=ONE["User"],
                                               body=obj(active=BOOL, role=STR)),
    ("POST", f"{API}/conversations"): op("create a conversation", 201, ONE["Conversation"],
                                         body=obj(("kind",), kind=STR, name=STR, topic=STR,
                                                  members=IDS)),
    ("GET", f"{API}/conversations"): op("the caller's conversations", answer=LIST_CONVERSATIONS),
    ("GET", f"{API}/conversations/{{id}}"): op("one conversation", answer=ONE["Conversation"]),
    ("PATCH", f"{API}/conversations/{{id}}"): op("rename, set topic, archive",
                                                 answer=ONE["Conversation"],
                                                 body=obj(name=STR, topic=STR, archived=BOOL)),
    ("GET", f"{API}/channels"): op("browse channels", answer=LIST_CONVERSATIONS,
                                   query=(("q", STR), LIMIT)),
    ("POST", f"{API}/conversations/{{id}}/join"): op("join a channel",
                                                     answer=ONE["Conversation"]),
    ("POST", f"{API}/conversations/{{id}}/members"): op("add a member",
                                                        answer=ONE["Conversation"],
                                                        body=obj(("user_id",), user_id=STR)),
    ("DELETE", f"{API}/conversations/{{id}}/members/{{user_id}}"): op("remove a member", 204),
    ("POST", f"{API}/conversations/{{id}}/read"): op("move the read marker",
                                                     answer=ONE["Conversation"],
                                                     body=obj(("seq",), seq=INT)),
    ("PATCH", f"{API}/conversations/{{id}}/settings"): op("the caller's settings",
                                                          answer=ONE["Conversation"],
                                                          body=obj(muted=BOOL, notify=STR)),
    ("POST", f"{API}/conversations/{{id}}/messages"): op(
        "send a message", 201, ONE["Message"],
        body=obj(("body",), body=STR, client_id=STR, reply_to=STR, file_ids=IDS, thread=BOOL),
    ),
    ("GET", f"{API}/conversations/{{id}}/messages"): op(
        "history", answer=LIST_MESSAGES, query=(("before", INT), ("after", INT), LIMIT)
    ),
    ("GET", f"{API}/conversations/{{id}}/pins"): op(
        "pinned messages", answer=obj(messages={"type": "array", "items": ref("Message")})
    ),
    ("GET", f"{API}/messages/{{id}}"): op("one message", answer=ONE["Message"]),
    ("PATCH", f"{API}/messages/{{id}}"): op("edit a message", answer=ONE["Message"],
                                            body=obj(("body",), body=STR)),
    ("DELETE", f"{API}/messages/{{id}}"): op("delete a message", 204),
    ("GET", f"{API}/messages/{{id}}/replies"): op("a thread's replies", answer=LIST_MESSAGES,
                                                  query=(("after", INT), LIMIT)),
    ("PUT", f"{API}/messages/{{id}}/reactions/{{emoji}}"): op("react", answer=ONE["Message"]),
    ("DELETE", f"{API}/messages/{{id}}/reactions/{{emoji}}"): op("remove a reaction",
                                                                 answer=ONE["Message"]),
    ("PUT", f"{API}/messages/{{id}}/pin"): op("pin", answer=ONE["Message"]),
    ("DELETE", f"{API}/messages/{{id}}/pin"): op("unpin", answer=ONE["Message"]),
    ("GET", f"{API}/search"): op(
        "full-text search",
        answer=obj(messages={"type": "array", "items": ref("Message")}, next_cursor=NULLABLE_STR),
        query=(("q", STR), ("conversation_id", STR), ("author_id", STR), LIMIT, ("cursor", STR)),
    ),
    ("POST", f"{API}/files"): op(
        "upload a file", 201, ONE["File"], media="multipart/form-data",
        body=obj(("file",), file={"type": "string", "format": "binary"}),
    ),
    ("GET", f"{API}/files/{{id}}"): op("download a file (its bytes)"),
    ("GET", f"{API}/files/{{id}}/meta"): op("a file's metadata", answer=ONE["File"]),
    ("GET", f"{API}/presence"): op(
        "presence of the people the caller shares a conversation with",
        answer=obj(presence={"type": "array", "items": ref("Presence")}),
    ),
    # the web client's second round
    ("PUT", f"{API}/users/me/avatar"): op(
        "set the caller's avatar (PNG, JPEG, GIF or WebP; stored as a square WebP)",
        answer=ONE["User"], media="multipart/form-data",
        body=obj(("file",), file={"type": "string", "format": "binary"}),
    ),
    ("DELETE", f"{API}/users/me/avatar"): op("remove the caller's avatar", answer=ONE["User"]),
    ("GET", f"{API}/users/{{id}}/avatar"): op("a user's avatar (its bytes)",
                                              query=(("v", STR),)),
    ("GET", f"{API}/mentions"): op(
        "messages that mention the caller, newest first",
        answer=obj(messages={"type": "array", "items": ref("Message")}, next_cursor=NULLABLE_STR),
        query=(("cursor", STR), LIMIT),
    ),
    ("GET", f"{API}/admin/invites"): op(
        "unexpired invites",
        answer=obj(invites={"type": "array", "items": obj(
            code=STR, url=STR, created_at=TIME, created_by=NULLABLE_STR,
            expires_at={"type": ["string", "null"], "format": "date-time"},
            max_uses={"type": ["integer", "null"]}, uses=INT,
        )}),
    ),
    ("DELETE", f"{API}/admin/invites/{{code}}"): op("revoke an invite", 204),
    ("POST", f"{API}/admin/users/{{id}}/password"): op(
        "set a user's password; their sessions end", 204,
        body=obj(("password",), password=STR),
    ),
    # integrations: bots, incoming webhooks, slash commands, outgoing webhooks
    ("POST", f"{API}/admin/bots"): op("create a bot; its token is shown once", 201,
                                      obj(("user", "token"), user=ref("User"), token=STR),
                                      body=obj(("username",), username=STR, display_name=STR)),
    ("GET", f"{API}/admin/bots"): op("every bot", answer=LIST_USERS),
    ("POST", f"{API}/admin/bots/{{id}}/token"): op("replace a bot's token", 201,
                                                   obj(("token",), token=STR)),
    ("POST", f"{API}/conversations/{{id}}/webhooks"): op(
        "add an incoming webhook", 201, obj(("webhook",), webhook=ref("Webhook")),
        body=obj(("name",), name=STR),
    ),
    ("GET", f"{API}/conversations/{{id}}/webhooks"): op(
        "a conversation's webhooks", answer=obj(webhooks={"type": "array", "items": ref("Webhook")})
    ),
    ("DELETE", f"{API}/webhooks/{{id}}"): op("delete an incoming webhook", 204),
    ("POST", "/hooks/{secret}"): op(
        "post through an incoming webhook (Slack's payload; answers the text ok)", public=True,
        body=obj(text=STR, attachments={"type": "array", "items": {"type": "object"}}),
    ),
    ("POST", "/hooks/commands/{token}"): op(
        "a slash command's response_url: one answer within 30 minutes", public=True,
        body=obj(text=STR, response_type={"enum": ["ephemeral", "in_channel"]}),
    ),
    ("POST", f"{API}/admin/commands"): op(
        "add a slash command; its verification token is shown once", 201,
        obj(("command",), command=ref("Command")),
        body=obj(("trigger", "url"), trigger=STR, url=STR, description=STR),
    ),
    ("GET", f"{API}/commands"): op(
        "every slash command", answer=obj(commands={"type": "array", "items": ref("Command")})
    ),
    ("DELETE", f"{API}/admin/commands/{{id}}"): op("delete a slash command", 204),
    ("POST", f"{API}/conversations/{{id}}/commands"): op(
        "run a slash command",
        answer=obj(message=ref("Message"), ephemeral=obj(text=STR)),
        body=obj(("text",), text=STR),
    ),
    ("POST", f"{API}/admin/outgoing-hooks"): op(
        "add an outgoing webhook; its signing secret is shown once", 201,
        obj(("outgoing_hook", "secret"), outgoing_hook=ref("OutgoingHook"), secret=STR),
        body=obj(("name", "url"), name=STR, url=STR, conversation_ids=IDS, trigger_words=IDS),
    ),
    ("GET", f"{API}/admin/outgoing-hooks"): op(
        "every outgoing webhook",
        answer=obj(outgoing_hooks={"type": "array", "items": ref("OutgoingHook")}),
    ),
    ("DELETE", f"{API}/admin/outgoing-hooks/{{id}}"): op("delete an outgoing webhook", 204),
}  # fmt: skip

# notifications away from the page: Web Push and email digests
OPERATIONS.update({
    ("GET", f"{API}/push/key"): op("the server's VAPID public key",
                                   answer=obj(("public_key",), public_key=STR)),
    ("POST", f"{API}/push/subscriptions"): op(
        "subscribe this browser to Web Push", 201, obj(),
        body=obj(("endpoint", "keys"), endpoint=STR,
                 keys=obj(("p256dh", "auth"), p256dh=STR, auth=STR)),
    ),
    ("DELETE", f"{API}/push/subscriptions"): op("unsubscribe an endpoint", 204,
                                                body=obj(("endpoint",), endpoint=STR)),
    ("GET", f"{API}/email/unsubscribe"): op("the unsubscribe page (HTML)", public=True,
                                            query=(("user", STR), ("token", STR))),
    ("POST", f"{API}/email/unsubscribe"): op("one-click unsubscribe (RFC 8058)", public=True,
                                             query=(("user", STR), ("token", STR))),
    ("GET", "/sw.js"): op("the web client's service worker", public=True),
})  # fmt: skip


# /readyz's 503 names the node beside the error envelope (the contract, scale-out section)
OPERATIONS[("GET", "/readyz")]["responses"]["503"] = {
    "description": "not ready",
    "content": {"application/json": {"schema": obj(
        ("status", "node", "error"), status=STR, node=STR,
        error=COMPONENTS["Error"]["properties"]["error"],
    )}},
}  # fmt: skip


def document() -> Schema:
    paths: dict[str, Schema] = {}
    for (method, path), operation in OPERATIONS.items():
        item = dict(operation)
        names = re.findall(r"{(\w+)}", path)
        item["parameters"] = [
            {"name": n, "in": "path", "required": True, "schema": STR} for n in names
        ] + operation["parameters"]
        item["operationId"] = f"{method.lower()}{re.sub(r'[^a-zA-Z0-9]+', '_', path)}"
        paths.setdefault(path, {})[method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "chatd",
            "version": __version__,
            "description": "chatd's HTTP API. Real time is the WebSocket at /api/v1/ws.",
        },
        "paths": paths,
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "chatd_session"},
            },
        },
    }


async def openapi(request: Request) -> Response:
    return ok(document())
