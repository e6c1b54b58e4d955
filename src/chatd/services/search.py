"""Full-text search: matching rules and index text.

Terms of three or more characters match any part of a word in any script (SQLite's trigram
tokenizer, which also folds case; pg_trgm on PostgreSQL); a two-character term of Chinese,
Japanese or Korean matches through a second index of CJK bigrams. All terms must appear;
`"a phrase"` matches as written.

Sends do not touch the index: indexing a message costs more than storing it, and a commit of
one message would write a new index segment. `SearchIndexer` indexes what was sent in one
batch a moment later (and at start-up, whatever a crash left behind), in a file of its own
with its own writer, so that FTS5's merges never hold the lock sends commit under; a search
first catches up, so it finds every message that was acknowledged before it. Edits and
deletes queue a change in their own transaction, which the next catch-up applies.
On PostgreSQL none of that runs: the engine keeps its indexes in the writing transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from chatd.db.database import Database, QueryInterrupted, SqliteDatabase
from chatd.errors import RateLimited, Unavailable
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


MAX_TERMS = 16  # words or phrases in one query; more answer 422
MAX_TOKENS = 12  # index tokens looked up per query, whatever its length
TOKENS_PER_TERM = 4


def _sample(term: str) -> list[str]:
    """A few trigrams spread over the term: first, last and evenly between.

    Any message holding the term holds all of them, so they select a superset of the
    matches; `Plan.keep` then checks the term itself. Matching the whole term in the index
    would cost one position check per trigram per occurrence (a 100-letter term over long
    messages of one repeated letter took seconds); a handful of tokens without positions
    bounds that cost whatever the query.
    """
    last = len(term) - 3
    if last <= 0:
        return [term[:3]]
    steps = min(TOKENS_PER_TERM - 1, last)
    return list(dict.fromkeys(term[round(i * last / steps) :][:3] for i in range(steps + 1)))


@dataclass(frozen=True)
class Plan:
    """A parsed query: index expressions that select candidates, and the terms to check."""

    trigram: str | None
    bigram: str | None
    terms: tuple[str, ...]

    def keep(self, body: str) -> bool:
        """Whether a candidate really holds every term (case folded, as the index folds)."""
        folded = body.lower()
        return all(term in folded for term in self.terms)


def plan(q: str) -> Plan:
    """Split a query into terms and choose the few index tokens that select candidates."""
    trigram_terms: list[list[str]] = []
    bigram_terms: list[str] = []
    terms: list[str] = []
    for phrase, word in _TERM_RE.findall(q):
        term = (phrase or word).strip()
        if len(term) >= 3:
            trigram_terms.append(_sample(term))
        elif _CJK_PAIR_RE.fullmatch(term):
            bigram_terms.append(_literal(term))
        else:
            continue
        terms.append(term.lower())
    if len(terms) > MAX_TERMS:
        raise validation.fail("q", f"must have at most {MAX_TERMS} words or phrases")
    tokens: list[str] = []
    for rank in range(TOKENS_PER_TERM):  # round robin: every term is represented first
        for sampled in trigram_terms:
            if rank < len(sampled) and len(tokens) < MAX_TOKENS:
                tokens.append(_literal(sampled[rank]))
    unique = list(dict.fromkeys(tokens))
    return Plan(
        " AND ".join(unique) or None,
        " AND ".join(dict.fromkeys(bigram_terms)) or None,
        tuple(dict.fromkeys(terms)),
    )


CATCH_UP_DELAY_S = 0.2
CATCH_UP_ROWS = 2000  # per transaction, so a long backlog never holds the writer for long


def _index(conn: sqlite3.Connection, rowid: int, body: str) -> None:
    search.index(conn, rowid, body, cjk_bigrams(body))


def changed(conn: sqlite3.Connection, message_id: str, old_body: str) -> None:
    """An edit or delete, in its own transaction: queued for the index writer (SQLite; on
    PostgreSQL the engine's indexes follow by themselves)."""
    if search.external(conn):
        search.record_change(conn, message_id, old_body)


def catch_up(conn: sqlite3.Connection, limit: int = CATCH_UP_ROWS) -> tuple[bool, int]:
    """On the index writer: apply the edits and deletes queued since the last run, then
    index the next messages after the mark (deleted ones are skipped). Returns whether more
    messages wait, and the last change applied (`search_changes` may drop those).

    A message's first queued change holds the text the index has for it: the index took the
    message's body at an earlier run, and every change since that run's snapshot is queued
    after the ones it applied. So that text goes out and the current body comes in, once per
    message however often it changed; a message after the mark is not indexed yet, and the
    catch-up that reaches it reads its current body."""
    through, changes_through = search.marks(conn)
    applied: set[int] = set()
    for seq, rowid, old_body, body, deleted in search.changes_after(conn, changes_through):
        changes_through = seq
        if rowid > through or rowid in applied:
            continue
        applied.add(rowid)
        search.unindex(conn, rowid, old_body, cjk_bigrams(old_body))
        if not deleted:
            _index(conn, rowid, body)
    rows = search.after(conn, through, limit)
    for rowid, body, deleted in rows:
        if not deleted:
            _index(conn, rowid, body)
    search.set_marks(conn, rows[-1][0] if rows else through, changes_through)
    return len(rows) == limit, changes_through


class SearchIndexer:
    """Indexes sent messages in batches, `CATCH_UP_DELAY_S` after the first of them, on the
    index file's own writer (db/indexfile.py): its merges never hold up a send.

    At most one catch-up runs at a time, and every search awaits it: `dirty` is cleared only
    by the run that then commits the index, and a search that finds a run in flight waits for
    it (and for another, if more was sent meanwhile), so no search can overtake an index
    write and miss an acknowledged message.
    """

    def __init__(self, db: Database, delay_s: float = CATCH_UP_DELAY_S) -> None:
        self.db = db
        self.delay_s = delay_s
        # None on PostgreSQL, which indexes in the send transaction: nothing to do here
        self.index = db.index if isinstance(db, SqliteDatabase) else None
        self.dirty = self.index is not None  # whatever the last run left unindexed
        self._task: asyncio.Task[None] | None = None
        self._running: asyncio.Task[None] | None = None
        self._changes_forgotten = 0

    async def start(self) -> None:
        """Make the index file fit the database (rebuilt from nothing when it does not:
        a restored backup, a first start), and index in the background whatever a crash
        or a rebuild left: searches await that, start-up does not."""
        if self.index is None:
            return
        await self.index.write(search.prepare)
        self._running = asyncio.create_task(self._run(), name="chatd-search-index")

    def sent(self) -> None:
        """A message was committed, edited or deleted (called on the event loop, after the
        commit)."""
        if self.index is None:
            return
        self.dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._later(), name="chatd-search-catch-up")

    async def _later(self) -> None:
        await asyncio.sleep(self.delay_s)
        await self.catch_up()

    async def catch_up(self) -> None:
        """Return once every message committed before this call is in the index."""
        while self.dirty or self._running is not None:
            if self._running is None:
                self._running = asyncio.create_task(self._run(), name="chatd-search-index")
            await asyncio.shield(self._running)

    async def rebuild(self) -> None:
        """Index every message again, from nothing (after an import)."""
        if self.index is not None:
            await self.catch_up()
            await self.index.write(_empty)
            self.dirty = True
            await self.catch_up()

    async def _run(self) -> None:
        assert self.index is not None
        try:
            self.dirty = False
            more = True
            while more:
                more, changes_through = await self.index.write(catch_up)
                if changes_through > self._changes_forgotten:
                    await self.db.write(search.forget_changes, changes_through)
                    self._changes_forgotten = changes_through
        except BaseException:
            self.dirty = True  # the next search or send tries again
            raise
        finally:
            self._running = None

    async def close(self) -> None:
        """Index what is left (the next start would otherwise do it) and stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.catch_up()


def _empty(conn: sqlite3.Connection) -> None:
    search.set_marks(conn, 0, search.marks(conn)[1])
    search.empty(conn)


SEARCH_TIME_S = 3.0
MAX_SEARCHES_PER_USER = 2  # in flight at once; more answer 429
MAX_SEARCHES = 8  # in flight on the server; more answer 503


class Search:
    """Queries run through `Database.read_bounded`: on their own reader, so history and lists
    never wait behind them, and cut off after `time_limit_s` (422: the query is too broad to
    answer in time). At most `MAX_SEARCHES` wait at once, `MAX_SEARCHES_PER_USER` per user."""

    def __init__(
        self, db: Database, indexer: SearchIndexer, time_limit_s: float = SEARCH_TIME_S
    ) -> None:
        self.db = db
        self.indexer = indexer
        self.time_limit_s = time_limit_s
        self._in_flight: dict[str, int] = {}

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
            before = validation.query_integer(cursor, "cursor", minimum=1)
        query = plan(text)
        if query.trigram is None and query.bigram is None:
            return [], None
        if self._in_flight.get(user.id, 0) >= MAX_SEARCHES_PER_USER:
            raise RateLimited(1, "wait for your previous searches to finish")
        if sum(self._in_flight.values()) >= MAX_SEARCHES:
            raise Unavailable("search is busy; try again in a moment")
        self._in_flight[user.id] = self._in_flight.get(user.id, 0) + 1
        try:
            await self.indexer.catch_up()

            def keep(body: str) -> bool:
                self.db.deadline_passed()
                return query.keep(body)

            found, next_rowid = await self.db.read_bounded(
                search.find,
                user.id,
                query.trigram,
                query.bigram,
                conversation_id or None,
                author_id or None,
                before,
                size,
                keep,
                query.terms,
                time_limit_s=self.time_limit_s,
            )
        except QueryInterrupted:
            raise validation.fail(
                "q", "is too broad to search in time; use longer or more distinctive words"
            ) from None
        finally:
            left = self._in_flight.pop(user.id) - 1
            if left:
                self._in_flight[user.id] = left
        return found, None if next_rowid is None else str(next_rowid)
