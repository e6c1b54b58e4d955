"""A send as data, run alone (`send_one`) or with its batch's other sends (`send_many`).

A send is a writer operation whose rules (membership, archive, body, idempotent
`client_id`, reply target, attachments, mentions) live in `send_one`. Run one send at a
time, that is five statements per send: on PostgreSQL each a round trip made while the batch
holds its conversations' locks, on SQLite each a call through the binding that, at
saturation, made up most of the writer thread's time. `send_many` gives the group-commit
writer the same rules for a whole run of sends in a few statements: the plain ones (no
reply, no files, no mention, not a thread reply, the sends a busy room is made of) are
checked in one SELECT and inserted together (`sending.check_many`, `insert_many`); any
other send runs through `send_one` in its place, so the batch's order (seqs, commit order,
events) is exactly that of the sends one by one.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass
from typing import Any

from chatd.clock import Clock, now_ms
from chatd.errors import ChatdError, Conflict, NotFound
from chatd.ids import new_message_id
from chatd.models import File, Message, User
from chatd.services import access, mentions, validation
from chatd.store import conversations, files, messages, sending

SendResult = tuple[Message, bool, Message | None]  # (message, created, the parent it replies to)


@dataclass(frozen=True)
class SendRequest:
    """One send, its input already parsed; what needs the database (access, the body's
    rules, which come after the access check) is checked in the writer's transaction."""

    user: User
    conversation_id: str
    client_id: str | None
    body: Any  # the draft's body as the client gave it
    reply_to: str | None
    file_ids: tuple[str, ...]
    thread: bool
    max_chars: int
    clock: Clock  # created_at is read in the transaction, as the seq is taken

    @property
    def plain(self) -> bool:
        """Nothing but a body: no reply, no files, no mention, so no statement of its own."""
        mention = isinstance(self.body, str) and "@" in self.body
        return self.reply_to is None and not self.file_ids and not self.thread and not mention


def attach(
    conn: sqlite3.Connection, message: Message, uploader_id: str, file_ids: list[str]
) -> list[File]:
    """Attach the sender's own uploads; any other id is refused as unknown."""
    found = files.owned(conn, file_ids, uploader_id)
    missing = [file_id for file_id in file_ids if file_id not in found]
    if missing:
        raise validation.fail("file_ids", f"unknown file: {missing[0]}")
    files.attach(conn, message.id, file_ids)
    return [found[file_id] for file_id in file_ids]


def set_mentions(
    conn: sqlite3.Connection, message: Message, kind: str, *, new: bool = False
) -> None:
    if "@" not in message.body:  # most messages: nothing to find, nothing to store
        message.mentions = []
        if not new:
            messages.set_mentions(conn, message, [])
        return
    names = conversations.member_names(conn, message.conversation_id)
    message.mentions = mentions.resolve(message.body, kind, message.author_id, names)
    messages.set_mentions(conn, message, message.mentions, new=new)


def load_visible(
    conn: sqlite3.Connection, user: User, message_id: str
) -> tuple[Message, conversations.Access]:
    """A message the caller may act on: 404 if hidden, 403 in a channel they have not joined."""
    message = messages.get(conn, message_id)
    if message is None:
        raise NotFound("no such message")
    try:
        found = access.member(conversations.access(conn, message.conversation_id, user.id), user)
    except NotFound:
        raise NotFound("no such message") from None
    messages.hydrate(conn, [message])
    return message, found


def _new_message(request: SendRequest, body: str, reply_to: str | None) -> Message:
    """The message a send makes, stamped now (in the transaction) and without its seq yet."""
    now = now_ms(request.clock)
    return Message(
        new_message_id(now),
        request.conversation_id,
        0,
        request.user.id,
        body,
        now,
        None,
        False,
        reply_to,
        request.client_id,
    )


def send_one(conn: sqlite3.Connection, request: SendRequest) -> SendResult:
    """Store one message, or answer the earlier one with its `client_id` (created False)."""
    user, conversation_id, client_id = request.user, request.conversation_id, request.client_id
    reply_to, file_ids, thread = request.reply_to, list(request.file_ids), request.thread
    checked, earlier = sending.check(conn, conversation_id, user.id, client_id)
    found = access.member(checked, user)
    if found.archived:
        raise Conflict("the conversation is archived")
    body = validation.body(request.body, request.max_chars, allow_empty=bool(file_ids))
    if earlier is not None:
        messages.hydrate(conn, [earlier])
        return earlier, False, None
    parent_id = reply_to
    if reply_to is not None:
        target = messages.reply_target(conn, reply_to)
        if target is None or target[0] != conversation_id:
            raise validation.fail("reply_to", "is not a message of this conversation")
        if thread:
            parent_id = target[1]  # a reply to a thread reply joins its root's thread
    message = _new_message(request, body, parent_id)
    message.thread = thread
    sending.insert_next(conn, message, found.last_seq)  # gives it its seq
    if file_ids:
        message.files = attach(conn, message, user.id, file_ids)
    set_mentions(conn, message, found.kind, new=True)
    parent = None
    if parent_id is not None:
        parent, _ = load_visible(conn, user, parent_id)  # its reply_count just changed
    return message, True, parent


def send_many(
    conn: sqlite3.Connection, batch: list[tuple[Any, ...]]
) -> list[SendResult | Exception]:
    """`send_one(conn, request)` for each `(request,)` of a group-commit run, in order, with
    each run of plain sends checked and inserted together (`_send_plain`). A send refused
    before it wrote anything is answered its error; anything else raised (an SQL error, a
    refusal after writing) is raised, and the writer runs the batch again one op at a time."""
    requests: list[SendRequest] = [args[0] for args in batch]
    answers: list[SendResult | Exception] = []
    start = 0
    while start < len(requests):
        end = start
        while end < len(requests) and requests[end].plain:
            end += 1
        if end > start:
            answers += _send_plain(conn, requests[start:end])
            start = end
            continue
        before = conn.total_changes
        try:
            answers.append(send_one(conn, requests[start]))
        except ChatdError as exc:
            if conn.total_changes != before:
                raise
            answers.append(exc)
        start += 1
    return answers


def _send_plain(
    conn: sqlite3.Connection, requests: list[SendRequest]
) -> list[SendResult | Exception]:
    """The rules of `send_one` for plain sends, with one check and one insert for them all.
    A `client_id` sent twice in the run is answered as a retry is: the first one's message,
    created False (one by one, the second send's check would have found the first)."""
    checked = sending.check_many(
        conn, [(r.conversation_id, r.user.id, r.client_id) for r in requests]
    )
    answers: list[SendResult | Exception | None] = [None] * len(requests)
    fresh: list[tuple[int, Message, str]] = []  # (index, message, conversation kind)
    earlier_found: list[Message] = []
    first_of: dict[tuple[str, str, str], int] = {}  # client_id key -> its fresh message
    repeats: list[tuple[int, int]] = []  # (index, index into fresh of the first)
    for index, (request, (checked_access, earlier)) in enumerate(
        zip(requests, checked, strict=True)
    ):
        try:
            found = access.member(checked_access, request.user)
            if found.archived:
                raise Conflict("the conversation is archived")
            body = validation.body(request.body, request.max_chars)
        except ChatdError as exc:
            answers[index] = exc
            continue
        if earlier is not None:
            earlier_found.append(earlier)
            answers[index] = (earlier, False, None)
            continue
        key = None
        if request.client_id is not None:
            key = (request.conversation_id, request.user.id, request.client_id)
            if key in first_of:
                repeats.append((index, first_of[key]))
                continue
            first_of[key] = len(fresh)
        message = _new_message(request, body, None)
        fresh.append((index, message, found.kind))
    if earlier_found:
        messages.hydrate(conn, earlier_found)
    sending.insert_many(conn, [message for _, message, _ in fresh])  # gives them their seqs
    for index, message, kind in fresh:
        set_mentions(conn, message, kind, new=True)
        answers[index] = (message, True, None)
    for index, first in repeats:
        _, message, _ = fresh[first]
        again = dataclasses.replace(  # its own lists: a caller may change one answer
            message,
            files=list(message.files),
            reactions=list(message.reactions),
            mentions=list(message.mentions),
            reply_user_ids=list(message.reply_user_ids),
        )
        answers[index] = (again, False, None)
    done = [answer for answer in answers if answer is not None]
    if len(done) != len(requests):
        raise AssertionError("a send of the run was left unanswered")
    return done
