"""SQL for full-text search: index rows and the newest-first query.

On SQLite chatd keeps two FTS5 tables itself, in a file of their own attached as `search`
(`index`, `unindex`, the catch-up marks; edits and deletes queue in `search_changes`); on
PostgreSQL the engine keeps its indexes on `messages.body` in the writing transaction
(`external` is False there) and `pgsearch` selects the candidates.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable

from chatd.models import Message
from chatd.store import messages, pgsearch
from chatd.store.dialect import is_postgres


def external(conn: sqlite3.Connection) -> bool:
    """Whether chatd writes the index itself (SQLite's FTS5 tables) rather than the engine
    (PostgreSQL, whose indexes on `messages.body` follow every write)."""
    return not is_postgres(conn)


# ---- the index file (SQLite): `search.db`, attached as `search` -----------------------

INDEX_VERSION = 1  # of the index file's tables; another version is dropped and rebuilt


def prepare(conn: sqlite3.Connection) -> None:
    """Create the index file's tables, or empty them when they do not belong to this
    database (another version, or a mark the messages table does not hold: the file of a
    data directory restored from a backup)."""
    if _has_marks(conn) and _current(conn):
        return
    for table in ("search_trigram", "search_cjk", "marks"):
        conn.execute(f"DROP TABLE IF EXISTS search.{table}")
    conn.execute(
        "CREATE VIRTUAL TABLE search.search_trigram"
        " USING fts5(body, content='', tokenize='trigram')"
    )
    conn.execute(
        "CREATE VIRTUAL TABLE search.search_cjk"
        " USING fts5(bigrams, content='', tokenize='unicode61')"
    )
    conn.execute("CREATE TABLE search.marks (key TEXT PRIMARY KEY, value NOT NULL)")
    conn.executemany(
        "INSERT INTO search.marks (key, value) VALUES (?, ?)",
        [("version", INDEX_VERSION), ("indexed_through", 0), ("indexed_through_id", ""),
         ("changes_through", 0)],
    )  # fmt: skip


def _current(conn: sqlite3.Connection) -> bool:
    """Whether the index file's marks fit this version and this database's messages."""
    version = conn.execute("SELECT value FROM search.marks WHERE key = 'version'").fetchone()
    if version is None or int(version[0]) != INDEX_VERSION:
        return False
    through, through_id, changes = _marks(conn)
    if through:
        found = conn.execute("SELECT id FROM main.messages WHERE rowid = ?", (through,)).fetchone()
        if found is None or found[0] != through_id:
            return False
    last = conn.execute(
        "SELECT seq FROM main.sqlite_sequence WHERE name = 'search_changes'"
    ).fetchone()
    return changes <= (int(last[0]) if last else 0)


def _has_marks(conn: sqlite3.Connection) -> bool:
    found = conn.execute("SELECT 1 FROM search.sqlite_master WHERE name = 'marks'").fetchone()
    return found is not None


def _marks(conn: sqlite3.Connection) -> tuple[int, str, int]:
    values = dict(conn.execute("SELECT key, value FROM search.marks").fetchall())
    return (
        int(values["indexed_through"]),
        str(values["indexed_through_id"]),
        int(values["changes_through"]),
    )


def marks(conn: sqlite3.Connection) -> tuple[int, int]:
    """(indexed_through, changes_through): messages up to that rowid are in the index, the
    ones after it wait for a catch-up; so do the edits and deletes after that change."""
    through, _, changes = _marks(conn)
    return through, changes


def set_marks(conn: sqlite3.Connection, indexed_through: int, changes_through: int) -> None:
    """Move both marks; the id of the message at `indexed_through` is kept with it, which
    `prepare` checks against the messages table."""
    row = conn.execute(
        "SELECT id FROM main.messages WHERE rowid = ?", (indexed_through,)
    ).fetchone()
    conn.executemany(
        "UPDATE search.marks SET value = ? WHERE key = ?",
        [(indexed_through, "indexed_through"), (row[0] if row else "", "indexed_through_id"),
         (changes_through, "changes_through")],
    )  # fmt: skip


def index(conn: sqlite3.Connection, rowid: int, body: str, bigrams: str) -> None:
    conn.execute("INSERT INTO search.search_trigram (rowid, body) VALUES (?, ?)", (rowid, body))
    if bigrams:
        conn.execute(
            "INSERT INTO search.search_cjk (rowid, bigrams) VALUES (?, ?)", (rowid, bigrams)
        )


def unindex(conn: sqlite3.Connection, rowid: int, body: str, bigrams: str) -> None:
    """Remove a row: contentless tables need the text that was indexed."""
    conn.execute(
        "INSERT INTO search.search_trigram (search_trigram, rowid, body) VALUES ('delete', ?, ?)",
        (rowid, body),
    )
    if bigrams:
        conn.execute(
            "INSERT INTO search.search_cjk (search_cjk, rowid, bigrams) VALUES ('delete', ?, ?)",
            (rowid, bigrams),
        )


def after(conn: sqlite3.Connection, rowid: int, limit: int) -> list[tuple[int, str, bool]]:
    """(rowid, body, deleted) of the next `limit` messages after `rowid`."""
    rows = conn.execute(
        "SELECT rowid, body, deleted FROM main.messages WHERE rowid > ? ORDER BY rowid LIMIT ?",
        (rowid, limit),
    ).fetchall()
    return [(int(r), str(body), bool(deleted)) for r, body, deleted in rows]


def empty(conn: sqlite3.Connection) -> None:
    """Remove every row from the index (the marks are the caller's)."""
    conn.execute("INSERT INTO search.search_trigram (search_trigram) VALUES ('delete-all')")
    conn.execute("INSERT INTO search.search_cjk (search_cjk) VALUES ('delete-all')")


# ---- edits and deletes, queued in the main file by the transaction that makes them -----


def record_change(conn: sqlite3.Connection, message_id: str, old_body: str) -> None:
    """An edit or delete of the message: the index writer replaces `old_body` with what the
    message holds then (nothing, if deleted), if it had indexed the message already."""
    conn.execute(
        "INSERT INTO search_changes (message_rowid, old_body)"
        " SELECT rowid, ? FROM messages WHERE id = ?",
        (old_body, message_id),
    )


def changes_after(conn: sqlite3.Connection, seq: int) -> list[tuple[int, int, str, str, bool]]:
    """(seq, message rowid, old body, current body, deleted) of every change after `seq`,
    oldest first."""
    rows = conn.execute(
        "SELECT c.seq, c.message_rowid, c.old_body, m.body, m.deleted FROM main.search_changes c"
        " JOIN main.messages m ON m.rowid = c.message_rowid WHERE c.seq > ? ORDER BY c.seq",
        (seq,),
    ).fetchall()
    return [(int(q), int(r), str(old), str(body), bool(gone)) for q, r, old, body, gone in rows]


def forget_changes(conn: sqlite3.Connection, through: int) -> None:
    """Drop the changes the index has taken (it keeps its own mark, so this may lag)."""
    conn.execute("DELETE FROM search_changes WHERE seq <= ?", (through,))


def find(
    conn: sqlite3.Connection,
    user_id: str,
    trigram_query: str | None,
    cjk_query: str | None,
    conversation_id: str | None,
    author_id: str | None,
    before_rowid: int | None,
    limit: int,
    keep: Callable[[str], bool],
    terms: tuple[str, ...] = (),
) -> tuple[list[Message], int | None]:
    """Newest first, only in the user's conversations, deleted messages never; next cursor.

    The MATCH expressions select candidates cheaply (each a few index tokens, no positions);
    `keep(body)` decides. Rows stream newest first, already narrowed to the caller's
    conversations, and the loop stops as soon as a page is full, so a broad query costs
    only as much as it reads. PostgreSQL selects its candidates from `terms` instead of the
    MATCH expressions (`pgsearch`), then the same loop decides.
    """
    if is_postgres(conn):
        rows: Iterable[tuple[object, ...]] = pgsearch.candidates(
            conn, user_id, terms, conversation_id, author_id, before_rowid
        )
    else:
        rows = _candidates(
            conn, user_id, trigram_query, cjk_query, conversation_id, author_id, before_rowid
        )
    page: list[tuple[int, str]] = []
    more = False
    for rowid, message_id, body in rows:
        if not keep(str(body)):
            continue
        if len(page) == limit:
            more = True
            break
        page.append((int(str(rowid)), str(message_id)))
    close = getattr(rows, "close", None)
    if close is not None:
        close()
    found = [messages.get(conn, message_id) for _, message_id in page]
    result = [m for m in found if m is not None]
    messages.hydrate(conn, result)
    cursor = page[-1][0] if more else None
    return result, cursor


def _candidates(
    conn: sqlite3.Connection,
    user_id: str,
    trigram_query: str | None,
    cjk_query: str | None,
    conversation_id: str | None,
    author_id: str | None,
    before_rowid: int | None,
) -> Iterable[tuple[object, ...]]:
    """(rowid, id, body) of the candidates in the FTS5 tables, newest first, streamed."""
    sources = []
    params: list[object] = []
    if trigram_query:
        sources.append("SELECT rowid FROM search.search_trigram WHERE search_trigram MATCH ?")
        params.append(trigram_query)
    if cjk_query:
        sources.append("SELECT rowid FROM search.search_cjk WHERE search_cjk MATCH ?")
        params.append(cjk_query)
    if not sources:
        return []
    where = ["m.deleted = 0", "m.rowid IN (" + " INTERSECT ".join(sources) + ")"]
    where.append("m.conversation_id IN (SELECT conversation_id FROM members WHERE user_id = ?)")
    params.append(user_id)
    if conversation_id is not None:
        where.append("m.conversation_id = ?")
        params.append(conversation_id)
    if author_id is not None:
        where.append("m.author_id = ?")
        params.append(author_id)
    if before_rowid is not None:
        where.append("m.rowid < ?")
        params.append(before_rowid)
    return conn.execute(
        "SELECT m.rowid, m.id, m.body FROM messages m WHERE "
        + " AND ".join(where)
        + " ORDER BY m.rowid DESC",
        params,
    )
