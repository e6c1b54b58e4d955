"""SQL for file metadata, content reference counts and attachments."""

from __future__ import annotations

import sqlite3

from chatd.models import File
from chatd.store.batch import in_groups

_COLUMNS = "f.id, f.name, f.size, f.content_type, f.sha256, f.created_at, f.uploader_id"


def _file(row: tuple[object, ...]) -> File:
    id_, name, size, content_type, sha256, created_at, uploader_id = row
    return File(
        id=str(id_),
        name=str(name),
        size=int(size),  # type: ignore[call-overload]
        content_type=str(content_type),
        sha256=str(sha256),
        created_at=int(created_at),  # type: ignore[call-overload]
        uploader_id=str(uploader_id),
    )


def insert(conn: sqlite3.Connection, file: File) -> bool:
    """Record an upload; True when its content is new (the caller then keeps the bytes)."""
    cur = conn.execute(
        "INSERT INTO blobs (sha256, size, refs) VALUES (?, ?, 1) "
        "ON CONFLICT (sha256) DO UPDATE SET refs = blobs.refs + 1 RETURNING refs",
        (file.sha256, file.size),
    )
    refs = int(cur.fetchone()[0])
    conn.execute(
        "INSERT INTO files (id, uploader_id, name, size, content_type, sha256, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (file.id, file.uploader_id, file.name, file.size, file.content_type, file.sha256,
         file.created_at),
    )  # fmt: skip
    return refs == 1


def get(conn: sqlite3.Connection, file_id: str) -> File | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM files f WHERE f.id = ?", (file_id,)).fetchone()
    return _file(row) if row else None


def visible_to(conn: sqlite3.Connection, file_id: str, user_id: str) -> File | None:
    """The file if `user_id` uploaded it or is in a conversation with a message carrying it."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM files f WHERE f.id = ? AND (f.uploader_id = ? OR EXISTS ("
        "SELECT 1 FROM message_files mf JOIN messages m ON m.id = mf.message_id "
        "JOIN members mb ON mb.conversation_id = m.conversation_id AND mb.user_id = ? "
        "WHERE mf.file_id = f.id AND m.deleted = 0))",
        (file_id, user_id, user_id),
    ).fetchone()
    return _file(row) if row else None


def owned(conn: sqlite3.Connection, file_ids: list[str], uploader_id: str) -> dict[str, File]:
    marks = ",".join("?" * len(file_ids))
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM files f WHERE f.id IN ({marks}) AND f.uploader_id = ?",
        (*file_ids, uploader_id),
    )
    return {file.id: file for file in map(_file, rows)}


def attach(conn: sqlite3.Connection, message_id: str, file_ids: list[str]) -> None:
    conn.executemany(
        "INSERT INTO message_files (message_id, file_id, position) VALUES (?, ?, ?)",
        [(message_id, file_id, position) for position, file_id in enumerate(file_ids)],
    )


def detach_all(conn: sqlite3.Connection, message_id: str) -> None:
    conn.execute("DELETE FROM message_files WHERE message_id = ?", (message_id,))


def of_messages(conn: sqlite3.Connection, message_ids: list[str]) -> dict[str, list[File]]:
    found: dict[str, list[File]] = {}
    for chunk, marks in in_groups(message_ids):
        rows = conn.execute(
            f"SELECT mf.message_id, {_COLUMNS} FROM message_files mf "
            f"JOIN files f ON f.id = mf.file_id WHERE mf.message_id IN ({marks}) "
            "ORDER BY mf.message_id, mf.position",
            chunk,
        )
        for row in rows:
            found.setdefault(str(row[0]), []).append(_file(row[1:]))
    return found


def stored_bytes(conn: sqlite3.Connection, uploader_id: str) -> int:
    row = conn.execute(
        "SELECT COALESCE(sum(size), 0) FROM files WHERE uploader_id = ?", (uploader_id,)
    ).fetchone()
    return int(row[0])


def orphans(conn: sqlite3.Connection, created_before: int, limit: int) -> list[str]:
    rows = conn.execute(
        "SELECT f.id FROM files f WHERE f.created_at < ? AND NOT EXISTS "
        "(SELECT 1 FROM message_files mf WHERE mf.file_id = f.id) LIMIT ?",
        (created_before, limit),
    )
    return [str(row[0]) for row in rows]


def delete(conn: sqlite3.Connection, file_id: str) -> str | None:
    """Remove a file row; return its sha256 if that was the content's last reference."""
    row = conn.execute("DELETE FROM files WHERE id = ? RETURNING sha256", (file_id,)).fetchone()
    if row is None:
        return None
    sha256 = str(row[0])
    left = conn.execute(
        "UPDATE blobs SET refs = refs - 1 WHERE sha256 = ? RETURNING refs", (sha256,)
    ).fetchone()
    if left is not None and int(left[0]) <= 0:
        conn.execute("DELETE FROM blobs WHERE sha256 = ?", (sha256,))
        return sha256
    return None


def all_blobs(conn: sqlite3.Connection) -> list[str]:
    return [str(row[0]) for row in conn.execute("SELECT sha256 FROM blobs")]


def forget_blob(conn: sqlite3.Connection, sha256: str) -> None:
    """Drop every trace of content that is gone (used on a backup copy, never on live data)."""
    conn.execute(
        "DELETE FROM message_files WHERE file_id IN (SELECT id FROM files WHERE sha256 = ?)",
        (sha256,),
    )
    conn.execute("DELETE FROM files WHERE sha256 = ?", (sha256,))
    conn.execute("DELETE FROM blobs WHERE sha256 = ?", (sha256,))
