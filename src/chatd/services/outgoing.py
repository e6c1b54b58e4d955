"""Outgoing webhooks: new messages POSTed, signed, to a URL; a `{text}` answer is a reply.

Delivery never touches the send path: after a message's commit, a listener checks each
hook's filters (a few comparisons, no I/O) and drops the message into that hook's own
bounded queue, worked by that hook's own task. A slow or dead URL therefore only delays its
own hook; when its queue is full, further deliveries to it are dropped and counted
(`chatd_outgoing_deliveries_dropped_total`). Each delivery has an id (`X-Chatd-Delivery`),
kept across its retries, and a signature (`X-Chatd-Signature: sha256=<HMAC of the body>`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

from chatd import metrics
from chatd.clock import Clock, now_ms
from chatd.db.database import Database
from chatd.errors import ChatdError, Conflict, NotFound
from chatd.ids import new_id
from chatd.log import event
from chatd.models import Message, OutgoingHook, User
from chatd.services import slack, validation
from chatd.services.bots import integration_bot
from chatd.services.keyring import Keyring
from chatd.services.messages import Messages
from chatd.services.outbound import Answer, Outbound, OutboundError, check_url
from chatd.services.principal import Principal
from chatd.services.users import Users
from chatd.store import conversations, outgoing, users

log = logging.getLogger("chatd.outgoing")

QUEUE_CAP = 100  # deliveries waiting per hook
RETRY_DELAYS_S = (1.0, 2.0, 4.0)  # three retries after the first attempt
REFRESH_S = 10.0  # hooks changed by another process are seen this soon
MAX_HOOKS = 100
MAX_FILTERS = 100


def first_word(body: str) -> str:
    words = body.split(maxsplit=1)
    return words[0].lower() if words else ""


def matches(hook: OutgoingHook, message: Message) -> bool:
    """The word filter and an explicit conversation list; "every channel" (an empty list)
    is checked by the worker, which loads the conversation anyway."""
    if hook.conversation_ids and message.conversation_id not in hook.conversation_ids:
        return False
    return not hook.trigger_words or first_word(message.body) in hook.trigger_words


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class _Lane:
    """One hook's queue and the task that works it."""

    queue: asyncio.Queue[Message]
    task: asyncio.Task[None]


class OutgoingHooks:
    def __init__(
        self,
        db: Database,
        messages: Messages,
        outbound: Outbound,
        keyring: Keyring,
        people: Users,
        clock: Clock,
    ) -> None:
        self.db = db
        self.messages = messages
        self.outbound = outbound
        self.keyring = keyring
        self.people = people
        self.clock = clock
        self.retry_delays = RETRY_DELAYS_S
        self._hooks: dict[str, OutgoingHook] = {}
        self._lanes: dict[str, _Lane] = {}
        self._changes = 0  # bumped by this process's own changes, so a reload never undoes one
        messages.on_created.append(self._on_created)

    # ---- admin -------------------------------------------------------------------------

    async def create(
        self,
        principal: Principal,
        name: Any,
        url: Any,
        conversation_ids: Any = None,
        trigger_words: Any = None,
    ) -> tuple[OutgoingHook, str]:
        """A hook and its signing secret (shown once)."""
        self.people.require_admin(principal)
        title, target, ids, words = validation.collect(
            (_name, name), (check_url, url), (_ids, conversation_ids), (_words, trigger_words)
        )
        hook_id = new_id()

        def create(conn: sqlite3.Connection) -> OutgoingHook:
            unknown = set(ids) - outgoing.existing_conversations(conn, ids)
            if unknown:
                raise validation.fail("conversation_ids", f"unknown conversation: {min(unknown)}")
            if outgoing.count(conn) >= MAX_HOOKS:
                raise Conflict(f"there are already {MAX_HOOKS} outgoing webhooks")
            now = now_ms(self.clock)
            bot = integration_bot(conn, title, now)
            hook = OutgoingHook(
                hook_id, title, target, tuple(ids), tuple(words), bot.id, principal.user.id, now
            )
            outgoing.insert(conn, hook)
            return hook

        hook = await self.db.write(create)
        self._changes += 1
        self._hooks[hook.id] = hook
        event(log, logging.INFO, "outgoing_hook.created", hook_id=hook.id)
        return hook, self.keyring.secret("outgoing", hook.id)

    async def list(self, principal: Principal) -> list[OutgoingHook]:
        self.people.require_admin(principal)
        return await self.db.read(outgoing.list_all)

    async def delete(self, principal: Principal, hook_id: str) -> None:
        self.people.require_admin(principal)

        def delete(conn: sqlite3.Connection) -> None:
            hook = outgoing.get(conn, hook_id)
            if hook is None:
                raise NotFound("no such outgoing webhook")
            outgoing.delete(conn, hook_id)
            users.set_active(conn, hook.bot_user_id, False)

        await self.db.write(delete)
        self._changes += 1
        self._forget(hook_id)
        event(log, logging.INFO, "outgoing_hook.deleted", hook_id=hook_id)

    # ---- delivery ----------------------------------------------------------------------

    async def run(self) -> None:
        """Keep the hooks current (another process may change them), until cancelled."""
        try:
            while True:
                changes = self._changes
                try:
                    found = {h.id: h for h in await self.db.read(outgoing.list_all)}
                except sqlite3.Error:
                    log.exception("loading outgoing webhooks failed")
                else:
                    if changes != self._changes:  # changed here meanwhile: read again
                        continue
                    for gone in set(self._hooks) - set(found):
                        self._forget(gone)
                    self._hooks = found
                await asyncio.sleep(REFRESH_S)
        finally:
            await self.close()

    def _forget(self, hook_id: str) -> None:
        self._hooks.pop(hook_id, None)
        lane = self._lanes.pop(hook_id, None)
        if lane is not None:
            lane.task.cancel()

    async def close(self) -> None:
        lanes = list(self._lanes.values())
        self._lanes.clear()
        for lane in lanes:
            lane.task.cancel()
        await asyncio.gather(*(lane.task for lane in lanes), return_exceptions=True)

    def _on_created(self, message: Message, author: User) -> None:
        """After a commit, on the event loop: queue, never wait."""
        if author.bot or not self._hooks:
            return
        for hook in self._hooks.values():
            if matches(hook, message):
                self._enqueue(hook, message)

    def _enqueue(self, hook: OutgoingHook, message: Message) -> None:
        lane = self._lanes.get(hook.id)
        if lane is None:
            queue: asyncio.Queue[Message] = asyncio.Queue(QUEUE_CAP)
            task = asyncio.create_task(self._work(hook.id, queue), name=f"chatd-hook-{hook.id}")
            lane = self._lanes[hook.id] = _Lane(queue, task)
        try:
            lane.queue.put_nowait(message)
        except asyncio.QueueFull:
            metrics.OUTGOING_DROPPED.inc()
            event(log, logging.WARNING, "outgoing_hook.dropped", hook_id=hook.id)

    async def _work(self, hook_id: str, queue: asyncio.Queue[Message]) -> None:
        while True:
            message = await queue.get()
            hook = self._hooks.get(hook_id)
            if hook is None:
                return
            try:
                await self._deliver(hook, message)
            except Exception:  # one bad delivery must not end the hook's worker
                log.exception("outgoing webhook %s failed", hook_id)

    async def _deliver(self, hook: OutgoingHook, message: Message) -> None:
        conversation = await self.db.read(
            conversations.get, message.conversation_id, hook.bot_user_id
        )
        if conversation is None or (not hook.conversation_ids and conversation.kind != "channel"):
            return
        body = orjson.dumps(
            {
                "hook_id": hook.id,
                "message": message.to_json(),
                "conversation": conversation.to_json(),
            }
        )
        delivery = new_id()
        headers = {
            "Content-Type": "application/json",
            "X-Chatd-Signature": sign(self.keyring.secret("outgoing", hook.id), body),
            "X-Chatd-Delivery": delivery,
        }
        problem = ""
        for attempt in range(len(self.retry_delays) + 1):
            if attempt:
                await asyncio.sleep(self.retry_delays[attempt - 1])
            try:
                answer = await self.outbound.post(hook.url, content=body, headers=headers)
            except OutboundError as exc:
                problem = str(exc)
                continue
            if answer.ok:
                metrics.OUTGOING_DELIVERIES.labels("ok").inc()
                await self._reply(hook, message, answer)
                return
            problem = f"answered {answer.status}"
        metrics.OUTGOING_DELIVERIES.labels("failed").inc()
        event(
            log, logging.WARNING, "outgoing_hook.failed",
            hook_id=hook.id, delivery=delivery, error=problem,
        )  # fmt: skip

    async def _reply(self, hook: OutgoingHook, message: Message, answer: Answer) -> None:
        """An answer `{text}` (Slack attachments too) becomes a reply by the hook's bot."""
        if not answer.body.strip():
            return
        try:
            payload = orjson.loads(answer.body)
            text = slack.body_of(payload, self.messages.max_chars)
        except (orjson.JSONDecodeError, ChatdError):
            return  # an answer with nothing to post is only an acknowledgement
        bot = await self.db.read(users.get, hook.bot_user_id)
        if bot is None:
            return
        try:
            await self.messages.post(bot, message.conversation_id, text, None, message.id)
        except ChatdError as exc:  # archived since, for one
            event(log, logging.INFO, "outgoing_hook.reply_refused", hook_id=hook.id, error=str(exc))


def _name(value: Any) -> str:
    title = validation.text(value, "name")
    assert title is not None
    title = title.strip()
    if not 1 <= len(title) <= 80 or validation.has_control(title):
        raise validation.fail("name", "must be 1-80 characters without control characters")
    return title


def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise validation.fail("conversation_ids", "must be a list of conversation ids")
    if len(value) > MAX_FILTERS:
        raise validation.fail("conversation_ids", f"at most {MAX_FILTERS}")
    return list(dict.fromkeys(value))


def _words(value: Any) -> list[str]:
    if value is None:
        return []
    ok = isinstance(value, list) and all(
        isinstance(v, str) and 1 <= len(v) <= 64 and v.split() == [v] for v in value
    )
    if not ok:
        raise validation.fail("trigger_words", "must be a list of single words (1-64 characters)")
    if len(value) > MAX_FILTERS:
        raise validation.fail("trigger_words", f"at most {MAX_FILTERS}")
    return list(dict.fromkeys(v.lower() for v in value))
