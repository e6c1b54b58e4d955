"""SQL for outgoing webhooks; their filters are JSON arrays of strings."""

from __future__ import annotations

import sqlite3

import orjson

from chatd.models import OutgoingHook

_COLUMNS = "id, name, url, conversation_ids, trigger_words, bot_user_id, created_by, created_at"


def _hook(row: tuple[object, ...]) -> OutgoingHook:
    id_, name, url, conversation_ids, words, bot_user_id, created_by, created_at = row
    return OutgoingHook(
        str(id_),
        str(name),
        str(url),
        tuple(orjson.loads(str(conversation_ids))),
        tuple(orjson.loads(str(words))),
        str(bot_user_id),
        str(created_by),
        int(created_at),  # type: ignore[call-overload]
    )


def insert(conn: sqlite3.Connection, hook: OutgoingHook) -> None:
    conn.execute(
        f"INSERT INTO outgoing_hooks ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            hook.id,
            hook.name,
            hook.url,
            orjson.dumps(list(hook.conversation_ids)).decode(),
            orjson.dumps(list(hook.trigger_words)).decode(),
            hook.bot_user_id,
            hook.created_by,
            hook.created_at,
        ),
    )


def get(conn: sqlite3.Connection, hook_id: str) -> OutgoingHook | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM outgoing_hooks WHERE id = ?", (hook_id,)).fetchone()
    return _hook(row) if row else None


def list_all(conn: sqlite3.Connection) -> list[OutgoingHook]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM outgoing_hooks ORDER BY created_at, id")
    return [_hook(row) for row in rows]


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM outgoing_hooks").fetchone()[0])


def delete(conn: sqlite3.Connection, hook_id: str) -> None:
    conn.execute("DELETE FROM outgoing_hooks WHERE id = ?", (hook_id,))


def existing_conversations(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for conversation_id in ids:
        row = conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,))
        if row.fetchone() is not None:
            found.add(conversation_id)
    return found
