"""Who counts as away for notifications: the tracker's per-user latest activity, on the
injected clock (no server, no sleeps)."""

from __future__ import annotations

from chatd.clock import ManualClock
from chatd.realtime.cluster_presence import ClusterPresenceTracker
from chatd.realtime.hub import Hub
from chatd.realtime.presence import PresenceTracker


def test_away_among_follows_each_socket_and_the_clock() -> None:
    clock = ManualClock()
    tracker = PresenceTracker(Hub(), clock, away_after_s=60, offline_grace_s=0)
    members = ["ann", "bob", "cy", "dee"]
    tracker.connected("ann", "a1")
    tracker.connected("bob", "b1")
    # cy never connected; the author (ann) is never a recipient
    assert tracker.away_among(members, besides="ann") == ("cy", "dee")
    clock.advance(45)
    tracker.connected("bob", "b2")  # a second socket, fresh
    clock.advance(30)  # b1 idle 75 s, b2 idle 30 s: bob is still active
    assert tracker.away_among(members, besides="dee") == ("ann", "cy")
    tracker.disconnected("bob", "b2")  # only the idle socket is left
    assert tracker.away_among(members, besides="dee") == ("ann", "bob", "cy")
    assert not tracker.active("bob")
    tracker.activity("bob", "b1")  # a frame on it makes him active again
    assert tracker.active("bob")
    assert tracker.away_among(members, besides="dee") == ("ann", "cy")
    tracker.disconnected("bob", "b1")
    assert not tracker.active("bob")
    assert tracker.away_among(["bob"], besides="ann") == ("bob",)


def test_away_among_counts_an_active_socket_on_another_node() -> None:
    clock = ManualClock()
    tracker = ClusterPresenceTracker(Hub(), clock, 60, 0, lambda kind, **fields: None)
    tracker.control("other/1", {"o": "other/1", "k": "presence", "u": "ann", "s": "online"})
    tracker.control("other/1", {"o": "other/1", "k": "presence", "u": "bob", "s": "away"})
    assert tracker.away_among(["ann", "bob", "cy"], besides="cy") == ("bob",)
