"""Messages: send (the hot path), history, edit, delete.

A send is one writer operation: access check, idempotency by `client_id`, seq assignment,
insert and mentions in the same transaction as everyone else's sends in the batch. The caller
hears back only after the commit, and `message.created` leaves in commit order.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chatd import metrics
from chatd.clock import Clock, now_ms
from chatd.db.database import Database
from chatd.errors import Conflict, Forbidden, NotFound
from chatd.ids import new_message_id
from chatd.models import Message, User, Via
from chatd.realtime.hub import Event, Hub
from chatd.services import access, search, validation
from chatd.services.search import SearchIndexer
from chatd.services.sends import SendRequest, load_visible, send_many, send_one, set_mentions
from chatd.store import conversations, messages


@dataclass(frozen=True)
class Draft:
    """A message to send, as the client gave it."""

    body: Any
    client_id: Any = None
    reply_to: Any = None
    file_ids: Any = None
    thread: Any = None  # true: a reply in reply_to's thread, not in the flow


def publish(hub: Hub, message: Message, kind: str) -> None:
    """`kind` (message.created, message.updated) with the message, to its conversation."""
    frame = {"type": kind, "message": message.to_json()}
    hub.publish(Event(frame, conversation_id=message.conversation_id))


def publish_if_changed(hub: Hub, result: tuple[Message, bool]) -> None:
    """`after` of a write that may leave the message as it was (a reaction or pin asked for
    twice): `message.updated` only when it changed."""
    message, changed = result
    if changed:
        publish(hub, message, "message.updated")


def _parse_cursor(value: Any) -> tuple[int, str] | None:
    """`next_cursor` of the mentions view: "<created_at ms>.<message id>"."""
    if value is None or value == "":
        return None
    text = value if isinstance(value, str) else ""
    at, _, message_id = text.partition(".")
    if not at.isdigit() or not message_id or len(text) > 100:
        raise validation.fail("cursor", "is not a cursor from this list")
    return int(at), message_id


class Messages:
    def __init__(
        self, db: Database, hub: Hub, clock: Clock, max_chars: int, indexer: SearchIndexer
    ) -> None:
        self.db = db
        self.indexer = indexer
        self.hub = hub
        self.clock = clock
        self.max_chars = max_chars
        # called after the commit of each new message, on the node that committed it
        # (outgoing webhooks, notifications); must not block
        self.on_created: list[Callable[[Message, User], None]] = []

    def _publish(self, message: Message, kind: str) -> None:
        publish(self.hub, message, kind)

    async def send(
        self, user: User, conversation_id: str, draft: Draft, via: str = "http"
    ) -> tuple[Message, bool]:
        """Store a message; (message, created). A repeated client_id returns the first one."""
        message, created, _ = await self.submit(user, conversation_id, draft, via)
        return message, created

    def submit(
        self, user: User, conversation_id: str, draft: Draft, via: str = "http"
    ) -> asyncio.Future[tuple[Message, bool, Message | None]]:
        """`send` without a task of its own (a socket keeps dozens in flight): the future of
        (message, created, the parent it replies to). Bad input raises at once."""
        client_id = validation.client_id(draft.client_id)
        reply_to = None
        if draft.reply_to is not None:
            reply_to = validation.identifier(draft.reply_to, "reply_to")
        file_ids = self._file_ids(draft.file_ids)
        thread = False if draft.thread is None else validation.boolean(draft.thread, "thread")
        if thread and reply_to is None:
            raise validation.fail("reply_to", "a thread reply needs the message it replies to")
        request = SendRequest(
            user,
            conversation_id,
            client_id,
            draft.body,
            reply_to,
            tuple(file_ids),
            thread,
            self.max_chars,
            self.clock,
        )

        def announce(result: tuple[Message, bool, Message | None]) -> None:
            message, created, parent = result
            if created:
                metrics.messages_accepted(via).inc()
                self.indexer.sent()
                self._publish(message, "message.created")
                if parent is not None:
                    self._publish(parent, "message.updated")
                for listener in self.on_created:
                    listener(message, user)

        return self.db.submit(
            send_one,
            request,
            after=announce,
            lock=conversation_id,
            source=user.id,
            many=send_many,
        )

    async def post(
        self,
        author: User,
        conversation_id: str,
        body: str,
        via: Via | None,
        reply_to: str | None = None,
    ) -> Message:
        """Post as an integration's bot user, which need not be a member (an incoming
        webhook, a command's `in_channel` answer, an outgoing hook's reply). The caller has
        already checked who may make it post; archived conversations still refuse."""
        text = validation.body(body, self.max_chars)

        def post(conn: sqlite3.Connection) -> tuple[Message, Message | None]:
            found = conversations.access(conn, conversation_id, author.id)
            if found is None:
                raise NotFound("no such conversation")
            if found.archived:
                raise Conflict("the conversation is archived")
            now = now_ms(self.clock)
            seq = conversations.next_seq(conn, conversation_id, found.last_seq, now)
            message = Message(
                new_message_id(now),
                conversation_id,
                seq,
                author.id,
                text,
                now,
                None,
                False,
                reply_to,
                None,
            )
            message.via = via
            messages.insert(conn, message)
            set_mentions(conn, message, found.kind, new=True)
            parent = None
            if reply_to is not None:
                parent = messages.get(conn, reply_to)
                if parent is not None:
                    messages.hydrate(conn, [parent])
            return message, parent

        def announce(result: tuple[Message, Message | None]) -> None:
            message, parent = result
            metrics.messages_accepted("integration").inc()
            self.indexer.sent()
            self._publish(message, "message.created")
            if parent is not None:
                self._publish(parent, "message.updated")
            # notifications as for anyone's message; outgoing hooks skip bot authors, so a
            # hook's own reply never triggers hooks again
            for listener in self.on_created:
                listener(message, author)

        message, _ = await self.db.write(post, after=announce, lock=conversation_id)
        return message

    @staticmethod
    def _file_ids(value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise validation.fail("file_ids", "must be a list of file ids")
        if len(value) > 10:
            raise validation.fail("file_ids", "at most 10 files per message")
        return list(dict.fromkeys(value))

    async def history(
        self, user: User, conversation_id: str, before: Any, after: Any, limit: Any
    ) -> tuple[list[Message], bool]:
        upper = None if before in (None, "") else validation.query_integer(before, "before")
        lower = None if after in (None, "") else validation.query_integer(after, "after")
        size = validation.limit(limit)

        def read(conn: sqlite3.Connection) -> tuple[list[Message], bool]:
            access.member(conversations.access(conn, conversation_id, user.id), user)
            found, more = messages.page(conn, conversation_id, upper, lower, size)
            messages.hydrate(conn, found)
            return found, more

        return await self.db.read(read)

    async def get(self, user: User, message_id: str) -> Message:
        return await self.db.read(lambda conn: load_visible(conn, user, message_id)[0])

    async def replies(
        self, user: User, message_id: str, after: Any, limit: Any
    ) -> tuple[list[Message], bool]:
        lower = 0 if after in (None, "") else validation.query_integer(after, "after")
        size = validation.limit(limit)

        def read(conn: sqlite3.Connection) -> tuple[list[Message], bool]:
            load_visible(conn, user, message_id)
            found, more = messages.replies(conn, message_id, lower, size)
            messages.hydrate(conn, found)
            return found, more

        return await self.db.read(read)

    async def mentioning(
        self, user: User, cursor: Any, limit: Any
    ) -> tuple[list[Message], str | None]:
        """Messages that mention the caller, newest first; the cursor of the next page."""
        size = validation.limit(limit)
        before = _parse_cursor(cursor)

        def read(conn: sqlite3.Connection) -> list[Message]:
            found = messages.mentioning(conn, user.id, before, size + 1)
            messages.hydrate(conn, found[:size])
            return found

        found = await self.db.read(read)
        page = found[:size]
        if len(found) > size and page:
            return page, f"{page[-1].created_at}.{page[-1].id}"
        return page, None

    async def edit(self, user: User, message_id: str, body: Any) -> Message:
        max_chars = self.max_chars

        def edit(conn: sqlite3.Connection) -> Message:
            message, found = load_visible(conn, user, message_id)
            if message.author_id != user.id:
                raise Forbidden("only the author may edit a message")
            if message.deleted:
                raise Conflict("the message is deleted")
            if found.archived:
                raise Conflict("the conversation is archived")
            new_body = validation.body(body, max_chars, allow_empty=bool(message.files))
            search.changed(conn, message_id, message.body)
            message.body = new_body
            message.edited_at = now_ms(self.clock)
            messages.set_body(conn, message_id, new_body, message.edited_at)
            set_mentions(conn, message, found.kind)
            return message

        def announce_edit(message: Message) -> None:
            self.indexer.sent()  # the index follows the new body
            self._publish(message, "message.updated")

        return await self.db.write(edit, after=announce_edit)

    async def delete(self, user: User, message_id: str) -> None:
        def delete(conn: sqlite3.Connection) -> tuple[Message, Message | None] | None:
            message, found = load_visible(conn, user, message_id)
            allowed = (
                message.author_id == user.id
                or (found.kind == "channel" and access.is_owner(found, user))
                or user.is_admin
            )
            if not allowed:
                raise Forbidden("only the author, the channel's owner or an admin may delete it")
            if message.deleted:
                return None
            search.changed(conn, message_id, message.body)
            messages.tombstone(conn, message_id)
            conversations.own_message_deleted(
                conn, message.conversation_id, message.author_id, message.seq
            )
            parent = None
            if message.thread and message.reply_to is not None:  # its root's thread shrank
                parent = messages.get(conn, message.reply_to)
                if parent is not None:
                    messages.hydrate(conn, [parent])
            return message, parent

        def announce(result: tuple[Message, Message | None] | None) -> None:
            if result is not None:
                self.indexer.sent()  # the index drops the body
                message, parent = result
                if parent is not None:
                    self._publish(parent, "message.updated")
                frame = {
                    "type": "message.deleted",
                    "conversation_id": message.conversation_id,
                    "message_id": message.id,
                    "seq": message.seq,
                }
                self.hub.publish(Event(frame, conversation_id=message.conversation_id))

        await self.db.write(delete, after=announce)
