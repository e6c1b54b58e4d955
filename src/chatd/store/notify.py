"""SQL for notifications away from the page: keys, email settings, push subscriptions, and
who a message should reach."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from chatd.store.batch import in_groups


@dataclass(frozen=True)
class EmailSettings:
    email: str | None
    notifications: bool  # as stored; only meaningful with an email


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    user_id: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class Recipient:
    """A member of a conversation, with what decides whether a message reaches them away."""

    user_id: str
    notify: str
    muted: bool
    emailable: bool  # has an email, email notifications on, account active
    active: bool


# ---- keys --------------------------------------------------------------------------------


def key(conn: sqlite3.Connection, name: str, fresh: str) -> str:
    """The stored value of `name`, storing `fresh` first if there is none (the first node to
    ask wins; every later call returns that same value)."""
    conn.execute(
        "INSERT INTO notify_keys (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        (name, fresh),
    )
    row = conn.execute("SELECT value FROM notify_keys WHERE name = ?", (name,)).fetchone()
    return str(row[0])


def stored_key(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute("SELECT value FROM notify_keys WHERE name = ?", (name,)).fetchone()
    return None if row is None else str(row[0])


# ---- email settings ----------------------------------------------------------------------


def email_settings(conn: sqlite3.Connection, user_id: str) -> EmailSettings:
    row = conn.execute(
        "SELECT email, email_notifications FROM users WHERE id = ?", (user_id,)
    ).fetchone()
    if row is None:
        return EmailSettings(None, False)
    return EmailSettings(None if row[0] is None else str(row[0]), bool(row[1]))


def emails_of(conn: sqlite3.Connection, user_ids: list[str]) -> dict[str, EmailSettings]:
    found: dict[str, EmailSettings] = {}
    for chunk, marks in in_groups(user_ids):
        rows = conn.execute(
            f"SELECT id, email, email_notifications FROM users WHERE id IN ({marks})", chunk
        )
        for uid, email, on in rows:
            found[str(uid)] = EmailSettings(None if email is None else str(email), bool(on))
    return found


def set_email(conn: sqlite3.Connection, user_id: str, email: str | None) -> None:
    conn.execute("UPDATE users SET email = ? WHERE id = ?", (email, user_id))


def set_email_notifications(conn: sqlite3.Connection, user_id: str, on: bool) -> bool:
    """Whether the user exists (an unsubscribe link may outlive its account)."""
    cursor = conn.execute(
        "UPDATE users SET email_notifications = ? WHERE id = ?", (int(on), user_id)
    )
    return cursor.rowcount > 0


# ---- push subscriptions ------------------------------------------------------------------


def subscribe(
    conn: sqlite3.Connection, user_id: str, endpoint: str, p256dh: str, auth: str, now: int
) -> None:
    """Add or refresh a subscription; an endpoint belongs to whoever subscribed it last (a
    browser profile that signs in as someone else takes its endpoint along)."""
    conn.execute(
        "INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, created_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, "
        "p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at",
        (endpoint, user_id, p256dh, auth, now),
    )


def subscription_count(conn: sqlite3.Connection, user_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM push_subscriptions WHERE user_id = ?", (user_id,)
    ).fetchone()
    return int(row[0])


def oldest_subscription(conn: sqlite3.Connection, user_id: str) -> str | None:
    row = conn.execute(
        "SELECT endpoint FROM push_subscriptions WHERE user_id = ? "
        "ORDER BY created_at, endpoint LIMIT 1",
        (user_id,),
    ).fetchone()
    return None if row is None else str(row[0])


def unsubscribe(conn: sqlite3.Connection, endpoint: str, user_id: str | None = None) -> bool:
    """Remove a subscription (only the given user's, when `user_id` is set)."""
    if user_id is None:
        cursor = conn.execute("DELETE FROM push_subscriptions WHERE endpoint = ?", (endpoint,))
    else:
        cursor = conn.execute(
            "DELETE FROM push_subscriptions WHERE endpoint = ? AND user_id = ?",
            (endpoint, user_id),
        )
    return cursor.rowcount > 0


def subscriptions_of(conn: sqlite3.Connection, user_ids: list[str]) -> list[Subscription]:
    found: list[Subscription] = []
    for chunk, marks in in_groups(user_ids):
        rows = conn.execute(
            "SELECT endpoint, user_id, p256dh, auth FROM push_subscriptions "
            f"WHERE user_id IN ({marks}) ORDER BY user_id, created_at",
            chunk,
        )
        found.extend(Subscription(str(e), str(u), str(p), str(a)) for e, u, p, a in rows)
    return found


# ---- who a message reaches ---------------------------------------------------------------


def recipients(
    conn: sqlite3.Connection, conversation_id: str, user_ids: list[str]
) -> list[Recipient]:
    """These members' settings for this conversation (non-members are left out)."""
    found: list[Recipient] = []
    for chunk, marks in in_groups(user_ids):
        rows = conn.execute(
            "SELECT m.user_id, m.notify, m.muted, "
            "(u.email IS NOT NULL AND u.email_notifications = 1), u.active "
            "FROM members m JOIN users u ON u.id = m.user_id "
            f"WHERE m.conversation_id = ? AND m.user_id IN ({marks})",
            [conversation_id, *chunk],
        )
        found.extend(
            Recipient(str(uid), str(notify), bool(muted), bool(mail), bool(active))
            for uid, notify, muted, mail, active in rows
        )
    return found


def names(conn: sqlite3.Connection, author_id: str, conversation_id: str) -> tuple[str, str, str]:
    """(author's shown name, conversation kind, conversation name) for a notification title."""
    row = conn.execute(
        "SELECT u.display_name, u.username, c.kind, c.name FROM users u, conversations c "
        "WHERE u.id = ? AND c.id = ?",
        (author_id, conversation_id),
    ).fetchone()
    if row is None:
        return "", "", ""
    display, username, kind, name = row
    return str(display or username), str(kind), str(name)
