"""The cluster bus without a database: the sequencer and presence combining as pure logic,
then two brokers on a real nats-server (events cross once and in order, losses are noticed).
The two-node tests with PostgreSQL are in test_cluster.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from chatd.clock import ManualClock
from chatd.realtime import buswire
from chatd.realtime.cluster_presence import ClusterPresenceTracker
from chatd.realtime.hub import Event, Hub, Revoke
from chatd.realtime.natsbus import NatsBroker
from chatd.realtime.protocol import Encoded
from chatd.realtime.sequencer import Sequencer

from .natsserver import NatsServer


def created(conversation_id: str, seq: int) -> Event:
    frame = {"type": "message.created", "message": {"seq": seq, "conversation_id": conversation_id}}
    return Event(frame, conversation_id=conversation_id)


def seqs(items: list[Event | Revoke]) -> list[int]:
    return [
        int(item.frame["message"]["seq"])
        for item in items
        if isinstance(item, Event) and "message" in item.frame
    ]


class Recorder:
    """A sequencer's two outlets, recorded."""

    def __init__(self) -> None:
        self.out: list[Event | Revoke] = []
        self.gaps: list[tuple[str, int, int]] = []

    def sequencer(self, hold_s: float = 0.05) -> Sequencer:
        found = Sequencer(self.out.append, lambda c, a, b: self.gaps.append((c, a, b)), hold_s)
        found.start({"c": 2})
        return found


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coro())  # type: ignore[arg-type]


def test_sequencer_orders_drops_copies_and_holds_back_early_ones() -> None:
    async def body() -> None:
        rec = Recorder()
        seq = rec.sequencer()
        seq.offer(created("c", 2))  # the database had it at start
        seq.offer(created("c", 4))  # early: held
        seq.offer(Event({"type": "typing"}, conversation_id="c"))  # no seq: straight through
        assert seqs(rec.out) == [] and len(rec.out) == 1
        seq.offer(created("c", 3))
        seq.offer(created("c", 3))  # a late copy
        assert seqs(rec.out) == [3, 4]
        await asyncio.sleep(0.1)
        assert rec.gaps == []  # the gap closed by itself: nothing asked of the database

    run(body)


def test_sequencer_asks_for_a_gap_then_delivers_what_was_filled() -> None:
    async def body() -> None:
        rec = Recorder()
        seq = rec.sequencer()
        seq.offer(created("c", 6))
        await asyncio.sleep(0.1)
        assert rec.gaps == [("c", 2, 6)]
        seq.offer(created("c", 7))  # arrives while the fill runs: held behind it
        seq.filled("c", [created("c", 5), created("c", 3), created("c", 4)])
        assert seqs(rec.out) == [3, 4, 5, 6, 7]
        assert seq.last("c") == 7

    run(body)


def test_sequencer_gives_up_a_gap_and_goes_on_after_it() -> None:
    async def body() -> None:
        rec = Recorder()
        seq = rec.sequencer()
        seq.offer(created("c", 5))
        await asyncio.sleep(0.1)
        seq.give_up("c")
        assert seqs(rec.out) == [] and seq.last("c") == 5
        seq.offer(created("c", 6))
        assert seqs(rec.out) == [6]

    run(body)


def test_sequencer_buffers_until_start_and_catches_up_behind() -> None:
    async def body() -> None:
        rec = Recorder()
        seq = Sequencer(rec.out.append, lambda c, a, b: rec.gaps.append((c, a, b)), 0.05)
        seq.offer(created("d", 1))
        seq.offer(created("d", 2))
        assert rec.out == []
        seq.start({"d": 1})  # the database already had 1 when the node started
        assert seqs(rec.out) == [2]
        seq.behind({"d": 4, "e": 0})  # 3 and 4 committed by a node that died before publishing
        assert rec.gaps == [("d", 2, 5)]
        seq.advance({"d": 9})
        seq.filled("d", [created("d", 3)])  # too late: everything up to 9 was resynced
        assert seqs(rec.out) == [2]

    run(body)


def test_bus_messages_round_trip() -> None:
    event = Event(
        {"type": "typing", "conversation_id": "c", "user_id": "u"},
        conversation_id="c",
        skip_user="u",
    )
    payload = orjson.dumps(event.frame)
    got = buswire.decode_event(buswire.encode_event("a/1", 7, event, payload))
    assert (got.origin, got.counter) == ("a/1", 7)
    assert isinstance(got.item, Event)
    assert got.item.frame == event.frame and got.item.skip_user == "u"
    assert got.item.encoded is not None and got.item.encoded.payload == payload
    revoke = Revoke(4001, "gone", session_ids=("s",), user_ids=("u",))
    back = buswire.decode_event(buswire.encode_event("a/1", 8, revoke, b"")).item
    assert back == revoke
    with pytest.raises(buswire.BadMessage):
        buswire.decode_event(b'{"o": "x"}\n{}')


# ---- presence over several nodes ---------------------------------------------------------


class Sock:
    """A hub connection that keeps what it was sent."""

    def __init__(self, user_id: str, conn_id: str = "k1", session_id: str = "s1") -> None:
        self.user_id, self.conn_id, self.session_id = user_id, conn_id, session_id
        self.frames: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None

    def push_many(self, frames: list[Encoded], size: int) -> None:
        self.frames += [orjson.loads(frame.payload) for frame in frames]

    def close_soon(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def statuses(self, user_id: str) -> list[str]:
        return [
            f["presence"]["status"]
            for f in self.frames
            if f["type"] == "presence" and f["presence"]["user_id"] == user_id
        ]


def test_presence_is_combined_over_nodes_and_a_silent_node_is_dropped() -> None:
    clock = ManualClock()
    hubs = {name: Hub() for name in "ab"}
    trackers: dict[str, ClusterPresenceTracker] = {}

    def sender(name: str) -> Callable[..., None]:
        other = "b" if name == "a" else "a"
        return lambda kind, **fields: trackers[other].control(
            name, {"o": name, "k": kind, **fields}
        )

    for name, hub in hubs.items():
        hub.load_memberships([("c", "ann"), ("c", "bob")])
        trackers[name] = ClusterPresenceTracker(hub, clock, 60, 0, sender(name))
    watcher = Sock("bob")
    hubs["b"].attach(watcher)
    trackers["a"].connected("ann", "k1")  # ann's socket is on node a
    hubs["a"].flush()
    hubs["b"].flush()
    assert watcher.statuses("ann") == ["online"]
    trackers["b"].connected("ann", "k2")  # and one on b: no change seen
    clock.advance(61)  # both idle: away on each node, so away in all
    trackers["a"].tick()
    trackers["b"].tick()
    hubs["b"].flush()
    assert watcher.statuses("ann") == ["online", "away"]
    trackers["a"].set_status("ann", "dnd")  # chosen on a: holds on b too
    hubs["b"].flush()
    assert watcher.statuses("ann")[-1] == "dnd"
    assert trackers["b"].current("ann").status == "dnd"
    trackers["b"].disconnected("ann", "k2")
    trackers["b"].tick()
    hubs["b"].flush()
    assert watcher.statuses("ann")[-1] == "dnd"  # still on node a
    trackers["b"].drop_node("a")  # a's heartbeats stopped
    hubs["b"].flush()
    assert watcher.statuses("ann")[-1] == "offline"
    assert trackers["b"].current("ann").last_seen_at is not None


# ---- two brokers on a real nats-server ------------------------------------------------


class Hooks:
    """What the node around a broker would do, recorded (test_cluster.py runs the real one)."""

    def __init__(self) -> None:
        self.resyncs: list[str] = []
        self.gone: list[str] = []
        self.controls: list[dict[str, Any]] = []

    def fill_gap(self, conversation_id: str, after: int, before: int) -> None:
        raise AssertionError("no gap expected")

    def resync(self, why: str) -> None:
        self.resyncs.append(why)

    def node_gone(self, origin: str) -> None:
        self.gone.append(origin)

    def control(self, origin: str, message: dict[str, Any]) -> None:
        self.controls.append(message)

    def heartbeat_fields(self) -> dict[str, Any]:
        return {}


async def until(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


@pytest.fixture(scope="module")
def nats_server() -> Any:
    server = NatsServer().start()
    yield server
    server.stop()


def test_two_brokers_share_events_once_in_order_and_notice_losses(nats_server: NatsServer) -> None:
    async def body() -> None:
        nodes = []
        for name in ("a", "b"):
            broker = NatsBroker([nats_server.url], name, heartbeat_s=0.2, missed_beats=3)
            hooks = Hooks()
            broker.hooks = hooks
            hub = Hub(broker=broker)
            hub.load_memberships([("c", "ann"), ("c", "bob")])
            await broker.connect()
            broker.sequencer.start({"c": 0})
            runner = asyncio.create_task(broker.run())
            sock = Sock("bob", conn_id=f"k-{name}", session_id=f"s-{name}")
            hub.attach(sock)
            nodes.append((broker, hooks, hub, sock, runner))
        (a, a_hooks, a_hub, a_sock, _), (b, b_hooks, b_hub, b_sock, b_run) = nodes
        try:
            for seq in range(1, 51):
                (a_hub if seq % 2 else b_hub).publish(created("c", seq))
            await until(lambda: len(a_sock.frames) == 50 and len(b_sock.frames) == 50)
            for sock in (a_sock, b_sock):
                assert [f["message"]["seq"] for f in sock.frames] == list(range(1, 51))
            a_hub.publish(Revoke(4001, "account disabled", user_ids=("bob",)))
            await until(lambda: b_sock.closed is not None)
            assert b_sock.closed == (4001, "account disabled")
            assert a_hooks.resyncs == b_hooks.resyncs == []
            # a hole in a's counter, as if the bus had dropped an event: b resyncs
            a._counter += 1
            a_hub.publish(Event({"type": "typing"}, conversation_id="c"))
            await until(lambda: len(b_hooks.resyncs) == 1)
            assert "never arrived" in b_hooks.resyncs[0]
            # the server goes away and comes back: both notice, and resync once back
            nats_server.stop()
            await until(lambda: not a.connected and not b.connected)
            nats_server.start()
            await until(lambda: a.connected and b.connected, within=10)
            await until(lambda: a_hooks.resyncs and len(b_hooks.resyncs) == 2)
            # b stops: a drops it after missed heartbeats
            b_run.cancel()
            await b.close()
            await until(lambda: a_hooks.gone == [b.origin])
        finally:
            for broker, _, _, _, runner in nodes:
                runner.cancel()
                await broker.close()

    run(body)


def test_sqlite_with_nats_is_refused_naming_both_keys(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from chatd.cli import main

    env = {"CHATD_CLUSTER_BUS": "nats"}
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path)], env=env)
    assert result.exit_code != 0
    assert "cluster.bus" in result.output and "storage.backend" in result.output
    assert not (tmp_path / "chatd.db").exists()  # refused before touching anything


def test_a_slow_consumer_is_a_resync_not_a_silent_loss(nats_server: NatsServer) -> None:
    async def body() -> None:
        slow = NatsBroker([nats_server.url], "slow", pending_limit=5)
        fast = NatsBroker([nats_server.url], "fast")
        hooks = Hooks()
        slow.hooks = hooks
        Hub(broker=slow)
        fast_hub = Hub(broker=fast)
        for broker in (slow, fast):
            await broker.connect()
            broker.sequencer.start({})
        runner = asyncio.create_task(fast.run())
        try:
            for _ in range(200):
                fast_hub.publish(Event({"type": "typing"}, conversation_id="c"))
            # the slow node's client reads them in large chunks, faster than its subscription
            # hands them on: past 5 waiting, the library drops and reports a slow consumer
            await until(lambda: bool(hooks.resyncs))
            assert any("did not take in time" in why for why in hooks.resyncs)
        finally:
            runner.cancel()
            for broker in (slow, fast):
                await broker.close()

    run(body)
