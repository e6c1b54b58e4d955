"""SQL for invite codes: looked up by hash; the code itself is kept so admins can list it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class InviteRow:
    code: str
    created_by: str | None
    created_at: int
    expires_at: int | None
    max_uses: int | None
    uses: int


def insert(
    conn: sqlite3.Connection,
    code_hash: bytes,
    created_by: str | None,
    created_at: int,
    expires_at: int | None,
    max_uses: int | None,
    code: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO invites (code_hash, created_by, created_at, expires_at, max_uses, code) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (code_hash, created_by, created_at, expires_at, max_uses, code),
    )


def consume(conn: sqlite3.Connection, code_hash: bytes, now: int) -> bool:
    """Use one of the invite's uses if it is still valid; False if it is not."""
    cur = conn.execute(
        "UPDATE invites SET uses = uses + 1 WHERE code_hash = ? "
        "AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)",
        (code_hash, now),
    )
    return cur.rowcount == 1


def list_unexpired(conn: sqlite3.Connection, now: int, limit: int) -> list[InviteRow]:
    """Invites that have not expired (used-up ones included), newest first."""
    rows = conn.execute(
        "SELECT code, created_by, created_at, expires_at, max_uses, uses FROM invites "
        "WHERE code IS NOT NULL AND (expires_at IS NULL OR expires_at > ?) "
        "ORDER BY created_at DESC, code LIMIT ?",
        (now, limit),
    )
    return [
        InviteRow(
            code=str(code),
            created_by=None if by is None else str(by),
            created_at=int(created),
            expires_at=None if expires is None else int(expires),
            max_uses=None if most is None else int(most),
            uses=int(uses),
        )
        for code, by, created, expires, most, uses in rows
    ]


def delete(conn: sqlite3.Connection, code_hash: bytes) -> bool:
    cur = conn.execute("DELETE FROM invites WHERE code_hash = ?", (code_hash,))
    return cur.rowcount == 1


def usable(conn: sqlite3.Connection, code_hash: bytes, now: int) -> bool:
    """Whether the invite would be accepted now (registration checks it before any hashing)."""
    row = conn.execute(
        "SELECT 1 FROM invites WHERE code_hash = ? "
        "AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)",
        (code_hash, now),
    ).fetchone()
    return row is not None
