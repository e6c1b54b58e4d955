"""SQL for invite codes (stored as hashes)."""

from __future__ import annotations

import sqlite3


def insert(
    conn: sqlite3.Connection,
    code_hash: bytes,
    created_by: str | None,
    created_at: int,
    expires_at: int | None,
    max_uses: int | None,
) -> None:
    conn.execute(
        "INSERT INTO invites (code_hash, created_by, created_at, expires_at, max_uses) "
        "VALUES (?, ?, ?, ?, ?)",
        (code_hash, created_by, created_at, expires_at, max_uses),
    )


def consume(conn: sqlite3.Connection, code_hash: bytes, now: int) -> bool:
    """Use one of the invite's uses if it is still valid; False if it is not."""
    cur = conn.execute(
        "UPDATE invites SET uses = uses + 1 WHERE code_hash = ? "
        "AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)",
        (code_hash, now),
    )
    return cur.rowcount == 1


def usable(conn: sqlite3.Connection, code_hash: bytes, now: int) -> bool:
    """Whether the invite would be accepted now (registration checks it before any hashing)."""
    row = conn.execute(
        "SELECT 1 FROM invites WHERE code_hash = ? "
        "AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)",
        (code_hash, now),
    ).fetchone()
    return row is not None
