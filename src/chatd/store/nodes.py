"""The node registry: which chatd nodes share this database, and when each last said so."""

from __future__ import annotations

import sqlite3


def beat(conn: sqlite3.Connection, name: str, instance: str, bus: str, now: int) -> None:
    conn.execute(
        "INSERT INTO nodes (name, instance, bus, heartbeat_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET instance = excluded.instance, bus = excluded.bus, "
        "heartbeat_at = excluded.heartbeat_at",
        (name, instance, bus, now),
    )


def alive(conn: sqlite3.Connection, since: int) -> list[tuple[str, str, str]]:
    """(name, instance, bus) of every node heard from at `since` or later."""
    rows = conn.execute(
        "SELECT name, instance, bus FROM nodes WHERE heartbeat_at >= ? ORDER BY name", (since,)
    )
    return [(str(n), str(i), str(b)) for n, i, b in rows]


def leave(conn: sqlite3.Connection, name: str, instance: str) -> None:
    conn.execute("DELETE FROM nodes WHERE name = ? AND instance = ?", (name, instance))
