"""Search candidates on PostgreSQL, for the same contract and the same deciding loop as SQLite.

A term of 3+ characters is `body ILIKE '%term%'`, answered by the pg_trgm GIN index on
`messages.body`; a 2-character CJK term must be one of the body's CJK bigrams, answered by
the GIN index on `chatd_cjk_bigrams(body)` (migrations_pg/0003). Both indexes cover live
messages only, as the query does. Rows stream newest first through a server-side cursor, so
the caller's loop stops reading as soon as its page is full; the bounded read that runs this
sets the statement timeout (`PostgresDatabase.read_bounded`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _contains(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def candidates(
    conn: Any,
    user_id: str,
    terms: tuple[str, ...],
    conversation_id: str | None,
    author_id: str | None,
    before_rowid: int | None,
) -> Iterable[tuple[object, ...]]:
    """(rowid, id, body) of the live messages in the user's conversations holding every term."""
    if not terms:
        return []
    where = ["m.deleted = 0"]
    params: list[object] = []
    pairs = [term for term in terms if len(term) < 3]
    for term in terms:
        if len(term) >= 3:
            where.append("m.body ILIKE ? ESCAPE '\\'")
            params.append(_contains(term))
    if pairs:
        where.append("chatd_cjk_bigrams(m.body) @> ?::text[]")
        params.append(pairs)
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
    return conn.stream(  # type: ignore[no-any-return]
        "SELECT m.rowid, m.id, m.body FROM messages m WHERE "
        + " AND ".join(where)
        + " ORDER BY m.rowid DESC",
        params,
    )
