"""SQL for importing another system's history (`chatd import-slack`): rows in bulk, each
insert a no-op when its key exists already, so running an import again adds nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from chatd.store.batch import in_groups

NO_PASSWORD = ""  # not an argon2 hash: nothing verifies against it until one is set


@dataclass(frozen=True)
class NewUser:
    id: str
    username: str
    display_name: str
    created_at: int
    bot: bool


@dataclass(frozen=True)
class NewMessage:
    id: str
    author_id: str
    body: str
    created_at: int
    edited_at: int | None
    deleted: bool
    reply_to: str | None


def existing(conn: sqlite3.Connection, table: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` are taken in `table` ("users", "conversations" or "messages")."""
    assert table in ("users", "conversations", "messages")
    found: set[str] = set()
    for group, marks in in_groups(ids):
        found.update(
            str(row[0])
            for row in conn.execute(f"SELECT id FROM {table} WHERE id IN ({marks})", group)
        )
    return found


def ids_by_username(conn: sqlite3.Connection, usernames: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for group, marks in in_groups(usernames):
        rows = conn.execute(f"SELECT username, id FROM users WHERE username IN ({marks})", group)
        found.update((str(name), str(id_)) for name, id_ in rows)
    return found


def insert_users(conn: sqlite3.Connection, people: Sequence[NewUser]) -> None:
    """Inactive members without a password (`chatd user passwd` gives one and activates)."""
    conn.executemany(
        "INSERT INTO users (id, username, display_name, role, active, password_hash, created_at, "
        "bot) VALUES (?, ?, ?, 'member', 0, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(u.id, u.username, u.display_name, NO_PASSWORD, u.created_at, int(u.bot)) for u in people],
    )


def conversation_by_key(conn: sqlite3.Connection, column: str, key: str) -> str | None:
    """The conversation holding a channel name (`channel_key`) or direct pair (`direct_key`)."""
    assert column in ("channel_key", "direct_key")
    row = conn.execute(f"SELECT id FROM conversations WHERE {column} = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def insert_conversation(
    conn: sqlite3.Connection,
    conversation_id: str,
    kind: str,
    name: str,
    keys: tuple[str | None, str | None],
    topic: str,
    created: tuple[int, str | None],
    archived: bool,
) -> None:
    channel_key, direct_key = keys
    created_at, created_by = created
    conn.execute(
        "INSERT INTO conversations (id, kind, name, channel_key, direct_key, topic, created_at, "
        "created_by, archived, last_seq, last_activity_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING",
        (conversation_id, kind, name, channel_key, direct_key, topic, created_at, created_by,
         int(archived), created_at),
    )  # fmt: skip


def add_members(
    conn: sqlite3.Connection, conversation_id: str, user_ids: Sequence[str], joined_at: int
) -> int:
    before = conn.total_changes
    conn.executemany(
        "INSERT INTO members (conversation_id, user_id, joined_at) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [(conversation_id, user_id, joined_at) for user_id in user_ids],
    )
    return conn.total_changes - before


def append_messages(
    conn: sqlite3.Connection, conversation_id: str, batch: Sequence[NewMessage]
) -> list[str]:
    """Add the messages not stored yet after the conversation's last seq; their ids."""
    taken = existing(conn, "messages", [m.id for m in batch])
    fresh = [m for m in batch if m.id not in taken]
    if not fresh:
        return []
    row = conn.execute(
        "SELECT last_seq FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    last = int(row[0])
    conn.executemany(
        "INSERT INTO messages (id, conversation_id, seq, author_id, body, created_at, edited_at, "
        "deleted, reply_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (m.id, conversation_id, last + i, m.author_id, m.body, m.created_at, m.edited_at,
             int(m.deleted), m.reply_to)
            for i, m in enumerate(fresh, 1)
        ],
    )  # fmt: skip
    newest = max(m.created_at for m in fresh)
    conn.execute(
        "UPDATE conversations SET last_seq = ?, last_activity_at = "
        "CASE WHEN last_activity_at > ? THEN last_activity_at ELSE ? END WHERE id = ?",
        (last + len(fresh), newest, newest, conversation_id),
    )
    return [m.id for m in fresh]


def add_reactions(conn: sqlite3.Connection, rows: Sequence[tuple[str, str, str]]) -> int:
    """(message_id, emoji, user_id) rows; how many were new."""
    before = conn.total_changes
    conn.executemany(
        "INSERT INTO reactions (message_id, emoji, user_id) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        rows,
    )
    return conn.total_changes - before


def mark_read(conn: sqlite3.Connection, conversation_id: str) -> None:
    """Imported history counts as read by every member."""
    conn.execute(
        "UPDATE members SET read_seq = (SELECT last_seq FROM conversations WHERE id = ?), "
        "own_unread = 0 WHERE conversation_id = ?",
        (conversation_id, conversation_id),
    )
