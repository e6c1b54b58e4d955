"""SQL for export and import: the schema as the database describes it, rows in and out.

Export and import are table-driven: they ask the database which tables and columns exist and
in which order foreign keys allow them to be filled, so a table added by a later migration is
carried without code of its own. Table and column names used in SQL here always come from
the database's own catalog (never from an archive), and are quoted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from chatd.store.dialect import is_postgres

ROWS_PER_FETCH = 2000


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    references: frozenset[str]  # tables its foreign keys point at
    derived: bool  # a virtual table (full-text index) or one of its shadow tables


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def tables(conn: sqlite3.Connection) -> list[Table]:
    """Every table of the schema, parents before the tables that reference them."""
    if is_postgres(conn):
        return _pg_tables(conn)
    rows = conn.execute(
        "SELECT name, coalesce(sql, '') FROM sqlite_master "
        "WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).fetchall()
    virtual = {str(name) for name, sql in rows if str(sql).upper().startswith("CREATE VIRTUAL")}
    found: dict[str, Table] = {}
    for name, _ in rows:
        name = str(name)
        columns = tuple(str(r[1]) for r in conn.execute(f"PRAGMA table_info({_quote(name)})"))
        refs = frozenset(
            str(r[2]) for r in conn.execute(f"PRAGMA foreign_key_list({_quote(name)})")
        )
        shadow = any(name.startswith(v + "_") for v in virtual)
        found[name] = Table(name, columns, refs - {name}, name in virtual or shadow)
    return _parents_first(found)


def _pg_tables(conn: Any) -> list[Table]:
    """PostgreSQL's catalog: its search indexes are indexes, not tables, so none is derived."""
    columns: dict[str, list[str]] = {}
    for table, column in conn.execute(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
        "AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
        "WHERE c.table_schema = current_schema() AND c.is_generated = 'NEVER' "
        "ORDER BY c.table_name, c.ordinal_position"
    ).fetchall():
        columns.setdefault(str(table), []).append(str(column))
    refs: dict[str, set[str]] = {}
    for child, parent in conn.execute(
        "SELECT DISTINCT child.relname, parent.relname FROM pg_constraint k "
        "JOIN pg_class child ON child.oid = k.conrelid "
        "JOIN pg_class parent ON parent.oid = k.confrelid "
        "WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace"
    ).fetchall():
        refs.setdefault(str(child), set()).add(str(parent))
    found = {
        name: Table(name, tuple(cols), frozenset(refs.get(name, set()) - {name}), False)
        for name, cols in columns.items()
    }
    return _parents_first(found)


def _parents_first(found: dict[str, Table]) -> list[Table]:
    ordered: list[Table] = []
    placed: set[str] = set()
    while len(ordered) < len(found):
        ready = [t for n, t in sorted(found.items()) if n not in placed and t.references <= placed]
        if not ready:  # a cycle (none in chatd's schema): keep the rest in name order
            ready = [t for n, t in sorted(found.items()) if n not in placed]
        for table in ready:
            ordered.append(table)
            placed.add(table.name)
    return ordered


def rows(conn: sqlite3.Connection, table: Table) -> Iterator[list[tuple[object, ...]]]:
    """The table's rows in chunks, within the caller's transaction. On PostgreSQL through a
    server-side cursor: a plain one would bring the whole table into memory first."""
    sql = f"SELECT {', '.join(map(_quote, table.columns))} FROM {_quote(table.name)}"
    if is_postgres(conn):
        with conn.raw.cursor(name=f"chatd_export_{table.name}") as named:  # type: ignore[attr-defined]
            named.itersize = ROWS_PER_FETCH
            named.execute(sql)
            while chunk := named.fetchmany(ROWS_PER_FETCH):
                yield [tuple(row) for row in chunk]
        return
    cur = conn.execute(sql)
    while chunk := cur.fetchmany(ROWS_PER_FETCH):
        yield chunk


def count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0])


def has_rows(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {_quote(table)} LIMIT 1").fetchone() is not None


def insert(
    conn: sqlite3.Connection,
    table: str,
    columns: Sequence[str],
    values: Iterable[Sequence[object]],
    skip_existing: bool = False,
) -> int:
    """Insert rows as they are (ids, times and hashes included); how many were added.

    `skip_existing` leaves a row whose key is already taken alone instead of failing: what
    an idempotent import needs."""
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {_quote(table)} ({', '.join(map(_quote, columns))}) VALUES ({marks})"
    if skip_existing:
        sql += " ON CONFLICT DO NOTHING"
    before = conn.total_changes
    conn.executemany(sql, values)
    return conn.total_changes - before


def long_transaction(conn: sqlite3.Connection) -> None:
    """An export or import may hold its transaction for many minutes and pause in it while
    it reads or writes files: lift PostgreSQL's per-statement and idle limits for it."""
    if is_postgres(conn):
        conn.execute("SET LOCAL statement_timeout = 0")
        conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0")


def after_import(conn: sqlite3.Connection) -> None:
    """Rows were inserted with their own ids: PostgreSQL's identity counters must continue
    after the highest, or the next new row would take an id that is in use."""
    if not is_postgres(conn):
        return
    for table, column in conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES'"
    ).fetchall():
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence(?, ?), "
            f"coalesce((SELECT max({_quote(column)}) FROM {_quote(table)}), 0) + 1, false)",
            (table, column),
        )


def savepoint(conn: sqlite3.Connection, name: str) -> None:
    conn.execute(f"SAVEPOINT {_quote(name)}")


def rollback_to(conn: sqlite3.Connection, name: str) -> None:
    """Undo everything since the savepoint, keeping the enclosing transaction usable."""
    conn.execute(f"ROLLBACK TO {_quote(name)}")
    conn.execute(f"RELEASE {_quote(name)}")


def release(conn: sqlite3.Connection, name: str) -> None:
    conn.execute(f"RELEASE {_quote(name)}")
