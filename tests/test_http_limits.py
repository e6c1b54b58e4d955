"""The request head and body on the wire, as the outside security test sent them: huge and
endless headers, too many headers, sockets that send nothing or half a request, a body that
stalls. Raw sockets against a real server whose timeouts are set short (1 s)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ChatdServer, Team, start_server
from .wsclient import WS

TIMEOUT_S = 1  # server.header_timeout_s and server.body_timeout_s of this module's server


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatdServer]:
    srv = start_server(
        tmp_path_factory.mktemp("limits"),
        server_header_timeout_s=str(TIMEOUT_S),
        server_body_timeout_s=str(TIMEOUT_S),
    )
    yield srv
    srv.stop()


def _connect(srv: ChatdServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.port), timeout=10)


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(raw: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, json.loads(body) if body else {}


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_head_over_the_cap_is_answered_431(bounded: ChatdServer) -> None:
    with _connect(bounded) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
        status, headers, body = _answer(_read_all(sock))
    assert status == 431
    assert headers["content-type"] == "application/json"
    assert body["error"]["code"] == "headers_too_large"  # type: ignore[index]
    bounded.wait_for_log("http.refused")


def test_endless_headers_are_cut_and_cost_no_memory(bounded: ChatdServer) -> None:
    """Four sockets each sending a 64 MiB header that never ends took the server from 93 to
    407 MiB; now each is cut near the cap (plus what the kernels' buffers held)."""
    assert bounded.proc is not None
    before = _rss_kib(bounded.proc.pid)
    sent: list[int] = []

    def flood() -> None:
        total = 0
        chunk = b"a" * 65536
        with _connect(bounded) as sock:
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
                while total < 64 << 20:
                    sock.sendall(chunk)
                    total += len(chunk)
            except OSError:  # reset or broken pipe: the server has closed it
                pass
        sent.append(total)

    threads = [threading.Thread(target=flood) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    grown_mib = (_rss_kib(bounded.proc.pid) - before) / 1024
    assert len(sent) == 4 and all(n < 32 << 20 for n in sent), sent
    assert grown_mib < 32, grown_mib


def test_too_many_headers_are_refused(bounded: ChatdServer) -> None:
    lines = b"".join(b"X-H%d: 1\r\n" % i for i in range(150))
    with _connect(bounded) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n")
        status, _, body = _answer(_read_all(sock))
    assert status == 431
    assert body["error"]["code"] == "headers_too_large"  # type: ignore[index]


def test_a_hundred_headers_still_pass(bounded: ChatdServer) -> None:
    lines = b"".join(b"X-H%d: 1\r\n" % i for i in range(98))
    with _connect(bounded) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + lines + b"\r\n")
        status, _, _ = _answer(_read_all(sock))
    assert status == 200


def test_a_silent_socket_is_closed(bounded: ChatdServer) -> None:
    with _connect(bounded) as sock:
        started = time.monotonic()
        assert _read_all(sock) == b""  # closed, without an answer
        waited = time.monotonic() - started
    assert TIMEOUT_S - 0.2 < waited < TIMEOUT_S + 3


def test_half_a_head_is_answered_408(bounded: ChatdServer) -> None:
    with _connect(bounded) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half: ab")
        started = time.monotonic()
        status, _, body = _answer(_read_all(sock))
        waited = time.monotonic() - started
    assert status == 408
    assert body["error"]["code"] == "request_timeout"  # type: ignore[index]
    assert waited < TIMEOUT_S + 3


def test_a_stalled_body_is_answered_408_without_a_traceback(bounded: ChatdServer) -> None:
    with _connect(bounded) as sock:
        sock.sendall(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"username": '
        )
        status, _, body = _answer(_read_all(sock))
    assert status == 408
    assert body["error"]["code"] == "request_timeout"  # type: ignore[index]
    time.sleep(0.2)  # the app's side of it logs as it unwinds
    assert "Traceback" not in bounded.log


def test_a_websocket_outlives_the_head_timer(bounded: ChatdServer) -> None:
    """The upgrade hands the socket over: the head timer must not follow it."""
    team = Team(bounded)
    ws = WS(bounded.url, team.admin_token)
    ws.welcome()
    ws.quiet(TIMEOUT_S + 0.5)  # past the head timer
    ws.send({"type": "ping"})
    assert ws.expect("pong")["type"] == "pong"
    ws.close()


def test_an_unknown_method_gets_the_envelope(bounded: ChatdServer) -> None:
    """llhttp refuses methods it does not know; uvicorn answered plain text 400."""
    for method in (b"FOO", b"get"):
        with _connect(bounded) as sock:
            sock.sendall(method + b" /api/v1/users/me HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body = _answer(_read_all(sock))
        assert status == 405
        assert body["error"]["code"] == "method_not_allowed"  # type: ignore[index]
        assert "POST" in headers["allow"]


def test_a_known_method_on_the_wrong_route_says_what_is_allowed(bounded: ChatdServer) -> None:
    with bounded.client() as http:
        answer = http.put("/api/v1/auth/login")
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"
    assert answer.headers["allow"] == "POST"


def test_malformed_requests_get_the_envelope(bounded: ChatdServer) -> None:
    with _connect(bounded) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
        status, headers, body = _answer(_read_all(sock))
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert body["error"]["code"] == "bad_request"  # type: ignore[index]
    assert "Invalid HTTP request received" not in bounded.log


def test_a_slow_body_that_keeps_coming_is_read(bounded: ChatdServer) -> None:
    """The body timeout is for a stall, not for the whole body: pieces arriving more often
    than the timeout are read however long the body takes."""
    body = b'{"username": "nobody", "password": "not the right one"}'
    pieces = [body[i : i + 15] for i in range(0, len(body), 15)]
    with _connect(bounded) as sock:
        sock.sendall(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        for piece in pieces:
            time.sleep(TIMEOUT_S * 0.4)
            sock.sendall(piece)
        status, _, answer = _answer(_read_all(sock))
    assert len(pieces) * TIMEOUT_S * 0.4 > TIMEOUT_S
    assert status == 401, answer
