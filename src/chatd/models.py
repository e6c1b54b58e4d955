"""The contract's objects as plain dataclasses, and their JSON shapes.

Times are kept as integer milliseconds since the epoch and turned into ISO strings only when
an object is shown, so the database and the hot paths never format dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatd.clock import iso_ms

JSON = dict[str, Any]


def _iso_or_none(ms: int | None) -> str | None:
    return None if ms is None else iso_ms(ms)


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    display_name: str
    role: str
    active: bool
    created_at: int
    avatar_key: str | None = None  # names the current avatar; None: the client draws initials

    @property
    def avatar_url(self) -> str | None:
        """Changes with the image, so the image can be cached for good."""
        if self.avatar_key is None:
            return None
        return f"/api/v1/users/{self.id}/avatar?v={self.avatar_key}"

    bot: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "active": self.active,
            "created_at": iso_ms(self.created_at),
            "avatar_url": self.avatar_url,
            "bot": self.bot,
        }


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    user_id: str
    created_at: int
    last_used_at: int
    user_agent: str
    ip: str

    def to_json(self, current_id: str | None = None) -> JSON:
        return {
            "id": self.id,
            "created_at": iso_ms(self.created_at),
            "last_used_at": iso_ms(self.last_used_at),
            "user_agent": self.user_agent,
            "ip": self.ip,
            "current": self.id == current_id,
        }


@dataclass(slots=True)
class Conversation:
    """A conversation as one caller sees it (`read_seq`, counts and `muted` are theirs)."""

    id: str
    kind: str
    name: str
    topic: str
    created_at: int
    created_by: str | None
    archived: bool
    last_seq: int
    last_activity_at: int
    members: list[str] = field(default_factory=list)
    read_seq: int = 0
    unread_count: int = 0
    mention_count: int = 0
    muted: bool = False
    notify: str = "default"

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "topic": self.topic,
            "created_at": iso_ms(self.created_at),
            "created_by": self.created_by,
            "members": self.members,
            "last_seq": self.last_seq,
            "read_seq": self.read_seq,
            "unread_count": self.unread_count,
            "archived": self.archived,
            "muted": self.muted,
            "mention_count": self.mention_count,
            "notify": self.notify,
        }


@dataclass(frozen=True, slots=True)
class File:
    id: str
    name: str
    size: int
    content_type: str
    sha256: str
    created_at: int
    uploader_id: str

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "content_type": self.content_type,
            "sha256": self.sha256,
            "created_at": iso_ms(self.created_at),
            "uploader_id": self.uploader_id,
        }


@dataclass(frozen=True, slots=True)
class Reaction:
    emoji: str
    user_ids: tuple[str, ...]

    def to_json(self) -> JSON:
        return {"emoji": self.emoji, "count": len(self.user_ids), "user_ids": list(self.user_ids)}


@dataclass(frozen=True, slots=True)
class Via:
    """The integration that posted a message: `kind` is "webhook" or "command"."""

    kind: str
    id: str
    name: str

    def to_json(self) -> JSON:
        return {"kind": self.kind, "id": self.id, "name": self.name}


@dataclass(slots=True)
class Message:
    id: str
    conversation_id: str
    seq: int
    author_id: str
    body: str
    created_at: int
    edited_at: int | None
    deleted: bool
    reply_to: str | None
    client_id: str | None
    files: list[File] = field(default_factory=list)
    reactions: list[Reaction] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    pinned_at: int | None = None
    reply_count: int = 0
    # threads (the web client's second round)
    thread: bool = False
    thread_reply_count: int = 0
    reply_user_ids: list[str] = field(default_factory=list)
    via: Via | None = None

    def to_json(self) -> JSON:
        deleted = self.deleted
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "author_id": self.author_id,
            "body": "" if deleted else self.body,
            "created_at": iso_ms(self.created_at),
            "edited_at": _iso_or_none(self.edited_at),
            "deleted": deleted,
            "reply_to": self.reply_to,
            "client_id": self.client_id,
            "files": [] if deleted else [f.to_json() for f in self.files],
            "reactions": [] if deleted else [r.to_json() for r in self.reactions],
            "mentions": [] if deleted else self.mentions,
            "pinned": self.pinned_at is not None and not deleted,
            "reply_count": self.reply_count,
            "thread": self.thread,
            "thread_reply_count": self.thread_reply_count,
            "reply_user_ids": self.reply_user_ids,
            "via": None if self.via is None else self.via.to_json(),
        }


@dataclass(frozen=True, slots=True)
class Presence:
    user_id: str
    status: str
    last_seen_at: int | None

    def to_json(self) -> JSON:
        return {
            "user_id": self.user_id,
            "status": self.status,
            "last_seen_at": _iso_or_none(self.last_seen_at),
        }


# ---- integrations ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Webhook:
    """An incoming webhook; `url` carries its secret, so only those who may list it see it."""

    id: str
    name: str
    conversation_id: str
    bot_user_id: str
    created_by: str
    created_at: int

    def to_json(self, url: str) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "conversation_id": self.conversation_id,
            "url": url,
            "created_by": self.created_by,
            "created_at": iso_ms(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    trigger: str
    url: str
    description: str
    bot_user_id: str
    created_by: str
    created_at: int

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "trigger": self.trigger,
            "url": self.url,
            "description": self.description,
            "created_by": self.created_by,
            "created_at": iso_ms(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class OutgoingHook:
    id: str
    name: str
    url: str
    conversation_ids: tuple[str, ...]
    trigger_words: tuple[str, ...]
    bot_user_id: str
    created_by: str
    created_at: int

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "conversation_ids": list(self.conversation_ids),
            "trigger_words": list(self.trigger_words),
            "created_by": self.created_by,
            "created_at": iso_ms(self.created_at),
        }
