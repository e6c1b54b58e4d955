"""A psycopg connection with the face of `sqlite3.Connection` that store functions use.

Store functions are written once, against `execute`/`executemany` with `?` placeholders and
cursors that `fetchone`, `fetchall`, iterate and count `rowcount`. This wrapper gives them that
on PostgreSQL: it rewrites `?` to psycopg's `%s` (once per distinct statement, cached), sends
Python booleans as the 0/1 integers both schemas store, and keeps `total_changes` (rows
written so far on this connection), which the group-commit writer reads to tell an operation
that failed before writing from one that failed after. SQL that really differs between the
dialects is chosen in `store/` (see `chatd.store.dialect`), never here.

This module imports psycopg: only the PostgreSQL backend loads it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.postgres import types as pg_types

_INT4_OID = pg_types["int4"].oid


class _BoolAsInt(Dumper):
    """chatd's schemas keep booleans in INTEGER columns (0/1) on both engines."""

    oid = _INT4_OID

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> tuple[str, bool]:
    """(the statement with psycopg placeholders, whether it only reads)."""
    text = sql.replace("%", "%%").replace("?", "%s")
    return text, text.lstrip()[:6].upper() == "SELECT"


class PgConnection:
    """The subset of `sqlite3.Connection` chatd's store functions call."""

    dialect = "postgres"

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        raw.adapters.register_dumper(bool, _BoolAsInt)
        self.raw = raw
        self.total_changes = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        text, reads = translate(sql)
        cur = self.raw.execute(text, params)
        if not reads and cur.rowcount > 0:
            self.total_changes += cur.rowcount
        return cur

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        text, _ = translate(sql)
        cur = self.raw.cursor()
        cur.executemany(text, rows)
        self.total_changes += max(cur.rowcount, 0)
        return cur

    def stream(self, sql: str, params: Sequence[Any] = ()) -> psycopg.ServerCursor[Any]:
        """Rows fetched from a server-side cursor a page at a time, for a reader that may
        stop early (search); closing it, or the transaction's end, frees it."""
        text, _ = translate(sql)
        cur = self.raw.cursor(name="chatd_stream")
        cur.itersize = 64
        cur.execute(text, params)
        return cur

    def close(self) -> None:
        self.raw.close()

    @property
    def broken(self) -> bool:
        """The server went away (or never answered): open a new connection."""
        return self.raw.closed or self.raw.broken


def connect(url: str, *, read_only: bool = False) -> PgConnection:
    """A connection in explicit-transaction mode, with chatd's session settings.

    `statement_timeout` bounds any one statement (a search sets a shorter one for itself);
    TCP keepalives make a vanished server an error within seconds rather than a hang.
    """
    raw = psycopg.connect(
        url,
        autocommit=False,
        connect_timeout=5,
        keepalives=1,
        keepalives_idle=5,
        keepalives_interval=2,
        keepalives_count=3,
        options="-c statement_timeout=30000 -c idle_in_transaction_session_timeout=60000",
    )
    if read_only:
        raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        raw.read_only = True
    return PgConnection(raw)
