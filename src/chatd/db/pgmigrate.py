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


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise SchemaError(f"cannot reach the database of storage.postgres_url: {exc}") from exc


def read_version(url: str) -> int:
    """The schema version, read without writing anything (an admin command beside a server)."""
    with _connect(url) as conn:
        return current_version(conn)


def _nodes_alive(conn: psycopg.Connection[tuple[object, ...]], since: int) -> list[str]:
    """Names in the node registry (services/nodes.py) heard from at `since` (ms) or later; a
    schema older than the registry (migration 0008) has none to ask."""
    row = conn.execute("SELECT to_regclass('nodes') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return []
    rows = conn.execute(
        "SELECT name FROM nodes WHERE heartbeat_at >= %s ORDER BY name", (since,)
    ).fetchall()
    return [str(name) for (name,) in rows]


def migrate(url: str, refuse_nodes_alive_since: int | None = None) -> int:
    """Bring the schema up to date; return the version now in force.

    With `refuse_nodes_alive_since` (an admin command), an upgrade is refused while a node
    is alive: nodes migrate at their own start, so one alive on an older schema runs an older
    chatd, which must not find its tables changed under it."""
    found = migrations(FOLDER)
    latest = len(found)
    conn = _connect(url)
    with conn:
        conn.execute(_LOCK)
        try:
            version = current_version(conn)
            if version > latest:
                raise SchemaError(
                    f"the database schema is version {version}, newer than this chatd knows "
                    f"({latest}); run a newer chatd"
                )
            alive = (
                []
                if refuse_nodes_alive_since is None or version == latest
                else (_nodes_alive(conn, refuse_nodes_alive_since))
            )
            if alive:
                raise SchemaError(
                    f"chatd nodes are running on this database ({', '.join(alive)}) with "
                    f"schema version {version}, and this chatd is for version {latest}: "
                    "refusing to migrate under them; upgrade the nodes (each migrates at its "
                    "start) or use their chatd version for admin commands"
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
