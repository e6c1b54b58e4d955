"""SQL for messages: insert, history pages by (conversation_id, seq), edits and tombstones."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from chatd.models import Message, Via
from chatd.store import files, reactions
from chatd.store.batch import in_groups
from chatd.store.dialect import is_postgres

_COLUMNS = (
    "id, conversation_id, seq, author_id, body, created_at, edited_at, deleted, reply_to, "
    "client_id, pinned_at, "
    "(SELECT count(*) FROM messages r WHERE r.reply_to = messages.id), via_kind, via_id, via_name, "
    "thread"
)
MAX_REPLY_USERS = 20  # faces a root shows of who replied


def _message(row: tuple[object, ...]) -> Message:
    (id_, conversation_id, seq, author_id, body, created_at, edited_at, deleted, reply_to,
     client_id, pinned_at, reply_count, via_kind, via_id, via_name, thread) = row  # fmt: skip
    return Message(
        id=str(id_),
        conversation_id=str(conversation_id),
        seq=int(seq),  # type: ignore[call-overload]
        author_id=str(author_id),
        body=str(body),
        created_at=int(created_at),  # type: ignore[call-overload]
        edited_at=None if edited_at is None else int(edited_at),  # type: ignore[call-overload]
        deleted=bool(deleted),
        reply_to=None if reply_to is None else str(reply_to),
        client_id=None if client_id is None else str(client_id),
        pinned_at=None if pinned_at is None else int(pinned_at),  # type: ignore[call-overload]
        reply_count=int(reply_count),  # type: ignore[call-overload]
        via=None if via_kind is None else Via(str(via_kind), str(via_id), str(via_name)),
        thread=bool(thread),
    )


INSERT = (
    "INSERT INTO messages (id, conversation_id, seq, author_id, body, created_at, reply_to, "
    "client_id, via_kind, via_id, via_name, thread) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_PG = INSERT + " RETURNING rowid"


def insert_row(message: Message) -> tuple[object, ...]:
    """The parameters of `INSERT` for `message` (for `executemany` too)."""
    message_id, conversation_id, *rest = fields_but_seq(message)
    return (message_id, conversation_id, message.seq, *rest)


def fields_but_seq(message: Message) -> tuple[object, ...]:
    """`insert_row` without the seq, for statements that take the seq in SQL."""
    return (
        message.id,
        message.conversation_id,
        message.author_id,
        message.body,
        message.created_at,
        message.reply_to,
        message.client_id,
        *via_columns(message.via),
        int(message.thread),
    )


def insert(conn: sqlite3.Connection, message: Message) -> int:
    """Store a message; its rowid (the search index's key)."""
    cur = conn.execute(_INSERT_PG if is_postgres(conn) else INSERT, insert_row(message))
    if is_postgres(conn):
        return int(cur.fetchone()[0])
    return int(cur.lastrowid or 0)


def via_columns(via: Via | None) -> tuple[str | None, str | None, str | None]:
    """`via_kind`, `via_id`, `via_name` of a message row: all NULL for a person's own."""
    return (None, None, None) if via is None else (via.kind, via.id, via.name)


def get(conn: sqlite3.Connection, message_id: str) -> Message | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE id = ?", (message_id,)).fetchone()
    return _message(row) if row else None


def by_client_id(
    conn: sqlite3.Connection, conversation_id: str, author_id: str, client_id: str
) -> Message | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM messages "
        "WHERE conversation_id = ? AND author_id = ? AND client_id = ?",
        (conversation_id, author_id, client_id),
    ).fetchone()
    return _message(row) if row else None


def conversation_of(conn: sqlite3.Connection, message_id: str) -> str | None:
    row = conn.execute(
        "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def reply_target(conn: sqlite3.Connection, message_id: str) -> tuple[str, str] | None:
    """(conversation_id, thread root) of a message someone replies to: a thread reply's root
    is the message it replies to, any other message is its own root."""
    row = conn.execute(
        "SELECT conversation_id, thread, reply_to FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    if row is None:
        return None
    conversation_id, thread, reply_to = row
    root = str(reply_to) if thread and reply_to is not None else message_id
    return str(conversation_id), root


def threads_of(conn: sqlite3.Connection, found: list[Message]) -> None:
    """Fill in each root's live thread reply count and who replied, first reply first."""
    roots = {m.id: m for m in found if m.reply_count}
    if not roots:
        return
    per_root: dict[str, list[tuple[int, str, int]]] = {}
    for chunk, marks in in_groups(list(roots)):
        rows = conn.execute(
            "SELECT reply_to, author_id, count(*), min(seq) FROM messages "
            f"WHERE reply_to IN ({marks}) AND thread = 1 AND deleted = 0 "
            "GROUP BY reply_to, author_id",
            chunk,
        )
        for root, author, count, first in rows:
            per_root.setdefault(str(root), []).append((int(first), str(author), int(count)))
    for root_id, authors in per_root.items():
        authors.sort()
        message = roots[root_id]
        message.thread_reply_count = sum(count for _, _, count in authors)
        message.reply_user_ids = [author for _, author, _ in authors[:MAX_REPLY_USERS]]


def page(
    conn: sqlite3.Connection,
    conversation_id: str,
    before: int | None,
    after: int | None,
    limit: int,
) -> tuple[list[Message], bool]:
    """A page in ascending seq, and whether more lie beyond it (newer for `after`, else older)."""
    upper = before if before is not None else 2**62
    if after is not None:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE conversation_id = ? AND seq > ? AND seq < ? "
            "ORDER BY seq LIMIT ?",
            (conversation_id, after, upper, limit + 1),
        ).fetchall()
        found = [_message(row) for row in rows[:limit]]
        return found, len(rows) > limit
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM messages WHERE conversation_id = ? AND seq < ? "
        "ORDER BY seq DESC LIMIT ?",
        (conversation_id, upper, limit + 1),
    ).fetchall()
    found = [_message(row) for row in reversed(rows[:limit])]
    return found, len(rows) > limit


def replies(
    conn: sqlite3.Connection, message_id: str, after: int, limit: int
) -> tuple[list[Message], bool]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM messages WHERE reply_to = ? AND seq > ? ORDER BY seq LIMIT ?",
        (message_id, after, limit + 1),
    ).fetchall()
    return [_message(row) for row in rows[:limit]], len(rows) > limit


def set_body(conn: sqlite3.Connection, message_id: str, body: str, edited_at: int) -> None:
    conn.execute(
        "UPDATE messages SET body = ?, edited_at = ? WHERE id = ?", (body, edited_at, message_id)
    )


def tombstone(conn: sqlite3.Connection, message_id: str) -> None:
    conn.execute(
        "UPDATE messages SET body = '', deleted = 1, pinned_at = NULL WHERE id = ?", (message_id,)
    )
    conn.execute("DELETE FROM mentions WHERE message_id = ?", (message_id,))
    files.detach_all(conn, message_id)
    reactions.clear(conn, message_id)


def set_mentions(
    conn: sqlite3.Connection, message: Message, user_ids: Iterable[str], *, new: bool = False
) -> None:
    """Replace a message's mention rows (`new`: it has none yet, skip the delete)."""
    if not new:
        conn.execute("DELETE FROM mentions WHERE message_id = ?", (message.id,))
    rows = [
        (
            user_id,
            message.conversation_id,
            message.seq,
            message.id,
            user_id == message.author_id,
            message.created_at,
        )
        for user_id in user_ids
    ]
    if rows:
        conn.executemany(
            "INSERT INTO mentions (user_id, conversation_id, seq, message_id, by_self, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            rows,
        )


def mentioning(
    conn: sqlite3.Connection, user_id: str, before: tuple[int, str] | None, limit: int
) -> list[Message]:
    """Messages by others that mention `user_id`, in conversations they are still in, newest
    first, strictly older than `before` (created_at, message id)."""
    at, below_id = before if before is not None else (2**62, "")
    ids = [
        str(row[0])
        for row in conn.execute(
            "SELECT n.message_id FROM mentions n JOIN members b "
            "ON b.conversation_id = n.conversation_id AND b.user_id = n.user_id "
            "WHERE n.user_id = ? AND n.by_self = 0 "
            "AND (n.created_at < ? OR (n.created_at = ? AND n.message_id < ?)) "
            "ORDER BY n.created_at DESC, n.message_id DESC LIMIT ?",
            (user_id, at, at, below_id if before is not None else "\U0010ffff", limit),
        )
    ]
    found: dict[str, Message] = {}
    for chunk, marks in in_groups(ids):
        for row in conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE id IN ({marks})", chunk):
            message = _message(row)
            found[message.id] = message
    return [found[i] for i in ids if i in found]


def mentions_of(conn: sqlite3.Connection, message_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for chunk, marks in in_groups(message_ids):
        rows = conn.execute(
            f"SELECT message_id, user_id FROM mentions WHERE message_id IN ({marks})", chunk
        )
        for message_id, user_id in rows:
            found.setdefault(message_id, []).append(user_id)
    return found


def hydrate(conn: sqlite3.Connection, found: list[Message]) -> None:
    """Fill in what lives beside the message rows: files, mentions, reactions, threads."""
    threads_of(conn, found)
    live = [m.id for m in found if not m.deleted]
    if not live:
        return
    attached = files.of_messages(conn, live)
    mentioned = mentions_of(conn, live)
    reacted = reactions.of_messages(conn, live)
    for message in found:
        message.files = attached.get(message.id, [])
        message.mentions = mentioned.get(message.id, [])
        message.reactions = reacted.get(message.id, [])
