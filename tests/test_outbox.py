"""The outbox's write paths: one write per turn while the transport takes bytes, queued in
order when it pauses, `hello` always first, and the byte budget."""

from __future__ import annotations

import asyncio

from chatd.realtime.outbox import Outbox
from chatd.realtime.protocol import CLOSE_SLOW, Encoded, encode


class FakeTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.writes = 0
        self.paused = False
        self.resumed = asyncio.Event()
        self.gone = False

    def try_write(self, frames: list[Encoded]) -> bool:
        if self.gone:
            raise ConnectionError
        if self.paused:
            return False
        self.writes += 1
        self.written += [frame.payload for frame in frames]
        return True

    async def drained(self) -> None:
        await self.resumed.wait()


def frame(n: int) -> Encoded:
    return encode({"type": "message.created", "n": n})


def make(transport: FakeTransport, max_bytes: int = 10_000) -> tuple[Outbox, list[tuple[int, str]]]:
    closed: list[tuple[int, str]] = []

    async def send(text: str) -> None:
        raise AssertionError("a transport is given: nothing goes through ASGI")

    async def close(code: int, reason: str) -> None:
        closed.append((code, reason))

    return Outbox("c", "u", "s", send, close, max_bytes, transport), closed


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_hello_first_then_direct_writes_then_queue_while_paused() -> None:
    async def scenario() -> None:
        transport = FakeTransport()
        outbox, closed = make(transport)
        outbox.push(frame(1))  # published between attach and hello: must wait for hello
        outbox.push_first(encode({"type": "hello"}))
        assert transport.written == []
        outbox.open()
        await settle()
        assert transport.written == [b'{"type":"hello"}', frame(1).payload]
        assert transport.writes == 1  # everything queued went out in one write
        assert not outbox.writing  # an idle socket holds no task

        outbox.push(frame(2))  # the stream is open and the transport idle: written at the
        assert transport.written[-1] == frame(1).payload  # end of this turn of the loop
        await settle()
        assert transport.written[-1] == frame(2).payload

        transport.paused = True
        outbox.push(frame(3))
        outbox.push_many([frame(4), frame(5)], 2 * len(frame(4).payload))
        await settle()  # the turn found the transport paused: a writer task waits for it
        assert outbox.writing
        transport.paused = False
        outbox.push(frame(6))  # frames wait before it: it must not overtake them
        await settle()
        assert transport.written[-1] == frame(2).payload
        transport.resumed.set()
        await settle()
        assert transport.written[3:] == [frame(n).payload for n in (3, 4, 5, 6)]
        assert not outbox.writing  # drained: back to direct writes, and no task
        outbox.push(frame(7))
        await settle()
        assert transport.written[-1] == frame(7).payload

        outbox.close_soon(1000, "")
        await outbox.finished()
        assert closed == [(1000, "")]

    asyncio.run(scenario())


def test_everything_pushed_in_one_turn_leaves_in_one_write() -> None:
    async def scenario() -> None:
        transport = FakeTransport()
        outbox, _ = make(transport)
        outbox.open()
        outbox.push_first(encode({"type": "hello"}))
        await settle()
        writes = transport.writes
        outbox.push(frame(1))  # say, an ack
        outbox.push_many([frame(2), frame(3)], 2 * len(frame(2).payload))  # a commit's events
        outbox.push(frame(4))
        assert transport.writes == writes
        await settle()
        assert transport.writes == writes + 1
        assert transport.written[-4:] == [frame(n).payload for n in (1, 2, 3, 4)]
        outbox.close_soon(1000, "")
        await outbox.finished()

    asyncio.run(scenario())


def test_budget_closes_with_4008_and_a_gone_peer_drops_frames() -> None:
    async def scenario() -> None:
        transport = FakeTransport()
        outbox, closed = make(transport, max_bytes=3 * len(frame(1).payload))
        outbox.open()
        outbox.push_first(encode({"type": "hello"}))
        await settle()
        transport.gone = True
        outbox.push(frame(1))  # the reader will see the disconnect; nothing stays queued
        await settle()
        transport.gone = False
        for n in range(4):  # more than the budget in one turn, to a transport that takes it
            outbox.push(frame(n))
        await settle()
        assert outbox.closing is None and transport.written[-1] == frame(3).payload
        transport.paused = True
        outbox.push(frame(4))
        await settle()  # paused: the writer task waits with one frame
        assert outbox.closing is None
        for n in range(5, 8):
            outbox.push(frame(n))
        assert outbox.closing == (CLOSE_SLOW, "too slow: reconnect and resync")
        transport.resumed.set()  # the writer task was waiting for the drain
        await outbox.finished()
        assert closed == [outbox.closing]

    asyncio.run(scenario())


def test_without_a_transport_frames_go_one_by_one_through_asgi_in_order() -> None:
    """The fallback under another server: each frame an ASGI send, hello first, nothing
    overtaken while a send waits, and a close stops what is still queued."""

    async def scenario() -> None:
        sent: list[str] = []
        closed: list[tuple[int, str]] = []
        gate = asyncio.Event()
        gate.set()

        async def send(text: str) -> None:
            await gate.wait()
            sent.append(text)

        async def close(code: int, reason: str) -> None:
            closed.append((code, reason))

        outbox = Outbox("c", "u", "s", send, close, 10_000)
        outbox.push(frame(1))
        outbox.push_first(encode({"type": "hello"}))
        outbox.open()
        await settle()
        assert sent == ['{"type":"hello"}', frame(1).payload.decode()]
        assert not outbox.writing
        gate.clear()  # the server is slow to take the next frame
        outbox.push(frame(2))
        await settle()
        outbox.push_many([frame(3), frame(4)], 2 * len(frame(3).payload))
        gate.set()
        await settle()
        assert sent[2:] == [frame(n).payload.decode() for n in (2, 3, 4)]
        gate.clear()
        for n in (5, 6, 7):
            outbox.push(frame(n))
        await settle()  # 5 is being sent; 6 and 7 wait
        outbox.close_soon(1000, "")
        gate.set()
        await outbox.finished()
        assert sent[5:] == [frame(5).payload.decode()]
        assert closed == [(1000, "")]

    asyncio.run(scenario())
