"""uvicorn's httptools protocol with the bounds a server on an open network needs.

uvicorn leaves the request head unbounded and untimed: httptools keeps a header's bytes until
its line ends, so one socket sending a 64 MiB header holds 64 MiB, 100,000 headers are all
kept, and a socket that sends nothing (or half a head) stays open forever. This subclass
counts the head's bytes as they arrive and its header lines as they are parsed, and answers
431 past `server.max_header_bytes` or `server.max_headers`; it closes a connection whose head
has not arrived within `server.header_timeout_s` (silently when it sent nothing, else 408) and
answers 408 to a body that stalls for `server.body_timeout_s`. A malformed request or a method
HTTP/1.1's parser does not know gets the contract's JSON envelope instead of uvicorn's plain
text, and one structured log line instead of uvicorn's unstructured warning.

A refused connection is closed the way nginx's lingering close does it: the answer, then our
FIN, then whatever the client still sends is read and dropped for a moment (bounded in time
and bytes), so a client that is still sending reads the answer instead of a reset.

It is chosen with uvicorn's own `http=` option (`server.py`), one class per configuration.
"""

from __future__ import annotations

import asyncio
import http
import logging
from asyncio import TimerHandle
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from chatd.config_sections import ServerConfig
from chatd.errors import (
    BadRequest,
    ChatdError,
    HeadersTooLarge,
    MethodNotAllowed,
    RequestTimeout,
)
from chatd.log import event

log = logging.getLogger("chatd.http")

LINGER_S = 2.0  # after a refusal, how long a client still sending is read and ignored
LINGER_BYTES = 1 << 20  # and how much of it, before the connection is simply dropped
ALLOW = [(b"allow", b"GET, HEAD, POST, PUT, PATCH, DELETE")]  # every method some route takes


@dataclass(frozen=True)
class HttpLimits:
    """The `server.*` bounds on one connection's request head and body."""

    max_header_bytes: int = 32768
    max_headers: int = 100
    header_timeout_s: float = 60.0
    body_timeout_s: float = 60.0

    @classmethod
    def of(cls, server: ServerConfig) -> HttpLimits:
        return cls(
            server.max_header_bytes,
            server.max_headers,
            server.header_timeout_s,
            server.body_timeout_s,
        )


def http_protocol(limits: HttpLimits) -> type[ChatdHttpProtocol]:
    """The protocol class for uvicorn's `http=` option, bound to these limits."""
    return type("ChatdHttpProtocol", (ChatdHttpProtocol,), {"limits": limits})


def _answer(error: ChatdError, extra: list[tuple[bytes, bytes]]) -> bytes:
    body = orjson.dumps(error.envelope())
    phrase = http.HTTPStatus(error.status).phrase
    head = [f"HTTP/1.1 {error.status} {phrase}".encode()]
    head += [name + b": " + value for name, value in extra]
    head += [
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode(),
        b"x-content-type-options: nosniff",
        b"connection: close",
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class ChatdHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded, timed request head and a timed body."""

    limits: ClassVar[HttpLimits] = HttpLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # between a message's end (or the start) and its headers' end
        self._head_bytes = 0  # bytes received while in the head, since the last message
        self._header_count = 0
        self._parsed_bytes = 0  # the head's size as parsed: url, names and values
        self._too_large: str | None = None  # why, set by a callback that raises to stop
        self._head_timer: TimerHandle | None = None
        self._body_timer: TimerHandle | None = None
        self._linger_timer: TimerHandle | None = None
        self._body_seen = 0.0  # the loop's time when the body last made progress
        self._refused = False
        self._lingered = 0

    # ---- connection ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            self._lingered += len(data)
            if self._lingered > LINGER_BYTES:
                self.transport.close()
            return
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self._cancel_timers()
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserInvalidMethodError:
            # a method llhttp does not know (`FOO`, `get`): no route could take it
            self._refuse(MethodNotAllowed("chatd does not know this method"), ALLOW)
            return
        except httptools.HttpParserError as exc:
            if self._too_large:
                self._refuse(HeadersTooLarge(self._too_large))
            else:
                self._refuse(BadRequest("the request is not valid HTTP/1.1"), detail=str(exc))
            return
        if self._in_head and self._head_bytes > self.limits.max_header_bytes:
            # a head still unfinished: what httptools holds until its line ends
            self._refuse(HeadersTooLarge(self._size_message()))

    # ---- parser callbacks ----------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_count = 0
        self._parsed_bytes = 0
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # a whole head can arrive in one read, so it is also measured as it is parsed
        self._count_head(len(name) + len(value) + 4)
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._stop(f"more than {self.limits.max_headers} headers")
        super().on_header(name, value)

    def _count_head(self, size: int) -> None:
        self._parsed_bytes += size
        if self._parsed_bytes > self.limits.max_header_bytes:
            self._stop(self._size_message())

    def _size_message(self) -> str:
        return f"the request head is larger than {self.limits.max_header_bytes} bytes"

    def _stop(self, why: str) -> None:
        """Stop the parser from a callback: httptools turns this into its own error."""
        self._too_large = why
        raise OverflowError(why)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel(self._head_timer)
        self._head_timer = None
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            self._body_seen = self.loop.time()
            self._arm_body_timer()

    def on_body(self, body: bytes) -> None:
        self._body_seen = self.loop.time()  # a stall is measured from the last bytes received
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        self._cancel(self._body_timer)
        self._body_timer = None
        super().on_message_complete()
        if self.cycle is not None and self.cycle.response_complete:
            # answered before its body ended: uvicorn's keep-alive timer was cancelled by the
            # body's bytes and will not come back, so the wait for a next request is ours
            self._arm_head_timer()

    # ---- timers --------------------------------------------------------------------

    @staticmethod
    def _cancel(timer: TimerHandle | None) -> None:
        if timer is not None:
            timer.cancel()

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer, self._linger_timer):
            self._cancel(timer)
        self._head_timer = self._body_timer = self._linger_timer = None

    def _arm_head_timer(self) -> None:
        self._cancel(self._head_timer)
        self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timeout)

    def _arm_body_timer(self, delay: float | None = None) -> None:
        """One timer per body, not one per chunk: when it fires it looks at `_body_seen`."""
        self._cancel(self._body_timer)
        wait = self.limits.body_timeout_s if delay is None else delay
        self._body_timer = self.loop.call_later(wait, self._body_timeout)

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self._refused:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # a request pipelined behind one still being answered: its wait starts after
            self._arm_head_timer()
            return
        if self._head_bytes == 0:
            # a socket that never sent a byte (or nothing after its last answer): no one to
            # answer, and not worth a line at info
            event(log, logging.DEBUG, "http.idle_closed", client=self._client())
            self.transport.close()
            return
        self._refuse(RequestTimeout("the request head did not arrive in time"))

    def _body_timeout(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if self.transport.is_closing() or self._refused or cycle is None:
            return
        if cycle.response_complete:  # answered already: only the unread rest stalled
            self.transport.close()
            return
        if self.flow.read_paused or cycle.waiting_for_100_continue:
            # the app has not asked for more yet: the wait is ours, not the client's
            self._body_seen = self.loop.time()
            self._arm_body_timer()
            return
        quiet = self.loop.time() - self._body_seen
        if quiet < self.limits.body_timeout_s:  # bytes came since the timer was set
            self._arm_body_timer(self.limits.body_timeout_s - quiet)
            return
        self._refuse(RequestTimeout("the request body stalled"))

    # ---- refusing ------------------------------------------------------------------

    def _client(self) -> str:
        return self.client[0] if self.client else ""

    def _refuse(
        self, error: ChatdError, extra: list[tuple[bytes, bytes]] | None = None, detail: str = ""
    ) -> None:
        """Answer `error` (unless another answer is being written) and close, lingering."""
        self._refused = True
        self._cancel_timers()
        fields = {"status": error.status, "code": error.code, "client": self._client()}
        if detail:
            fields["detail"] = detail[:80]
        event(log, logging.INFO, "http.refused", **fields)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # a request still in the app: it stops waiting for its body, and whatever it
            # answers later is dropped (uvicorn's send skips a disconnected cycle)
            cycle.disconnected = True
            cycle.keep_alive = False
            cycle.message_event.set()
            if cycle.response_started or self.pipeline:
                # part of another answer is on the wire: ours cannot follow it
                self.transport.close()
                return
        if not self.transport.is_closing():
            self.transport.write(_answer(error, (extra or []) + self._default_headers()))
        self._close_lingering()

    def _default_headers(self) -> list[tuple[bytes, bytes]]:
        return [(n, v) for n, v in self.server_state.default_headers if n.lower() == b"date"]

    def _close_lingering(self) -> None:
        if self.transport.is_closing():
            return
        if not self.transport.can_write_eof():  # TLS: no half-close, just close
            self.transport.close()
            return
        self.flow.resume_reading()
        self.transport.write_eof()
        self._linger_timer = self.loop.call_later(LINGER_S, self.transport.close)
