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
    """The table's rows in chunks, in the order of its key (within the caller's transaction)."""
    cur = conn.execute(f"SELECT {', '.join(map(_quote, table.columns))} FROM {_quote(table.name)}")
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


def savepoint(conn: sqlite3.Connection, name: str) -> None:
    conn.execute(f"SAVEPOINT {_quote(name)}")


def rollback_to(conn: sqlite3.Connection, name: str) -> None:
    """Undo everything since the savepoint, keeping the enclosing transaction usable."""
    conn.execute(f"ROLLBACK TO {_quote(name)}")
    conn.execute(f"RELEASE {_quote(name)}")


def release(conn: sqlite3.Connection, name: str) -> None:
    conn.execute(f"RELEASE {_quote(name)}")
