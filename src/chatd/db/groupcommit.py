"""What every storage backend shares: the interface the services use, and group commit.

Services run plain synchronous store functions through `read`, `write` and `submit`; they never
see which engine is underneath. `write` queues the function for the single writer thread of
this process, which drains the queue and runs everything queued as one transaction
(`_run_batch`, written per backend), commits once, and only then answers the callers and runs
their `after` callbacks on the event loop, in commit order. Under load many sends share one
commit.

The SQLite backend (`database.SqliteDatabase`) and the PostgreSQL one (`postgres`) subclass
`Database`; the loop below is the hot path of both and stays free of per-backend checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from chatd import metrics
from chatd.errors import Unavailable
from chatd.log import event

T = TypeVar("T")
log = logging.getLogger("chatd.db")

MAX_BATCH = 512
WRITER_STUCK_S = 10.0  # a batch running longer makes the writer unready (/readyz)
# While sends come densely from several people, a batch starts at most every PACE_S (see
# `_lingers`): at 1,000 msg/s from a few senders, batches of one cost a commit and a write
# to every member's socket per message; in twos and threes each costs half or a third.
PACE_S = 0.002
DENSE_GAP_S = 0.002


def _select_one(conn: Any) -> None:
    conn.execute("SELECT 1").fetchone()


class QueryInterrupted(Exception):
    """A bounded read ran past its time limit and was stopped (see `Database.read_bounded`)."""


@dataclass
class _Op:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    after: Callable[[Any], None] | None
    lock: str | None = None
    source: str | None = None  # who asked (a send's author): see `Database._lingers`
    arrived: float = 0.0  # the event loop's clock when it was queued
    many: Callable[[Any, list[tuple[Any, ...]]], list[Any]] | None = None
    result: Any = None
    error: BaseException | None = None


def runs(batch: list[_Op]) -> Iterator[tuple[int, int]]:
    """The batch cut into runs, as (start, end) index pairs in order: each run is either
    two or more consecutive ops sharing one `many` (for one `many` call) or a single op
    (for its own `fn`)."""
    start = 0
    while start < len(batch):
        many = batch[start].many
        end = start + 1
        if many is not None:
            while end < len(batch) and batch[end].many is many:
                end += 1
        yield start, end
        start = end


def set_answers(run: list[_Op], answers: list[Any]) -> None:
    """A `many` call's answers, one per op in order, set on the ops (an Exception is that
    op's error). A `many` that answers a different number has a bug: the batch fails."""
    if len(answers) != len(run):
        raise RuntimeError(f"{len(answers)} answers for {len(run)} operations")
    for op, answer in zip(run, answers, strict=True):
        if isinstance(answer, Exception):
            op.error = answer
        else:
            op.result = answer


class Database(ABC):
    """A store-function runner: one writer (group commit) and a pool of readers."""

    dialect = "abstract"
    _queue: asyncio.Queue[_Op | None]
    _write_pool: ThreadPoolExecutor
    _task: asyncio.Task[None] | None = None
    _batch_started: float | None = None  # monotonic start of the batch being committed
    _stopping: bool = False  # the stop sentinel is queued: nothing queued after it would run
    _inflight: list[_Op] | None = None  # the batch between dequeue and its answers
    _last_op: _Op | None = None  # the newest operation of the last batch taken
    _last_start: float = 0.0  # the event loop's clock when the last batch was taken
    pace_s: float = PACE_S  # per instance, for tests on slow machines
    dense_gap_s: float = DENSE_GAP_S

    @abstractmethod
    async def start(self) -> None:
        """Open the connections and start the writer."""

    @abstractmethod
    async def stop(self) -> None:
        """Finish every queued write, then close all connections."""

    @abstractmethod
    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on a reader connection, in one read transaction."""

    @abstractmethod
    async def read_bounded(self, fn: Callable[..., T], *args: Any, time_limit_s: float) -> T:
        """`read` for a query whose cost the caller cannot bound (search): on a thread and
        connection of its own, so it never delays the readers that serve history and lists,
        and stopped with `QueryInterrupted` once it has run `time_limit_s`."""

    @abstractmethod
    def deadline_passed(self) -> None:
        """Raise `QueryInterrupted` if the bounded read on this thread is out of time (for
        `fn`'s own loops over rows)."""

    @abstractmethod
    def _run_batch(self, batch: list[_Op]) -> None:
        """On the writer thread: run the batch in one transaction, each op's result or error
        set on it; raise only if the commit itself failed."""

    async def leader(self, job: str) -> bool:
        """Whether this process should run `job`, a task that must run once per deployment
        (orphan sweep, session pruning): always on the embedded backend, one node at a time
        on a shared one."""
        return True

    def writer_problem(self) -> str | None:
        """Why writes cannot be taken now, or None. `/readyz` asks this instead of queueing
        a write of its own: polled every second, a probe write would be a commit a second."""
        task = self._task
        if task is None or self._stopping:
            return "the database is closed"
        if task.done():
            return "the database writer has stopped"
        started = self._batch_started
        if started is not None and time.monotonic() - started > WRITER_STUCK_S:
            return f"a database commit has been running for over {WRITER_STUCK_S:.0f} s"
        return None

    async def ping(self) -> None:
        """One trivial read: raises if the database cannot be reached (PostgreSQL away)."""
        await self.read(_select_one)

    def _start_writer(self) -> None:
        self._queue = asyncio.Queue()
        self._stopping = False
        self._task = asyncio.create_task(self._write_loop(), name="chatd-db-writer")

    async def _stop_writer(self) -> None:
        """Finish every queued write; a write submitted from now on fails at once."""
        if self._task is not None:
            self._stopping = True
            self._queue.put_nowait(None)
            with contextlib.suppress(Exception):  # a dead writer has been logged already
                await self._task
            self._task = None

    async def write(
        self,
        fn: Callable[..., T],
        *args: Any,
        after: Callable[[T], None] | None = None,
        lock: str | None = None,
        source: str | None = None,
        many: Callable[[Any, list[tuple[Any, ...]]], list[Any]] | None = None,
    ) -> T:
        """Queue `fn(conn, *args)` for the writer; return its result once it is committed.

        `after(result)` runs on the event loop right after the commit, in commit order, even if
        the caller has gone away: services publish their events there, so an event is never
        lost and events of one conversation leave in the order of their commits. `lock` names
        the conversation whose counter the function takes a seq from: a backend with several
        writers locks those rows first, in one order, before running the batch. `source`
        names who asks, for operations that come in streams from many people (sends): a
        stream from several of them is batched a little longer (`_lingers`).

        `many(conn, [args, ...])` is optional: what running `fn(conn, *args)` for each of
        several consecutive ops would do, in fewer statements, answered per op in order
        (a result, or an Exception raised before that op wrote anything). Both backends run
        a run of two or more consecutive ops sharing `many` with one call (`runs`): on
        PostgreSQL each statement saved is a round trip, on SQLite the per-statement work
        of the Python binding and the VM, which is most of a plain send's cost.
        """
        return await self.submit(fn, *args, after=after, lock=lock, source=source, many=many)

    def submit(
        self,
        fn: Callable[..., T],
        *args: Any,
        after: Callable[[T], None] | None = None,
        lock: str | None = None,
        source: str | None = None,
        many: Callable[[Any, list[tuple[Any, ...]]], list[Any]] | None = None,
    ) -> asyncio.Future[T]:
        """`write` for a caller that would rather not await: the future of its result.

        Refused with `Unavailable` (503) once the writer is stopping or has died: queued
        behind the stop sentinel, or on a queue nobody drains, it would wait forever."""
        if self._task is None or self._stopping:
            raise Unavailable("the database is closed")
        if self._task.done():
            raise Unavailable("the database writer has stopped; try again later")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        op = _Op(fn, args, future, after, lock, source, loop.time(), many)
        self._queue.put_nowait(op)
        return future

    def _lingers(self, first: _Op) -> bool:
        """Whether the batch that `first` opens waits for more, until `pace_s` after the
        previous batch started.

        Only while sends come densely from several people: `first` is another sender's than
        the previous batch's last operation and follows it within `dense_gap_s`. A lone
        sender awaiting each answer (a bot, a script) is never held back, nor a quiet
        conversation. The wait is at most `pace_s` and shrinks as the rate grows (the
        previous batch took longer to gather and commit)."""
        previous = self._last_op
        return (
            first.source is not None
            and previous is not None
            and previous.source is not None
            and first.source != previous.source
            and first.arrived - previous.arrived < self.dense_gap_s
        )

    async def _write_loop(self) -> None:
        """Run batches until the stop sentinel; however it ends, no caller is left waiting."""
        try:
            await self._write_batches()
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):
                event(log, logging.ERROR, "db.writer_died", error=repr(exc))
            raise
        finally:
            self._fail_waiting()

    def _fail_waiting(self) -> None:
        """Fail, with `Unavailable`, the batch the loop was answering and all still queued."""
        waiting = list(self._inflight or ())
        self._inflight = None
        while not self._queue.empty():
            op = self._queue.get_nowait()
            if op is not None:
                waiting.append(op)
        for op in waiting:
            if not op.future.done():
                op.future.set_exception(Unavailable("the database writer has stopped"))

    async def _write_batches(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            if self._lingers(first):
                wait = self._last_start + self.pace_s - loop.time()
                if wait > 0:
                    metrics.DB_LINGERS.inc()
                    await asyncio.sleep(wait)
            self._last_start = loop.time()
            batch = [first]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                op = self._queue.get_nowait()
                if op is None:
                    stopping = True
                    break
                batch.append(op)
            self._last_op = batch[-1]
            self._inflight = batch
            started = time.perf_counter()
            self._batch_started = time.monotonic()
            try:
                await loop.run_in_executor(self._write_pool, self._run_batch, batch)
            except Exception as exc:  # the commit itself failed: every caller fails
                event(log, logging.ERROR, "db.batch_failed", error=repr(exc), size=len(batch))
                for op in batch:
                    op.error = Unavailable("the database could not commit; try again")
                    op.result = None
            finally:
                self._batch_started = None
            metrics.DB_COMMIT_SECONDS.observe(time.perf_counter() - started)
            metrics.DB_BATCH_SIZE.observe(len(batch))
            self._after_batch(loop)
            for op in batch:
                if op.error is None and op.after is not None:
                    try:
                        op.after(op.result)
                    except Exception:
                        log.exception("db.after_commit_failed")
                if op.future.done():
                    continue
                if op.error is not None:
                    op.future.set_exception(op.error)
                else:
                    op.future.set_result(op.result)
            self._inflight = None

    @abstractmethod
    def _after_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Housekeeping between batches, on the event loop (SQLite checkpoints its WAL)."""
