"""No hot query scans history: every statement the hot paths run is checked with
EXPLAIN QUERY PLAN against a populated database."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from chatd.db import migrate
from chatd.models import Conversation, Message, User
from chatd.store import conversations, files, messages, search, sending, sessions, users

# Tables whose full scan would grow with history or with the number of users.
BIG_TABLES = (
    "conversations",
    "messages",
    "members",
    "mentions",
    "message_files",
    "files",
    "sessions",
    "users",
)


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(tmp_path / "chatd.db", isolation_level=None)
    migrate.migrate(db, tmp_path)
    now = 1_790_000_000_000
    db.execute("BEGIN")
    for uid in ("u1", "u2"):
        users.insert(db, User(uid, uid, "", "member", True, now), "hash")
    conv = Conversation("c1", "group", "", "", now, "u1", False, 0, now, ["u1", "u2"])
    conversations.insert(db, conv, None, None)
    for seq in range(1, 200):
        conversations.next_seq(db, "c1", seq - 1, now)
        author = "u1" if seq % 2 else "u2"
        messages.insert(db, Message(f"m{seq}", "c1", seq, author, "hi", now, None, False,
                                    "m1" if seq > 1 else None, f"k{seq}"))  # fmt: skip
    for n in range(300):  # other people's conversations, so the planner sees a real shape
        uid = f"x{n}"
        users.insert(db, User(uid, uid, "", "member", True, now), "hash")
        other = Conversation(f"o{n}", "group", "", "", now, uid, False, 0, now, [uid, "u2"])
        conversations.insert(db, other, None, None)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    return db


def plans(db: sqlite3.Connection, run: object) -> list[tuple[str, str]]:
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    run(db)  # type: ignore[operator]
    db.set_trace_callback(None)
    found = []
    for sql in statements:
        if not re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT|WITH)", sql, re.I):
            continue
        for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"):
            found.append((sql, str(row[-1])))
    return found


def assert_no_scan(db: sqlite3.Connection, run: object) -> None:
    for sql, detail in plans(db, run):
        scan = re.match(r"SCAN (\w+)", detail)
        if scan and "INDEX" not in detail:
            table = scan.group(1)
            aliases = dict(re.findall(r"(?:FROM|JOIN)\s+(\w+)\s+(\w+)", sql, re.I))
            real = {alias: name for name, alias in aliases.items()}.get(table, table)
            assert real not in BIG_TABLES, f"full scan of {real}: {detail}\n{sql}"


HOT_PATHS = {
    "history before": lambda db: messages.page(db, "c1", None, None, 50),
    "history after": lambda db: messages.page(db, "c1", None, 100, 50),
    "history window": lambda db: messages.page(db, "c1", 150, 100, 50),
    "get message": lambda db: messages.get(db, "m5"),
    "client id": lambda db: messages.by_client_id(db, "c1", "u1", "k5"),
    "replies": lambda db: messages.replies(db, "m1", 0, 50),
    "hydrate": lambda db: messages.hydrate(db, [messages.get(db, "m7")]),
    "conversation list": lambda db: conversations.list_for_user(db, "u1"),
    "conversation get": lambda db: conversations.get(db, "c1", "u2"),
    "access": lambda db: conversations.access(db, "c1", "u2"),
    "next seq": lambda db: conversations.next_seq(db, "c1", 199, 1),
    "check many": lambda db: sending.check_many(db, [("c1", "u1", "k5"), ("c1", "u2", None)]),
    "insert many": lambda db: sending.insert_many(
        db, [Message(f"n{i}", "c1", 0, "u1", "hi", 1, None, False, None, None) for i in range(3)]
    ),
    "read marker": lambda db: conversations.set_read(db, "c1", "u2", 10),
    "hello markers": lambda db: conversations.markers_for_user(db, "u1"),
    "token": lambda db: sessions.by_token_hash(db, b"x" * 32),
    "file access": lambda db: files.visible_to(db, "f1", "u1"),
    "files of messages": lambda db: files.of_messages(db, ["m1", "m2"]),
    "search catch-up": lambda db: search.after(db, 100, 2000),
}


@pytest.mark.parametrize("name", sorted(HOT_PATHS))
def test_hot_query_uses_indexes(conn: sqlite3.Connection, name: str) -> None:
    assert_no_scan(conn, HOT_PATHS[name])


def test_checker_catches_a_scan(conn: sqlite3.Connection) -> None:
    with pytest.raises(AssertionError, match="full scan of messages"):
        assert_no_scan(conn, lambda db: db.execute("SELECT * FROM messages WHERE body = 'x'"))
