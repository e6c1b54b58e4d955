"""The statements of a send, and of a batch of sends, in as few statements as each engine likes.

A send checks access and an earlier `client_id`, takes the next seq, inserts the message and
counts it as its author's own. Alone (`check`, `insert_next`), on SQLite each of those is a
statement in process, and they run one after the other. On PostgreSQL each statement is a
round trip to the server, made while the batch's transaction holds its conversations' locks:
five of them per send bounded a busy conversation's rate by network and scheduling latency,
not by work. Here they are two:

- one SELECT for the access check and the earlier `client_id` (both read-only, both needed
  before anything is written), and
- one statement of data-modifying CTEs: `UPDATE conversations ... RETURNING last_seq` takes
  the seq from the counter row (its row lock, held to commit, keeps seqs gapless and in
  commit order with several writers), the INSERT takes that seq, and the author's own-unread
  counter moves, all in one execution.

A group-commit batch of plain sends (`check_many`, `insert_many`) costs a constant number of
statements on both engines, each conversation's counter moved once by its count. PostgreSQL:
the same two statements for the whole batch (arrays through `unnest`). SQLite: one SELECT
over a JSON array of the sends (`json_each`: one statement text whatever the batch's size,
so it is compiled once), one UPDATE per conversation for its counter, and `executemany` for
the rows and the authors' own-unread counters. There a statement costs microseconds, but at
saturation (issue 20's profile) five of them per send were about half the writer thread's
time, much of it the binding's per-call work.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from chatd.models import Message
from chatd.store import conversations, messages
from chatd.store.conversations import Access
from chatd.store.dialect import is_postgres

_CHECK_PG = (
    "SELECT c.kind, c.created_by, c.archived, c.last_seq, "
    "EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = c.id AND m.user_id = ?), "
    "(SELECT e.id FROM messages e WHERE e.conversation_id = c.id AND e.author_id = ? "
    "AND e.client_id = ?) "
    "FROM conversations c WHERE c.id = ?"
)

_INSERT_PG = (
    "WITH taken AS ("
    "  UPDATE conversations SET last_seq = last_seq + 1, "
    "  last_activity_at = GREATEST(last_activity_at, ?) WHERE id = ? RETURNING last_seq"
    "), made AS ("
    "  INSERT INTO messages (id, conversation_id, seq, author_id, body, created_at, reply_to, "
    "  client_id, via_kind, via_id, via_name, thread) "
    "  SELECT ?, ?, taken.last_seq, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM taken RETURNING seq"
    "), own AS ("
    "  UPDATE members SET own_unread = own_unread + 1 WHERE conversation_id = ? AND user_id = ? "
    "  AND EXISTS (SELECT 1 FROM taken)"
    ") SELECT seq FROM made"
)


def check(
    conn: sqlite3.Connection, conversation_id: str, user_id: str, client_id: str | None
) -> tuple[Access | None, Message | None]:
    """(the caller's access to the conversation, their earlier message with this
    `client_id` if any). The caller applies the rules (membership, archive) to the first."""
    if not is_postgres(conn):
        found = conversations.access(conn, conversation_id, user_id)
        if found is None or client_id is None:
            return found, None
        return found, messages.by_client_id(conn, conversation_id, user_id, client_id)
    row = conn.execute(_CHECK_PG, (user_id, user_id, client_id, conversation_id)).fetchone()
    if row is None:
        return None, None
    kind, created_by, archived, last_seq, is_member, earlier_id = row
    found = Access(str(kind), created_by, bool(archived), int(last_seq), bool(is_member))
    earlier = None if earlier_id is None else messages.get(conn, str(earlier_id))
    return found, earlier


def insert_next(conn: sqlite3.Connection, message: Message, last_seq: int) -> None:
    """Give `message` the conversation's next seq and store it, counted as its author's
    own. `last_seq` is the counter as `check` read it in this transaction (SQLite's single
    writer takes the next one with it; PostgreSQL's counter row decides by itself)."""
    if not is_postgres(conn):
        message.seq = conversations.next_seq(
            conn, message.conversation_id, last_seq, message.created_at
        )
        messages.insert(conn, message)
        conversations.own_message_added(conn, message.conversation_id, message.author_id)
        return
    row = conn.execute(
        _INSERT_PG,
        (
            message.created_at,
            message.conversation_id,
            *messages.fields_but_seq(message),
            message.conversation_id,
            message.author_id,
        ),
    ).fetchone()
    if row is None:
        raise RuntimeError(f"no conversation {message.conversation_id} to take a seq from")
    message.seq = int(row[0])


_CHECK_MANY_PG = (
    "SELECT i.n, c.kind, c.created_by, c.archived, c.last_seq, "
    "EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = c.id AND m.user_id = i.u), "
    "(SELECT e.id FROM messages e WHERE e.conversation_id = c.id AND e.author_id = i.u "
    "AND e.client_id = i.k) "
    "FROM unnest(?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS i(c, u, k, n) "
    "JOIN conversations c ON c.id = i.c"
)

# Seqs: each conversation's counter moves once by its number of messages (`taken.base` is
# the counter before), and the messages take base + 1.. in list order. The counter row's
# lock, held to commit, keeps them gapless and in commit order as for one send.
_INSERT_MANY_PG = (
    "WITH input AS ("
    "  SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], "
    "  ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::integer[]) WITH ORDINALITY "
    "  AS t(id, conversation_id, author_id, body, created_at, reply_to, client_id, "
    "  via_kind, via_id, via_name, thread, n)"
    "), counts AS ("
    "  SELECT conversation_id, count(*) AS made, max(created_at) AS at "
    "  FROM input GROUP BY conversation_id"
    "), taken AS ("
    "  UPDATE conversations c SET last_seq = c.last_seq + counts.made, "
    "  last_activity_at = GREATEST(c.last_activity_at, counts.at) FROM counts "
    "  WHERE c.id = counts.conversation_id RETURNING c.id, c.last_seq - counts.made AS base"
    "), made AS ("
    "  INSERT INTO messages (id, conversation_id, seq, author_id, body, created_at, reply_to, "
    "  client_id, via_kind, via_id, via_name, thread) "
    "  SELECT i.id, i.conversation_id, "
    "  taken.base + row_number() OVER (PARTITION BY i.conversation_id ORDER BY i.n), "
    "  i.author_id, i.body, i.created_at, i.reply_to, i.client_id, i.via_kind, i.via_id, "
    "  i.via_name, i.thread FROM input i JOIN taken ON taken.id = i.conversation_id "
    "  RETURNING id, seq"
    "), own AS ("
    "  UPDATE members m SET own_unread = m.own_unread + o.made FROM ("
    "    SELECT i.conversation_id, i.author_id, count(*) AS made FROM input i "
    "    JOIN taken ON taken.id = i.conversation_id GROUP BY i.conversation_id, i.author_id"
    "  ) AS o WHERE m.conversation_id = o.conversation_id AND m.user_id = o.author_id"
    ") SELECT id, seq FROM made"
)


# The sends as one JSON array of [conversation_id, user_id, client_id]; `key` is the index.
# Non-ASCII text goes in as is, not as \u escapes for SQLite to decode; ids and client_ids
# hold no control characters (a NUL would end a string early in SQLite's JSON functions).
# CROSS JOIN keeps json_each the outer loop (one primary-key probe per send), and the
# client_id lookup probes the partial unique index `messages_by_client_id`.
_CHECK_MANY_SQLITE = (
    "SELECT i.key + 1, c.kind, c.created_by, c.archived, c.last_seq, "
    "EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = c.id "
    "AND m.user_id = json_extract(i.value, '$[1]')), "
    "(SELECT e.id FROM messages e WHERE e.conversation_id = c.id "
    "AND e.author_id = json_extract(i.value, '$[1]') "
    "AND e.client_id = json_extract(i.value, '$[2]')) "
    "FROM json_each(?) AS i CROSS JOIN conversations c "
    "ON c.id = json_extract(i.value, '$[0]')"
)

_TAKE_SEQS_SQLITE = (
    "UPDATE conversations SET last_seq = last_seq + ?, "
    "last_activity_at = max(last_activity_at, ?) WHERE id = ? RETURNING last_seq"
)
_OWN_ADDED_SQLITE = (
    "UPDATE members SET own_unread = own_unread + ? WHERE conversation_id = ? AND user_id = ?"
)


def check_many(
    conn: sqlite3.Connection, sends: Sequence[tuple[str, str, str | None]]
) -> list[tuple[Access | None, Message | None]]:
    """`check` for each (conversation_id, user_id, client_id) of a batch in ONE statement:
    answered in the same order. An earlier message with a `client_id` (a client's retry,
    rare) is then read on its own."""
    found: list[tuple[Access | None, Message | None]] = [(None, None)] * len(sends)
    if not sends:
        return found
    if is_postgres(conn):
        rows = conn.execute(
            _CHECK_MANY_PG,
            ([s[0] for s in sends], [s[1] for s in sends], [s[2] for s in sends]),
        ).fetchall()
    else:
        rows = conn.execute(_CHECK_MANY_SQLITE, (json.dumps(sends, ensure_ascii=False),)).fetchall()
    for n, kind, created_by, archived, last_seq, is_member, earlier_id in rows:
        access = Access(str(kind), created_by, bool(archived), int(last_seq), bool(is_member))
        earlier = None if earlier_id is None else messages.get(conn, str(earlier_id))
        found[int(n) - 1] = (access, earlier)
    return found


def insert_many(conn: sqlite3.Connection, batch: Sequence[Message]) -> None:
    """`insert_next` for several messages: each conversation's messages take its next seqs
    in list order, each set on its Message. One statement on PostgreSQL; on SQLite one
    UPDATE per conversation and two `executemany` (rows, own-unread counters)."""
    if not batch:
        return
    if not is_postgres(conn):
        _insert_many_sqlite(conn, batch)
        return
    vias = [messages.via_columns(m.via) for m in batch]
    rows = conn.execute(
        _INSERT_MANY_PG,
        (
            [m.id for m in batch],
            [m.conversation_id for m in batch],
            [m.author_id for m in batch],
            [m.body for m in batch],
            [m.created_at for m in batch],
            [m.reply_to for m in batch],
            [m.client_id for m in batch],
            [v[0] for v in vias],
            [v[1] for v in vias],
            [v[2] for v in vias],
            [int(m.thread) for m in batch],
        ),
    ).fetchall()
    seqs = {str(message_id): int(seq) for message_id, seq in rows}
    for message in batch:
        seq = seqs.get(message.id)
        if seq is None:
            raise RuntimeError(f"no conversation {message.conversation_id} to take a seq from")
        message.seq = seq


def _insert_many_sqlite(conn: sqlite3.Connection, batch: Sequence[Message]) -> None:
    """SQLite's single writer: each conversation's counter moves once by its count (the
    UPDATE answers where it now stands: the seqs taken end there), then the rows."""
    counts: dict[str, tuple[int, int]] = {}  # conversation -> (messages, newest created_at)
    own: dict[tuple[str, str], int] = {}  # (conversation, author) -> messages
    for message in batch:
        made, at = counts.get(message.conversation_id, (0, message.created_at))
        counts[message.conversation_id] = (made + 1, max(at, message.created_at))
        key = (message.conversation_id, message.author_id)
        own[key] = own.get(key, 0) + 1
    next_seq: dict[str, int] = {}
    for conversation_id, (made, at) in counts.items():
        row = conn.execute(_TAKE_SEQS_SQLITE, (made, at, conversation_id)).fetchone()
        if row is None:
            raise RuntimeError(f"no conversation {conversation_id} to take a seq from")
        next_seq[conversation_id] = int(row[0]) - made + 1
    for message in batch:
        message.seq = next_seq[message.conversation_id]
        next_seq[message.conversation_id] += 1
    conn.executemany(messages.INSERT, [messages.insert_row(m) for m in batch])
    conn.executemany(
        _OWN_ADDED_SQLITE, [(made, cid, author) for (cid, author), made in own.items()]
    )
