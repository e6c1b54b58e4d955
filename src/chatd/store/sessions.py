"""SQL for sessions (bearer tokens, stored as hashes) and the cross-process auth epoch."""

from __future__ import annotations

import sqlite3

from chatd.models import Session, User
from chatd.store.batch import in_groups
from chatd.store.users import _COLUMNS as USER_COLUMNS
from chatd.store.users import _user

_COLUMNS = "id, user_id, created_at, last_used_at, user_agent, ip"


def _session(row: tuple[object, ...]) -> Session:
    id_, user_id, created_at, last_used_at, user_agent, ip = row
    return Session(
        id=str(id_),
        user_id=str(user_id),
        created_at=int(created_at),  # type: ignore[call-overload]
        last_used_at=int(last_used_at),  # type: ignore[call-overload]
        user_agent=str(user_agent),
        ip=str(ip),
    )


def insert(conn: sqlite3.Connection, session: Session, token_hash: bytes) -> None:
    conn.execute(
        f"INSERT INTO sessions ({_COLUMNS}, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            session.id,
            session.user_id,
            session.created_at,
            session.last_used_at,
            session.user_agent,
            session.ip,
            token_hash,
        ),
    )


def by_token_hash(conn: sqlite3.Connection, token_hash: bytes) -> tuple[Session, User] | None:
    user_cols = ", ".join(f"u.{c.strip()}" for c in USER_COLUMNS.split(","))
    session_cols = ", ".join(f"s.{c.strip()}" for c in _COLUMNS.split(","))
    row = conn.execute(
        f"SELECT {session_cols}, {user_cols} FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.token_hash = ?",
        (token_hash,),
    ).fetchone()
    if row is None:
        return None
    return _session(row[:6]), _user(row[6:])


def touch(conn: sqlite3.Connection, session_id: str, now: int) -> None:
    conn.execute("UPDATE sessions SET last_used_at = ? WHERE id = ?", (now, session_id))


def list_for_user(conn: sqlite3.Connection, user_id: str, used_after: int = 0) -> list[Session]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM sessions WHERE user_id = ? AND last_used_at >= ? "
        "ORDER BY last_used_at DESC",
        (user_id, used_after),
    )
    return [_session(row) for row in rows]


def delete_unused_since(conn: sqlite3.Connection, used_before: int) -> int:
    """Remove sessions last used before `used_before` (expired: no token of theirs is
    accepted any more); how many."""
    return conn.execute(
        "DELETE FROM sessions WHERE last_used_at < ? "
        "AND user_id NOT IN (SELECT id FROM users WHERE bot = 1)",  # a bot's token never expires
        (used_before,),
    ).rowcount


def delete(conn: sqlite3.Connection, session_id: str, user_id: str) -> bool:
    cur = conn.execute("DELETE FROM sessions WHERE id = ? AND user_id = ?", (session_id, user_id))
    return cur.rowcount > 0


def delete_for_user(
    conn: sqlite3.Connection, user_id: str, except_session: str | None = None
) -> list[str]:
    """Revoke a user's sessions (all, or all but one); return the revoked ids."""
    rows = conn.execute(
        "DELETE FROM sessions WHERE user_id = ? AND id IS DISTINCT FROM ? RETURNING id",
        (user_id, except_session),
    ).fetchall()
    return [str(row[0]) for row in rows]


def valid_ids(conn: sqlite3.Connection, session_ids: list[str], used_after: int) -> set[str]:
    """Which of these sessions still exist, are not expired, and belong to an active user."""
    valid: set[str] = set()
    for chunk, marks in in_groups(session_ids):
        rows = conn.execute(
            f"SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id "
            f"WHERE s.id IN ({marks}) AND u.active = 1 AND (s.last_used_at >= ? OR u.bot = 1)",
            (*chunk, used_after),
        )
        valid.update(str(row[0]) for row in rows)
    return valid


def bump_auth_epoch(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'auth_epoch'")


def auth_epoch(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT value FROM meta WHERE key = 'auth_epoch'").fetchone()[0])
