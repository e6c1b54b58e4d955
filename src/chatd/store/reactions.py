"""SQL for reactions: who put which emoji on a message, in order of first use."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

from chatd.models import Reaction
from chatd.store.batch import in_groups


class Tally(NamedTuple):
    distinct_emoji: int  # on the message, everyone's
    by_user: int  # the user's own reactions on the message
    emoji_present: bool  # someone already reacted with this emoji
    user_has_it: bool  # the user already did


def add(conn: sqlite3.Connection, message_id: str, emoji: str, user_id: str) -> bool:
    cur = conn.execute(
        "INSERT INTO reactions (message_id, emoji, user_id) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (message_id, emoji, user_id),
    )
    return cur.rowcount == 1


def tally(conn: sqlite3.Connection, message_id: str, emoji: str, user_id: str) -> Tally:
    """What the reaction caps need to know about one message, in one indexed scan."""
    row = conn.execute(
        "SELECT COUNT(DISTINCT emoji), "
        "COALESCE(SUM(CASE WHEN user_id = ? THEN 1 ELSE 0 END), 0), "
        "COALESCE(MAX(CASE WHEN emoji = ? THEN 1 ELSE 0 END), 0), "
        "COALESCE(MAX(CASE WHEN emoji = ? AND user_id = ? THEN 1 ELSE 0 END), 0) "
        "FROM reactions WHERE message_id = ?",
        (user_id, emoji, emoji, user_id, message_id),
    ).fetchone()
    return Tally(int(row[0]), int(row[1]), bool(row[2]), bool(row[3]))


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
