"""The group-commit writer: batches, per-operation failure, commit order."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from chatd.db import database
from chatd.db.database import SqliteDatabase as Database
from chatd.errors import Unavailable


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


def noop(conn: sqlite3.Connection) -> None:
    conn.execute("SELECT 1")


def test_a_write_after_the_stop_sentinel_fails_at_once(tmp_path: Path) -> None:
    """A write queued behind the stop sentinel used to wait forever (issue 15, item 13): it
    now fails with 503 unavailable, and the writes queued before the sentinel still commit."""

    async def stopping() -> None:
        db = Database(tmp_path / "s.db")
        await db.start()
        await db.write(make_table)
        started, gate = threading.Event(), threading.Event()
        first = db.submit(lambda conn: started.set() or (gate.wait(10) and put(conn, "first", 1)))
        await asyncio.to_thread(started.wait, 5)  # the writer holds `first` ...
        queued = db.submit(put, "queued", 2)  # ... so this one waits in the queue
        stop = asyncio.create_task(db.stop())
        await asyncio.sleep(0)  # one turn of the loop: stop() queues its sentinel
        assert db._queue.qsize() == 2
        with pytest.raises(Unavailable) as refused:
            await asyncio.wait_for(db.write(put, "late", 3), timeout=2)
        assert refused.value.status == 503 and refused.value.code == "unavailable"
        gate.set()
        assert await asyncio.wait_for(first, 5) == 1
        assert await asyncio.wait_for(queued, 5) == 2
        await asyncio.wait_for(stop, 5)

    asyncio.run(stopping())


def test_a_write_after_the_writer_died_fails_at_once(tmp_path: Path) -> None:
    """If the write loop dies (here: its housekeeping raises), the writes it was answering,
    those queued and any later one fail with 503 instead of waiting forever."""

    async def died() -> None:
        db = Database(tmp_path / "d.db")
        await db.start()
        await db.write(make_table)

        def broken(loop: asyncio.AbstractEventLoop) -> None:
            raise RuntimeError("housekeeping failed")

        db._after_batch = broken  # type: ignore[method-assign]
        started, gate = threading.Event(), threading.Event()
        answering = db.submit(lambda conn: started.set() or gate.wait(10))
        await asyncio.to_thread(started.wait, 5)
        queued = db.submit(noop)  # waits in the queue while the writer holds `answering`
        gate.set()
        for future in (answering, queued):
            with pytest.raises(Unavailable):
                await asyncio.wait_for(future, timeout=5)
        with pytest.raises(Unavailable):
            await asyncio.wait_for(db.write(noop), timeout=5)
        assert db.writer_problem() == "the database writer has stopped"
        await asyncio.wait_for(db.stop(), 5)

    asyncio.run(died())


def test_a_long_reader_never_stalls_writes_behind_a_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`chatd backup` reads one snapshot for seconds. A RESTART checkpoint takes the write
    lock and then waits for readers like it: with the connection's 30 s busy timeout every
    send stalled behind it for the whole backup (3.3 s worst ack measured, issue 15 item 13).
    Here a checkpoint is due after every batch and the WAL is always over its RESTART size,
    while another connection holds a read snapshot: writes must keep committing."""
    monkeypatch.setattr(database, "CHECKPOINT_EVERY_S", 0.0)
    monkeypatch.setattr(database, "RESTART_PAGES", 1)

    async def long_reader() -> None:
        db = Database(tmp_path / "r.db")
        await db.start()
        reader = sqlite3.connect(tmp_path / "r.db", isolation_level=None, timeout=30)
        try:
            await db.write(make_table)
            await db.write(put, "before", 0)
            reader.execute("BEGIN")
            assert reader.execute("SELECT COUNT(*) FROM t").fetchone() == (1,)  # a snapshot
            started = time.monotonic()
            for i in range(40):
                await asyncio.wait_for(db.write(put, f"k{i}", i), timeout=3)
            assert time.monotonic() - started < 5
            assert reader.execute("SELECT COUNT(*) FROM t").fetchone() == (1,)  # still held
        finally:
            reader.execute("COMMIT")
            reader.close()
            await db.stop()

    asyncio.run(long_reader())


def sample(name: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name) or 0.0


def batches() -> tuple[float, float]:
    """(write batches so far, operations in them), from the process's metrics."""
    return sample("chatd_db_batch_size_count"), sample("chatd_db_batch_size_sum")


def lingers() -> float:
    return sample("chatd_db_lingers_total")


async def pacing(path: Path) -> None:
    """Sends from several people close together share a batch; a lone sender awaiting each
    answer never waits. Generous windows, so a slow machine cannot change the outcome."""
    db = Database(path)
    db.pace_s, db.dense_gap_s = 0.2, 30.0
    await db.start()
    try:
        await db.write(make_table)
        before = lingers()
        for i in range(20):  # one sender, one write at a time: never held back
            await db.write(put, f"lone{i}", i, source="ann")
        assert lingers() == before

        await db.write(put, "x", 0, source="ann")
        batches_before, ops_before = batches()
        started = time.monotonic()
        first = db.submit(put, "y", 1, source="bob")  # another sender: the batch waits
        await asyncio.sleep(0.05)  # well inside the wait
        second = db.submit(put, "z", 2, source="cat")
        assert await asyncio.gather(first, second) == [1, 2]
        assert lingers() == before + 1
        assert batches() == (batches_before + 1, ops_before + 2)  # one batch, both sends
        assert time.monotonic() - started < 5  # the wait is bounded by the pace

        before = lingers()
        await db.write(put, "unnamed", 3)  # no source (not a send): never held back
        assert lingers() == before
    finally:
        await db.stop()


def test_dense_sends_from_several_people_share_a_batch(tmp_path: Path) -> None:
    asyncio.run(pacing(tmp_path / "t.db"))
