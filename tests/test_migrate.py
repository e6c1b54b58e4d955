"""Migrations: applied in order once, backup before an upgrade, newer schema refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chatd.db import migrate


def test_fresh_database_gets_every_migration(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "chatd.db", isolation_level=None)
    assert migrate.migrate(conn, tmp_path) == migrate.latest_version()
    assert migrate.current_version(conn) == migrate.latest_version()
    assert migrate.migrate(conn, tmp_path) == migrate.latest_version()  # idempotent
    assert not (tmp_path / "backups").exists()  # no backup for a new database


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "chatd.db", isolation_level=None)
    conn.execute(f"PRAGMA user_version = {migrate.latest_version() + 1}")
    with pytest.raises(migrate.SchemaError, match="newer"):
        migrate.migrate(conn, tmp_path)


def test_upgrade_takes_a_backup_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = migrate.migrations()
    conn = sqlite3.connect(tmp_path / "chatd.db", isolation_level=None)
    monkeypatch.setattr(migrate, "migrations", lambda: real[:1])
    migrate.migrate(conn, tmp_path)
    conn.execute("INSERT INTO meta (key, value) VALUES ('marker', 42)")
    extra = (len(real) + 1, "9999_test.sql", "CREATE TABLE upgraded (x INTEGER);")
    monkeypatch.setattr(migrate, "migrations", lambda: [*real, extra])
    assert migrate.migrate(conn, tmp_path) == len(real) + 1
    backups = list((tmp_path / "backups").iterdir())
    assert len(backups) == 1
    copy = sqlite3.connect(backups[0])
    assert copy.execute("SELECT value FROM meta WHERE key = 'marker'").fetchone() == (42,)
    assert copy.execute("PRAGMA user_version").fetchone() == (1,)


def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = migrate.migrations()
    conn = sqlite3.connect(tmp_path / "chatd.db", isolation_level=None)
    migrate.migrate(conn, tmp_path)
    broken = (len(real) + 1, "9999_bad.sql", "CREATE TABLE half (x INTEGER); SELECT nonsense();")
    monkeypatch.setattr(migrate, "migrations", lambda: [*real, broken])
    with pytest.raises(migrate.SchemaError):
        migrate.migrate(conn, tmp_path)
    assert migrate.current_version(conn) == len(real)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half" not in tables
