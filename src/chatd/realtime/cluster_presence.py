"""Presence across nodes: each node tracks its own sockets, every node combines them all.

A node's `PresenceTracker` knows only the sockets it holds. Here each local change is sent
over the bus, every heartbeat carries the node's whole local table (so a node that joins, or
that lost a message, is right again within one heartbeat), and each node combines its own
table with the others': a user is `dnd` if any node says so (the status a person chose
reaches every node, see `set_status`), else `online` if any socket anywhere is active, else
`away` if some node has a socket, else `offline`. Each node sends the combined presence to
its own sockets only. A node whose heartbeats stop is dropped, and its users go offline
unless another node holds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chatd.clock import Clock, now_ms
from chatd.models import Presence
from chatd.realtime.hub import Event, Hub
from chatd.realtime.presence import MANUAL, PresenceTracker

RANK = {"offline": 0, "away": 1, "online": 2, "dnd": 3}

Entry = tuple[str, int | None]  # status, last seen (ms)
OFFLINE: Entry = ("offline", None)


class ClusterPresenceTracker(PresenceTracker):
    def __init__(
        self,
        hub: Hub,
        clock: Clock,
        away_after_s: float,
        offline_grace_s: float,
        send: Callable[..., None],
    ) -> None:
        super().__init__(hub, clock, away_after_s, offline_grace_s)
        self._send = send  # send(kind, **fields) on the bus
        self._local: dict[str, Entry] = {}  # this node's users other than offline
        self._remote: dict[str, dict[str, Entry]] = {}  # origin -> its table
        self._shown: dict[str, str] = {}  # the combined status last announced here
        self._gone: dict[str, int] = {}  # last seen on another node, of users gone offline there

    # ---- this node ---------------------------------------------------------------------

    def _announce(self, user_id: str, status: str, last_seen_ms: int | None) -> None:
        if status == "offline":
            self._local.pop(user_id, None)
        else:
            self._local[user_id] = (status, last_seen_ms)
        self._send("presence", u=user_id, s=status, l=last_seen_ms)
        self._recombine(user_id)

    def set_status(self, user_id: str, status: str) -> None:
        """A status the person chose holds on every node that has one of their sockets."""
        super().set_status(user_id, status)
        if status in MANUAL:
            self._send("manual", u=user_id, s=status)

    def snapshot(self) -> dict[str, list[Any]]:
        return {user_id: [status, seen] for user_id, (status, seen) in self._local.items()}

    # ---- other nodes -------------------------------------------------------------------

    def control(self, origin: str, message: dict[str, Any]) -> None:
        kind = message.get("k")
        if kind == "presence":
            user_id, status = str(message["u"]), str(message["s"])
            table = self._remote.setdefault(origin, {})
            if status == "offline":
                table.pop(user_id, None)
                self._seen_at(user_id, message.get("l"))
            else:
                table[user_id] = (status, message.get("l"))
            self._recombine(user_id)
        elif kind == "manual":
            super().set_status(str(message["u"]), str(message["s"]))
        elif kind == "hb" and isinstance(message.get("presence"), dict):
            new = {str(u): (str(v[0]), v[1]) for u, v in message["presence"].items()}
            old = self._remote.get(origin, {})
            self._remote[origin] = new
            self._recombine_all(u for u in old.keys() | new.keys() if old.get(u) != new.get(u))

    def drop_node(self, origin: str) -> None:
        gone = self._remote.pop(origin, {})
        for user_id in gone:
            self._seen_at(user_id, now_ms(self.clock))
        self._recombine_all(gone)

    def _seen_at(self, user_id: str, when: Any) -> None:
        if isinstance(when, int):
            self._gone[user_id] = max(when, self._gone.get(user_id, 0))

    def active(self, user_id: str) -> bool:
        """An active socket here, or `online` on another node (an active socket there): who
        is not pushed or mailed about new messages."""
        if super().active(user_id):
            return True
        return any(table.get(user_id, OFFLINE)[0] == "online" for table in self._remote.values())

    def away_among(self, user_ids: Iterable[str], besides: str) -> tuple[str, ...]:
        return tuple(
            user_id
            for user_id in super().away_among(user_ids, besides)
            if all(table.get(user_id, OFFLINE)[0] != "online" for table in self._remote.values())
        )

    # ---- combining ---------------------------------------------------------------------

    def _entries(self, user_id: str) -> list[Entry]:
        found = [table[user_id] for table in self._remote.values() if user_id in table]
        if user_id in self._local:
            found.append(self._local[user_id])
        return found

    def _combined(self, user_id: str) -> str:
        entries = self._entries(user_id)
        if not entries:
            return "offline"
        return max((status for status, _ in entries), key=lambda s: RANK.get(s, 0))

    def _recombine_all(self, user_ids: Iterable[str]) -> None:
        for user_id in list(user_ids):
            self._recombine(user_id)

    def _recombine(self, user_id: str) -> None:
        status = self._combined(user_id)
        if status == self._shown.get(user_id, "offline"):
            return
        if status == "offline":
            self._shown.pop(user_id, None)
        else:
            self._shown[user_id] = status
        frame = {"type": "presence", "presence": self.current(user_id).to_json()}
        self.hub.publish(Event(frame, user_ids=tuple(self.hub.peers(user_id)), local=True))

    def current(self, user_id: str, stored_last_seen: int | None = None) -> Presence:
        status = self._combined(user_id)
        if status != "offline":
            return Presence(user_id, status, now_ms(self.clock))
        seen = [s for _, s in self._entries(user_id) if s is not None]
        mine = super().current(user_id, stored_last_seen).last_seen_at
        seen += [s for s in (mine, self._gone.get(user_id)) if s is not None]
        return Presence(user_id, "offline", max(seen) if seen else None)
