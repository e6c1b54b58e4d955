"""Bench scenarios: fan-out and persisted sends (WebSocket or HTTP), idle sockets, the floor.

Senders run open loop: message i of a sender is due at start + i/rate whatever happened to
message i-1, and latencies count from when it was due, so a slow server cannot hide behind
a slow client. Every body carries `bench <sender>:<n>:<due ns>`; receivers find it by byte
search, never parsing JSON.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import time
from array import array
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import uuid4

from chatd.bench import floor as floor_server
from chatd.bench import nodes, procstat
from chatd.bench.people import make_channel, make_people
from chatd.bench.wire import RawHttp, RawSocket

T = TypeVar("T")


@dataclass
class Options:
    url: str
    token: str | None = None
    members: int = 50
    senders: int = 5
    rate: float = 1000.0
    duration: float = 10.0
    idle: int = 0
    http: bool = False
    floor: str | None = None  # "strict" or "library": also run the load on that floor
    pid: int | None = None
    listeners: int | None = None  # members holding a socket to receive; None: all of them
    closed: bool = False  # each sender awaits its answer before the next send (at most `rate`)
    client_ids: bool = True  # every send carries a fresh client_id, as the web client's do
    urls: tuple[str, ...] = ()  # several nodes: clients round robin over these (url first)

    @property
    def nodes(self) -> list[str]:
        return list(self.urls) or [self.url]


@dataclass
class Tally:
    """What the senders saw; the receivers keep theirs on their sockets (`RawSocket.reads`)."""

    sent: int = 0
    acked: int = 0
    errors: int = 0
    acks: array[float] = field(default_factory=lambda: array("d"))
    acked_slots: set[int] = field(default_factory=set)  # sender * PER_SENDER + n
    sent_by: list[int] = field(default_factory=list)  # messages sent, per sender


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """uvloop where it is installed (it ships with uvicorn[standard]): the load side must cost
    less than the server it measures."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(main)
    return uvloop.run(main)


def percentile(values: array[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---- the load ---------------------------------------------------------------------------

PER_SENDER = 1_000_000


def analyse(socks: list[RawSocket], expected: set[int]) -> tuple[array[float], int, int]:
    """Latencies, lost and duplicated deliveries, from what each socket's reads brought."""
    latencies: array[float] = array("d")
    lost = duplicated = 0
    for sock in socks:
        counts: dict[int, int] = {}
        for arrived, markers in sock.reads:
            for marker in markers:
                sender, n, due = marker.split(b" ", 1)[0].split(b":")
                latencies.append((arrived - int(due)) / 1e6)
                slot = int(sender) * PER_SENDER + int(n)
                counts[slot] = counts.get(slot, 0) + 1
        lost += sum(1 for slot in expected if slot not in counts)
        duplicated += sum(1 for count in counts.values() if count > 1)
    return latencies, lost, duplicated


def ignore(payload: bytes) -> None:
    pass


def phase(index: int, senders: int, rate: float) -> float:
    """When sender `index` sends first: the senders take turns, so their aggregate is an even
    stream at the offered rate rather than a burst from every sender at the same instants."""
    return time.perf_counter() + index / (rate * senders)


async def ws_sender(sock: RawSocket, conversation: str | None, index: int, rate: float,
                    start: float, until: float, tally: Tally, due: dict[bytes, int],
                    answered: asyncio.Event | None = None,
                    client_ids: bool = True) -> None:  # fmt: skip
    """Open loop (message n due at start + n/rate), or closed loop when `answered` is given:
    send, wait for the answer, send the next, but never more than `rate` a second (a socket
    that sends faster than the server's per-socket frame limit is refused, not measured)."""
    interval = 1 / rate
    n = 0
    while True:
        at = start + n * interval
        if answered is not None:
            at = max(at, time.perf_counter())
        if at >= until:
            return
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if answered is not None:
            answered.clear()
        due_ns = int(at * 1e9) + EPOCH_SHIFT
        body = f"bench {index}:{n}:{due_ns} {PADDING}"[:BODY_CHARS]
        client_id = uuid4().hex if client_ids else None
        if conversation is None:  # the floor broadcasts a frame shaped as chatd's, as is
            frame = FLOOR_FRAME % (n, index, body, json_string(client_id))
        else:
            ref = f"{index}:{n}"
            due[ref.encode()] = due_ns
            extra = f',"client_id":"{client_id}"' if client_id else ""
            frame = (
                f'{{"type":"send","conversation_id":"{conversation}",'
                f'"body":"{body}"{extra},"ref":"{ref}"}}'
            )
        sock.send(frame.encode())
        tally.sent += 1
        tally.sent_by[index] += 1
        n += 1
        if answered is not None:
            try:
                await asyncio.wait_for(answered.wait(), 10)
            except TimeoutError:
                return  # no answer: the report counts it as unacknowledged


EPOCH_SHIFT = time.perf_counter_ns() - int(time.perf_counter() * 1e9)
# Bodies of about 100 characters, as people type them; the marker comes first.
BODY_CHARS = 100
PADDING = "the quick brown fox jumps over the lazy dog while the team ships the release " * 2


def json_string(value: str | None) -> str:
    return f'"{value}"' if value is not None else "null"


FLOOR_FRAME = (
    '{"type":"message.created","message":{"id":"floor-message-id-0000","conversation_id":'
    '"floor-conversation-000","seq":%d,"author_id":"floor-author-%09d","body":"%s",'
    '"created_at":"2026-01-01T00:00:00.000Z","edited_at":null,"deleted":false,'
    '"reply_to":null,"client_id":%s,"files":[],"reactions":[],"mentions":[],'
    '"pinned":false,"reply_count":0}}'
)


def ack_reader(tally: Tally, due: dict[bytes, int], answered: asyncio.Event | None = None) -> Any:
    now = time.perf_counter_ns

    def on_frame(payload: bytes) -> None:
        if payload.startswith(b'{"type":"ack"'):
            ref = payload[payload.rindex(b'"ref":"') + 7 : -2]
            sent = due.pop(ref, None)
            if sent is not None:
                tally.acks.append((now() - sent) / 1e6)
            sender, n = ref.split(b":")
            tally.acked_slots.add(int(sender) * PER_SENDER + int(n))
            tally.acked += 1
            if answered is not None:
                answered.set()
        elif payload.startswith(b'{"type":"error"'):
            tally.errors += 1
            if answered is not None:
                answered.set()

    return on_frame


async def http_sender(opts: Options, token: str, conversation: str, index: int, rate: float,
                      start: float, until: float, tally: Tally) -> None:  # fmt: skip
    """Open loop over a pool of keep-alive connections; each request waits for its commit."""
    queue: asyncio.Queue[tuple[int, int] | None] = asyncio.Queue()
    path = f"/api/v1/conversations/{conversation}/messages"

    async def worker() -> None:
        conn = RawHttp(nodes.pick(opts.nodes, index))
        while (item := await queue.get()) is not None:
            n, due_ns = item
            text = f"bench {index}:{n}:{due_ns} {PADDING}"[:BODY_CHARS]
            extra = f',"client_id":"{uuid4().hex}"' if opts.client_ids else ""
            body = f'{{"body":"{text}"{extra}}}'.encode()
            status, _ = await conn.post(path, body, token)
            if status == 201:
                tally.acked_slots.add(index * PER_SENDER + n)
                tally.acked += 1
                tally.acks.append((time.perf_counter_ns() - due_ns) / 1e6)
            else:
                tally.errors += 1

    workers = [asyncio.create_task(worker()) for _ in range(32)]
    interval, n = 1 / rate, 0
    while (at := start + n * interval) < until:
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((n, int(at * 1e9) + EPOCH_SHIFT))
        tally.sent += 1
        tally.sent_by[index] += 1
        n += 1
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)


async def connect_all(
    urls: list[str], tokens: list[str | None], handlers: list[Any]
) -> list[RawSocket]:
    socks = [RawSocket(handler) for handler in handlers]
    slots = asyncio.Semaphore(200)

    async def one(i: int, sock: RawSocket, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with slots:
            await sock.connect(nodes.pick(urls, i), "/api/v1/ws" if token else "/", headers)

    await asyncio.gather(
        *(one(i, s, t) for i, (s, t) in enumerate(zip(socks, tokens, strict=True)))
    )
    return socks


async def drive(opts: Options, urls: list[str], conversation: str | None,
                tokens: list[str | None], pids: list[int]) -> dict[str, Any]:  # fmt: skip
    """One measured run of fan-out or persisted sends; `conversation` None for the floor."""
    tally = Tally(sent_by=[0] * opts.senders)
    due: dict[bytes, int] = {}
    listening = len(tokens) if opts.listeners is None else opts.listeners
    connected = max(listening, 0 if opts.http and conversation is not None else opts.senders)
    handlers = [ignore] * connected
    closed = opts.closed and conversation is not None and not opts.http
    answered = [asyncio.Event() if closed else None for _ in range(opts.senders)]
    for i in range(min(opts.senders, connected)):
        handlers[i] = ack_reader(tally, due, answered[i])
    socks = await connect_all(urls, tokens[:connected], handlers)
    await asyncio.sleep(1.0)  # hellos and presence settle before measuring
    # The reads kept for analysis are millions of small objects: a full collection over them
    # stalls the load side for tens of milliseconds, which would show up as server latency.
    gc.collect()
    gc.disable()
    cpu0 = nodes.cpu_seconds(pids) if pids else None
    load_cpu0 = time.process_time()
    started = time.perf_counter()
    until = started + opts.duration
    per_sender = opts.rate / opts.senders
    if opts.http and conversation is not None:
        sends = [http_sender(opts, str(tokens[i]), conversation, i, per_sender,
                             phase(i, opts.senders, per_sender), until, tally)
                 for i in range(opts.senders)]  # fmt: skip
    else:
        sends = [ws_sender(socks[i], conversation, i, per_sender,
                           phase(i, opts.senders, per_sender), until, tally, due, answered[i],
                           opts.client_ids)
                 for i in range(opts.senders)]  # fmt: skip
    await asyncio.gather(*sends)
    send_seconds = time.perf_counter() - started
    want = tally.sent * connected
    acks = tally.sent if conversation is not None and not opts.http else 0
    drain_until = time.perf_counter() + 10
    while (  # noqa: ASYNC110 -- the receivers' counts are plain ints bumped in callbacks
        sum(sock.deliveries for sock in socks) < want or tally.acked < acks
    ) and time.perf_counter() < drain_until:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    cpu = nodes.cpu_seconds(pids) - cpu0 if pids and cpu0 is not None else None
    load_cpu = time.process_time() - load_cpu0
    rss = nodes.rss_bytes(pids) if pids else None
    for sock in socks:
        await sock.close()
    # Lost: a delivery missing for a message the server acknowledged. (The floor has no acks:
    # every message it was sent counts.)
    if conversation is not None:
        expected = tally.acked_slots
    else:
        expected = {i * PER_SENDER + n for i, sent in enumerate(tally.sent_by) for n in range(sent)}
    latencies, lost, duplicated = analyse(socks, expected)
    deliveries = len(latencies)
    del socks
    gc.enable()
    accepted = tally.acked if conversation is not None else tally.sent
    return {
        "offered_msg_s": round(tally.sent / send_seconds, 1),
        "achieved_msg_s": round(accepted / elapsed, 1),
        "deliveries_s": round(deliveries / elapsed, 1),
        "deliveries": deliveries,
        "sent": tally.sent,
        "acked": tally.acked,
        "unacknowledged": tally.sent - tally.acked if conversation is not None else None,
        "errors": tally.errors,
        "lost": lost,
        "duplicated": duplicated,
        "latency_ms": {
            q: percentile(latencies, p) for q, p in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))
        },
        "ack_ms": {
            q: percentile(tally.acks, p) for q, p in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))
        },
        "server_cpu_s": cpu,
        "cpu_us_per_delivery": round(cpu / deliveries * 1e6, 2)
        if cpu is not None and deliveries
        else None,
        "cpu_us_per_message": round(cpu / accepted * 1e6, 2)
        if cpu is not None and accepted
        else None,
        "server_rss_mib": round(rss / 2**20, 1) if rss else None,
        # the load side's own CPU, in cores: near 1.0 it is the bottleneck, not the server
        "load_cpu_cores": round(load_cpu / elapsed, 2),
    }


async def idle(opts: Options, token: str, pid: int | None) -> dict[str, Any]:
    raise_fd_limit()
    before = procstat.rss_bytes(pid) if pid else None
    hellos = 0

    def on_frame(payload: bytes) -> None:
        nonlocal hellos
        if payload.startswith(b'{"type":"hello"'):
            hellos += 1

    socks = await connect_all(opts.nodes, [token] * opts.idle, [on_frame] * opts.idle)
    deadline = time.perf_counter() + 60
    while hellos < opts.idle and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)
    after = procstat.rss_bytes(pid) if pid else None
    for sock in socks:
        await sock.close()
    per = (after - before) / opts.idle / 1024 if before and after else None
    return {"idle_sockets": hellos, "server_rss_mib": round(after / 2**20, 1) if after else None,
            "rss_kib_per_socket": round(per, 1) if per is not None else None}  # fmt: skip


async def run(opts: Options) -> dict[str, Any]:
    raise_fd_limit()
    pids = [opts.pid] if opts.pid else nodes.pids_of(opts.nodes)
    pid = pids[0] if len(pids) == 1 else None
    report: dict[str, Any] = {"options": {k: v for k, v in vars(opts).items() if k != "token"},
                              "server_pid": pid, "server_pids": pids}  # fmt: skip
    count = 1 if opts.idle else max(opts.members, opts.senders, 1)
    people, admin = await make_people(opts.url, opts.token, count)
    if opts.idle:
        report["idle"] = await idle(opts, people[0]["token"], pid)
        return report
    conversation = await make_channel(opts.url, admin, [p["id"] for p in people])
    tokens: list[str | None] = [p["token"] for p in people[: opts.members]]
    report["chatd"] = await drive(opts, opts.nodes, conversation, tokens, pids)
    if len(opts.nodes) > 1:  # writers on several nodes: the stored history must be gapless
        acked = report["chatd"]["acked"]
        report["seq_check"] = await nodes.seq_check(opts.url, admin, conversation, acked)
    if opts.floor:
        affinity = os.sched_getaffinity(pid) if pid else None
        proc, floor_url = floor_server.start(opts.floor, affinity)
        try:
            floor = await drive(opts, [floor_url], None, [None] * opts.members, [proc.pid])
        finally:
            proc.kill()
        report["floor"] = floor
        ours, theirs = report["chatd"]["cpu_us_per_delivery"], floor["cpu_us_per_delivery"]
        if ours and theirs:
            report["cpu_per_delivery_ratio"] = round(ours / theirs, 2)
    return report
