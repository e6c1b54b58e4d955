"""SQL for reactions and pins."""

from __future__ import annotations

import sqlite3

from chatd.models import Reaction
from chatd.store.batch import in_groups


def add(conn: sqlite3.Connection, message_id: str, emoji: str, user_id: str) -> bool:
    cur = conn.execute(
        "INSERT INTO reactions (message_id, emoji, user_id) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (message_id, emoji, user_id),
    )
    return cur.rowcount == 1


def remove(conn: sqlite3.Connection, message_id: str, emoji: str, user_id: str) -> bool:
    cur = conn.execute(
        "DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?",
        (message_id, emoji, user_id),
    )
    return cur.rowcount == 1


def clear(conn: sqlite3.Connection, message_id: str) -> None:
    conn.execute("DELETE FROM reactions WHERE message_id = ?", (message_id,))


def of_messages(conn: sqlite3.Connection, message_ids: list[str]) -> dict[str, list[Reaction]]:
    """Each message's reactions: every emoji once, in order of first use."""
    found: dict[str, dict[str, list[str]]] = {}
    for chunk, marks in in_groups(message_ids):
        rows = conn.execute(
            f"SELECT message_id, emoji, user_id FROM reactions WHERE message_id IN ({marks}) "
            "ORDER BY id",
            chunk,
        )
        for message_id, emoji, user_id in rows:
            found.setdefault(message_id, {}).setdefault(emoji, []).append(user_id)
    return {
        message_id: [Reaction(emoji, tuple(users)) for emoji, users in by_emoji.items()]
        for message_id, by_emoji in found.items()
    }


def set_pinned(conn: sqlite3.Connection, message_id: str, pinned_at: int | None) -> None:
    conn.execute("UPDATE messages SET pinned_at = ? WHERE id = ?", (pinned_at, message_id))


def pinned_ids(conn: sqlite3.Connection, conversation_id: str, limit: int) -> list[str]:
    rows = conn.execute(
        "SELECT id FROM messages WHERE conversation_id = ? AND pinned_at IS NOT NULL "
        "ORDER BY pinned_at DESC, seq DESC LIMIT ?",
        (conversation_id, limit),
    )
    return [str(row[0]) for row in rows]
