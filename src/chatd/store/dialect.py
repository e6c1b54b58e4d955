"""Which SQL dialect a store function is talking to.

Store functions are written once for both engines: `?` placeholders (the PostgreSQL connection
rewrites them), `INSERT ... ON CONFLICT`, `RETURNING`, booleans as 0/1 integers. The few
statements that cannot be the same text (SQLite's planner hints, its FTS5 tables, the seq
counter several PostgreSQL writers share) branch on `is_postgres(conn)`, here in `store/`
only: services never know which engine runs.

The check is one type comparison: the embedded path pays nothing measurable for it.
"""

from __future__ import annotations

import sqlite3
from typing import Any


def is_postgres(conn: Any) -> bool:
    """True for `chatd.db.pgconn.PgConnection`, False for SQLite's own connection."""
    return type(conn) is not sqlite3.Connection
