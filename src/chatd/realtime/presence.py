"""Presence: a state machine per user, driven by socket events and a timer on the injected clock.

`online` while any socket is open and active; `away` when the client says so or every socket
has been idle (no frame but `ping`) for `away_after_s`; `dnd` when the client says so;
`offline` once the last socket has been gone for `offline_grace_s`, so a reconnect does not
flap. Each change is published to the users who share a conversation, and to the user.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from chatd import metrics
from chatd.clock import Clock, now_ms
from chatd.models import Presence
from chatd.realtime.hub import Event, Hub

MANUAL = frozenset({"online", "away", "dnd"})


@dataclass
class _UserState:
    conns: dict[str, float] = field(default_factory=dict)  # conn_id -> last activity
    manual: str = "online"
    status: str = "offline"
    gone_at: float | None = None  # monotonic time the last socket closed
    last_seen_ms: int | None = None


class PresenceTracker:
    def __init__(self, hub: Hub, clock: Clock, away_after_s: float, offline_grace_s: float) -> None:
        self.hub = hub
        self.clock = clock
        self.away_after_s = away_after_s
        self.offline_grace_s = offline_grace_s
        self._users: dict[str, _UserState] = {}
        self._last_seen: dict[str, int] = {}  # of users gone offline since start
        # the latest activity over each user's open sockets: who is active is asked for
        # every member of every new message's conversation, so it is one lookup, not a loop
        self._latest: dict[str, float] = {}
        self.seen: dict[str, int] = {}  # last_seen_at to persist, drained by the owner

    # ---- inputs ------------------------------------------------------------------------

    def connected(self, user_id: str, conn_id: str) -> None:
        state = self._users.setdefault(user_id, _UserState())
        now = state.conns[conn_id] = self.clock.monotonic()
        self._latest[user_id] = now
        state.gone_at = None
        self._evaluate(user_id, state)

    def disconnected(self, user_id: str, conn_id: str) -> None:
        state = self._users.get(user_id)
        if state is None or state.conns.pop(conn_id, None) is None:
            return
        if state.conns:
            self._latest[user_id] = max(state.conns.values())
        else:
            del self._latest[user_id]
            state.gone_at = self.clock.monotonic()
            state.last_seen_ms = now_ms(self.clock)
            self.seen[user_id] = state.last_seen_ms
        self._evaluate(user_id, state)

    def activity(self, user_id: str, conn_id: str) -> None:
        state = self._users.get(user_id)
        if state is not None and conn_id in state.conns:
            state.conns[conn_id] = self._latest[user_id] = self.clock.monotonic()
            if state.status == "away" and state.manual == "online":
                self._evaluate(user_id, state)

    def set_status(self, user_id: str, status: str) -> None:
        state = self._users.get(user_id)
        if state is None or status not in MANUAL:
            return
        state.manual = status
        self._evaluate(user_id, state)

    # ---- state -------------------------------------------------------------------------

    def _compute(self, state: _UserState) -> str:
        now = self.clock.monotonic()
        if state.conns:
            if state.manual != "online":
                return state.manual
            if all(now - last > self.away_after_s for last in state.conns.values()):
                return "away"
            return "online"
        if state.gone_at is not None and now - state.gone_at < self.offline_grace_s:
            return state.status  # within the grace period: no flap
        return "offline"

    def _evaluate(self, user_id: str, state: _UserState) -> None:
        status = self._compute(state)
        if status == state.status:
            return
        if state.status == "offline":
            metrics.ONLINE_USERS.inc()
        elif status == "offline":
            metrics.ONLINE_USERS.dec()
            state.manual = "online"
        state.status = status
        if status == "offline" and not state.conns:
            del self._users[user_id]
            if state.last_seen_ms is not None:
                self._last_seen[user_id] = state.last_seen_ms
        self._announce(user_id, status, state.last_seen_ms)

    def _announce(self, user_id: str, status: str, last_seen_ms: int | None) -> None:
        """Tell the user and their peers (a cluster node first combines with other nodes)."""
        frame = {"type": "presence", "presence": self._presence(user_id, status).to_json()}
        self.hub.publish(Event(frame, user_ids=tuple(self.hub.peers(user_id))))

    def _presence(self, user_id: str, status: str) -> Presence:
        state = self._users.get(user_id)
        if state is not None and state.conns:
            return Presence(user_id, status, now_ms(self.clock))
        if state is not None:
            return Presence(user_id, status, state.last_seen_ms)
        return Presence(user_id, status, self._last_seen.get(user_id))

    def current(self, user_id: str, stored_last_seen: int | None = None) -> Presence:
        state = self._users.get(user_id)
        if state is None:
            return Presence(user_id, "offline", self._last_seen.get(user_id, stored_last_seen))
        if state.conns:
            return Presence(user_id, state.status, now_ms(self.clock))
        return Presence(user_id, state.status, state.last_seen_ms)

    def active(self, user_id: str) -> bool:
        """Whether one of the user's sockets is open and active (a frame other than `ping`
        within `away_after_s`): such a person sees new messages already, so nothing is
        pushed or mailed to them."""
        latest = self._latest.get(user_id)
        return latest is not None and self.clock.monotonic() - latest <= self.away_after_s

    def away_among(self, user_ids: Iterable[str], besides: str) -> tuple[str, ...]:
        """The users of `user_ids` other than `besides` with no active socket: asked for
        each new message, so one comparison per member."""
        since = self.clock.monotonic() - self.away_after_s
        latest = self._latest
        return tuple(u for u in user_ids if latest.get(u, -1e300) < since and u != besides)

    def tick(self) -> None:
        """Apply the timers: idle sockets turn away, the grace period ends in offline."""
        for user_id, state in list(self._users.items()):
            self._evaluate(user_id, state)

    def interval(self) -> float:
        return max(0.05, min(1.0, self.away_after_s / 4, max(self.offline_grace_s, 0.2) / 4))

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval())
            self.tick()
