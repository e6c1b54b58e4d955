"""SQL for incoming webhooks (secrets are never stored: only their SHA-256)."""

from __future__ import annotations

import sqlite3

from chatd.models import Webhook

_COLUMNS = "id, name, conversation_id, bot_user_id, created_by, created_at"


def _webhook(row: tuple[object, ...]) -> Webhook:
    id_, name, conversation_id, bot_user_id, created_by, created_at = row
    return Webhook(
        str(id_),
        str(name),
        str(conversation_id),
        str(bot_user_id),
        str(created_by),
        int(created_at),  # type: ignore[call-overload]
    )


def insert(conn: sqlite3.Connection, hook: Webhook, secret_hash: bytes) -> None:
    conn.execute(
        f"INSERT INTO webhooks ({_COLUMNS}, secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            hook.id,
            hook.name,
            hook.conversation_id,
            hook.bot_user_id,
            hook.created_by,
            hook.created_at,
            secret_hash,
        ),
    )


def get(conn: sqlite3.Connection, hook_id: str) -> Webhook | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM webhooks WHERE id = ?", (hook_id,)).fetchone()
    return _webhook(row) if row else None


def by_secret_hash(conn: sqlite3.Connection, secret_hash: bytes) -> Webhook | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM webhooks WHERE secret_hash = ?", (secret_hash,)
    ).fetchone()
    return _webhook(row) if row else None


def of_conversation(conn: sqlite3.Connection, conversation_id: str) -> list[Webhook]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM webhooks WHERE conversation_id = ? ORDER BY created_at, id",
        (conversation_id,),
    )
    return [_webhook(row) for row in rows]


def count_in(conn: sqlite3.Connection, conversation_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM webhooks WHERE conversation_id = ?", (conversation_id,)
    ).fetchone()
    return int(row[0])


def delete(conn: sqlite3.Connection, hook_id: str) -> None:
    conn.execute("DELETE FROM webhooks WHERE id = ?", (hook_id,))
