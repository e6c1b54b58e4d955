"""SQL for email digests: messages waiting while their reader is away, and the per-user claim
that keeps digests at most one per `email.delay_s` and sent by one node."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    """One unread message of a digest."""

    conversation_id: str
    kind: str
    conversation_name: str
    author: str
    created_at: int
    body: str


@dataclass(frozen=True)
class Digest:
    user_id: str
    email: str
    username: str
    items: list[Item]


class ClaimLost(Exception):
    """Another node took this user's digest first; the transaction must roll back."""


def add_pending(conn: sqlite3.Connection, rows: list[tuple[str, str, str, int, int]]) -> None:
    """(user_id, message_id, conversation_id, seq, created_at) rows."""
    conn.executemany(
        "INSERT INTO email_pending (user_id, message_id, conversation_id, seq, created_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, message_id) DO NOTHING",
        rows,
    )


def due_users(conn: sqlite3.Connection, cutoff: int, now: int, limit: int = 50) -> list[str]:
    """Users with a message waiting since `cutoff` or before, and no digest held back."""
    rows = conn.execute(
        "SELECT DISTINCT p.user_id FROM email_pending p "
        "LEFT JOIN email_digests d ON d.user_id = p.user_id "
        "WHERE p.created_at <= ? AND (d.next_at IS NULL OR d.next_at <= ?) LIMIT ?",
        (cutoff, now, limit),
    )
    return [str(row[0]) for row in rows]


def _items(conn: sqlite3.Connection, user_id: str, cutoff: int) -> list[Item]:
    """The user's waiting messages, older than the cutoff, still unread and not deleted, in
    conversations they are still in; in time order, interleaved across conversations (the
    mailer groups them per conversation)."""
    rows = conn.execute(
        "SELECT p.conversation_id, c.kind, c.name, COALESCE(NULLIF(u.display_name, ''), "
        "u.username), x.created_at, x.body FROM email_pending p "
        "JOIN members m ON m.conversation_id = p.conversation_id AND m.user_id = p.user_id "
        "JOIN messages x ON x.id = p.message_id "
        "JOIN conversations c ON c.id = p.conversation_id "
        "JOIN users u ON u.id = x.author_id "
        "WHERE p.user_id = ? AND p.created_at <= ? AND x.deleted = 0 AND p.seq > m.read_seq "
        "ORDER BY x.created_at, p.conversation_id, p.seq",
        (user_id, cutoff),
    )
    return [Item(str(a), str(b), str(c), str(d), int(e), str(f)) for a, b, c, d, e, f in rows]


def take(
    conn: sqlite3.Connection, user_id: str, cutoff: int, now: int, next_at: int
) -> Digest | None:
    """Take the user's due messages off the waiting list; a digest to send, or None (all read,
    or email turned off since). Sending one holds the next back until `next_at`, claimed with a
    conditional update: raises ClaimLost if another node claimed it first."""
    row = conn.execute(
        "SELECT email, email_notifications, active, username FROM users WHERE id = ?", (user_id,)
    ).fetchone()
    items = _items(conn, user_id, cutoff)
    conn.execute(
        "DELETE FROM email_pending WHERE user_id = ? AND created_at <= ?", (user_id, cutoff)
    )
    if row is None or row[0] is None or not row[1] or not row[2] or not items:
        return None
    claimed = conn.execute(
        "INSERT INTO email_digests (user_id, next_at) VALUES (?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET next_at = excluded.next_at "
        "WHERE email_digests.next_at <= ? RETURNING user_id",
        (user_id, next_at, now),
    ).fetchone()
    if claimed is None:
        raise ClaimLost(user_id)
    return Digest(user_id, str(row[0]), str(row[3]), items)
