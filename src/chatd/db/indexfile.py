"""A second SQLite file beside the database, with a writer of its own: where derived data
that is costly to write (the search index) lives, so that writing it never holds the lock
every send commits under.

SQLite has one write lock per database file. FTS5 merges its index segments inside the
commit that adds rows, and a merge can take a hundred milliseconds on a large index; in the
main file that was a hundred milliseconds in which no message could be stored. Here the
index has its own file, thread and connection: its writer reads the messages from the main
file (a read snapshot, which never blocks the main writer) and writes only its own file.

The writer's connection has the main file as `main` and this file attached under `name`;
readers attach it too (`attach`), so one query can join both. Its transactions begin
DEFERRED: `BEGIN IMMEDIATE` would take the write lock of every attached file, the main one
included. The file is derived, rebuilt from the main file when missing or stale, so it is
written with `synchronous=NORMAL` whatever the main file's setting.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
NICE = 10  # CFS weight 110 against 1024: about a tenth of a busy CPU, all of an idle one
APPLICATION_ID = 0x63686174  # "chat", in the file's header: what a write that claims the lock sets


def _yield_the_cpu() -> None:
    """Lower this thread's priority by `NICE` (Linux schedules threads one by one): when
    the CPU is short, sends and deliveries come before the index, which searches wait for.
    Only CPU time is yielded; the thread holds no lock anyone else waits on, and while it
    holds the GIL a waiting thread sleeps, which gives it the CPU to let go."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            own = os.getpriority(os.PRIO_PROCESS, 0)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, own + NICE))


class IndexFile:
    """The file at `path`, attached as `name`; `write` runs functions on its one writer."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self._pool: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    def attach(self, conn: sqlite3.Connection) -> None:
        """Make the file's tables visible to `conn` as `name.table` (and, when no table of
        the main file has the same name, unqualified)."""
        conn.execute(f"ATTACH DATABASE ? AS {self.name}", (str(self.path),))

    async def start(self, open_main: Callable[[], sqlite3.Connection]) -> None:
        """Open the writer: `open_main()` connects to the main file, on the writer's thread."""
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="chatd-index-writer")
        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(self._pool, self._open, open_main)

    def _open(self, open_main: Callable[[], sqlite3.Connection]) -> sqlite3.Connection:
        _yield_the_cpu()
        conn = open_main()
        self.attach(conn)
        conn.execute(f"PRAGMA {self.name}.journal_mode=WAL")  # kept by the file: readers see it
        conn.execute(f"PRAGMA {self.name}.synchronous=NORMAL")
        return conn

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` in one transaction on the writer, committed before this
        returns (rolled back if it raises)."""
        if self._pool is None:
            raise RuntimeError("the index file is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run, fn, args)

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN")  # DEFERRED: the main file stays a read snapshot, never locked
        try:
            # Take this file's write lock before reading it: an admin command's writer (beside
            # a running server) waits its turn here rather than failing on a stale snapshot.
            conn.execute(f"PRAGMA {self.name}.application_id = {APPLICATION_ID}")
            result = fn(conn, *args)
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def stop(self) -> None:
        if self._pool is None:
            return
        if self._conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._conn.close)
            self._conn = None
        self._pool.shutdown(wait=True)
        self._pool = None
