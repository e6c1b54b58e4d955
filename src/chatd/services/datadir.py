"""The data directory: the server prepares it, an admin command only uses it.

`chatd serve` owns the working files: it creates the directories, clears unfinished uploads
from `tmp/`, migrates the schema, and holds a shared `flock` on `chatd.lock` for as long as it
runs (several nodes sharing one data directory each hold it shared; on SQLite, where one
server per data directory is the rule, a second `chatd serve` is refused before it could
sweep the first one's `tmp/`). That lock is how an admin command (`chatd user ...`,
`invite`, `export`, `import`, ...) knows a server is running:

- it never touches `tmp/` (a running server's uploads in flight are there);
- with no server running it takes the lock exclusively and may migrate (a server starting
  meanwhile waits for the migration, up to `ONLY_SERVER_WAIT_S` on SQLite);
- with a server running it works only on a schema of exactly its own version, which the
  running server uses; otherwise it refuses, says why, and leaves the database alone.

On PostgreSQL the nodes may sit on other machines with data directories of their own, so the
lock cannot see them: there the admin command also refuses to migrate while the node registry
(`nodes`, see `services/nodes.py`) has a node alive. A node migrates at its own start, so a
live node on a schema older than the command's is a node of an older chatd.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import time
from pathlib import Path

from chatd.config import Config
from chatd.db import migrate
from chatd.db.database import connect
from chatd.db.indexfile import IndexFile
from chatd.db.migrate import SchemaError
from chatd.services.nodes import ALIVE_S

LOCK_FILE = "chatd.lock"
SEARCH_INDEX_FILE = "search.db"  # beside chatd.db; derived, rebuilt when missing or stale
STALE_UPLOAD_S = 3600
ONLY_SERVER_WAIT_S = 5.0  # how long a starting SQLite server waits for an admin migration


class ServerRunning(SchemaError):
    """An admin command met a running server of another schema version; the message says
    what to do."""


class DataDirBusy(Exception):
    """Another server runs on this SQLite data directory; the message says what to do."""


class DataDirLock:
    """`flock` on `<data_dir>/chatd.lock`: shared by every running server, exclusive for an
    admin command's migration. The kernel drops it when the process dies, so a killed
    server leaves no stale marker behind."""

    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_FILE
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def hold_shared(self) -> None:
        """Mark a server running; waits while an admin command migrates (seconds at most)."""
        fcntl.flock(self._open(), fcntl.LOCK_SH)

    def hold_as_only_server(self, wait_s: float = ONLY_SERVER_WAIT_S) -> None:
        """`hold_shared` for a server on SQLite, which must be the only one on its data
        directory (its single writer and its sweep of `tmp/` assume it): take the lock
        exclusively first, waiting up to `wait_s` for an admin command's migration, then
        keep it shared like any server. Raises `DataDirBusy`."""
        deadline = time.monotonic() + wait_s
        while not self.try_exclusive():
            if time.monotonic() >= deadline:
                self.release()
                raise DataDirBusy(
                    f"another chatd server is running on {self.path.parent} (it holds "
                    f"{self.path}): one server per SQLite data directory. Stop it first; if "
                    "an admin command is upgrading the database instead, start again once "
                    "it is done"
                )
            time.sleep(0.1)
        fcntl.flock(self._open(), fcntl.LOCK_SH)  # a downgrade: admin commands see a server

    def try_exclusive(self) -> bool:
        """True if no server holds the lock (it is then ours until `release`)."""
        try:
            fcntl.flock(self._open(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the lock
            self._fd = None


def _make_dirs(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "files").mkdir(exist_ok=True)
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)
    return tmp


def search_index(db_path: Path) -> IndexFile:
    """The search index's file beside the database at `db_path`, attached as `search` (the
    schema name store/search.py's SQL uses)."""
    return IndexFile(db_path.with_name(SEARCH_INDEX_FILE), "search")


def prepare_data_dir(config: Config) -> Path:
    """For the server (its caller holds `DataDirLock.hold_shared`): create the directories,
    clear unfinished uploads, migrate the schema. Returns the path of the SQLite database
    (on PostgreSQL, whose schema this migrates, the data directory)."""
    root = config.storage.path
    tmp = root / "tmp"
    if config.storage.backend == "postgres":
        _make_dirs(root)
        _clear_stale_uploads(tmp)
        from chatd.db import pgmigrate  # psycopg is imported on this path only

        pgmigrate.migrate(config.storage.postgres_url)
        return root
    if tmp.exists():  # one server per SQLite data directory: every part left is a dead one
        shutil.rmtree(tmp, ignore_errors=True)
    _make_dirs(root)
    return _migrate_sqlite(config, root)


def _migrate_sqlite(config: Config, root: Path) -> Path:
    """Bring the SQLite database up to date (creating it); its path."""
    db_path = root / "chatd.db"
    conn = connect(db_path, config.storage.synchronous)
    try:
        migrate.migrate(conn, root)
    finally:
        conn.close()
    return db_path


def _clear_stale_uploads(tmp: Path) -> None:
    """On a data directory other nodes share, `tmp/` holds their uploads in progress too:
    remove only parts nobody has written to for an hour."""
    cutoff = time.time() - STALE_UPLOAD_S
    for part in tmp.iterdir():
        with contextlib.suppress(OSError):
            if part.is_file() and part.stat().st_mtime < cutoff:
                part.unlink()


def open_for_admin(config: Config) -> Path:
    """For an admin command: the same return value as `prepare_data_dir`, without touching a
    running server's files, and migrating only when no server uses the schema (module
    docstring). Raises `ServerRunning` or `SchemaError` with a message for the operator."""
    root = config.storage.path
    _make_dirs(root)  # exist_ok: nothing of a running server's is removed or changed
    lock = DataDirLock(root)
    try:
        if lock.try_exclusive():
            return _migrate_alone(config, root)
        return _check_beside_server(config, root)
    finally:
        lock.release()


def _migrate_alone(config: Config, root: Path) -> Path:
    """No server on this data directory: migrate (refusing, on PostgreSQL, while nodes
    elsewhere are alive on an older schema)."""
    if config.storage.backend == "postgres":
        from chatd.db import pgmigrate

        since = int((time.time() - ALIVE_S) * 1000)
        pgmigrate.migrate(config.storage.postgres_url, refuse_nodes_alive_since=since)
        return root
    return _migrate_sqlite(config, root)


def _check_beside_server(config: Config, root: Path) -> Path:
    """A server runs on this data directory: its schema must be ours, read without writing."""
    latest = migrate.latest_version()
    if config.storage.backend == "postgres":
        from chatd.db import pgmigrate

        version = pgmigrate.read_version(config.storage.postgres_url)
        prepared = root
    else:
        prepared = root / "chatd.db"
        version = _sqlite_version(prepared)
    if version != latest:
        advice = (
            "stop the server to upgrade the database with this chatd (then run the same "
            "version's `chatd serve`), or use the server's own chatd for admin commands"
            if version < latest
            else "use the server's own (newer) chatd for admin commands"
        )
        raise ServerRunning(
            f"a chatd server is running on {root} with database schema version {version}, "
            f"and this chatd is for version {latest}: refusing to touch the database; " + advice
        )
    return prepared


def _sqlite_version(db_path: Path) -> int:
    """`user_version`, read only (mode=ro: not even the WAL files are created)."""
    if not db_path.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        return migrate.current_version(conn)
