"""SQL for avatars: one small re-encoded image per user, beside `users.avatar_key`."""

from __future__ import annotations

import sqlite3


def put(
    conn: sqlite3.Connection, user_id: str, avatar_key: str, content_type: str, data: bytes
) -> None:
    """Replace the user's avatar and point their row at it, in one transaction."""
    conn.execute(
        "INSERT INTO avatars (user_id, avatar_key, content_type, data) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET avatar_key = excluded.avatar_key, "
        "content_type = excluded.content_type, data = excluded.data",
        (user_id, avatar_key, content_type, data),
    )
    conn.execute("UPDATE users SET avatar_key = ? WHERE id = ?", (avatar_key, user_id))


def remove(conn: sqlite3.Connection, user_id: str) -> None:
    conn.execute("DELETE FROM avatars WHERE user_id = ?", (user_id,))
    conn.execute("UPDATE users SET avatar_key = NULL WHERE id = ?", (user_id,))


def get(conn: sqlite3.Connection, user_id: str) -> tuple[str, str, bytes] | None:
    """(avatar_key, content_type, data) of the user's current avatar."""
    row = conn.execute(
        "SELECT avatar_key, content_type, data FROM avatars WHERE user_id = ?", (user_id,)
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), bytes(row[2]))
