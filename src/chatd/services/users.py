"""People: profiles, the directory, admin management of accounts, and invites."""

from __future__ import annotations

import logging
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from chatd.clock import Clock, now_ms
from chatd.db.database import Database
from chatd.errors import Conflict, NotFound
from chatd.ids import new_id
from chatd.log import event
from chatd.models import User
from chatd.realtime.hub import Event, Hub, Revoke
from chatd.realtime.protocol import CLOSE_UNAUTHORIZED
from chatd.services import validation
from chatd.services.accounts import Accounts, token_hash
from chatd.services.onboarding import Joined
from chatd.services.principal import Principal, require_admin
from chatd.store import conversations as conversation_store
from chatd.store import invites, sessions, users

log = logging.getLogger("chatd.users")

MAX_INVITE_USES = 100_000
MAX_INVITE_SECONDS = 365 * 86_400
DEFAULT_INVITE_SECONDS = 7 * 86_400


@dataclass
class Site:
    """Where people reach this server; set from config, corrected once the port is bound."""

    url: str


@dataclass(frozen=True)
class Invite:
    code: str
    url: str
    expires_at: int | None
    max_uses: int | None
    created_at: int = 0
    created_by: str | None = None
    uses: int = 0


MAX_LISTED_INVITES = 1000


class Users:
    def __init__(
        self, db: Database, hub: Hub, accounts: Accounts, site: Site, clock: Clock
    ) -> None:
        self.db = db
        self.hub = hub
        self.accounts = accounts
        self.site = site
        self.clock = clock

    def announce(self, user: User) -> None:
        self.accounts.forget_sessions()  # cached principals carry the old user
        frame = {"type": "user.updated", "user": user.to_json()}
        self.hub.publish(Event(frame, user_ids=tuple(self.hub.peers(user.id))))

    async def get(self, user_id: str) -> User:
        user = await self.db.read(users.get, user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    async def directory(self, q: Any, limit: Any, include_inactive: bool = False) -> list[User]:
        query = validation.text(q, "q", required=False) or ""
        return await self.db.read(
            users.search, query.strip()[:64], validation.limit(limit), include_inactive
        )

    async def update_profile(self, principal: Principal, display_name: Any) -> User:
        if display_name is None:
            return await self.get(principal.user.id)
        shown = validation.display_name(display_name)

        def update(conn: sqlite3.Connection) -> User | None:
            users.set_display_name(conn, principal.user.id, shown)
            return users.get(conn, principal.user.id)

        def announce(user: User | None) -> None:
            if user is not None:
                self.announce(user)

        updated = await self.db.write(update, after=announce)
        if updated is None:
            raise NotFound("no such user")
        return updated

    # ---- admin -------------------------------------------------------------------------

    require_admin = staticmethod(require_admin)

    async def create(
        self,
        principal: Principal,
        username: Any,
        password: Any,
        display_name: Any = None,
        role: Any = None,
    ) -> User:
        """Create an account (admin API, or the command line as `SYSTEM`)."""
        self.require_admin(principal)
        if role is not None and role not in ("admin", "member"):
            raise validation.fail("role", "must be admin or member")
        name, secret, shown = validation.collect(
            (validation.username, username),
            (validation.password, password),
            (validation.display_name, display_name),
        )
        user = User(new_id(), name, shown, role or "member", True, now_ms(self.clock))
        hashed = await self.accounts.hash_password(secret)

        onboarding = self.accounts.onboarding

        def create(conn: sqlite3.Connection) -> Joined:
            if users.username_taken(conn, name):
                raise Conflict("that username is taken", fields={"username": "is taken"})
            users.insert(conn, user, hashed)
            done = onboarding.join(conn, user.id)
            if principal.system and (done.created or done.joined):
                conversation_store.bump_members_epoch(conn)  # a running server routes them
            return done

        await self.db.write(create, after=onboarding.announce)
        event(log, logging.INFO, "user.created", user_id=user.id, username=name, role=user.role)
        return user

    async def update(
        self, principal: Principal, user_id: str, active: Any = None, role: Any = None
    ) -> User:
        """Activate, deactivate or change the role of an account; the last admin stays."""
        self.require_admin(principal)
        if active is not None:
            validation.boolean(active, "active")
        if role is not None and role not in ("admin", "member"):
            raise validation.fail("role", "must be admin or member")

        def change(conn: sqlite3.Connection) -> tuple[User, list[str]]:
            user = users.get(conn, user_id)
            if user is None:
                raise NotFound("no such user")
            loses_admin = user.is_admin and user.active and (active is False or role == "member")
            if loses_admin and users.count_active_admins(conn) <= 1:
                raise Conflict("the last active admin cannot be disabled or demoted")
            if role is not None:
                users.set_role(conn, user_id, role)
            revoked: list[str] = []
            if active is not None:
                users.set_active(conn, user_id, active)
                if not active:
                    revoked = sessions.delete_for_user(conn, user_id)
                    sessions.bump_auth_epoch(conn)
            updated = users.get(conn, user_id)
            assert updated is not None
            return updated, revoked

        user, _revoked = await self.db.write(change)
        if active is False:
            self.hub.publish(Revoke(CLOSE_UNAUTHORIZED, "account disabled", user_ids=(user.id,)))
        self.announce(user)
        event(
            log, logging.INFO, "user.updated", user_id=user.id, active=user.active, role=user.role
        )
        return user

    async def by_username(self, username: str) -> User:
        found = await self.db.read(users.get_by_username, username.lower())
        if found is None:
            raise NotFound(f"no user named {username!r}")
        return found[0]

    async def admin_directory(self, principal: Principal, q: Any, limit: Any) -> list[User]:
        """Every account, active or not (the admin's user list)."""
        self.require_admin(principal)
        return await self.directory(q, limit, include_inactive=True)

    async def set_password(self, principal: Principal, username: str, password: str) -> None:
        """Set a password from the CLI; every session of the user is revoked. An account
        imported without a password is activated by its first one."""
        self.require_admin(principal)
        user = await self.by_username(username)
        if user.bot:
            raise Conflict(f"{username} is a bot: it has a token, never a password")
        await self._reset_password(user.id, validation.password(password))

    async def admin_set_password(self, principal: Principal, user_id: str, password: Any) -> None:
        """An admin sets someone's password (they forgot it); every session of theirs ends."""
        self.require_admin(principal)
        secret = validation.password(password)
        await self.get(user_id)
        await self._reset_password(user_id, secret)
        event(log, logging.INFO, "password.reset", user_id=user_id, by=principal.actor_id)

    async def _reset_password(self, user_id: str, secret: str) -> None:
        hashed = await self.accounts.hash_password(secret)

        def change(conn: sqlite3.Connection) -> None:
            if users.password_hash(conn, user_id) is None:
                raise NotFound("no such user")
            users.activate_if_passwordless(conn, user_id)  # imported from Slack: now usable
            users.set_password_hash(conn, user_id, hashed)
            sessions.delete_for_user(conn, user_id)
            sessions.bump_auth_epoch(conn)

        await self.db.write(change)
        self.accounts.forget_sessions()
        self.hub.publish(Revoke(CLOSE_UNAUTHORIZED, "password changed", user_ids=(user_id,)))

    async def list_all(self, principal: Principal) -> list[User]:
        self.require_admin(principal)
        return await self.db.read(users.list_all)

    # ---- invites -----------------------------------------------------------------------

    async def create_invite(
        self, principal: Principal, max_uses: Any = None, expires_in_s: Any = None
    ) -> Invite:
        self.require_admin(principal)
        uses = None
        if max_uses is not None:
            uses = validation.integer(max_uses, "max_uses", minimum=1, maximum=MAX_INVITE_USES)
        seconds = DEFAULT_INVITE_SECONDS
        if expires_in_s is not None:
            seconds = validation.integer(
                expires_in_s, "expires_in_s", minimum=1, maximum=MAX_INVITE_SECONDS
            )
        code = secrets.token_urlsafe(18)
        now = now_ms(self.clock)
        expires_at = now + seconds * 1000
        creator = principal.actor_id
        await self.db.write(invites.insert, token_hash(code), creator, now, expires_at, uses, code)
        event(log, logging.INFO, "invite.created", by=creator, max_uses=uses, expires_at=expires_at)
        return Invite(code, self._invite_url(code), expires_at, uses, now, creator)

    def _invite_url(self, code: str) -> str:
        return f"{self.site.url}/register#invite={code}"

    async def list_invites(self, principal: Principal) -> list[Invite]:
        """Unexpired invites (used-up ones too, so an admin sees them), newest first."""
        self.require_admin(principal)
        rows = await self.db.read(invites.list_unexpired, now_ms(self.clock), MAX_LISTED_INVITES)
        return [
            Invite(
                row.code,
                self._invite_url(row.code),
                row.expires_at,
                row.max_uses,
                row.created_at,
                row.created_by,
                row.uses,
            )
            for row in rows
        ]

    async def revoke_invite(self, principal: Principal, code: str) -> None:
        """Delete an invite: registration with it fails from the next request on."""
        self.require_admin(principal)
        if not await self.db.write(invites.delete, token_hash(code)):
            raise NotFound("no such invite")
        event(log, logging.INFO, "invite.revoked", by=principal.actor_id)
