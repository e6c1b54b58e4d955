"""SQL for users."""

from __future__ import annotations

import sqlite3

from chatd.models import User
from chatd.store.batch import in_groups

_COLUMNS = "id, username, display_name, role, active, created_at, bot, avatar_key"


def _user(row: tuple[object, ...]) -> User:
    id_, username, display_name, role, active, created_at, bot, avatar_key = row
    return User(
        id=str(id_),
        username=str(username),
        display_name=str(display_name),
        role=str(role),
        active=bool(active),
        created_at=int(created_at),  # type: ignore[call-overload]
        bot=bool(bot),
        avatar_key=None if avatar_key is None else str(avatar_key),
    )


def insert(conn: sqlite3.Connection, user: User, password_hash: str) -> None:
    conn.execute(
        f"INSERT INTO users ({_COLUMNS}, password_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            user.id,
            user.username,
            user.display_name,
            user.role,
            int(user.active),
            user.created_at,
            int(user.bot),
            user.avatar_key,
            password_hash,
        ),
    )


def username_taken(conn: sqlite3.Connection, username: str) -> bool:
    row = conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone()
    return row is not None


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])


def get(conn: sqlite3.Connection, user_id: str) -> User | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
    return _user(row) if row else None


def get_many(conn: sqlite3.Connection, user_ids: list[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for chunk, marks in in_groups(user_ids):
        for row in conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id IN ({marks})", chunk):
            user = _user(row)
            found[user.id] = user
    return found


def get_by_username(conn: sqlite3.Connection, username: str) -> tuple[User, str] | None:
    """The user and their password hash, for sign-in."""
    row = conn.execute(
        f"SELECT {_COLUMNS}, password_hash FROM users WHERE username = ?", (username,)
    ).fetchone()
    return (_user(row[:-1]), str(row[-1])) if row else None


def password_hash(conn: sqlite3.Connection, user_id: str) -> str | None:
    row = conn.execute("SELECT password_hash FROM users WHERE id = ?", (user_id,)).fetchone()
    return str(row[0]) if row else None


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(conn: sqlite3.Connection, q: str, limit: int, include_inactive: bool) -> list[User]:
    """Users whose username or display name starts with `q` (any case), by username."""
    where = "" if include_inactive else "active = 1 AND"
    pattern = _like_prefix(q.lower())
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM users WHERE {where} "
        "(username LIKE ? ESCAPE '\\' OR lower(display_name) LIKE ? ESCAPE '\\') "
        "ORDER BY username LIMIT ?",
        (pattern, pattern, limit),
    )
    return [_user(row) for row in rows]


def list_all(conn: sqlite3.Connection) -> list[User]:
    return [_user(row) for row in conn.execute(f"SELECT {_COLUMNS} FROM users ORDER BY username")]


def set_display_name(conn: sqlite3.Connection, user_id: str, display_name: str) -> None:
    conn.execute("UPDATE users SET display_name = ? WHERE id = ?", (display_name, user_id))


def activate_if_passwordless(conn: sqlite3.Connection, user_id: str) -> None:
    """An account imported without a password (not a bot, not one an admin disabled after it
    had one) becomes active when it is given its first password."""
    conn.execute(
        "UPDATE users SET active = 1 WHERE id = ? AND password_hash = '' AND bot = 0", (user_id,)
    )


def set_password_hash(conn: sqlite3.Connection, user_id: str, password_hash: str) -> None:
    conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


def set_active(conn: sqlite3.Connection, user_id: str, active: bool) -> None:
    conn.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))


def set_role(conn: sqlite3.Connection, user_id: str, role: str) -> None:
    conn.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))


def first_active_admin(conn: sqlite3.Connection) -> str | None:
    """The longest-standing active admin (owner of default channels made after setup)."""
    row = conn.execute(
        "SELECT id FROM users WHERE role = 'admin' AND active = 1 ORDER BY created_at, id LIMIT 1"
    ).fetchone()
    return None if row is None else str(row[0])


def count_active_admins(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM users WHERE role = 'admin' AND active = 1").fetchone()
    return int(row[0])


def last_seen(conn: sqlite3.Connection, user_ids: list[str]) -> dict[str, int | None]:
    """Active users among `user_ids`, with the time they last had a socket."""
    found: dict[str, int | None] = {}
    for chunk, marks in in_groups(user_ids):
        rows = conn.execute(
            f"SELECT id, last_seen_at FROM users WHERE active = 1 AND id IN ({marks})", chunk
        )
        found.update((str(uid), None if seen is None else int(seen)) for uid, seen in rows)
    return found


def set_last_seen(conn: sqlite3.Connection, seen: dict[str, int]) -> None:
    conn.executemany(
        "UPDATE users SET last_seen_at = ? WHERE id = ?", [(ms, uid) for uid, ms in seen.items()]
    )


def list_bots(conn: sqlite3.Connection) -> list[User]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE bot = 1 ORDER BY username")
    return [_user(row) for row in rows]
