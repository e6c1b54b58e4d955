"""Full-text search: matching rules and index text.

Terms of three or more characters match any part of a word in any script (SQLite's trigram
tokenizer, which also folds case); a two-character term of Chinese, Japanese or Korean matches
through a second index of CJK bigrams. All terms must appear; `"a phrase"` matches as written.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from chatd.db.database import Database
from chatd.models import Message, User
from chatd.services import validation
from chatd.store import search

_CJK = (
    "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
)
_CJK_RUN_RE = re.compile(f"[{_CJK}]{{2,}}")
_CJK_PAIR_RE = re.compile(f"[{_CJK}]{{2}}")
_TERM_RE = re.compile(r'"([^"]*)"|(\S+)')


def cjk_bigrams(text: str) -> str:
    """Every overlapping pair of CJK characters, space separated: what the bigram index holds."""
    pairs = []
    for run in _CJK_RUN_RE.findall(text):
        pairs += [run[i : i + 2] for i in range(len(run) - 1)]
    return " ".join(pairs)


def _literal(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def parse(q: str) -> tuple[str | None, str | None]:
    """(trigram MATCH expression, bigram MATCH expression) for a query; None where unused."""
    trigram_terms, bigram_terms = [], []
    for phrase, word in _TERM_RE.findall(q):
        term = (phrase or word).strip()
        if len(term) >= 3:
            trigram_terms.append(_literal(term))
        elif _CJK_PAIR_RE.fullmatch(term):
            bigram_terms.append(_literal(term))
    return (
        " AND ".join(trigram_terms) or None,
        " AND ".join(bigram_terms) or None,
    )


def index(conn: sqlite3.Connection, message_id: str, body: str, rowid: int | None = None) -> None:
    key = rowid if rowid is not None else search.rowid_of(conn, message_id)
    search.index(conn, key, body, cjk_bigrams(body))


def unindex(conn: sqlite3.Connection, message_id: str, body: str) -> None:
    search.unindex(conn, search.rowid_of(conn, message_id), body, cjk_bigrams(body))


class Search:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def find(
        self, user: User, q: Any, conversation_id: Any, author_id: Any, limit: Any, cursor: Any
    ) -> tuple[list[Message], str | None]:
        text = validation.text(q, "q") or ""
        if len(text) > 500:
            raise validation.fail("q", "must be at most 500 characters")
        if validation.has_control(text):
            raise validation.fail("q", "must not contain control characters")
        size = validation.limit(limit)
        before = None
        if cursor not in (None, ""):
            before = validation.integer(cursor, "cursor", minimum=1)
        trigram, bigram = parse(text)
        if trigram is None and bigram is None:
            return [], None
        found, next_rowid = await self.db.read(
            search.find,
            user.id,
            trigram,
            bigram,
            conversation_id or None,
            author_id or None,
            before,
            size,
        )
        return found, None if next_rowid is None else str(next_rowid)
