"""chatd's trimmed uvicorn WebSocket protocol: its light waiting objects, letting go of the
handshake without losing what a client sends, and a real server over it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from chatd.api.wsprotocol import EXTENSION, ChatdWebSocketProtocol, Flag, Inbox

from .conftest import ChatdServer, Team
from .wsclient import WS, client_frame

BACKENDS = ("sqlite",)  # the socket protocol, below any storage


def test_inbox_is_a_queue_for_one_reader() -> None:
    async def scenario() -> None:
        inbox = Inbox()
        assert inbox.empty()
        inbox.put_nowait(1)
        inbox.put_nowait(2)
        assert not inbox.empty()
        assert [await inbox.get(), await inbox.get()] == [1, 2]
        waiting = asyncio.create_task(inbox.get())
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError):  # the app is its only reader
            await inbox.get()
        inbox.put_nowait(3)
        assert await waiting == 3
        cancelled = asyncio.create_task(inbox.get())  # as wait_for does on a timeout
        await asyncio.sleep(0)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        inbox.put_nowait(4)  # nothing lost, and a new reader may wait again
        assert await inbox.get() == 4

    asyncio.run(scenario())


def test_inbox_behind_its_writer_keeps_order_and_lets_go_of_what_was_read() -> None:
    """The app lagging behind the socket: first in, first out, read items not kept alive,
    and the list holds at most about twice what is unread (it is read by index, not
    `pop(0)`, which shifted every item behind the first on each read)."""

    async def scenario() -> None:
        inbox = Inbox()
        sent = received = 0
        for round_ in range(200):
            for _ in range(round_ % 7 + 1):
                inbox.put_nowait(sent)
                sent += 1
            for _ in range(round_ % 5 + 1):
                if inbox.empty():
                    break
                assert await inbox.get() == received
                received += 1
            unread = sent - received
            assert len(inbox) == unread
            held = inbox._items  # what the list keeps is the point here
            assert len(held) <= 2 * unread + Inbox.COMPACT_AFTER
            assert all(item is None for item in held[: len(held) - unread])
        while not inbox.empty():
            assert await inbox.get() == received
            received += 1
        assert received == sent and inbox._items == []

    asyncio.run(scenario())


def test_flag_wakes_every_waiter_and_can_be_cleared() -> None:
    async def scenario() -> None:
        flag = Flag()
        assert not flag.is_set()
        waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
        await asyncio.sleep(0)
        assert not any(w.done() for w in waiters)
        flag.set()
        assert await asyncio.gather(*waiters) == [True, True, True]
        assert await flag.wait()  # set: returns at once
        flag.clear()
        late = asyncio.create_task(flag.wait())
        await asyncio.sleep(0)
        late.cancel()  # a cancelled waiter leaves nothing behind
        await asyncio.gather(late, return_exceptions=True)
        assert flag._waiters == []
        flag.set()

    asyncio.run(scenario())


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def close(self) -> None: ...


UPGRADE = (
    b"GET /api/v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"Authorization: Bearer secret\r\n\r\n"
)


async def accepted(early: bytes) -> tuple[ChatdWebSocketProtocol, Any]:
    """A protocol that got the upgrade request and `early` bytes, then accepted."""
    scopes: list[Any] = []
    accept = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await receive()  # websocket.connect
        await accept.wait()
        await send({"type": "websocket.accept"})
        await asyncio.Event().wait()

    config = uvicorn.Config(app, ws=ChatdWebSocketProtocol, ws_per_message_deflate=False)
    config.load()
    proto = ChatdWebSocketProtocol(config=config, server_state=ServerState(), app_state={})
    proto.connection_made(FakeTransport())
    proto.data_received(UPGRADE)
    if early:
        proto.data_received(early)
    await asyncio.sleep(0)
    accept.set()
    for _ in range(5):
        await asyncio.sleep(0)
    return proto, scopes[0]


def test_the_handshake_is_let_go_once_accepted() -> None:
    async def scenario() -> None:
        proto, scope = await accepted(b"")
        assert proto.handshake_complete
        assert scope["extensions"][EXTENSION] is proto
        assert proto.request is None and proto.response is None
        assert scope["headers"] == []  # the credentials with them
        assert b"secret" not in repr(proto.conn.parser.gi_frame.f_locals).encode()
        proto.data_received(client_frame(b'{"type":"ping"}'))  # the fresh parser reads on
        # uvicorn itself uses the light objects (a renamed attribute would leave it its own)
        assert isinstance(proto.queue, Inbox) and not proto.queue.empty()
        assert (await proto.receive())["text"] == '{"type":"ping"}'
        assert isinstance(proto.writable, Flag) and proto.writable.is_set()
        proto.pause_writing()
        assert not proto.writable.is_set()
        proto.resume_writing()
        assert proto.writable.is_set()
        for task in proto.tasks:
            task.cancel()

    asyncio.run(scenario())


def test_a_frame_part_way_in_keeps_its_parser() -> None:
    """A client that sends before it sees the 101 may leave half a frame in the parser:
    that parser is kept, and the frame arrives whole."""

    async def scenario() -> None:
        frame = client_frame(b'{"type":"ping","ref":"early"}')
        proto, _ = await accepted(frame[:9])
        proto.data_received(frame[9:])
        assert (await proto.receive())["text"] == '{"type":"ping","ref":"early"}'
        for task in proto.tasks:
            task.cancel()

    asyncio.run(scenario())


def test_after_the_handshake_frames_still_flow_both_ways(server: ChatdServer, team: Team) -> None:
    _, token = team.user()
    ws = WS(server.url, token)
    ws.welcome()
    for n in range(3):  # each answered: the fresh parser reads frame after frame
        ws.send({"type": "ping", "ref": f"r{n}"})
        assert ws.expect("pong", ref=f"r{n}") == {"type": "pong", "ref": f"r{n}"}
    ws.close()
