"""A person's email address and whether digests go to it, and the one-click unsubscribe
link (RFC 8058) that turns them off without signing in."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from chatd.db.database import Database
from chatd.errors import NotFound
from chatd.models import User
from chatd.services import validation
from chatd.services.principal import Principal, require_admin
from chatd.store import notify as store

MAX_EMAIL_CHARS = 254
# A practical check, not RFC 5322: one @, no spaces, quotes, brackets or separators that could
# turn a header into two addresses, and a domain of dotted labels.
_EMAIL = re.compile(
    r"[^@\s<>()\[\]\\,;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)


def email_address(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise validation.fail("email", "must be an email address or null")
    text = value.strip()
    if len(text) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(text):
        raise validation.fail("email", "is not a valid email address")
    return text


@dataclass(frozen=True)
class EmailPrefs:
    email: str | None
    notifications: bool

    def to_json(self) -> dict[str, Any]:
        return {"email": self.email, "email_notifications": self.notifications}


def _shown(found: store.EmailSettings) -> EmailPrefs:
    return EmailPrefs(found.email, found.email is not None and found.notifications)


class EmailSettings:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._key = b""

    async def load_key(self) -> None:
        """The key that signs unsubscribe links, made on the first start and kept."""
        fresh = secrets.token_urlsafe(32)
        self._key = (await self.db.write(store.key, "unsubscribe_key", fresh)).encode()

    async def get(self, user_id: str) -> EmailPrefs:
        return _shown(await self.db.read(store.email_settings, user_id))

    async def get_many(self, principal: Principal, user_ids: list[str]) -> dict[str, EmailPrefs]:
        """Other people's addresses: for the admin's user list only."""
        require_admin(principal)
        found = await self.db.read(store.emails_of, user_ids)
        return {uid: _shown(prefs) for uid, prefs in found.items()}

    def check(self, body: dict[str, Any]) -> tuple[bool, str | None, bool | None]:
        """Validate before anything is written: (email given, the email, notifications)."""
        given = "email" in body
        email = email_address(body.get("email")) if given else None
        on = body.get("email_notifications")
        flag = None if on is None else validation.boolean(on, "email_notifications")
        return given, email, flag

    async def update(
        self, user: User, given: bool, email: str | None, notifications: bool | None
    ) -> EmailPrefs:
        """Set the email (null clears it) and the switch; a newly set email turns digests on
        unless the same request says otherwise."""

        def change(conn: sqlite3.Connection) -> store.EmailSettings:
            before = store.email_settings(conn, user.id)
            if given:
                store.set_email(conn, user.id, email)
            flag = notifications
            if flag is None and given and email is not None and before.email is None:
                flag = True
            if flag is not None:
                store.set_email_notifications(conn, user.id, flag)
            return store.email_settings(conn, user.id)

        return _shown(await self.db.write(change))

    def token(self, user_id: str) -> str:
        mac = hmac.new(self._key, b"unsubscribe:" + user_id.encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def unsubscribe_url(self, site_url: str, user_id: str) -> str:
        query = urlencode({"user": user_id, "token": self.token(user_id)})
        return f"{site_url}/api/v1/email/unsubscribe?{query}"

    def valid(self, user_id: Any, token: Any) -> bool:
        return (
            isinstance(user_id, str)
            and isinstance(token, str)
            and hmac.compare_digest(self.token(user_id).encode(), token.encode())
        )

    async def unsubscribe(self, user_id: Any, token: Any) -> None:
        """Turn digests off for the user the link was made for; a wrong link is a 404."""
        if not self.valid(user_id, token):
            raise NotFound("no such unsubscribe link")
        if not await self.db.write(store.set_email_notifications, user_id, False):
            raise NotFound("no such unsubscribe link")
