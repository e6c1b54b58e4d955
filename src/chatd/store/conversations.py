"""SQL for conversations, members and read markers.

Unread counts are computed from counters and a short index range count, never by scanning
history: `last_seq - read_seq`, less the caller's own live messages after the marker (the
`own_unread` counter on their member row) and the deleted messages after it (a partial
index on `messages`; deletions are rare).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from chatd.models import Conversation
from chatd.store.batch import in_groups
from chatd.store.dialect import is_postgres

_COLUMNS = "c.id, c.kind, c.name, c.topic, c.created_at, c.created_by, c.archived, c.last_seq, "
_COLUMNS += "c.last_activity_at"

# Per-caller columns, for a row joined with the caller's `members` row `m`.
_VIEW = """
    m.read_seq, m.muted,
    (c.last_seq - m.read_seq - m.own_unread)
      - (SELECT count(*) FROM messages x
         WHERE x.conversation_id = c.id AND x.deleted = 1 AND x.seq > m.read_seq) AS unread,
    (SELECT count(*) FROM mentions n
       WHERE n.conversation_id = c.id AND n.user_id = m.user_id AND n.seq > m.read_seq
         AND n.by_self = 0
     ) AS mention_count,
    m.notify
"""


@dataclass(frozen=True)
class Access:
    """What the rules need to know about one conversation and one caller."""

    kind: str
    created_by: str | None
    archived: bool
    last_seq: int
    is_member: bool


def _conversation(row: tuple[object, ...]) -> Conversation:
    id_, kind, name, topic, created_at, created_by, archived, last_seq, activity = row[:9]
    conversation = Conversation(
        id=str(id_),
        kind=str(kind),
        name=str(name),
        topic=str(topic),
        created_at=int(created_at),  # type: ignore[call-overload]
        created_by=None if created_by is None else str(created_by),
        archived=bool(archived),
        last_seq=int(last_seq),  # type: ignore[call-overload]
        last_activity_at=int(activity),  # type: ignore[call-overload]
    )
    if len(row) > 9:
        read_seq, muted, unread, mentions = row[9:13]
        conversation.read_seq = int(read_seq)  # type: ignore[call-overload]
        conversation.muted = bool(muted)
        conversation.unread_count = max(0, int(unread))  # type: ignore[call-overload]
        conversation.mention_count = int(mentions)  # type: ignore[call-overload]
        conversation.notify = str(row[13])
    return conversation


def insert(
    conn: sqlite3.Connection,
    conversation: Conversation,
    channel_key: str | None,
    direct_key: str | None,
) -> None:
    conn.execute(
        "INSERT INTO conversations (id, kind, name, channel_key, direct_key, topic, created_at, "
        "created_by, archived, last_seq, last_activity_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?)",
        (
            conversation.id,
            conversation.kind,
            conversation.name,
            channel_key,
            direct_key,
            conversation.topic,
            conversation.created_at,
            conversation.created_by,
            conversation.created_at,
        ),
    )
    for user_id in conversation.members:
        add_member(conn, conversation.id, user_id, conversation.created_at)


def access(conn: sqlite3.Connection, conversation_id: str, user_id: str) -> Access | None:
    row = conn.execute(
        "SELECT c.kind, c.created_by, c.archived, c.last_seq, "
        "EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = c.id AND m.user_id = ?) "
        "FROM conversations c WHERE c.id = ?",
        (user_id, conversation_id),
    ).fetchone()
    if row is None:
        return None
    kind, created_by, archived, last_seq, is_member = row
    return Access(str(kind), created_by, bool(archived), int(last_seq), bool(is_member))


def members(conn: sqlite3.Connection, conversation_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT user_id FROM members WHERE conversation_id = ? ORDER BY joined_at, user_id",
        (conversation_id,),
    )
    return [str(row[0]) for row in rows]


def member_names(conn: sqlite3.Connection, conversation_id: str) -> dict[str, str]:
    """username -> user id of a conversation's members (whom an @mention may name)."""
    rows = conn.execute(
        "SELECT u.username, u.id FROM members m JOIN users u ON u.id = m.user_id "
        "WHERE m.conversation_id = ?",
        (conversation_id,),
    )
    return {str(name): str(uid) for name, uid in rows}


def get(conn: sqlite3.Connection, conversation_id: str, viewer: str) -> Conversation | None:
    """The conversation as `viewer` sees it (their marker and counts when they are a member)."""
    row = conn.execute(
        f"SELECT {_COLUMNS}, {_VIEW} FROM conversations c "
        "JOIN members m ON m.conversation_id = c.id AND m.user_id = ? WHERE c.id = ?",
        (viewer, conversation_id),
    ).fetchone()
    if row is None:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM conversations c WHERE c.id = ?", (conversation_id,)
        ).fetchone()
    if row is None:
        return None
    conversation = _conversation(row)
    conversation.members = members(conn, conversation_id)
    return conversation


def _with_members(conn: sqlite3.Connection, found: list[Conversation]) -> list[Conversation]:
    by_id = {c.id: c for c in found}
    ids = list(by_id)
    for chunk, marks in in_groups(ids):
        rows = conn.execute(
            f"SELECT conversation_id, user_id FROM members WHERE conversation_id IN ({marks}) "
            "ORDER BY joined_at, user_id",
            chunk,
        )
        for conversation_id, user_id in rows:
            by_id[conversation_id].members.append(user_id)
    return found


# CROSS JOIN keeps SQLite walking the user's memberships first, never every conversation;
# PostgreSQL has no such hint (nor the need: its planner has statistics) and wants a JOIN.
_MINE = "FROM members m CROSS JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = ?"
_MINE_PG = _MINE.replace("CROSS JOIN", "JOIN")


def list_for_user(conn: sqlite3.Connection, user_id: str) -> list[Conversation]:
    """Every conversation the user is in, most recent activity first: two queries in all."""
    rows = conn.execute(
        f"SELECT {_COLUMNS}, {_VIEW} {_MINE_PG if is_postgres(conn) else _MINE} "
        "ORDER BY c.last_activity_at DESC, c.id",
        (user_id,),
    ).fetchall()
    return _with_members(conn, [_conversation(row) for row in rows])


def markers_for_user(conn: sqlite3.Connection, user_id: str) -> list[tuple[str, int, int]]:
    """(id, last_seq, read_seq) of each of the user's conversations, for the socket's hello."""
    rows = conn.execute(
        f"SELECT c.id, c.last_seq, m.read_seq {_MINE_PG if is_postgres(conn) else _MINE}",
        (user_id,),
    )
    return [(str(a), int(b), int(c)) for a, b, c in rows]


def browse_channels(
    conn: sqlite3.Connection, viewer: str, q: str, limit: int
) -> list[Conversation]:
    pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = conn.execute(
        f"SELECT {_COLUMNS}, "
        "COALESCE(m.read_seq, 0), COALESCE(m.muted, 0), 0, 0, COALESCE(m.notify, 'default') "
        "FROM conversations c "
        "LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = ? "
        "WHERE c.kind = 'channel' AND c.archived = 0 AND c.channel_key LIKE ? ESCAPE '\\' "
        "ORDER BY c.channel_key LIMIT ?",
        (viewer, pattern, limit),
    ).fetchall()
    return _with_members(conn, [_conversation(row) for row in rows])


def by_direct_key(conn: sqlite3.Connection, direct_key: str) -> str | None:
    row = conn.execute(
        "SELECT id FROM conversations WHERE direct_key = ?", (direct_key,)
    ).fetchone()
    return None if row is None else str(row[0])


def channel_taken(conn: sqlite3.Connection, channel_key: str, other_than: str = "") -> bool:
    row = conn.execute(
        "SELECT 1 FROM conversations WHERE channel_key = ? AND id != ?", (channel_key, other_than)
    ).fetchone()
    return row is not None


def update(
    conn: sqlite3.Connection,
    conversation_id: str,
    *,
    name: str | None = None,
    channel_key: str | None = None,
    topic: str | None = None,
    archived: bool | None = None,
) -> None:
    if name is not None:
        conn.execute(
            "UPDATE conversations SET name = ?, channel_key = COALESCE(?, channel_key) "
            "WHERE id = ?",
            (name, channel_key, conversation_id),
        )
    if topic is not None:
        conn.execute("UPDATE conversations SET topic = ? WHERE id = ?", (topic, conversation_id))
    if archived is not None:
        conn.execute(
            "UPDATE conversations SET archived = ? WHERE id = ?", (int(archived), conversation_id)
        )


def add_member(conn: sqlite3.Connection, conversation_id: str, user_id: str, now: int) -> bool:
    """Add a member (someone rejoining starts with their earlier messages counted as theirs)."""
    cur = conn.execute(
        "INSERT INTO members (conversation_id, user_id, joined_at, own_unread) "
        "VALUES (?, ?, ?, (SELECT count(*) FROM messages WHERE conversation_id = ? "
        "AND author_id = ? AND deleted = 0)) ON CONFLICT DO NOTHING",
        (conversation_id, user_id, now, conversation_id, user_id),
    )
    return cur.rowcount == 1


def remove_member(conn: sqlite3.Connection, conversation_id: str, user_id: str) -> bool:
    cur = conn.execute(
        "DELETE FROM members WHERE conversation_id = ? AND user_id = ?", (conversation_id, user_id)
    )
    return cur.rowcount == 1


def set_read(conn: sqlite3.Connection, conversation_id: str, user_id: str, seq: int) -> int:
    """Move the marker forward only, clamped to last_seq; return the marker now in force.

    The reader's own messages the marker passes leave their `own_unread` counter: a count
    over what was just read, which a reader has normally just seen.
    """
    row = conn.execute(
        "SELECT m.read_seq, c.last_seq FROM members m JOIN conversations c "
        "ON c.id = m.conversation_id WHERE m.conversation_id = ? AND m.user_id = ?",
        (conversation_id, user_id),
    ).fetchone()
    if row is None:
        return 0
    old, last = int(row[0]), int(row[1])
    new = max(old, min(seq, last))
    if new > old:
        conn.execute(
            "UPDATE members SET read_seq = ?, own_unread = own_unread - (SELECT count(*) "
            "FROM messages WHERE conversation_id = ? AND author_id = ? AND deleted = 0 "
            "AND seq > ? AND seq <= ?) WHERE conversation_id = ? AND user_id = ?",
            (new, conversation_id, user_id, old, new, conversation_id, user_id),
        )
    return new


def own_message_added(conn: sqlite3.Connection, conversation_id: str, author_id: str) -> None:
    conn.execute(
        "UPDATE members SET own_unread = own_unread + 1 WHERE conversation_id = ? AND user_id = ?",
        (conversation_id, author_id),
    )


def own_message_deleted(
    conn: sqlite3.Connection, conversation_id: str, author_id: str, seq: int
) -> None:
    """A live message of `author_id` is gone: leave their counter if it was past the marker."""
    conn.execute(
        "UPDATE members SET own_unread = own_unread - 1 "
        "WHERE conversation_id = ? AND user_id = ? AND read_seq < ?",
        (conversation_id, author_id, seq),
    )


def set_muted(conn: sqlite3.Connection, conversation_id: str, user_id: str, muted: bool) -> None:
    conn.execute(
        "UPDATE members SET muted = ? WHERE conversation_id = ? AND user_id = ?",
        (int(muted), conversation_id, user_id),
    )


def set_notify(conn: sqlite3.Connection, conversation_id: str, user_id: str, notify: str) -> None:
    conn.execute(
        "UPDATE members SET notify = ? WHERE conversation_id = ? AND user_id = ?",
        (notify, conversation_id, user_id),
    )


def next_seq(conn: sqlite3.Connection, conversation_id: str, last_seq: int, now: int) -> int:
    """Take seq `last_seq + 1`, `last_seq` having been read in this same write transaction
    (the access check reads it anyway: taking the next one is then a single UPDATE).

    On PostgreSQL other nodes write too, and a value read earlier may be stale: the counter
    row itself gives the next seq, and its row lock (held to commit) keeps seqs gapless and
    in commit order whatever the number of writers.
    """
    if is_postgres(conn):
        row = conn.execute(
            "UPDATE conversations SET last_seq = last_seq + 1, "
            "last_activity_at = GREATEST(last_activity_at, ?) WHERE id = ? RETURNING last_seq",
            (now, conversation_id),
        ).fetchone()
        if row is None:
            raise RuntimeError(f"no conversation {conversation_id} to take a seq from")
        return int(row[0])
    taken = conn.execute(
        "UPDATE conversations SET last_seq = ?, last_activity_at = ? WHERE id = ? AND last_seq = ?",
        (last_seq + 1, now, conversation_id, last_seq),
    )
    if taken.rowcount != 1:
        raise RuntimeError(f"seq {last_seq} of {conversation_id} was not read in this transaction")
    return last_seq + 1


def all_memberships(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return [
        (str(a), str(b)) for a, b in conn.execute("SELECT conversation_id, user_id FROM members")
    ]


# ---- default channels (the web client's second round) -----------------------------------


def channel_by_key(conn: sqlite3.Connection, channel_key: str) -> tuple[str, bool] | None:
    """(id, archived) of the channel with this lower-case name."""
    row = conn.execute(
        "SELECT id, archived FROM conversations WHERE channel_key = ?", (channel_key,)
    ).fetchone()
    return None if row is None else (str(row[0]), bool(row[1]))


def memberships_of(conn: sqlite3.Connection, conversation_ids: list[str]) -> list[tuple[str, str]]:
    """(conversation_id, user_id) of every member of these conversations."""
    found: list[tuple[str, str]] = []
    for chunk, marks in in_groups(conversation_ids):
        rows = conn.execute(
            f"SELECT conversation_id, user_id FROM members WHERE conversation_id IN ({marks})",
            chunk,
        )
        found += [(str(c), str(u)) for c, u in rows]
    return found


def bump_members_epoch(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'members_epoch'")


def members_epoch(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'members_epoch'").fetchone()
    return 0 if row is None else int(row[0])


def all_last_seqs(conn: sqlite3.Connection) -> dict[str, int]:
    """Every conversation's last seq: where a cluster node's delivery order starts."""
    return {
        str(cid): int(seq) for cid, seq in conn.execute("SELECT id, last_seq FROM conversations")
    }
