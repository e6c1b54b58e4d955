"""Incoming webhooks: a secret URL that posts Slack-shaped payloads into one conversation.

Each webhook has a bot user of its own (created with it, named after it) that authors what
it posts, with `via: {kind: "webhook", id, name}`. Its URL secret is derived from the key
file (see `keyring`), so the URL can be shown to whoever may list the conversation's
webhooks while the database keeps only its hash.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from chatd.clock import Clock, now_ms
from chatd.db.database import Database
from chatd.errors import Forbidden, NotFound, RateLimited
from chatd.ids import new_id
from chatd.log import event
from chatd.models import Message, User, Via, Webhook
from chatd.services import access, slack, validation
from chatd.services.bots import integration_bot
from chatd.services.keyring import Keyring, digest
from chatd.services.messages import Messages
from chatd.services.throttle import FailureWindow
from chatd.services.users import Site
from chatd.store import conversations, users, webhooks

log = logging.getLogger("chatd.webhooks")

MAX_PER_CONVERSATION = 50


def may_manage(found: conversations.Access, user: User) -> bool:
    """Who may add webhooks: any member of a group; a channel's owner or an admin."""
    if found.kind == "group":
        return found.is_member or user.is_admin
    return access.is_owner(found, user)


class Webhooks:
    def __init__(
        self,
        db: Database,
        messages: Messages,
        keyring: Keyring,
        site: Site,
        clock: Clock,
        per_minute: int,
    ) -> None:
        self.db = db
        self.messages = messages
        self.keyring = keyring
        self.site = site
        self.clock = clock
        self._rate = FailureWindow(clock, per_minute, 60.0)

    def url(self, hook: Webhook) -> str:
        return f"{self.site.url}/hooks/{self.keyring.secret('webhook', hook.id)}"

    async def create(self, user: User, conversation_id: str, name: Any) -> Webhook:
        hook_id = new_id()
        secret_hash = digest(self.keyring.secret("webhook", hook_id))

        def create(conn: sqlite3.Connection) -> Webhook:
            found = access.visible(conversations.access(conn, conversation_id, user.id), user)
            if found.kind == "direct":
                raise validation.fail("conversation_id", "webhooks post into groups and channels")
            if not may_manage(found, user):
                raise Forbidden("only the channel's owner or an admin may add webhooks")
            title = _name(name)
            if webhooks.count_in(conn, conversation_id) >= MAX_PER_CONVERSATION:
                raise validation.fail(
                    "name", f"a conversation has at most {MAX_PER_CONVERSATION} webhooks"
                )
            now = now_ms(self.clock)
            bot = integration_bot(conn, title, now)
            hook = Webhook(hook_id, title, conversation_id, bot.id, user.id, now)
            webhooks.insert(conn, hook, secret_hash)
            return hook

        hook = await self.db.write(create)
        event(log, logging.INFO, "webhook.created", webhook_id=hook.id, by=user.id)
        return hook

    async def list(self, user: User, conversation_id: str) -> list[Webhook]:
        def read(conn: sqlite3.Connection) -> list[Webhook]:
            access.member(conversations.access(conn, conversation_id, user.id), user)
            return webhooks.of_conversation(conn, conversation_id)

        return await self.db.read(read)

    async def delete(self, user: User, hook_id: str) -> None:
        """Its creator, the channel's owner or an admin; the hook's bot user is disabled."""

        def delete(conn: sqlite3.Connection) -> None:
            hook = webhooks.get(conn, hook_id)
            if hook is None:
                raise NotFound("no such webhook")
            found = conversations.access(conn, hook.conversation_id, user.id)
            if found is None:
                raise NotFound("no such webhook")
            # membership is not asked: an admin outside the conversation, or a creator who
            # has since left it, may still remove what posts there
            allowed = (
                hook.created_by == user.id
                or user.is_admin
                or (found.kind == "channel" and access.is_owner(found, user))
            )
            if not allowed:
                try:
                    access.visible(found, user)
                except NotFound:
                    raise NotFound("no such webhook") from None
                raise Forbidden("only its creator, the channel's owner or an admin may delete it")
            webhooks.delete(conn, hook_id)
            users.set_active(conn, hook.bot_user_id, False)

        await self.db.write(delete)
        event(log, logging.INFO, "webhook.deleted", webhook_id=hook_id, by=user.id)

    async def receive(self, secret: str, payload: Any) -> Message:
        """Post one payload: 404 for an unknown secret, 429 past the per-minute limit,
        400 without text or attachments, 409 into an archived conversation."""
        if not secret or len(secret) > 128:
            raise NotFound("no such webhook")
        found = await self.db.read(webhooks.by_secret_hash, digest(secret))
        if found is None:
            raise NotFound("no such webhook")
        wait = self._rate.retry_after(found.id)
        if wait > 0:
            raise RateLimited(wait, "this webhook posts too often; try again later")
        body = slack.body_of(payload, self.messages.max_chars)
        self._rate.fail(found.id)  # counts every accepted post
        bot = await self.db.read(users.get, found.bot_user_id)
        if bot is None:
            raise NotFound("no such webhook")
        via = Via("webhook", found.id, found.name)
        return await self.messages.post(bot, found.conversation_id, body, via)


def _name(value: Any) -> str:
    title = validation.text(value, "name")
    assert title is not None
    title = title.strip()
    if not 1 <= len(title) <= 80 or validation.has_control(title):
        raise validation.fail("name", "must be 1-80 characters without control characters")
    return title
