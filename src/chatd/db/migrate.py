"""Numbered, append-only migrations, one transaction each, with a backup before an upgrade.

The schema version is SQLite's `user_version`. A database newer than the code is refused
rather than guessed at: an older chatd must not write into a newer schema.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from importlib import resources
from pathlib import Path

from chatd.log import event

log = logging.getLogger("chatd.db")


class SchemaError(Exception):
    """The database cannot be used by this version of chatd."""


def migrations(folder: str = "migrations") -> list[tuple[int, str, str]]:
    """(number, name, sql) for every bundled migration, in order (`migrations_pg` holds
    PostgreSQL's)."""
    found = []
    for entry in resources.files("chatd.db").joinpath(folder).iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise SchemaError(f"{folder} are not numbered 1..n: {numbers}")
    return found


def latest_version() -> int:
    return len(migrations())


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def backup_copy(conn: sqlite3.Connection, dest: Path) -> None:
    """A consistent copy of a live database through SQLite's online backup."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    target = sqlite3.connect(dest)
    try:
        conn.backup(target)
    finally:
        target.close()


def migrate(conn: sqlite3.Connection, data_dir: Path) -> int:
    """Bring the schema up to date; return the version now in force."""
    found = migrations()
    latest = len(found)
    version = current_version(conn)
    if version > latest:
        raise SchemaError(
            f"the database schema is version {version}, newer than this chatd knows ({latest}); "
            "run a newer chatd or restore a backup"
        )
    if version == latest:
        return version
    if version > 0:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        dest = data_dir / "backups" / f"chatd-v{version}-{stamp}.db"
        backup_copy(conn, dest)
        event(log, logging.INFO, "db.backup_before_upgrade", path=str(dest), version=version)
    for number, name, sql in found[version:]:
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise SchemaError(f"migration {name} failed: {exc}") from exc
        event(log, logging.INFO, "db.migrated", migration=name, version=number)
    return latest
