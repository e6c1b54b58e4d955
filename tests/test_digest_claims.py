"""Email digest bookkeeping on a real SQLite schema: what a digest holds, at most one per
delay per person, and a second node's claim losing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chatd.db import migrate
from chatd.store import digests

DELAY = 600_000  # ms


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(tmp_path / "chatd.db", isolation_level=None)
    migrate.migrate(db, tmp_path)
    for uid, name, email in (("a", "amy", None), ("d", "dee", "dee@example.test")):
        db.execute(
            "INSERT INTO users (id, username, display_name, role, password_hash, created_at, "
            "email) VALUES (?, ?, '', 'member', 'x', 0, ?)",
            (uid, name, email),
        )
    db.execute(
        "INSERT INTO conversations (id, kind, created_at, last_activity_at) "
        "VALUES ('c', 'direct', 0, 0)"
    )
    for uid in ("a", "d"):
        db.execute(
            "INSERT INTO members (conversation_id, user_id, joined_at) VALUES ('c', ?, 0)", (uid,)
        )
    return db


def message(conn: sqlite3.Connection, seq: int, at: int, body: str) -> None:
    conn.execute(
        "INSERT INTO messages (id, conversation_id, seq, author_id, body, created_at) "
        "VALUES (?, 'c', ?, 'a', ?, ?)",
        (f"m{seq}", seq, body, at),
    )
    digests.add_pending(conn, [("d", f"m{seq}", "c", seq, at)])


def test_one_digest_per_delay_and_claims(conn: sqlite3.Connection) -> None:
    message(conn, 1, 1_000, "first")
    message(conn, 2, 2_000, "read already")
    message(conn, 3, 300_000, "too new yet")
    conn.execute("UPDATE messages SET deleted = 1 WHERE id = 'm2'")
    now = 1_000 + DELAY
    assert digests.due_users(conn, now - DELAY, now) == ["d"]
    taken = digests.take(conn, "d", now - DELAY, now, now + DELAY)
    assert taken is not None
    assert [item.body for item in taken.items] == ["first"]
    assert taken.email == "dee@example.test"
    # m3 comes due before the next allowed digest: it waits until next_at
    later = 300_000 + DELAY
    assert later < now + DELAY
    assert digests.due_users(conn, later - DELAY, later) == []
    # a second node that still tries loses its claim, and its transaction rolls back (as the
    # writer does with an operation that raises)
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(digests.ClaimLost):
        digests.take(conn, "d", later - DELAY, later, later + DELAY)
    conn.execute("ROLLBACK")
    at_next = now + DELAY
    assert digests.due_users(conn, at_next - DELAY, at_next) == ["d"]


def test_read_or_unsubscribed_sends_nothing(conn: sqlite3.Connection) -> None:
    message(conn, 1, 1_000, "read in time")
    conn.execute("UPDATE members SET read_seq = 1 WHERE user_id = 'd'")
    now = 1_000 + DELAY
    assert digests.take(conn, "d", now - DELAY, now, now + DELAY) is None
    assert conn.execute("SELECT count(*) FROM email_pending").fetchone() == (0,)
    message(conn, 2, 2_000, "email switched off")
    conn.execute("UPDATE users SET email_notifications = 0 WHERE id = 'd'")
    now = 2_000 + DELAY
    assert digests.take(conn, "d", now - DELAY, now, now + DELAY) is None
    assert conn.execute("SELECT count(*) FROM email_digests").fetchone() == (0,)
