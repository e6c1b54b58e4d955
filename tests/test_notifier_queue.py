"""The notifier under a flood: it never holds up a send, keeps up by taking whatever is
queued as one batch, and a queue that overflows anyway is counted, not logged per message."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest

from chatd import metrics
from chatd.clock import ManualClock
from chatd.ids import new_id
from chatd.models import Message, User
from chatd.realtime.hub import Hub
from chatd.realtime.presence import PresenceTracker
from chatd.services import notifier as notifier_module
from chatd.services.notifier import QUEUE_SIZE, Notifier


def _message(conversation_id: str, author_id: str) -> Message:
    return Message(new_id(), conversation_id, 1, author_id, "hi", 0, None, False, None, None)


def test_an_overflow_is_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    hub = Hub()
    hub.load_memberships([("c1", "ann"), ("c1", "bob")])
    tracker = PresenceTracker(hub, ManualClock(), away_after_s=60, offline_grace_s=0)
    notifier = Notifier(cast(Any, None), hub, tracker, cast(Any, None), email_on=False)
    before = metrics.NOTIFY_DROPPED._value.get()
    author = cast(User, None)
    with caplog.at_level(logging.WARNING, logger="chatd.notify"):
        for _ in range(QUEUE_SIZE + 500):  # bob is away: every message is queued for him
            notifier.message_created(_message("c1", "ann"), author)
    assert metrics.NOTIFY_DROPPED._value.get() - before == 500
    lines = [r for r in caplog.records if "notify.dropped" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]


def test_the_batch_is_everything_queued() -> None:
    """After its short wait the run loop takes the whole queue as one batch (one read), so
    the notifier keeps up with any rate the writer does; batches of 200 every 50 ms fell
    behind at 4,000 msg/s and dropped notifications."""
    hub = Hub()
    hub.load_memberships([("c1", "ann"), ("c1", "bob")])
    tracker = PresenceTracker(hub, ManualClock(), away_after_s=60, offline_grace_s=0)
    batches: list[int] = []

    class Recording(Notifier):
        async def _handle(self, batch: list[Any]) -> None:
            batches.append(len(batch))

    async def scenario() -> None:
        notifier = Recording(cast(Any, None), hub, tracker, cast(Any, None), email_on=False)
        runner = asyncio.create_task(notifier.run())
        for _ in range(1500):
            notifier.message_created(_message("c1", "ann"), cast(User, None))
        await asyncio.sleep(notifier_module.BATCH_WAIT_S * 3)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)

    asyncio.run(scenario())
    assert batches == [1500]
