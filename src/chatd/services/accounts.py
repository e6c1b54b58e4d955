"""Sign-in: first-run setup, registration, login, tokens, sessions and passwords (who a
signed-in caller is, `Principal`, is in services/principal.py).

Tokens are 256 random bits handed to the client once and stored only as their SHA-256, so a
copy of the database lets no one sign in. Password hashing (argon2id) runs on a thread so the
event loop never stalls on it, and a wrong username costs the same hash as a wrong password.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chatd.clock import Clock, now_ms
from chatd.config import Config
from chatd.db.database import Database
from chatd.errors import (
    AccountDisabled,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from chatd.ids import new_id
from chatd.log import event
from chatd.models import Session, User
from chatd.realtime.hub import Hub, Revoke
from chatd.realtime.protocol import CLOSE_UNAUTHORIZED
from chatd.services import validation
from chatd.services.onboarding import DefaultChannels, Joined
from chatd.services.principal import Principal
from chatd.services.throttle import FailureWindow
from chatd.store import invites, sessions, users

log = logging.getLogger("chatd.accounts")

TOUCH_EVERY_MS = 60_000
AUTH_CACHE_S = 5.0  # a verified token is trusted this long without a query
AUTH_CACHE_MAX = 10_000


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str
    session: Session


@dataclass(frozen=True)
class ClientInfo:
    user_agent: str = ""
    ip: str = ""


def _new_user(username: str, display_name: str, role: str, now: int) -> User:
    return User(new_id(), username, display_name, role, True, now)


class Accounts:
    def __init__(
        self,
        db: Database,
        hub: Hub,
        config: Config,
        clock: Clock,
        onboarding: DefaultChannels | None = None,
    ) -> None:
        self.db = db
        self.hub = hub
        self.config = config
        self.clock = clock
        self.onboarding = onboarding or DefaultChannels(
            db, hub, clock, config.auth.default_channels
        )
        self.setup_token = secrets.token_urlsafe(24)
        self._hasher = PasswordHasher()  # argon2id with the library's RFC 9106 defaults
        self._dummy_hash: str | None = None
        limit = config.auth.login_max_failures
        window = config.auth.login_window_s
        self._user_failures = FailureWindow(clock, limit, window)
        self._ip_failures = FailureWindow(clock, limit * 5, window)
        self._log_key = secrets.token_bytes(16)  # keys _name_tag; never leaves the process
        self._hash_slots = asyncio.Semaphore(4)  # bounds argon2's memory under a login storm
        self._ttl_ms = config.auth.session_ttl_days * 86_400_000
        # token hash -> (verified at, principal). Cleared on every revocation or user change
        # made here, and whenever another process bumps the auth epoch.
        self._verified: dict[bytes, tuple[float, Principal]] = {}

    def forget_sessions(self) -> None:
        """Drop every cached verification (after a revocation or a change to a user)."""
        self._verified.clear()

    # ---- passwords ---------------------------------------------------------------------

    async def hash_password(self, password: str) -> str:
        async with self._hash_slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def _verify(self, password_hash: str, password: str) -> bool:
        def verify() -> bool:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        async with self._hash_slots:
            return await asyncio.to_thread(verify)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash_password(secrets.token_hex(16))
        return self._dummy_hash

    # ---- sessions ----------------------------------------------------------------------

    def session_op(self, user_id: str, client: ClientInfo) -> tuple[Session, str, Any]:
        """A new session and its token, and the write that stores it (bots' tokens too)."""
        token = secrets.token_urlsafe(32)
        now = now_ms(self.clock)
        session = Session(new_id(), user_id, now, now, client.user_agent[:256], client.ip[:64])
        digest = token_hash(token)

        def store(conn: sqlite3.Connection) -> None:
            sessions.insert(conn, session, digest)

        return session, token, store

    async def authenticate(self, token: str) -> Principal:
        """The caller behind a bearer token; Unauthorized if it is unknown, expired or disabled."""
        if not token or len(token) > 256:
            raise Unauthorized("the token is not valid")
        digest = token_hash(token)
        cached = self._verified.get(digest)
        if cached is not None and self.clock.monotonic() - cached[0] < AUTH_CACHE_S:
            return cached[1]
        found = await self.db.read(sessions.by_token_hash, digest)
        if found is None:
            raise Unauthorized("the token is not valid")
        session, user = found
        now = now_ms(self.clock)
        if not user.active:
            raise Unauthorized("this account is disabled")
        if session.last_used_at + self._ttl_ms < now and not user.bot:  # a bot's never expires
            raise Unauthorized("the session has expired; sign in again")
        if now - session.last_used_at > TOUCH_EVERY_MS:
            await self.db.write(sessions.touch, session.id, now)
        principal = Principal(user, session.id)
        if len(self._verified) >= AUTH_CACHE_MAX:
            self._verified.clear()
        self._verified[digest] = (self.clock.monotonic(), principal)
        return principal

    async def list_sessions(self, principal: Principal) -> list[Session]:
        """The caller's sessions that still sign in (an expired one awaits the pruner)."""
        return await self.db.read(
            sessions.list_for_user, principal.user.id, now_ms(self.clock) - self._ttl_ms
        )

    async def prune_sessions(self) -> int:
        """Delete expired sessions, so the table holds only tokens that still work."""
        removed = await self.db.write(
            sessions.delete_unused_since, now_ms(self.clock) - self._ttl_ms
        )
        if removed:
            event(log, logging.INFO, "sessions.pruned", count=removed)
        return removed

    async def run_session_pruner(self, every_s: float = 3600.0) -> None:
        """Prune at start, then hourly (on one node at a time when several share a database)."""
        while True:
            try:
                if await self.db.leader("session-pruner"):
                    await self.prune_sessions()
            except (sqlite3.Error, Unavailable):
                log.exception("session prune failed")
            await asyncio.sleep(every_s)

    async def revoke_session(self, principal: Principal, session_id: str) -> None:
        def revoke(conn: sqlite3.Connection) -> bool:
            removed = sessions.delete(conn, session_id, principal.user.id)
            if removed:
                sessions.bump_auth_epoch(conn)
            return removed

        revoked = await self.db.write(revoke)
        self.forget_sessions()
        if not revoked:
            raise NotFound("no such session")
        self.hub.publish(Revoke(CLOSE_UNAUTHORIZED, "session revoked", session_ids=(session_id,)))
        event(log, logging.INFO, "session.revoked", user_id=principal.user.id, session=session_id)

    async def logout(self, principal: Principal) -> None:
        await self.revoke_session(principal, principal.session_id)

    # ---- setup, registration, login ----------------------------------------------------

    async def setup_needed(self) -> bool:
        return await self.db.read(users.count) == 0

    async def setup(
        self, token: Any, username: Any, password: Any, display_name: Any, client: ClientInfo
    ) -> SignedIn:
        if not await self.setup_needed():
            raise Conflict("this server is already set up")
        name, secret, shown = self._check_new_account(username, password, display_name)
        given = token if isinstance(token, str) else ""
        if not hmac.compare_digest(given.encode(), self.setup_token.encode()):
            raise Forbidden("the setup token is not valid")
        user = _new_user(name, shown, "admin", now_ms(self.clock))
        hashed = await self.hash_password(secret)
        session, bearer, store_session = self.session_op(user.id, client)

        def create(conn: sqlite3.Connection) -> Joined:
            if users.count(conn) > 0:
                raise Conflict("this server is already set up")
            users.insert(conn, user, hashed)
            store_session(conn)
            return self.onboarding.join(conn, user.id, owner_id=user.id)

        await self.db.write(create, after=self.onboarding.announce)
        event(log, logging.INFO, "setup.done", user_id=user.id, username=user.username)
        return SignedIn(user, bearer, session)

    @staticmethod
    def _check_new_account(username: Any, password: Any, display_name: Any) -> tuple[str, str, str]:
        name, secret, shown = validation.collect(
            (validation.username, username),
            (validation.password, password),
            (validation.display_name, display_name),
        )
        return name, secret, shown

    async def register(
        self, username: Any, password: Any, display_name: Any, invite: Any, client: ClientInfo
    ) -> SignedIn:
        """The invite is checked before anything costly or revealing: a caller without a valid
        one gets 403 whatever the username (taken or not) and costs no password hash. Failed
        registrations count toward the address's sign-in failure limit, in flight included."""
        mode = self.config.auth.registration
        if mode == "closed":
            raise Forbidden("registration is closed; ask an admin for an account")
        wait = self._ip_failures.retry_after(client.ip)
        if wait > 0:
            event(log, logging.WARNING, "register.throttled", ip=client.ip)
            raise RateLimited(wait, "too many failed attempts; try again later")
        self._ip_failures.fail(client.ip)  # taken back below if the registration succeeds
        name, secret, shown = self._check_new_account(username, password, display_name)
        code = invite if isinstance(invite, str) and invite else None
        now = now_ms(self.clock)
        if mode == "invite" and (
            code is None or not await self.db.read(invites.usable, token_hash(code), now)
        ):
            raise Forbidden("registration needs a valid invite code")
        user = _new_user(name, shown, "member", now)
        hashed = await self.hash_password(secret)
        session, bearer, store_session = self.session_op(user.id, client)

        def create(conn: sqlite3.Connection) -> Joined:
            if mode == "invite" and not invites.consume(conn, token_hash(code or ""), now):
                raise Forbidden("registration needs a valid invite code")
            if users.username_taken(conn, name):
                raise Conflict("that username is taken", fields={"username": "is taken"})
            users.insert(conn, user, hashed)
            store_session(conn)
            return self.onboarding.join(conn, user.id)

        await self.db.write(create, after=self.onboarding.announce)
        self._ip_failures.forgive(client.ip)
        event(log, logging.INFO, "user.registered", user_id=user.id, username=user.username)
        return SignedIn(user, bearer, session)

    def _name_tag(self, name: str) -> str:
        """A short keyed hash of a typed username, for the log: a password typed into the
        wrong box must not land there. Stable within one run, so attempts still correlate."""
        return hmac.new(self._log_key, name.encode("utf-8", "surrogatepass"), "sha256").hexdigest()[
            :12
        ]

    async def login(self, username: Any, password: Any, client: ClientInfo) -> SignedIn:
        """Every attempt is counted before the password check (argon2, on a thread), so a
        burst of parallel guesses meets the limit as surely as a sequence; a success takes
        its count back."""
        name = username.lower()[:64] if isinstance(username, str) else ""
        secret = password if isinstance(password, str) else ""
        wait = max(self._user_failures.retry_after(name), self._ip_failures.retry_after(client.ip))
        if wait > 0:
            event(
                log, logging.WARNING, "login.throttled", name_tag=self._name_tag(name), ip=client.ip
            )
            raise RateLimited(wait, "too many failed sign-ins; try again later")
        self._user_failures.fail(name)
        self._ip_failures.fail(client.ip)
        found = await self.db.read(users.get_by_username, name) if name else None
        if found is None:
            await self._verify(await self._dummy(), secret)
            ok = False
        else:
            # a bot has no password (its hash is empty) and never signs in
            ok = not found[0].bot and await self._verify(found[1], secret)
        if not ok or found is None or not found[0].active:
            who = {"user_id": found[0].id} if found else {"name_tag": self._name_tag(name)}
            event(log, logging.INFO, "login.failed", ip=client.ip, **who)
            if ok and found is not None:  # only the right password learns the account is off
                raise AccountDisabled()
            raise Unauthorized("wrong username or password")
        self._user_failures.reset(name)
        self._ip_failures.forgive(client.ip)
        user = found[0]
        session, bearer, store_session = self.session_op(user.id, client)
        await self.db.write(store_session)
        event(log, logging.INFO, "login.ok", user_id=user.id, session=session.id, ip=client.ip)
        return SignedIn(user, bearer, session)

    async def change_password(self, principal: Principal, current: Any, new: Any) -> None:
        secret = validation.password(new, "new_password")
        stored = await self.db.read(users.password_hash, principal.user.id)
        given = current if isinstance(current, str) else ""
        if stored is None or not await self._verify(stored, given):
            raise Forbidden("the current password is wrong")
        hashed = await self.hash_password(secret)

        def change(conn: sqlite3.Connection) -> list[str]:
            users.set_password_hash(conn, principal.user.id, hashed)
            revoked = sessions.delete_for_user(conn, principal.user.id, principal.session_id)
            sessions.bump_auth_epoch(conn)
            return revoked

        revoked = await self.db.write(change)
        self.forget_sessions()
        self.hub.publish(Revoke(CLOSE_UNAUTHORIZED, "password changed", session_ids=tuple(revoked)))
        event(
            log, logging.INFO, "password.changed", user_id=principal.user.id, revoked=len(revoked)
        )

    # ---- sessions revoked by another process -------------------------------------------

    async def watch_revocations(self, interval_s: float = 1.0) -> None:
        """Close sockets whose session or user was revoked elsewhere (e.g. `chatd user disable`)."""
        seen = await self.db.read(sessions.auth_epoch)
        while True:
            await asyncio.sleep(interval_s)
            try:
                epoch = await self.db.read(sessions.auth_epoch)
                if epoch == seen:
                    continue
                seen = epoch
                self.forget_sessions()
                live = self.hub.session_ids()
                if not live:
                    continue
                valid = await self.db.read(
                    sessions.valid_ids, live, now_ms(self.clock) - self._ttl_ms
                )
                gone = tuple(sid for sid in live if sid not in valid)
                if gone:
                    self.hub.publish(Revoke(CLOSE_UNAUTHORIZED, "access revoked", session_ids=gone))
            except (sqlite3.Error, Unavailable):
                log.exception("revocation watch failed")
