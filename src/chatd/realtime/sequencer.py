"""Each conversation's messages reach this node's sockets in `seq` order, once, across nodes.

With several nodes writing to one conversation, node B may commit seq 6 and publish it to its
own sockets before node A's seq 5 has crossed the bus. The sequencer sits between the bus and
the hub: it remembers the last `seq` delivered per conversation, passes the next one on,
drops one already delivered (a late copy), and holds back one that comes early. A gap still
open after `hold_s` is handed to `on_gap(conversation, after, before)`, which reads the
missing messages from the database (the truth: a seq is taken under the conversation row's
lock, so when seq n is published every seq below it has committed) and hands them back with
`filled`; if it cannot, `give_up` skips the gap, and the caller closes the affected sockets
with 4009 so their clients fill it themselves.

Events without a new `seq` (edits, typing, membership...) pass straight through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping

from chatd import metrics
from chatd.realtime.buswire import message_seq
from chatd.realtime.hub import Event, Revoke

MAX_HELD = 5000  # per conversation; past this the gap is settled at once, not after hold_s


class Sequencer:
    def __init__(
        self,
        deliver: Callable[[Event | Revoke], None],
        on_gap: Callable[[str, int, int], None],
        hold_s: float,
    ) -> None:
        self._deliver = deliver
        self._on_gap = on_gap
        self.hold_s = hold_s
        self._last: dict[str, int] = {}
        self._held: dict[str, dict[int, Event]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._filling: set[str] = set()
        self._early: list[Event | Revoke] | None = []  # until the first `start`

    def start(self, last_seqs: Mapping[str, int]) -> None:
        """Begin from the database's `last_seq` of every conversation; what the bus brought
        before that is replayed now (whatever the database already had is dropped)."""
        self._last.update(last_seqs)
        early, self._early = self._early or [], None
        for item in early:
            self.offer(item)

    def last(self, conversation_id: str) -> int:
        return self._last.get(conversation_id, 0)

    def offer(self, item: Event | Revoke) -> None:
        if self._early is not None:
            self._early.append(item)
            return
        seq = message_seq(item)
        if seq is None or not isinstance(item, Event) or item.conversation_id is None:
            self._deliver(item)
            return
        self._place(item.conversation_id, seq, item)

    def _place(self, conversation_id: str, seq: int, item: Event) -> None:
        last = self._last.get(conversation_id, 0)
        if seq <= last:
            return  # delivered already (a late copy, or filled from the database)
        if seq == last + 1:
            self._deliver(item)
            self._last[conversation_id] = seq
            self._drain(conversation_id)
            return
        held = self._held.setdefault(conversation_id, {})
        held[seq] = item
        if len(held) > MAX_HELD:
            self._expire(conversation_id)
        elif conversation_id not in self._timers and conversation_id not in self._filling:
            loop = asyncio.get_running_loop()
            self._timers[conversation_id] = loop.call_later(
                self.hold_s, self._expire, conversation_id
            )

    def _drain(self, conversation_id: str) -> None:
        held = self._held.get(conversation_id)
        if held is None:
            return
        last = self._last.get(conversation_id, 0)
        while last + 1 in held:
            last += 1
            self._deliver(held.pop(last))
        self._last[conversation_id] = last
        if not held:
            del self._held[conversation_id]
            timer = self._timers.pop(conversation_id, None)
            if timer is not None:
                timer.cancel()

    def _expire(self, conversation_id: str) -> None:
        """The gap did not close by itself: ask for the missing messages."""
        timer = self._timers.pop(conversation_id, None)
        if timer is not None:
            timer.cancel()
        held = self._held.get(conversation_id)
        if not held or conversation_id in self._filling:
            return
        metrics.BUS_LOST_EVENTS.inc()
        self._filling.add(conversation_id)
        self._on_gap(conversation_id, self._last.get(conversation_id, 0), min(held))

    def filled(self, conversation_id: str, events: Iterable[Event]) -> None:
        """The missing messages, read from the database, in any order."""
        self._filling.discard(conversation_id)
        for item in sorted(events, key=lambda e: message_seq(e) or 0):
            seq = message_seq(item)
            if seq is not None:
                self._place(conversation_id, seq, item)
        held = self._held.get(conversation_id)
        if held and conversation_id not in self._timers:
            self._timers[conversation_id] = asyncio.get_running_loop().call_later(
                self.hold_s, self._expire, conversation_id
            )

    def give_up(self, conversation_id: str) -> None:
        """Skip the gap: the caller closes the sockets that would have needed it."""
        self._filling.discard(conversation_id)
        held = self._held.pop(conversation_id, {})
        if held:
            self._last[conversation_id] = max(self._last.get(conversation_id, 0), max(held))
        timer = self._timers.pop(conversation_id, None)
        if timer is not None:
            timer.cancel()

    def behind(self, last_seqs: Mapping[str, int]) -> None:
        """Compare with the database's `last_seq`s and fetch whatever never came over the bus
        (a node killed between its commit and its publish)."""
        for conversation_id, seq in last_seqs.items():
            last = self._last.get(conversation_id, 0)
            if seq <= last or conversation_id in self._filling:
                continue
            held = self._held.get(conversation_id)
            if held:
                self._expire(conversation_id)
            else:
                metrics.BUS_LOST_EVENTS.inc()
                self._filling.add(conversation_id)
                self._on_gap(conversation_id, last, seq + 1)

    def advance(self, last_seqs: Mapping[str, int]) -> None:
        """After a full resync (every socket closed): start again from the database."""
        for conversation_id, seq in last_seqs.items():
            if seq > self._last.get(conversation_id, 0):
                self._last[conversation_id] = seq
            held = self._held.get(conversation_id)
            if held:
                for stale in [s for s in held if s <= seq]:
                    del held[stale]
                self._drain(conversation_id)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
