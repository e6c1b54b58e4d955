"""SQL for full-text search: index rows and the newest-first query.

On SQLite chatd keeps two FTS5 tables itself (`index`, `unindex`, the catch-up mark); on
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


def index(conn: sqlite3.Connection, rowid: int, body: str, bigrams: str) -> None:
    conn.execute("INSERT INTO search_trigram (rowid, body) VALUES (?, ?)", (rowid, body))
    if bigrams:
        conn.execute("INSERT INTO search_cjk (rowid, bigrams) VALUES (?, ?)", (rowid, bigrams))


def unindex(conn: sqlite3.Connection, rowid: int, body: str, bigrams: str) -> None:
    """Remove a row: contentless tables need the text that was indexed."""
    conn.execute(
        "INSERT INTO search_trigram (search_trigram, rowid, body) VALUES ('delete', ?, ?)",
        (rowid, body),
    )
    if bigrams:
        conn.execute(
            "INSERT INTO search_cjk (search_cjk, rowid, bigrams) VALUES ('delete', ?, ?)",
            (rowid, bigrams),
        )


def indexed_through(conn: sqlite3.Connection) -> int:
    """Messages up to this rowid are in the index; the ones after it wait for a catch-up."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'search_indexed_through'").fetchone()
    return int(row[0])


def set_indexed_through(conn: sqlite3.Connection, rowid: int) -> None:
    conn.execute("UPDATE meta SET value = ? WHERE key = 'search_indexed_through'", (rowid,))


def after(conn: sqlite3.Connection, rowid: int, limit: int) -> list[tuple[int, str, bool]]:
    """(rowid, body, deleted) of the next `limit` messages after `rowid`."""
    rows = conn.execute(
        "SELECT rowid, body, deleted FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?",
        (rowid, limit),
    ).fetchall()
    return [(int(r), str(body), bool(deleted)) for r, body, deleted in rows]


def rowid_of(conn: sqlite3.Connection, message_id: str) -> int:
    return int(conn.execute("SELECT rowid FROM messages WHERE id = ?", (message_id,)).fetchone()[0])


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
        sources.append("SELECT rowid FROM search_trigram WHERE search_trigram MATCH ?")
        params.append(trigram_query)
    if cjk_query:
        sources.append("SELECT rowid FROM search_cjk WHERE search_cjk MATCH ?")
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
