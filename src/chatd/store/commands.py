"""SQL for slash commands and their one-use `response_url` tokens (stored as hashes)."""

from __future__ import annotations

import sqlite3

from chatd.models import Command

_COLUMNS = "id, trigger, url, description, bot_user_id, created_by, created_at"


def _command(row: tuple[object, ...]) -> Command:
    id_, trigger, url, description, bot_user_id, created_by, created_at = row
    return Command(
        str(id_),
        str(trigger),
        str(url),
        str(description),
        str(bot_user_id),
        str(created_by),
        int(created_at),  # type: ignore[call-overload]
    )


def insert(conn: sqlite3.Connection, command: Command) -> None:
    conn.execute(
        f"INSERT INTO commands ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            command.id,
            command.trigger,
            command.url,
            command.description,
            command.bot_user_id,
            command.created_by,
            command.created_at,
        ),
    )


def get(conn: sqlite3.Connection, command_id: str) -> Command | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM commands WHERE id = ?", (command_id,)).fetchone()
    return _command(row) if row else None


def by_trigger(conn: sqlite3.Connection, trigger: str) -> Command | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM commands WHERE trigger = ?", (trigger,)).fetchone()
    return _command(row) if row else None


def list_all(conn: sqlite3.Connection) -> list[Command]:
    return [_command(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM commands ORDER BY trigger")]


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM commands").fetchone()[0])


def delete(conn: sqlite3.Connection, command_id: str) -> None:
    conn.execute("DELETE FROM commands WHERE id = ?", (command_id,))
    conn.execute("DELETE FROM command_responses WHERE command_id = ?", (command_id,))


def add_response(
    conn: sqlite3.Connection,
    token_hash: bytes,
    command_id: str,
    user_id: str,
    conversation_id: str,
    expires_at: int,
    now: int,
) -> None:
    """Remember a `response_url`, and forget the expired ones (so the table stays small)."""
    conn.execute("DELETE FROM command_responses WHERE expires_at < ?", (now,))
    conn.execute(
        "INSERT INTO command_responses (token_hash, command_id, user_id, conversation_id, "
        "expires_at) VALUES (?, ?, ?, ?, ?)",
        (token_hash, command_id, user_id, conversation_id, expires_at),
    )


def find_response(
    conn: sqlite3.Connection, token_hash: bytes, now: int
) -> tuple[str, str, str] | None:
    """A `response_url` still valid, without using it: (command id, user id, conversation id)."""
    row = conn.execute(
        "SELECT command_id, user_id, conversation_id FROM command_responses "
        "WHERE token_hash = ? AND expires_at >= ?",
        (token_hash, now),
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), str(row[2]))


def take_response(
    conn: sqlite3.Connection, token_hash: bytes, now: int
) -> tuple[str, str, str] | None:
    """Use a `response_url` once: (command id, user id, conversation id) if still valid."""
    row = conn.execute(
        "DELETE FROM command_responses WHERE token_hash = ? "
        "RETURNING command_id, user_id, conversation_id, expires_at",
        (token_hash,),
    ).fetchone()
    if row is None or int(row[3]) < now:
        return None
    return str(row[0]), str(row[1]), str(row[2])
