"""`GET /api/v1/ws`: one WebSocket from authentication to close.

The reader turns frames into service calls. A `send` is queued to the database writer in
frame order and answered by a callback on its commit (at most a few dozen in flight per
socket), so a socket keeps many sends in flight while each `ack` still waits for its commit.
Outbound frames go through the socket's `Outbox`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.types import Message as ASGIMessage
from starlette.websockets import WebSocket, WebSocketDisconnect

from chatd.errors import BadRequest, ChatdError, RateLimited, Unavailable
from chatd.log import event
from chatd.models import Message
from chatd.realtime import protocol
from chatd.realtime.outbox import Outbox
from chatd.realtime.protocol import Encoded
from chatd.services import validation
from chatd.services.container import Services
from chatd.services.messages import Draft
from chatd.services.principal import Principal
from chatd.services.throttle import TokenBucket

from . import wsprotocol
from .auth import COOKIE

log = logging.getLogger("chatd.ws")

FRAMES_PER_S = 1000  # far above any person; stops a runaway client hurting its neighbours
FRAME_BURST = 2000
MAX_SENDS_IN_FLIGHT = 64


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_allowed(websocket: WebSocket, services: Services, origin: str) -> bool:
    """The server's own origin, `server.public_url`'s, or one in `server.allowed_origins`."""
    allowed = {_origin(o) for o in services.config.server.allowed_origins}
    if services.config.server.public_url:
        allowed.add(_origin(services.config.server.public_url))
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    allowed.add(f"{scheme}://{websocket.headers.get('host', '')}".lower())
    return origin.rstrip("/").lower() in allowed


async def endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    principal = await _authenticate(websocket, services)
    if principal is not None:
        await Socket(websocket, services, principal).serve()


async def _authenticate(websocket: WebSocket, services: Services) -> Principal | None:
    """Accept the upgrade (or refuse it, 403) and find who is calling: None once the socket
    is closed. (A function of its own so that nothing of the handshake, the token included,
    stays referenced by a frame for the socket's life.)"""
    header = websocket.headers.get("authorization")
    token: str | None = None
    if header is not None:
        scheme, _, value = header.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else ""
    elif COOKIE in websocket.cookies:
        origin = websocket.headers.get("origin")
        if origin is not None and not origin_allowed(websocket, services, origin):
            await websocket.close()  # before the upgrade: the client sees 403
            return None
        token = websocket.cookies[COOKIE]
    await websocket.accept()
    if token is None:
        try:
            token = await _auth_frame(websocket)
        except WebSocketDisconnect:
            # gone before saying who it is: common (a closed tab) and no error of ours
            event(log, logging.INFO, "ws.abandoned", stage="auth")
            return None
    principal = None
    if token:
        try:
            principal = await services.accounts.authenticate(token)
        except ChatdError:
            principal = None
    if principal is None:
        await websocket.close(protocol.CLOSE_UNAUTHORIZED, "not signed in")
    return principal


async def _auth_frame(websocket: WebSocket) -> str | None:
    """Wait up to 10 s for `{"type": "auth", "token": ...}`; other frames get no answer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + protocol.AUTH_TIMEOUT_S
    while (remaining := deadline - loop.time()) > 0:
        try:
            message = await asyncio.wait_for(websocket.receive(), remaining)
        except TimeoutError:
            return None
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        try:
            frame = orjson.loads(message.get("text") or "")
        except orjson.JSONDecodeError:
            continue
        if isinstance(frame, dict) and frame.get("type") == "auth":
            token = frame.get("token")
            return token if isinstance(token, str) else ""
    return None


class DirectTransport:
    """Frames written straight to uvicorn's transport, framed once per event.

    Sending one ASGI message per frame costs a task switch and a system call per frame per
    socket, and framing each socket's copy costs more than everything else in a fan-out.
    uvicorn's sans-io WebSocket protocol exposes what a direct write needs; each event is
    then framed once (`Encoded.wire`) and the same bytes go to every socket, everything
    queued for a socket in one write.
    """

    __slots__ = ("_conn", "_proto", "receive")

    def __init__(self, proto: Any) -> None:
        self._proto = proto
        self._conn = proto.conn
        self.receive: Callable[[], Awaitable[ASGIMessage]] = proto.receive  # the ASGI receive

    @classmethod
    def of(cls, websocket: WebSocket) -> DirectTransport | None:
        """None where chatd's protocol is not the server's (`api/wsprotocol.py`) or a frame
        cannot be shared (an extension such as compression was negotiated): the outbox then
        sends frame by frame through ASGI."""
        proto = websocket.scope.get("extensions", {}).get(wsprotocol.EXTENSION)
        needed = ("conn", "transport", "writable", "close_sent", "disconnected", "receive")
        if proto is None or not all(hasattr(proto, name) for name in needed):
            return None
        conn = proto.conn
        if not hasattr(conn, "data_to_send") or getattr(conn, "extensions", True):
            return None
        return cls(proto)

    def try_write(self, frames: list[Encoded]) -> bool:
        proto = self._proto
        if proto.disconnected or proto.close_sent:
            raise ConnectionError("the socket is closed")
        if not proto.writable.is_set():  # the transport's own back-pressure
            return False
        chunks = self._conn.data_to_send()  # anything the protocol queued itself goes first
        for frame in frames:
            wire = frame.wire
            if wire is None:
                wire = frame.wire = protocol.text_frame(frame.payload)
            chunks.append(wire)
        proto.transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        return True

    async def drained(self) -> None:
        await self._proto.writable.wait()


class Socket:
    __slots__ = (
        "bucket",
        "inflight",
        "outbox",
        "principal",
        "receive",
        "services",
        "slots",
        "user",
        "websocket",
    )  # fmt: skip

    def __init__(self, websocket: WebSocket, services: Services, principal: Principal) -> None:
        self.websocket = websocket
        self.services = services
        self.principal = principal
        self.user = principal.user
        direct = DirectTransport.of(websocket)
        # frames straight from chatd's protocol; Starlette's checks per frame add nothing here
        self.receive = direct.receive if direct is not None else websocket.receive
        self.outbox = Outbox(
            secrets.token_hex(8),
            principal.user.id,
            principal.session_id,
            websocket.send_text,
            self._close,
            services.config.limits.ws_outbox_bytes,
            direct,
            services.hub.turn,
        )
        self.bucket = TokenBucket(services.clock, FRAMES_PER_S, FRAME_BURST)
        self.slots = asyncio.Semaphore(MAX_SENDS_IN_FLIGHT)
        self.inflight: set[asyncio.Future[Any]] = set()  # sends awaiting their commit

    async def _close(self, code: int, reason: str) -> None:
        await self.websocket.close(code, reason)

    def reply(self, frame: dict[str, Any]) -> None:
        self.outbox.push(protocol.encode(frame))

    def fail(self, error: ChatdError, ref: str | None) -> None:
        frame = protocol.error_frame(error.code, error.message, ref)
        if error.fields:
            frame["fields"] = error.fields
        self.reply(frame)

    async def serve(self) -> None:
        hub, tracker = self.services.hub, self.services.presence.tracker
        conn_id = self.outbox.conn_id
        hub.attach(self.outbox)
        tracker.connected(self.user.id, conn_id)
        event(
            log,
            logging.INFO,
            "ws.open",
            user_id=self.user.id,
            conn=conn_id,
            batched=self.outbox.batched,
        )
        try:
            # Events published since attach wait in the outbox; hello goes out before them.
            self.outbox.push_first(await self._hello())
            self.outbox.open()
            await self._read_loop()
        except WebSocketDisconnect:
            pass
        finally:
            hub.detach(self.outbox)
            tracker.disconnected(self.user.id, conn_id)
            if self.inflight:
                await asyncio.gather(*self.inflight, return_exceptions=True)
            self.outbox.close_soon(protocol.CLOSE_NORMAL, "")
            with contextlib.suppress(TimeoutError):  # the writer is cancelled on timeout
                async with asyncio.timeout(2):
                    await self.outbox.finished()
            event(log, logging.INFO, "ws.close", user_id=self.user.id, conn=conn_id)

    async def _hello(self) -> Encoded:
        markers = await self.services.conversations.hello_markers(self.user)
        return protocol.encode(
            {
                "type": "hello",
                "user": self.user.to_json(),
                "session_id": self.principal.session_id,
                "conversations": [
                    {"id": cid, "last_seq": last, "read_seq": read} for cid, last, read in markers
                ],
                "heartbeat_s": protocol.HEARTBEAT_S,
            }
        )

    async def _read_loop(self) -> None:
        while self.outbox.closing is None:
            message = await self.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                self.fail(BadRequest("frames must be JSON text"), None)
                continue
            await self._handle(text, self.bucket.take())

    async def _handle(self, text: str, allowed: bool) -> None:
        """Parse first even over the rate: a `rate_limited` answer carries its frame's ref."""
        try:
            frame = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.fail(_bad("the frame is not JSON"), None)
            return
        if not isinstance(frame, dict):
            self.fail(_bad("a frame is a JSON object with a type"), None)
            return
        ref = frame.get("ref")
        if ref is not None and (not isinstance(ref, str) or len(ref) > protocol.MAX_REF_CHARS):
            self.fail(_bad("ref must be a string of at most 64 characters"), None)
            return
        if not allowed:
            self.fail(RateLimited(1, "too many frames; slow down"), ref)
            return
        kind = frame.get("type")
        if kind != "ping":
            self.services.presence.tracker.activity(self.user.id, self.outbox.conn_id)
        handler = self._handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            self.fail(_bad(f"unknown frame type {kind!r}"), ref)
            return
        try:
            await handler(self, frame, ref)
        except ChatdError as error:
            self.fail(error, ref)

    # ---- frame handlers ----------------------------------------------------------------

    async def _ping(self, frame: dict[str, Any], ref: str | None) -> None:
        self.reply({"type": "pong", "ref": ref} if ref is not None else {"type": "pong"})

    async def _auth(self, frame: dict[str, Any], ref: str | None) -> None:
        self.fail(_bad("already authenticated"), ref)

    async def _send(self, frame: dict[str, Any], ref: str | None) -> None:
        conversation_id = validation.identifier(frame.get("conversation_id"), "conversation_id")
        draft = Draft(
            frame.get("body"),
            frame.get("client_id"),
            frame.get("reply_to"),
            frame.get("file_ids"),
            frame.get("thread"),
        )
        await self.slots.acquire()
        try:
            sent = self.services.messages.submit(self.user, conversation_id, draft, via="ws")
        except BaseException:
            self.slots.release()
            raise
        self.inflight.add(sent)
        sent.add_done_callback(functools.partial(self._sent, ref))

    def _sent(self, ref: str | None, sent: asyncio.Future[tuple[Message, bool, Any]]) -> None:
        """The commit landed (or failed): answer with `ack` or `error`."""
        self.inflight.discard(sent)
        self.slots.release()
        if sent.cancelled():
            return
        error = sent.exception()
        if isinstance(error, ChatdError):
            self.fail(error, ref)
        elif error is not None:
            event(log, logging.ERROR, "ws.send_failed", error=repr(error))
            self.fail(Unavailable("the message could not be stored; try again"), ref)
        else:
            answer: dict[str, Any] = {"type": "ack", "message": sent.result()[0].to_json()}
            if ref is not None:
                answer["ref"] = ref
            self.reply(answer)

    async def _typing(self, frame: dict[str, Any], ref: str | None) -> None:
        conversation_id = frame.get("conversation_id")
        if not isinstance(conversation_id, str):
            raise validation.fail("conversation_id", "is required")
        self.services.presence.typing(self.user, conversation_id)
        self._ack(ref)

    async def _presence(self, frame: dict[str, Any], ref: str | None) -> None:
        status = frame.get("status")
        if status not in ("online", "away", "dnd"):
            raise validation.fail("status", "must be online, away or dnd")
        self.services.presence.tracker.set_status(self.user.id, status)
        self._ack(ref)

    async def _read(self, frame: dict[str, Any], ref: str | None) -> None:
        conversation_id = frame.get("conversation_id")
        if not isinstance(conversation_id, str):
            raise validation.fail("conversation_id", "is required")
        conversation = await self.services.conversations.mark_read(
            self.user, conversation_id, frame.get("seq"), origin=self.outbox.conn_id
        )
        self._ack(ref, seq=conversation.read_seq)

    def _ack(self, ref: str | None, **result: Any) -> None:
        if ref is not None:
            self.reply({"type": "ack", "ref": ref, **result})

    _handlers = {
        "ping": _ping,
        "auth": _auth,
        "send": _send,
        "typing": _typing,
        "presence": _presence,
        "read": _read,
    }


def _bad(message: str) -> ChatdError:
    return BadRequest(message)
