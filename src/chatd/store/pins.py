"""SQL for pins: a message's `pinned_at`, and a conversation's pinned messages."""

from __future__ import annotations

import sqlite3


def set_pinned(conn: sqlite3.Connection, message_id: str, pinned_at: int | None) -> None:
    conn.execute("UPDATE messages SET pinned_at = ? WHERE id = ?", (pinned_at, message_id))


def pinned_ids(conn: sqlite3.Connection, conversation_id: str, limit: int) -> list[str]:
    rows = conn.execute(
        "SELECT id FROM messages WHERE conversation_id = ? AND pinned_at IS NOT NULL "
        "ORDER BY pinned_at DESC, seq DESC LIMIT ?",
        (conversation_id, limit),
    )
    return [str(row[0]) for row in rows]
