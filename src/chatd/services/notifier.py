"""Who hears about a new message away from the page, and how: Web Push at once, email later.

The node that commits a message is the one that notifies about it (`Messages` calls
`message_created` from the commit's callback, which runs only there), so with several nodes
a push goes out once. Recipients are the members with no active socket (presence: all
closed, or all idle past `presence.away_after_s`) whose setting for the conversation says
the message notifies. The work runs from a bounded queue on a background task: a sender
never waits for it and a slow push service never slows a send.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import dataclass

from chatd import metrics
from chatd.db.database import Database
from chatd.log import event
from chatd.models import Message, User
from chatd.realtime.hub import Hub
from chatd.realtime.presence import PresenceTracker
from chatd.services.push import PushService
from chatd.store import digests
from chatd.store import notify as store

log = logging.getLogger("chatd.notify")

QUEUE_SIZE = 2000  # messages waiting to be looked at; beyond that they are dropped and logged
# how long the first message of a batch waits for others: a busy team's messages then cost
# one read every so often instead of one each, and a push 50 ms later is still at once. The
# batch is then everything queued, so the notifier keeps up with any rate the writer does.
BATCH_WAIT_S = 0.05
DROP_LOG_EVERY_S = 10.0  # a full queue is logged at most this often, with the count
BODY_CHARS = 200


def level(notify: str, muted: bool, kind: str) -> str:
    """The effective setting: muted is `none`; `default` is `all` in direct and group
    conversations and `mentions` in channels."""
    if muted:
        return "none"
    if notify == "default":
        return "mentions" if kind == "channel" else "all"
    return notify


def notifies(recipient: store.Recipient, kind: str, mentions: list[str]) -> bool:
    if not recipient.active:
        return False
    wanted = level(recipient.notify, recipient.muted, kind)
    return wanted == "all" or (wanted == "mentions" and recipient.user_id in mentions)


def title(author: str, kind: str, name: str) -> str:
    if kind == "direct":
        return f"{author} (direct message)"
    if kind == "channel":
        return f"{author} in #{name}"
    return f"{author} in {name}" if name else f"{author} in a group"


def preview(message: Message) -> str:
    text = message.body.strip()
    if not text and message.files:
        text = ", ".join(f.name for f in message.files)
    return text[:BODY_CHARS]


_Waiting = tuple[Message, tuple[str, ...]]  # a new message and its members who are away


@dataclass(frozen=True)
class _Plan:
    pushes: list[tuple[store.Subscription, dict[str, object]]]
    pending: list[tuple[str, str, str, int, int]]


class Notifier:
    def __init__(
        self,
        db: Database,
        hub: Hub,
        tracker: PresenceTracker,
        push: PushService,
        email_on: bool,
    ) -> None:
        self.db = db
        self.hub = hub
        self.tracker = tracker
        self.push = push
        self.email_on = email_on
        self._queue: asyncio.Queue[_Waiting] = asyncio.Queue(QUEUE_SIZE)
        self._drops = 0  # since the last notify.dropped line
        self._drops_logged_at = -DROP_LOG_EVERY_S

    def message_created(self, message: Message, author: User) -> None:
        """Called on the event loop right after the commit: cheap, never waits."""
        members = self.hub.members(message.conversation_id)
        away = self.tracker.away_among(members, besides=message.author_id)
        if not away:
            return
        try:
            self._queue.put_nowait((message, away))
        except asyncio.QueueFull:
            self._dropped()

    def _dropped(self) -> None:
        """Count the drop; log the count now and then, never a line per message (a flood
        that outruns the queue would otherwise also flood the log)."""
        metrics.NOTIFY_DROPPED.inc()
        self._drops += 1
        now = time.monotonic()
        if now - self._drops_logged_at >= DROP_LOG_EVERY_S:
            event(log, logging.WARNING, "notify.dropped", reason="queue full", count=self._drops)
            self._drops, self._drops_logged_at = 0, now

    def _plan(self, conn: sqlite3.Connection, batch: list[_Waiting]) -> _Plan:
        """Whom each message of the batch reaches, in one read: a busy conversation's
        messages ask the same questions, so each is asked once per batch."""
        names: dict[tuple[str, str], tuple[str, str, str]] = {}
        chosen_of: dict[tuple[str, tuple[str, ...]], list[store.Recipient]] = {}
        subscriptions_of: dict[str, list[store.Subscription]] = {}
        pushes: list[tuple[store.Subscription, dict[str, object]]] = []
        pending: list[tuple[str, str, str, int, int]] = []
        for message, away in batch:
            key = (message.author_id, message.conversation_id)
            if key not in names:
                names[key] = store.names(conn, *key)
            author, kind, name = names[key]
            asked = (message.conversation_id, away)
            if asked not in chosen_of:
                chosen_of[asked] = store.recipients(conn, message.conversation_id, list(away))
            chosen = [r for r in chosen_of[asked] if notifies(r, kind, message.mentions)]
            if not chosen:
                continue
            payload: dict[str, object] = {
                "conversation_id": message.conversation_id,
                "message_id": message.id,
                "seq": message.seq,
                "title": title(author, kind, name),
                "body": preview(message),
            }
            unknown = [r.user_id for r in chosen if r.user_id not in subscriptions_of]
            if unknown:
                for user_id in unknown:
                    subscriptions_of[user_id] = []
                for found in store.subscriptions_of(conn, unknown):
                    subscriptions_of[found.user_id].append(found)
            pushes.extend((s, payload) for r in chosen for s in subscriptions_of[r.user_id])
            if self.email_on:
                due = (message.id, message.conversation_id, message.seq, message.created_at)
                pending.extend((r.user_id, *due) for r in chosen if r.emailable)
        return _Plan(pushes, pending)

    async def _handle(self, batch: list[_Waiting]) -> None:
        plan = await self.db.read(self._plan, batch)
        for subscription, payload in plan.pushes:
            self.push.enqueue(subscription, payload)
        if plan.pending:
            await self.db.write(digests.add_pending, plan.pending)

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            await asyncio.sleep(BATCH_WAIT_S)
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._handle(batch)
            except Exception:
                log.exception("notify.failed")
