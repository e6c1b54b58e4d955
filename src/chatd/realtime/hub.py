"""Who is connected, and fan-out of events to their sockets.

Services publish an `Event` after the commit that caused it. The hub encodes its frame once
and queues the same bytes in the outbox of every recipient socket; a socket whose outbox is
full closes itself (4008) and nobody else waits. Recipients are fixed when an event is
published, but frames reach the outboxes at the end of the current turn of the event loop:
a commit batch publishes many events of one conversation at once, and each socket then takes
them all in one step instead of one step per event. Membership is cached here (conversation ->
users) and kept current by the membership events themselves, so routing never queries the
database. The `Broker` seam is where several chatd processes share events: the in-process one
below, or the cluster bus (`realtime.natsbus`), which also brings other nodes' events here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatd import metrics
from chatd.realtime.outbox import Turn
from chatd.realtime.protocol import Encoded, encode


class Connection(Protocol):
    conn_id: str
    user_id: str
    session_id: str

    def push_many(self, frames: list[Encoded], size: int) -> None:
        """Queue frames of `size` payload bytes in all, in order; a connection that cannot
        keep up closes itself."""

    def close_soon(self, code: int, reason: str) -> None:
        """Close the socket from outside its own tasks."""


@dataclass(frozen=True)
class Event:
    """One frame and who gets it: a conversation's members, or a set of users."""

    frame: dict[str, Any]
    conversation_id: str | None = None
    user_ids: tuple[str, ...] = ()
    skip_user: str | None = None
    skip_conn: str | None = None
    # the frame already encoded (by the cluster bus, which sends those bytes to other nodes)
    encoded: Encoded | None = None
    # for this node's sockets only: presence, which every node works out for itself
    local: bool = False


@dataclass(frozen=True)
class Revoke:
    """Close sockets: of these sessions, or of every session of these users."""

    code: int
    reason: str
    session_ids: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class _Pending:
    """An event between publish and flush, its recipients already decided."""

    recipients: tuple[str, ...]
    skip_user: str | None
    skip_conn: str | None
    encoded: Encoded

    def same_audience(self, other: _Pending | Revoke) -> bool:
        return (
            isinstance(other, _Pending)
            and other.recipients is self.recipients
            and other.skip_user == self.skip_user
            and other.skip_conn == self.skip_conn
        )


class Broker(Protocol):
    def publish(self, item: Event | Revoke) -> None: ...

    def subscribe(self, handler: Callable[[Event | Revoke], None]) -> None: ...


class InMemoryBroker:
    """Delivers in this process, synchronously, in publish order."""

    def __init__(self) -> None:
        self._handlers: list[Callable[[Event | Revoke], None]] = []

    def publish(self, item: Event | Revoke) -> None:
        for handler in self._handlers:
            handler(item)

    def subscribe(self, handler: Callable[[Event | Revoke], None]) -> None:
        self._handlers.append(handler)


@dataclass
class Hub:
    broker: Broker = field(default_factory=InMemoryBroker)
    _members: dict[str, set[str]] = field(default_factory=dict)
    _conversations_of: dict[str, set[str]] = field(default_factory=dict)
    _sockets: dict[str, dict[str, Connection]] = field(default_factory=dict)
    _by_session: dict[str, dict[str, Connection]] = field(default_factory=dict)
    # a conversation's members as one shared tuple, rebuilt after a membership change: events
    # published between two changes carry the same object, which is how the flush groups them
    _recipients: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _pending: list[_Pending | Revoke] = field(default_factory=list)
    _flush_scheduled: bool = False
    turn: Turn = field(default_factory=Turn)  # the sockets' writes, shared by their outboxes
    # a user's current `presence` frame, for introducing new contacts (set by presence)
    presence_of: Callable[[str], dict[str, Any]] | None = None
    _changes: list[tuple[bool, str, str]] | None = None  # see record_membership

    def __post_init__(self) -> None:
        self.broker.subscribe(self._deliver)

    # ---- membership cache ----------------------------------------------------------------

    def load_memberships(self, pairs: Iterable[tuple[str, str]]) -> None:
        for conversation_id, user_id in pairs:
            self._add_member(conversation_id, user_id)

    def record_membership(self) -> None:
        """Note every membership change from now on, for `replace_memberships` to replay
        over a snapshot read meanwhile."""
        self._changes = []

    def replace_memberships(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Start the cache over from the database (the cluster bus may have lost a change),
        then replay the changes delivered since `record_membership`, which the snapshot may
        predate."""
        changes, self._changes = self._changes or [], None
        self._members.clear()
        self._conversations_of.clear()
        self._recipients.clear()
        self.load_memberships(pairs)
        for added, conversation_id, user_id in changes:
            if added:
                self._add_member(conversation_id, user_id)
            else:
                self._remove_member(conversation_id, user_id)

    def members_snapshot(self) -> list[tuple[str, str]]:
        """The cache as (conversation, user) pairs."""
        return [(c, u) for c, users in self._members.items() for u in users]

    def _add_member(self, conversation_id: str, user_id: str) -> None:
        if self._changes is not None:
            self._changes.append((True, conversation_id, user_id))
        self._members.setdefault(conversation_id, set()).add(user_id)
        self._conversations_of.setdefault(user_id, set()).add(conversation_id)
        self._recipients.pop(conversation_id, None)

    def _remove_member(self, conversation_id: str, user_id: str) -> None:
        if self._changes is not None:
            self._changes.append((False, conversation_id, user_id))
        self._members.get(conversation_id, set()).discard(user_id)
        self._conversations_of.get(user_id, set()).discard(conversation_id)
        self._recipients.pop(conversation_id, None)

    def _members_of(self, conversation_id: str) -> tuple[str, ...]:
        found = self._recipients.get(conversation_id)
        if found is None:
            found = self._recipients[conversation_id] = tuple(
                self._members.get(conversation_id, ())
            )
        return found

    def members(self, conversation_id: str) -> frozenset[str]:
        return frozenset(self._members.get(conversation_id, ()))

    def is_member(self, conversation_id: str, user_id: str) -> bool:
        return user_id in self._members.get(conversation_id, ())

    def peers(self, user_id: str) -> set[str]:
        """Users who share a conversation with `user_id`, and the user."""
        found = {user_id}
        for conversation_id in self._conversations_of.get(user_id, ()):
            found |= self._members.get(conversation_id, set())
        return found

    # ---- sockets -----------------------------------------------------------------------

    def attach(self, conn: Connection) -> None:
        sockets = self._sockets.setdefault(conn.user_id, {})
        sockets[conn.conn_id] = conn
        self._by_session.setdefault(conn.session_id, {})[conn.conn_id] = conn
        metrics.OPEN_SOCKETS.inc()

    def detach(self, conn: Connection) -> None:
        sockets = self._sockets.get(conn.user_id)
        if sockets is None or sockets.pop(conn.conn_id, None) is None:
            return
        metrics.OPEN_SOCKETS.dec()
        session_conns = self._by_session.get(conn.session_id)
        if session_conns is not None:
            session_conns.pop(conn.conn_id, None)
            if not session_conns:
                del self._by_session[conn.session_id]
        if not sockets:
            del self._sockets[conn.user_id]

    def connections(self) -> list[Connection]:
        return [conn for sockets in self._sockets.values() for conn in sockets.values()]

    def session_ids(self) -> list[str]:
        return list(self._by_session)

    def close_here(self, code: int, reason: str, user_ids: Iterable[str] | None = None) -> None:
        """Close this node's sockets of these users (all of them if None), after the frames
        already queued, without telling other nodes (they decide for their own sockets)."""
        targets = tuple(self._sockets) if user_ids is None else tuple(user_ids)
        if targets:
            self._queue(Revoke(code, reason, user_ids=targets))

    # ---- publishing --------------------------------------------------------------------

    def publish(self, item: Event | Revoke) -> None:
        self.broker.publish(item)

    def _deliver(self, item: Event | Revoke) -> None:
        if isinstance(item, Revoke):
            self._queue(item)
            return
        frame = item.frame
        kind = frame.get("type")
        contacts: dict[str, set[str]] = {}
        if item.conversation_id is not None:
            if kind == "conversation.created":
                members = frame["conversation"]["members"]
                contacts = self._contacts_of_new(members)
                for user_id in members:
                    self._add_member(item.conversation_id, user_id)
            elif kind == "member.added":
                contacts = self._contacts_of_joiner(item.conversation_id, frame["user_id"])
                self._add_member(item.conversation_id, frame["user_id"])
            recipients = self._members_of(item.conversation_id)
            if kind == "member.removed":  # the removed user hears it too, then nothing more
                self._remove_member(item.conversation_id, frame["user_id"])
        else:
            recipients = item.user_ids
        encoded = item.encoded if item.encoded is not None else encode(frame)
        self._queue(_Pending(recipients, item.skip_user, item.skip_conn, encoded))
        if contacts:
            self._introduce(contacts)

    # ---- presence for new contacts -------------------------------------------------------
    # Presence goes to the users who share a conversation, so two people who come to share
    # their first one would see each other offline until a reload: each connected one hears
    # the other's presence at once. Worked out here, where the membership change happens,
    # from the peers before it; only users with sockets here are told (other nodes do theirs).

    def _contacts_of_new(self, members: list[str]) -> dict[str, set[str]]:
        """listener -> users they share a conversation with for the first time."""
        everyone = set(members)
        found: dict[str, set[str]] = {}
        for user_id in everyone:
            if user_id in self._sockets:
                new = everyone - self.peers(user_id)
                if new:
                    found[user_id] = new
        return found

    def _contacts_of_joiner(self, conversation_id: str, joiner: str) -> dict[str, set[str]]:
        current = self._members.get(conversation_id, set())
        if joiner in current:
            return {}
        new = current - self.peers(joiner)
        found: dict[str, set[str]] = {}
        if new and joiner in self._sockets:
            found[joiner] = new
        for user_id in new:
            if user_id in self._sockets:
                found[user_id] = {joiner}
        return found

    def _introduce(self, contacts: dict[str, set[str]]) -> None:
        if self.presence_of is None:
            return
        listeners_of: dict[str, list[str]] = {}
        for listener, users in contacts.items():
            for user_id in users:
                listeners_of.setdefault(user_id, []).append(listener)
        for user_id, listeners in listeners_of.items():
            encoded = encode(self.presence_of(user_id))
            self._queue(_Pending(tuple(listeners), None, None, encoded))

    def _queue(self, entry: _Pending | Revoke) -> None:
        self._pending.append(entry)
        if self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a script, a test): deliver now
            self.flush()
            return
        self._flush_scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Queue every pending frame on its sockets, in publish order; apply revocations."""
        pending, self._pending = self._pending, []
        self._flush_scheduled = False
        start = 0
        while start < len(pending):
            first = pending[start]
            if isinstance(first, Revoke):
                self._revoke(first)
                start += 1
                continue
            end = start + 1
            while end < len(pending) and first.same_audience(pending[end]):
                end += 1
            frames = [entry.encoded for entry in pending[start:end]]  # type: ignore[union-attr]
            self._push(first, frames)
            start = end
        self.turn.run()  # the writes leave now, with whatever else this turn pushed

    def _push(self, audience: _Pending, frames: list[Encoded]) -> None:
        size = sum(len(frame.payload) for frame in frames)
        delivered = 0
        all_sockets = self._sockets
        for user_id in audience.recipients:
            sockets = all_sockets.get(user_id)
            if not sockets or user_id == audience.skip_user:
                continue
            # pushing never attaches or detaches a socket, so the dict can be walked as it is
            for conn in sockets.values():
                if conn.conn_id != audience.skip_conn:
                    conn.push_many(frames, size)
                    delivered += 1
        if delivered:
            metrics.EVENTS_DELIVERED.inc(delivered * len(frames))

    def _revoke(self, item: Revoke) -> None:
        targets: list[Connection] = []
        for user_id in item.user_ids:
            targets += list(self._sockets.get(user_id, {}).values())
        for session_id in item.session_ids:
            targets += list(self._by_session.get(session_id, {}).values())
        for conn in targets:
            conn.close_soon(item.code, item.reason)
