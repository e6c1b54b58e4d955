"""The search query on PostgreSQL (the contract's rules, with PostgreSQL's indexes).

A 3+ character term is `body ILIKE '%term%'`, answered by the pg_trgm GIN index on
`messages.body` (ILIKE folds case in any script the database's locale knows); a 2-character
CJK term must be one of the body's CJK bigrams, answered by the GIN index on
`chatd_cjk_bigrams(body)` (migrations_pg/0003). Both indexes cover live messages only, as
the query does. A statement timeout bounds what one search may cost.
"""

from __future__ import annotations

from typing import Any

SEARCH_TIMEOUT_MS = 5000


def _contains(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def find(
    conn: Any,
    user_id: str,
    trigram_terms: list[str],
    cjk_terms: list[str],
    conversation_id: str | None,
    author_id: str | None,
    before_rowid: int | None,
    limit: int,
) -> list[tuple[int, str]]:
    """(rowid, id) of up to `limit + 1` matches, newest first."""
    if not trigram_terms and not cjk_terms:
        return []
    where = ["m.deleted = 0"]
    params: list[object] = []
    for term in trigram_terms:
        where.append("m.body ILIKE ? ESCAPE '\\'")
        params.append(_contains(term))
    if cjk_terms:
        where.append("chatd_cjk_bigrams(m.body) @> ?::text[]")
        params.append(list(cjk_terms))
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
    params.append(limit + 1)
    conn.execute(f"SET LOCAL statement_timeout = {SEARCH_TIMEOUT_MS}")
    rows = conn.execute(
        "SELECT m.rowid, m.id FROM messages m WHERE "
        + " AND ".join(where)
        + " ORDER BY m.rowid DESC LIMIT ?",
        params,
    ).fetchall()
    return [(int(rowid), str(message_id)) for rowid, message_id in rows]
