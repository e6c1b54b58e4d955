"""Bot users: accounts with a token instead of a password, for programs that chat.

A bot's token is an ordinary session (so the API and the WebSocket take it unchanged) that
never expires from disuse; replacing it deletes the old session in the same transaction, so
the old token stops at once. Integrations (webhooks, commands, outgoing hooks) each get a bot
user of their own to author what they post; those have no token at all.
"""

from __future__ import annotations

import logging
import re
import secrets
import sqlite3
from typing import Any

from chatd.clock import Clock, now_ms
from chatd.db.database import Database
from chatd.errors import Conflict, NotFound
from chatd.ids import new_id
from chatd.log import event
from chatd.models import User
from chatd.realtime.hub import Hub, Revoke
from chatd.realtime.protocol import CLOSE_UNAUTHORIZED
from chatd.services import validation
from chatd.services.accounts import Accounts, ClientInfo
from chatd.services.principal import Principal
from chatd.services.users import Users
from chatd.store import sessions, users

log = logging.getLogger("chatd.bots")

NO_PASSWORD = ""  # not an argon2 hash: nothing verifies against it


def integration_bot(conn: sqlite3.Connection, name: str, now: int) -> User:
    """Create the bot user that authors an integration's messages, named after it.

    Its username is the name made safe plus a random suffix (names need not be unique; users
    must), its display name the name itself."""
    stem = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._")[:24] or "bot"
    while True:
        username = f"{stem}-{secrets.token_hex(3)}"
        if not users.username_taken(conn, username):
            break
    user = User(new_id(), username, name[:64], "member", True, now, bot=True)
    users.insert(conn, user, NO_PASSWORD)
    return user


class Bots:
    def __init__(
        self, db: Database, hub: Hub, accounts: Accounts, people: Users, clock: Clock
    ) -> None:
        self.db = db
        self.hub = hub
        self.accounts = accounts
        self.people = people
        self.clock = clock

    async def create(
        self, principal: Principal, username: Any, display_name: Any = None
    ) -> tuple[User, str]:
        """A bot and its first token (shown once). Admin only."""
        self.people.require_admin(principal)
        name, shown = validation.collect(
            (validation.username, username), (validation.display_name, display_name)
        )
        bot = User(new_id(), name, shown, "member", True, now_ms(self.clock), bot=True)
        _session, token, store_session = self.accounts.session_op(bot.id, ClientInfo("bot"))

        def create(conn: sqlite3.Connection) -> None:
            if users.username_taken(conn, name):
                raise Conflict("that username is taken", fields={"username": "is taken"})
            users.insert(conn, bot, NO_PASSWORD)
            store_session(conn)

        await self.db.write(create)
        by = principal.actor_id
        event(log, logging.INFO, "bot.created", user_id=bot.id, username=name, by=by)
        return bot, token

    async def list(self, principal: Principal) -> list[User]:
        self.people.require_admin(principal)
        return await self.db.read(users.list_bots)

    async def replace_token(self, principal: Principal, bot_id: str) -> str:
        """A new token for a bot; the old one stops working at once, on open sockets too."""
        self.people.require_admin(principal)
        _session, token, store_session = self.accounts.session_op(bot_id, ClientInfo("bot"))

        def replace(conn: sqlite3.Connection) -> list[str]:
            bot = users.get(conn, bot_id)
            if bot is None or not bot.bot:
                raise NotFound("no such bot")
            revoked = sessions.delete_for_user(conn, bot_id)
            store_session(conn)
            sessions.bump_auth_epoch(conn)  # other processes drop their cached verification
            return revoked

        revoked = await self.db.write(replace)
        self.accounts.forget_sessions()
        if revoked:
            self.hub.publish(
                Revoke(CLOSE_UNAUTHORIZED, "token replaced", session_ids=tuple(revoked))
            )
        event(log, logging.INFO, "bot.token_replaced", user_id=bot_id, by=principal.actor_id)
        return token
