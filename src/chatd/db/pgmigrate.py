"""PostgreSQL schema migrations: `db/migrations_pg/NNNN_name.sql`, one transaction each.

They mirror the SQLite ones number for number (a change to the schema is a migration in each
folder, a test checks both have the same numbers), so a version means the same schema on
both engines. The version lives in `schema_version` (SQLite keeps it in `user_version`).

Nodes started together on an empty database must not all create the schema: the whole run
holds an advisory lock, so the first node migrates and the others, once they get the lock,
find the schema current. A database newer than the code is refused, as on SQLite. There is
no copy before an upgrade here: PostgreSQL is backed up with its own tools (or `chatd
export`), which docs/operations.md asks for before an upgrade.
"""

from __future__ import annotations

import logging

import psycopg

from chatd.db.migrate import SchemaError, migrations
from chatd.log import event

log = logging.getLogger("chatd.db")

FOLDER = "migrations_pg"
_LOCK = "SELECT pg_advisory_lock(hashtextextended('chatd schema', 0))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended('chatd schema', 0))"


def current_version(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    found = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return 0 if found is None or found[0] is None else int(str(found[0]))


def migrate(url: str) -> int:
    """Bring the schema up to date; return the version now in force."""
    found = migrations(FOLDER)
    latest = len(found)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise SchemaError(f"cannot reach the database of storage.postgres_url: {exc}") from exc
    with conn:
        conn.execute(_LOCK)
        try:
            version = current_version(conn)
            if version > latest:
                raise SchemaError(
                    f"the database schema is version {version}, newer than this chatd knows "
                    f"({latest}); run a newer chatd"
                )
            for number, name, sql in found[version:]:
                try:
                    with conn.transaction():
                        conn.execute(sql.encode())
                        conn.execute(
                            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
                        )
                        conn.execute("DELETE FROM schema_version")
                        conn.execute("INSERT INTO schema_version VALUES (%s)", (number,))
                except psycopg.Error as exc:
                    raise SchemaError(f"migration {name} failed: {exc}") from exc
                event(log, logging.INFO, "db.migrated", migration=name, version=number)
        finally:
            conn.execute(_UNLOCK)
    return latest
