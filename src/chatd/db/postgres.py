"""The PostgreSQL backend: the same group commit as SQLite, with several writers in mind.

One writer thread per process runs each batch as one transaction (as on SQLite), a pool of
reader threads runs reads in read-only REPEATABLE READ transactions (one snapshot each, as a
SQLite read transaction), both on psycopg's synchronous connections: a batch is one thread
hop, whatever it holds.

What several nodes writing at once change:
- A send names the conversation it takes a seq from (`lock=`). Before running a batch the
  writer takes a transaction-scoped advisory lock per named conversation, all in one sorted
  order, so two nodes' batches queue behind each other instead of deadlocking; a check made
  after the lock (the `client_id` of an earlier send) sees what the other node committed.
- A deadlock or serialization failure (40P01, 40001) that happens anyway (writers that lock
  rows without naming them) rolls back and runs the whole batch again: side effects live in
  the `after` callbacks, which run only after the commit that counts.
- Any SQL error aborts a PostgreSQL transaction, so an operation that hits one sends the
  batch to the careful path (a savepoint per operation), exactly as SQLite does for an
  operation that fails after writing.
- Check-then-insert races: two nodes check a name is free, both insert, the second insert
  waits for the first's commit and fails on the unique index. Running the operation again
  (READ COMMITTED: each statement sees what is committed) makes its own check see the
  winner's row and answer what one writer answers (409 with its fields, or the existing
  direct conversation). An operation that keeps losing is a plain 409, never a 500.
- A lost connection is no 500: the batch's callers, and readers, get `Unavailable` (503), and
  the next batch or read opens a new connection, so the node recovers by itself. A pooled
  connection that died while it idled (PostgreSQL restarted) is found only when used: that
  read, or a batch not yet at its commit, runs once more on a new connection instead of
  failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors

from chatd import metrics
from chatd.db.groupcommit import Database, QueryInterrupted, _Op, runs, set_answers
from chatd.db.pgconn import PgConnection, connect
from chatd.errors import Conflict, Unavailable
from chatd.log import event

T = TypeVar("T")
log = logging.getLogger("chatd.db")

RETRIES = 8
UNIQUE_RERUNS = 3  # runs of one operation that keeps losing unique races before a 409
_RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
_LOCK_SQL = (
    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
    "FROM (SELECT k FROM unnest(%s::text[]) AS k ORDER BY k) AS keys"
)


class _Retry(Exception):
    """The batch lost a deadlock or a serialization check: run it again."""


class _Stale(Exception):
    """The writer's connection died before the batch's commit was sent: reconnect, run again."""


def _unavailable(exc: BaseException) -> Unavailable:
    if isinstance(exc, pg_errors.QueryCanceled):
        return Unavailable("the database took too long to answer; try again")
    return Unavailable("the database is unreachable; try again")


@dataclass
class PostgresDatabase(Database):
    """The shared backend: `storage.postgres_url`, files under the (shared) data directory."""

    url: str
    path: Path  # the data directory (files/ and tmp/), for what sits beside the database
    readers: int = 4
    dialect = "postgres"
    _writer: PgConnection | None = field(init=False, default=None)
    _read_pool: ThreadPoolExecutor = field(init=False)
    _bounded_pool: ThreadPoolExecutor = field(init=False)
    _local: threading.local = field(init=False, default_factory=threading.local)
    _read_conns: list[PgConnection] = field(init=False, default_factory=list)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _jobs_pool: ThreadPoolExecutor = field(init=False)
    _jobs: psycopg.Connection[Any] | None = field(init=False, default=None)
    _held: set[str] = field(init=False, default_factory=set)
    _reading: int = field(init=False, default=0)  # reads submitted and not yet answered

    async def start(self) -> None:
        self._write_pool = ThreadPoolExecutor(1, thread_name_prefix="chatd-writer")
        self._read_pool = ThreadPoolExecutor(self.readers, thread_name_prefix="chatd-reader")
        self._bounded_pool = ThreadPoolExecutor(1, thread_name_prefix="chatd-bounded-reader")
        self._jobs_pool = ThreadPoolExecutor(1, thread_name_prefix="chatd-jobs")
        loop = asyncio.get_running_loop()
        self._writer = await loop.run_in_executor(self._write_pool, connect, self.url)
        self._start_writer()

    async def stop(self) -> None:
        await self._stop_writer()
        loop = asyncio.get_running_loop()
        if self._writer is not None:
            await loop.run_in_executor(self._write_pool, self._writer.close)
            self._writer = None
        if self._jobs is not None:
            await loop.run_in_executor(self._jobs_pool, self._release_jobs)
        for pool in (self._write_pool, self._read_pool, self._bounded_pool, self._jobs_pool):
            pool.shutdown(wait=True)
        with self._lock:
            for conn in self._read_conns:
                conn.close()
            self._read_conns.clear()

    # ---- reads -------------------------------------------------------------------------

    def _reader(self) -> PgConnection:
        conn: PgConnection | None = getattr(self._local, "conn", None)
        if conn is not None and conn.broken:
            self._forget_reader(conn)
            conn = None
        if conn is None:
            conn = connect(self.url, read_only=True)
            self._local.conn = conn
            with self._lock:
                self._read_conns.append(conn)
        return conn

    def _forget_reader(self, conn: PgConnection) -> None:
        self._local.conn = None
        with self._lock:
            if conn in self._read_conns:
                self._read_conns.remove(conn)
        with contextlib.suppress(psycopg.Error):
            conn.close()

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """`fn` on this thread's connection; once more on a new one if that connection turns
        out dead (PostgreSQL restarted while it idled: nothing says so until it is used). A
        read is safe to run twice; a second failure is the database really away: 503."""
        for attempt in (1, 2):
            try:
                conn = self._reader()
            except psycopg.OperationalError as exc:
                raise _unavailable(exc) from exc
            try:
                return fn(conn, *args)
            except psycopg.OperationalError as exc:
                if not conn.broken:
                    raise _unavailable(exc) from exc
                self._forget_reader(conn)
                if attempt == 2:
                    raise _unavailable(exc) from exc
                event(log, logging.INFO, "db.reconnecting", role="reader")
            finally:
                if not conn.broken:
                    with contextlib.suppress(psycopg.Error):
                        conn.raw.rollback()  # read-only: nothing to keep, the snapshot ends
        raise AssertionError("unreachable")

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        if self._reading >= self.readers:  # every pooled connection busy: this one queues
            metrics.DB_POOL_WAITS.inc()
        self._reading += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._read_pool, self._run_read, fn, args)
        finally:
            self._reading -= 1

    async def read_bounded(self, fn: Callable[..., T], *args: Any, time_limit_s: float) -> T:
        """On a thread and connection of their own, under a `statement_timeout` of what is
        left of `time_limit_s` (PostgreSQL cancels the statement: `QueryInterrupted`)."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + time_limit_s
        return await loop.run_in_executor(self._bounded_pool, self._run_bounded, fn, args, deadline)

    def _run_bounded(self, fn: Callable[..., T], args: tuple[Any, ...], deadline: float) -> T:
        def bounded(conn: PgConnection) -> T:
            left_ms = max(1, int((deadline - time.monotonic()) * 1000))
            conn.execute(f"SET LOCAL statement_timeout = {left_ms}")
            try:
                return fn(conn, *args)
            except pg_errors.QueryCanceled as exc:
                raise QueryInterrupted(str(exc)) from None

        self._local.deadline = deadline
        try:
            return self._run_read(bounded, ())
        finally:
            self._local.deadline = None

    def deadline_passed(self) -> None:
        deadline: float | None = getattr(self._local, "deadline", None)
        if deadline is not None and time.monotonic() > deadline:
            raise QueryInterrupted("time limit reached")

    # ---- writes ------------------------------------------------------------------------

    def _writer_conn(self) -> PgConnection:
        if self._writer is None or self._writer.broken:
            if self._writer is not None:
                with contextlib.suppress(psycopg.Error):
                    self._writer.close()
                self._writer = None
            self._writer = connect(self.url)
            event(log, logging.INFO, "db.reconnected", role="writer")
        return self._writer

    def _run_batch(self, batch: list[_Op]) -> None:
        """The batch in one transaction, run again from the start after a lost deadlock, or
        once on a new connection when the writer's turns out dead before the commit was sent
        (nothing of the batch can have been committed then, so a second run is as safe as
        after a deadlock). A connection lost during the commit itself is not retried: the
        outcome is unknown, the callers get 503 and a `client_id` makes their retry safe."""
        reconnected = False
        for attempt in range(1, RETRIES + 1):
            conn = self._writer_conn()
            try:
                self._attempt(conn, batch)
                conn.raw.commit()
                return
            except _Retry as exc:
                with contextlib.suppress(psycopg.Error):
                    conn.raw.rollback()
                for op in batch:
                    op.result, op.error = None, None
                if attempt == RETRIES:
                    raise Unavailable("the database is too busy; try again") from exc.__cause__
                event(log, logging.INFO, "db.batch_retried", attempt=attempt, size=len(batch))
                time.sleep(0.002 * attempt)
            except _Stale as exc:
                for op in batch:
                    op.result, op.error = None, None
                if reconnected:
                    raise _unavailable(exc.__cause__ or exc) from exc.__cause__
                reconnected = True
                event(log, logging.INFO, "db.reconnecting", role="writer")
            except BaseException:
                if not conn.broken:
                    with contextlib.suppress(psycopg.Error):
                        conn.raw.rollback()
                raise
        raise AssertionError("unreachable")

    @staticmethod
    def _lock_keys(conn: PgConnection, batch: list[_Op]) -> None:
        keys = sorted({op.lock for op in batch if op.lock is not None})
        if keys:
            conn.raw.execute(_LOCK_SQL, (keys,))

    def _attempt(self, conn: PgConnection, batch: list[_Op]) -> None:
        """Run the batch up to its commit; a dead connection found on the way is `_Stale`."""
        try:
            self._run_ops(conn, batch)
        except psycopg.OperationalError as exc:
            if conn.broken:
                raise _Stale from exc
            raise

    def _run_ops(self, conn: PgConnection, batch: list[_Op]) -> None:
        """The batch in order; a run of two or more consecutive ops sharing a `many` is one
        `many` call (its statements cover them all), the rest run one by one. An op, or a
        `many`, that fails after writing or with an SQL error (which aborts the
        transaction) sends the whole batch to the careful path."""
        self._lock_keys(conn, batch)
        for start, end in runs(batch):
            many = batch[start].many
            if end - start >= 2 and many is not None:
                if not self._run_many(conn, many, batch[start:end]):
                    conn.raw.rollback()
                    self._run_ops_carefully(conn, batch)
                    return
                continue
            op = batch[start]
            before = conn.total_changes
            try:
                op.result = op.fn(conn, *op.args)
            except _RETRYABLE as exc:
                raise _Retry from exc
            except psycopg.OperationalError:
                raise
            except Exception as exc:
                if conn.total_changes != before or isinstance(exc, psycopg.Error):
                    conn.raw.rollback()
                    self._run_ops_carefully(conn, batch)
                    return
                op.error = exc

    @staticmethod
    def _run_many(conn: PgConnection, many: Callable[..., list[Any]], run: list[_Op]) -> bool:
        """One `many` call for `run`, its answers set on the ops; False if it raised (the
        transaction may hold some of its writes or be aborted: the batch goes careful)."""
        try:
            answers = many(conn, [op.args for op in run])
        except _RETRYABLE as exc:
            raise _Retry from exc
        except psycopg.OperationalError:
            raise
        except Exception as exc:
            event(log, logging.INFO, "db.many_failed", error=type(exc).__name__, size=len(run))
            return False
        set_answers(run, answers)
        return True

    def _run_ops_carefully(self, conn: PgConnection, batch: list[_Op]) -> None:
        self._lock_keys(conn, batch)
        for op in batch:
            op.result, op.error = None, None
            for attempt in range(1, UNIQUE_RERUNS + 1):
                conn.raw.execute("SAVEPOINT op")
                try:
                    op.result = op.fn(conn, *op.args)
                except _RETRYABLE as exc:
                    raise _Retry from exc
                except psycopg.OperationalError:
                    raise
                except pg_errors.UniqueViolation as exc:
                    conn.raw.execute("ROLLBACK TO SAVEPOINT op")
                    conn.raw.execute("RELEASE SAVEPOINT op")
                    event(log, logging.INFO, "db.unique_race", attempt=attempt)
                    if attempt < UNIQUE_RERUNS:
                        continue  # its checks now see the row that won: as on one writer
                    op.error = Conflict("that was just created by someone else; try again")
                    op.error.__cause__ = exc
                    break
                except Exception as exc:
                    conn.raw.execute("ROLLBACK TO SAVEPOINT op")
                    op.error = exc
                conn.raw.execute("RELEASE SAVEPOINT op")
                break

    def _after_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Nothing to do between batches: PostgreSQL checkpoints by itself."""

    # ---- jobs that run on one node -----------------------------------------------------

    async def leader(self, job: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._jobs_pool, self._claim, job)

    def _release_jobs(self) -> None:
        """Free the jobs' locks before closing, so another node can take them at once
        (closing alone frees them only once the server has noticed the session is gone)."""
        conn, self._jobs = self._jobs, None
        self._held.clear()
        if conn is None:
            return
        with contextlib.suppress(psycopg.Error):
            conn.execute("SELECT pg_advisory_unlock_all()")
        with contextlib.suppress(psycopg.Error):
            conn.close()

    def _claim(self, job: str) -> bool:
        """Hold a session-level advisory lock per job on a connection of its own: the node
        that holds it runs the job until it stops or loses the database (PostgreSQL then
        frees the lock and another node takes the job over at its next turn)."""
        try:
            if self._jobs is None or self._jobs.closed or self._jobs.broken:
                self._held.clear()
                self._jobs = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
            if job not in self._held:
                row = self._jobs.execute(
                    "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (f"chatd job {job}",)
                ).fetchone()
                if row is not None and row[0]:
                    self._held.add(job)
        except psycopg.OperationalError as exc:
            event(log, logging.WARNING, "db.job_claim_failed", job=job, error=type(exc).__name__)
            return False
        return job in self._held
