"""The group-commit writer: batches, per-operation failure, commit order."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from chatd.db.database import SqliteDatabase as Database


def make_table(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")


def put(conn: sqlite3.Connection, key: str, value: int) -> int:
    conn.execute("INSERT INTO t VALUES (?, ?)", (key, value))
    return value


def put_then_fail(conn: sqlite3.Connection, key: str) -> None:
    conn.execute("INSERT INTO t VALUES (?, 0)", (key,))
    raise ValueError("after writing")


def fail_first(conn: sqlite3.Connection) -> None:
    raise ValueError("before writing")


def rows(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    return list(conn.execute("SELECT k, v FROM t ORDER BY k"))


async def scenario(path: Path) -> None:
    db = Database(path)
    await db.start()
    try:
        await db.write(make_table)
        order: list[int] = []
        results = await asyncio.gather(
            db.write(put, "a", 1, after=order.append),
            db.write(put_then_fail, "b"),
            db.write(fail_first),
            db.write(put, "c", 3, after=order.append),
            db.write(put, "a", 9),  # a constraint error: fails alone
            return_exceptions=True,
        )
        assert results[0] == 1 and results[3] == 3
        assert isinstance(results[1], ValueError) and "after" in str(results[1])
        assert isinstance(results[2], ValueError) and "before" in str(results[2])
        assert isinstance(results[4], sqlite3.IntegrityError)
        assert order == [1, 3]  # after-commit callbacks run in commit order
        assert await db.read(rows) == [("a", 1), ("c", 3)]
        many = await asyncio.gather(*(db.write(put, f"k{i:03d}", i) for i in range(300)))
        assert many == list(range(300))
        assert len(await db.read(rows)) == 302
    finally:
        await db.stop()


def test_failures_stay_with_their_operation(tmp_path: Path) -> None:
    asyncio.run(scenario(tmp_path / "t.db"))


def test_closed_database_refuses_writes(tmp_path: Path) -> None:
    async def closed() -> None:
        db = Database(tmp_path / "c.db")
        await db.start()
        await db.stop()
        with pytest.raises(Exception, match="closed"):
            await db.write(make_table)

    asyncio.run(closed())
