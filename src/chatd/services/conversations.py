"""Conversations: direct messages, private groups and public channels; members; read markers."""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import Any

from chatd.clock import Clock, now_ms
from chatd.db.database import Database
from chatd.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from chatd.ids import new_id
from chatd.models import Conversation, User
from chatd.realtime.hub import Event, Hub
from chatd.services import access, validation
from chatd.services.throttle import FailureWindow
from chatd.store import conversations as store
from chatd.store import users

MAX_INITIAL_MEMBERS = 1000
# New conversations one person may make per minute (the contract's "Conversations"): far
# above what anyone makes by hand, far below the 1,500 groups in 2 s that once flooded
# another member's conversation list. Opening a direct conversation that exists is free.
MAX_CREATED_PER_MINUTE = 30
NOTIFY_LEVELS = ("default", "all", "mentions", "none")


def neutral(conversation: Conversation) -> Conversation:
    """The shape sent to every member at once: no one's personal marker, counts or settings."""
    return dataclasses.replace(
        conversation,
        read_seq=0,
        unread_count=0,
        mention_count=0,
        muted=False,
        notify="default",
    )


def _member_ids(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise validation.fail("members", "must be a list of user ids")
    if len(value) > MAX_INITIAL_MEMBERS:
        raise validation.fail("members", f"at most {MAX_INITIAL_MEMBERS} members at once")
    return list(dict.fromkeys(value))


def _check_users_exist(conn: sqlite3.Connection, user_ids: list[str], field: str) -> None:
    found = users.get_many(conn, user_ids)
    missing = [uid for uid in user_ids if uid not in found or not found[uid].active]
    if missing:
        raise ValidationFailed({field: f"unknown user: {missing[0]}"})


class Conversations:
    def __init__(self, db: Database, hub: Hub, clock: Clock) -> None:
        self.db = db
        self.hub = hub
        self.clock = clock
        self._made = FailureWindow(clock, MAX_CREATED_PER_MINUTE, 60.0)

    def _publish(self, conversation_id: str, frame: dict[str, Any]) -> None:
        self.hub.publish(Event(frame, conversation_id=conversation_id))

    def _publish_member(self, kind: str, conversation_id: str, user_id: str) -> None:
        """`member.added` / `member.removed`; the hub's membership cache follows these."""
        frame = {"type": kind, "conversation_id": conversation_id, "user_id": user_id}
        self._publish(conversation_id, frame)

    def _publish_conversation(self, kind: str, conversation: Conversation) -> None:
        frame = {"type": kind, "conversation": neutral(conversation).to_json()}
        self._publish(conversation.id, frame)

    # ---- create ------------------------------------------------------------------------

    async def create(
        self, user: User, kind: Any, name: Any, topic: Any, members: Any
    ) -> tuple[Conversation, bool]:
        """Create a conversation; for an existing direct pair, return it with created=False."""
        if kind not in ("direct", "group", "channel"):
            raise validation.fail("kind", "must be direct, group or channel")
        others = _member_ids(members if members is not None else [])
        channel_key = direct_key = None
        if kind == "direct":
            if len(others) != 1:
                raise validation.fail("members", "a direct conversation has exactly one other user")
            direct_key = ":".join(sorted((user.id, others[0])))
            shown_name, shown_topic = "", validation.topic(topic)
        elif kind == "channel":
            shown_name = validation.channel_name(name)
            channel_key = shown_name
            shown_topic = validation.topic(topic)
        else:
            shown_name, shown_topic = validation.group_name(name), validation.topic(topic)
        member_ids = list(dict.fromkeys([user.id, *others]))
        now = now_ms(self.clock)
        conversation = Conversation(
            id=new_id(),
            kind=kind,
            name=shown_name,
            topic=shown_topic,
            created_at=now,
            created_by=user.id,  # in a direct one: who opened it, with no owner's powers
            archived=False,
            last_seq=0,
            last_activity_at=now,
            members=member_ids,
        )

        # Each creation is counted before its write (in flight included, so a burst of
        # parallel requests cannot all pass) and given back if nothing new was made.
        wait = self._made.retry_after(user.id)
        if wait > 0 and direct_key is None:
            raise RateLimited(wait, "too many new conversations; try again in a minute")
        if wait == 0:
            self._made.fail(user.id)

        def create(conn: sqlite3.Connection) -> tuple[Conversation, bool]:
            _check_users_exist(conn, others, "members")
            if direct_key is not None:
                existing = store.by_direct_key(conn, direct_key)
                if existing is not None:
                    found = store.get(conn, existing, user.id)
                    assert found is not None
                    return found, False
                if wait > 0:
                    raise RateLimited(wait, "too many new conversations; try again in a minute")
            if channel_key is not None and store.channel_taken(conn, channel_key):
                raise Conflict("a channel with that name exists", fields={"name": "is taken"})
            store.insert(conn, conversation, channel_key, direct_key)
            made = store.get(conn, conversation.id, user.id)
            assert made is not None
            return made, True

        def announce(result: tuple[Conversation, bool]) -> None:
            if result[1]:
                self._publish_conversation("conversation.created", result[0])

        try:
            result = await self.db.write(create, after=announce)
        except Exception:
            if wait == 0:
                self._made.forgive(user.id)
            raise
        if not result[1] and wait == 0:
            self._made.forgive(user.id)
        return result

    # ---- read --------------------------------------------------------------------------

    async def list_mine(self, user: User) -> list[Conversation]:
        return await self.db.read(store.list_for_user, user.id)

    async def get(self, user: User, conversation_id: str) -> Conversation:
        def read(conn: sqlite3.Connection) -> Conversation | None:
            access.visible(store.access(conn, conversation_id, user.id), user)
            return store.get(conn, conversation_id, user.id)

        found = await self.db.read(read)
        if found is None:
            raise NotFound("no such conversation")
        return found

    async def browse_channels(self, user: User, q: Any, limit: Any) -> list[Conversation]:
        query = (validation.text(q, "q", required=False) or "").strip().lower()[:80]
        return await self.db.read(store.browse_channels, user.id, query, validation.limit(limit))

    # ---- change ------------------------------------------------------------------------

    async def update(
        self, user: User, conversation_id: str, name: Any, topic: Any, archived: Any
    ) -> Conversation:
        def change(conn: sqlite3.Connection) -> Conversation:
            found = access.visible(store.access(conn, conversation_id, user.id), user)
            if found.kind == "direct":
                raise validation.fail("kind", "a direct conversation cannot be renamed or archived")
            if found.kind == "channel" and not access.is_owner(found, user):
                raise Forbidden("only the channel's owner or an admin may change it")
            new_name = channel_key = None
            if name is not None:
                if found.kind == "channel":
                    new_name = channel_key = validation.channel_name(name)
                    if store.channel_taken(conn, channel_key, conversation_id):
                        raise Conflict(
                            "a channel with that name exists", fields={"name": "is taken"}
                        )
                else:
                    new_name = validation.group_name(name)
            new_topic = validation.topic(topic) if topic is not None else None
            flag = validation.boolean(archived, "archived") if archived is not None else None
            store.update(
                conn,
                conversation_id,
                name=new_name,
                channel_key=channel_key,
                topic=new_topic,
                archived=flag,
            )
            updated = store.get(conn, conversation_id, user.id)
            assert updated is not None
            return updated

        return await self.db.write(
            change, after=lambda c: self._publish_conversation("conversation.updated", c)
        )

    async def join(self, user: User, conversation_id: str) -> Conversation:
        def join(conn: sqlite3.Connection) -> tuple[Conversation, bool]:
            found = access.visible(store.access(conn, conversation_id, user.id), user)
            if found.kind != "channel":
                raise validation.fail("kind", "only channels can be joined")
            if found.archived and not found.is_member:
                raise Conflict("the channel is archived")
            added = store.add_member(conn, conversation_id, user.id, now_ms(self.clock))
            joined = store.get(conn, conversation_id, user.id)
            assert joined is not None
            return joined, added

        def announce(result: tuple[Conversation, bool]) -> None:
            if result[1]:
                self._publish_member("member.added", conversation_id, user.id)

        conversation, _ = await self.db.write(join, after=announce)
        return conversation

    async def add_member(self, user: User, conversation_id: str, user_id: Any) -> Conversation:
        target = validation.identifier(user_id, "user_id")

        def add(conn: sqlite3.Connection) -> tuple[Conversation, bool]:
            found = access.member(store.access(conn, conversation_id, user.id), user)
            if found.kind == "direct":
                raise validation.fail("kind", "a direct conversation has fixed members")
            _check_users_exist(conn, [target], "user_id")
            added = store.add_member(conn, conversation_id, target, now_ms(self.clock))
            updated = store.get(conn, conversation_id, user.id)
            assert updated is not None
            return updated, added

        def announce(result: tuple[Conversation, bool]) -> None:
            if result[1]:
                self._publish_member("member.added", conversation_id, target)

        conversation, _ = await self.db.write(add, after=announce)
        return conversation

    async def remove_member(self, user: User, conversation_id: str, user_id: str) -> None:
        def remove(conn: sqlite3.Connection) -> None:
            found = access.visible(store.access(conn, conversation_id, user.id), user)
            if found.kind == "direct":
                raise validation.fail("kind", "no one can leave a direct conversation")
            if user_id != user.id and not access.is_owner(found, user):
                raise Forbidden("only the owner or an admin may remove someone else")
            if not store.remove_member(conn, conversation_id, user_id):
                raise NotFound("that user is not a member")

        def announce(_: None) -> None:
            self._publish_member("member.removed", conversation_id, user_id)

        await self.db.write(remove, after=announce)

    async def mark_read(
        self, user: User, conversation_id: str, seq: Any, origin: str | None = None
    ) -> Conversation:
        """Move the caller's marker forward (clamped to last_seq); tell their other sockets."""
        target = validation.integer(seq, "seq", minimum=0)

        def mark(conn: sqlite3.Connection) -> Conversation:
            access.member(store.access(conn, conversation_id, user.id), user)
            store.set_read(conn, conversation_id, user.id, target)
            updated = store.get(conn, conversation_id, user.id)
            assert updated is not None
            return updated

        def announce(conversation: Conversation) -> None:
            frame = {
                "type": "read",
                "conversation_id": conversation_id,
                "user_id": user.id,
                "seq": conversation.read_seq,
            }
            self.hub.publish(Event(frame, user_ids=(user.id,), skip_conn=origin))

        return await self.db.write(mark, after=announce)

    async def set_settings(
        self, user: User, conversation_id: str, muted: Any, notify: Any = None
    ) -> Conversation:
        """The caller's own settings: `muted`, and `notify` (what reaches them away)."""
        flag = validation.boolean(muted, "muted") if muted is not None else None
        level = None
        if notify is not None:
            if notify not in NOTIFY_LEVELS:
                raise validation.fail("notify", "must be default, all, mentions or none")
            level = str(notify)

        def change(conn: sqlite3.Connection) -> Conversation:
            access.member(store.access(conn, conversation_id, user.id), user)
            if flag is not None:
                store.set_muted(conn, conversation_id, user.id, flag)
            if level is not None:
                store.set_notify(conn, conversation_id, user.id, level)
            updated = store.get(conn, conversation_id, user.id)
            assert updated is not None
            return updated

        def announce(conversation: Conversation) -> None:
            # `own`: this view holds the caller's settings, which their other devices take;
            # the neutral view sent to every member for a rename must not overwrite them.
            frame = {
                "type": "conversation.updated",
                "conversation": conversation.to_json(),
                "own": True,
            }
            self.hub.publish(Event(frame, user_ids=(user.id,)))

        return await self.db.write(change, after=announce)

    async def hello_markers(self, user: User) -> list[tuple[str, int, int]]:
        return await self.db.read(store.markers_for_user, user.id)
