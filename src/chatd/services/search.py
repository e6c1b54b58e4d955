"""Full-text search: matching rules and index text.

Terms of three or more characters match any part of a word in any script (SQLite's trigram
tokenizer, which also folds case; pg_trgm on PostgreSQL); a two-character term of Chinese,
Japanese or Korean matches through a second index of CJK bigrams. All terms must appear;
`"a phrase"` matches as written.

Sends do not touch the index: indexing a message costs more than storing it, and a commit of
one message would write a new index segment. `SearchIndexer` indexes what was sent in one
batch a moment later (and at start-up, whatever a crash left behind); a search first catches
up, so it finds every message that was acknowledged before it. Edits and deletes of indexed
messages change the index in their own transaction; of not yet indexed ones, nothing to do.
On PostgreSQL none of this runs: the engine keeps its indexes in the writing transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
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


def terms(q: str) -> tuple[list[str], list[str]]:
    """(terms of 3+ characters, 2-character CJK terms) of a query; shorter ones are dropped."""
    trigram_terms, bigram_terms = [], []
    for phrase, word in _TERM_RE.findall(q):
        term = (phrase or word).strip()
        if len(term) >= 3:
            trigram_terms.append(term)
        elif _CJK_PAIR_RE.fullmatch(term):
            bigram_terms.append(term)
    return trigram_terms, bigram_terms


CATCH_UP_DELAY_S = 0.2
CATCH_UP_ROWS = 2000  # per transaction, so a long backlog never holds the writer for long


def _index(conn: sqlite3.Connection, rowid: int, body: str) -> None:
    search.index(conn, rowid, body, cjk_bigrams(body))


def _indexed_rowid(conn: sqlite3.Connection, message_id: str) -> int | None:
    """The message's rowid if it is in chatd's index yet; None while it waits for a
    catch-up, or when the engine keeps the index itself (PostgreSQL)."""
    if not search.external(conn):
        return None
    rowid = search.rowid_of(conn, message_id)
    return rowid if rowid <= search.indexed_through(conn) else None


def reindex(conn: sqlite3.Connection, message_id: str, old_body: str, new_body: str) -> None:
    """An edit: the index follows the new body (the catch-up reads it if not indexed yet)."""
    rowid = _indexed_rowid(conn, message_id)
    if rowid is not None:
        search.unindex(conn, rowid, old_body, cjk_bigrams(old_body))
        _index(conn, rowid, new_body)


def unindex(conn: sqlite3.Connection, message_id: str, body: str) -> None:
    rowid = _indexed_rowid(conn, message_id)
    if rowid is not None:
        search.unindex(conn, rowid, body, cjk_bigrams(body))


def catch_up(conn: sqlite3.Connection, limit: int = CATCH_UP_ROWS) -> bool:
    """Index the next messages after the mark (deleted ones are skipped); True if more wait."""
    rows = search.after(conn, search.indexed_through(conn), limit)
    for rowid, body, deleted in rows:
        if not deleted:
            _index(conn, rowid, body)
    if rows:
        search.set_indexed_through(conn, rows[-1][0])
    return len(rows) == limit


class SearchIndexer:
    """Indexes sent messages in batches, `CATCH_UP_DELAY_S` after the first of them."""

    def __init__(self, db: Database, delay_s: float = CATCH_UP_DELAY_S) -> None:
        self.db = db
        self.delay_s = delay_s
        self.enabled = db.dialect == "sqlite"  # PostgreSQL indexes in the send transaction
        self.dirty = self.enabled  # whatever the last run left unindexed
        self._task: asyncio.Task[None] | None = None

    def sent(self) -> None:
        """A message was committed (called on the event loop, after the commit)."""
        if not self.enabled:
            return
        self.dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._later(), name="chatd-search-catch-up")

    async def _later(self) -> None:
        await asyncio.sleep(self.delay_s)
        await self.catch_up()

    async def catch_up(self) -> None:
        while self.dirty:
            self.dirty = False
            while await self.db.write(catch_up):
                pass

    async def close(self) -> None:
        """Index what is left (the next start would otherwise do it) and stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.catch_up()


class Search:
    def __init__(self, db: Database, indexer: SearchIndexer) -> None:
        self.db = db
        self.indexer = indexer

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
        trigram, bigram = terms(text)
        if not trigram and not bigram:
            return [], None
        await self.indexer.catch_up()
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
