"""SQLite access: one group-commit writer and a small pool of reader threads.

Every store function is plain synchronous code taking a `sqlite3.Connection`. `Database.read`
runs one on a reader thread; `Database.write` queues one for the writer, which drains the
queue, runs everything queued in a single `BEGIN IMMEDIATE` transaction (one caller's error
never fails its neighbours: see `_run_batch`), commits once, and only then answers the
callers. Under load, many sends share one commit (and one fsync with `synchronous=full`).

aiosqlite is not used: it hops to its thread once per statement, while a batch here is one hop
for the whole transaction, which is what makes group commit cheap.

Checkpoints (copying the WAL back into the database file, with an fsync) run on a connection
and thread of their own, about once a second, so no commit waits behind one; the writer only
checkpoints itself if those fall far behind, which keeps the WAL bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from chatd.db.groupcommit import MAX_BATCH as MAX_BATCH
from chatd.db.groupcommit import Database as Database
from chatd.db.groupcommit import QueryInterrupted as QueryInterrupted
from chatd.db.groupcommit import _Op, runs, set_answers
from chatd.db.indexfile import IndexFile
from chatd.log import event

T = TypeVar("T")
log = logging.getLogger("chatd.db")
CHECKPOINT_EVERY_S = 1.0
WRITER_CHECKPOINT_PAGES = 16384  # 64 MiB of WAL: the writer's own checkpoint, a safety net
BOUNDED_CHECK_STEPS = 500  # VM steps between two looks at a bounded read's clock
RESTART_PAGES = 4096  # 16 MiB of WAL that PASSIVE checkpoints did not get to start over
RESTART_WAIT_MS = 10  # how long a RESTART may hold the write lock waiting for readers


def _checkpoint_done(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        event(log, logging.WARNING, "db.checkpoint_failed", error=repr(future.exception()))


def connect(path: Path, synchronous: str = "normal", readonly: bool = False) -> sqlite3.Connection:
    """Open a connection with chatd's PRAGMAs; autocommit mode, transactions are explicit."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA cache_size=-16000")
    conn.execute("PRAGMA temp_store=MEMORY")
    if readonly:
        conn.execute("PRAGMA query_only=1")
    return conn


@contextlib.contextmanager
def online_copy(source: Path, dest: Path) -> Iterator[sqlite3.Connection]:
    """A consistent snapshot of a live database at `dest` (SQLite's online backup, while the
    server keeps writing), in WAL mode like every chatd database, held in one write
    transaction for the caller to adjust; committed and checkpointed into the file when the
    block ends, so `dest` is a single self-contained file."""
    origin = connect(source, readonly=True)
    target = sqlite3.connect(dest, isolation_level=None)
    try:
        origin.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
        target.execute("BEGIN IMMEDIATE")
        yield target
        target.execute("COMMIT")
        target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        origin.close()
        target.close()


@dataclass
class SqliteDatabase(Database):
    """The embedded backend: one database file in the data directory, and beside it the
    search index's file (`index`, with a writer of its own: db/indexfile.py)."""

    path: Path
    synchronous: str = "normal"
    readers: int = 2
    index: IndexFile | None = None
    dialect = "sqlite"
    _writer_conn: sqlite3.Connection | None = field(init=False, default=None)
    _read_pool: ThreadPoolExecutor = field(init=False)
    _bounded_pool: ThreadPoolExecutor = field(init=False)
    _local: threading.local = field(init=False, default_factory=threading.local)
    _read_conns: list[sqlite3.Connection] = field(init=False, default_factory=list)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _checkpoint_pool: ThreadPoolExecutor = field(init=False)
    _checkpoint_conn: sqlite3.Connection | None = field(init=False, default=None)
    _checkpoint: asyncio.Future[None] | None = field(init=False, default=None)
    _last_checkpoint: float = field(init=False, default=0.0)

    async def start(self) -> None:
        self._write_pool = ThreadPoolExecutor(1, thread_name_prefix="chatd-writer")
        self._read_pool = ThreadPoolExecutor(self.readers, thread_name_prefix="chatd-reader")
        self._bounded_pool = ThreadPoolExecutor(1, thread_name_prefix="chatd-bounded-reader")
        loop = asyncio.get_running_loop()
        self._checkpoint_pool = ThreadPoolExecutor(1, thread_name_prefix="chatd-checkpoint")
        self._writer_conn = await loop.run_in_executor(self._write_pool, self._open_writer)
        if self.index is not None:  # before any reader, which attaches it
            await self.index.start(lambda: connect(self.path))
        self._last_checkpoint = time.monotonic()
        self._start_writer()

    def _open_writer(self) -> sqlite3.Connection:
        conn = connect(self.path, self.synchronous)
        conn.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
        return conn

    async def stop(self) -> None:
        """Finish every queued write, then close all connections."""
        await self._stop_writer()
        if self.index is not None:
            await self.index.stop()
        loop = asyncio.get_running_loop()
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        if self._checkpoint_conn is not None:
            await loop.run_in_executor(self._checkpoint_pool, self._checkpoint_conn.close)
            self._checkpoint_conn = None
        self._checkpoint_pool.shutdown(wait=True)
        if self._writer_conn is not None:
            conn = self._writer_conn
            await loop.run_in_executor(self._write_pool, conn.close)
            self._writer_conn = None
        self._write_pool.shutdown(wait=True)
        self._read_pool.shutdown(wait=True)
        self._bounded_pool.shutdown(wait=True)
        with self._lock:
            for conn in self._read_conns:
                conn.close()
            self._read_conns.clear()

    # ---- reads -------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, self.synchronous, readonly=True)
            if self.index is not None:
                self.index.attach(conn)
            self._local.conn = conn
            with self._lock:
                self._read_conns.append(conn)
        return conn

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            return fn(conn, *args)
        finally:
            conn.execute("COMMIT")

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on a reader connection, in one read transaction."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._read_pool, self._run_read, fn, args)

    async def read_bounded(self, fn: Callable[..., T], *args: Any, time_limit_s: float) -> T:
        """`read` for a query whose cost the caller cannot bound (search): it runs on a thread
        and connection of its own, so it never delays the readers that serve history and
        lists, and is stopped with `QueryInterrupted` once it has run `time_limit_s`.

        SQLite's progress handler is the stop: it is asked every few hundred virtual-machine
        steps whether to go on. `fn` may also call `deadline_passed(conn)` in its own loops.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._bounded_pool, self._run_bounded, fn, args, time.monotonic() + time_limit_s
        )

    def _run_bounded(self, fn: Callable[..., T], args: tuple[Any, ...], deadline: float) -> T:
        conn = self._reader()  # this pool's one thread has a connection of its own
        self._local.deadline = deadline
        conn.execute("BEGIN")
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), BOUNDED_CHECK_STEPS)
        try:
            return fn(conn, *args)
        except sqlite3.OperationalError as exc:
            if time.monotonic() > deadline and "interrupt" in str(exc):
                raise QueryInterrupted(str(exc)) from None
            raise
        finally:
            conn.set_progress_handler(None, 0)
            self._local.deadline = None
            if conn.in_transaction:  # an interrupt has already rolled it back
                conn.execute("COMMIT")

    def deadline_passed(self) -> None:
        """Raise `QueryInterrupted` if the bounded read on this thread is out of time."""
        deadline: float | None = getattr(self._local, "deadline", None)
        if deadline is not None and time.monotonic() > deadline:
            raise QueryInterrupted("time limit reached")

    def _after_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        now = time.monotonic()
        if now - self._last_checkpoint < CHECKPOINT_EVERY_S:
            return
        self._last_checkpoint = now
        self._checkpoint = loop.run_in_executor(self._checkpoint_pool, self._run_checkpoint)
        self._checkpoint.add_done_callback(_checkpoint_done)

    def _run_checkpoint(self) -> None:
        """PASSIVE copies the WAL without blocking anyone, while commits go on appending to it.
        When it catches up, the next commit starts the WAL over by itself; under steady load
        it never quite does, and once the WAL passes `RESTART_PAGES` a RESTART copies the few
        frames appended meanwhile, holding the writer for only that long.

        A RESTART takes the write lock first and then waits, through the busy handler, for
        every reader of an older snapshot. A long reader (`chatd backup`'s online copy holds
        one snapshot for seconds) would hold every commit for as long, so this connection
        waits `RESTART_WAIT_MS` at most: the RESTART gives up (busy) and is tried again a
        second later, the WAL growing meanwhile, never a send stalling."""
        if self._checkpoint_conn is None:
            self._checkpoint_conn = connect(self.path, self.synchronous)
            self._checkpoint_conn.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
        conn = self._checkpoint_conn
        _, wal_pages, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if wal_pages > RESTART_PAGES:
            conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()

    def _run_batch(self, batch: list[_Op]) -> None:
        """One transaction for the batch. An operation that fails before writing anything
        (the usual case: a permission or validation check) fails alone at no cost; one that
        fails after writing makes the batch start again with a savepoint per operation."""
        conn = self._writer_conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not self._run_ops(conn, batch):
                conn.execute("ROLLBACK")
                self._run_batch_carefully(conn, batch)
                return
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _run_ops(conn: sqlite3.Connection, batch: list[_Op]) -> bool:
        """The batch in order, each op's answer set on it; False as soon as one fails after
        writing (the transaction then holds part of it: the caller rolls back).

        A run of two or more consecutive ops sharing a `many` is one `many` call: a busy
        room's sends cost a few statements per batch instead of five each, which is most of
        the writer's time at saturation. A `many` that raises before writing anything (an
        unexpected error: refusals are answers) leaves its ops to run one by one."""
        for start, end in runs(batch):
            run = batch[start:end]
            many = run[0].many
            if len(run) >= 2 and many is not None:
                before = conn.total_changes
                try:
                    answers = many(conn, [op.args for op in run])
                except Exception as exc:
                    event(log, logging.INFO, "db.many_failed", error=type(exc).__name__)
                    if conn.total_changes != before:
                        return False
                else:
                    set_answers(run, answers)
                    continue
            for op in run:
                before = conn.total_changes
                try:
                    op.result = op.fn(conn, *op.args)
                except Exception as exc:
                    if conn.total_changes != before:
                        return False
                    op.error = exc
        return True

    @staticmethod
    def _run_batch_carefully(conn: sqlite3.Connection, batch: list[_Op]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for op in batch:
                op.result, op.error = None, None
                conn.execute("SAVEPOINT op")
                try:
                    op.result = op.fn(conn, *op.args)
                except Exception as exc:
                    conn.execute("ROLLBACK TO op")
                    op.error = exc
                conn.execute("RELEASE op")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
