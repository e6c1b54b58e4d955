"""Bad input the outside security test sent, each answered in the contract's envelope (never
500, never a traceback in the log): a huge multipart boundary, clients that leave mid-request
or before a WebSocket's auth frame, a method HTTP/1.1 does not know, a number sent as a
string, invalid UTF-8 in a reaction's emoji. And what a socket logs: chatd's structured lines
only, not uvicorn's three unstructured ones beside them."""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator

import pytest

from .conftest import ChatdServer, Team, start_server
from .wsclient import WS


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatdServer]:
    server = start_server(tmp_path_factory.mktemp("badinput"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def crew(srv: ChatdServer) -> Team:
    return Team(srv)


def _assert_no_traceback(text: str) -> None:
    for word in ("Traceback", "Exception in ASGI", "unhandled error", "FormParserError"):
        assert word not in text, text


def test_a_huge_multipart_boundary_is_a_bad_request(srv: ChatdServer, crew: Team) -> None:
    boundary = "b" * 5000
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    ).encode()
    since = len(srv.log)
    with srv.client(crew.admin_token) as http:
        for method, path in (("POST", "/api/v1/files"), ("PUT", "/api/v1/users/me/avatar")):
            answer = http.request(
                method,
                path,
                content=body,
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["code"] == "bad_request"
    _assert_no_traceback(srv.log[since:])


def test_a_client_leaving_mid_body_logs_no_traceback(srv: ChatdServer) -> None:
    since = len(srv.log)
    with socket.create_connection(("127.0.0.1", srv.port)) as sock:
        sock.sendall(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"username": "ad'
        )
    logged = srv.wait_for_log("route=/api/v1/auth/login status=499", since)
    _assert_no_traceback(logged)


def test_a_client_leaving_mid_upload_logs_no_traceback(srv: ChatdServer, crew: Team) -> None:
    since = len(srv.log)
    with socket.create_connection(("127.0.0.1", srv.port)) as sock:
        sock.sendall(
            b"POST /api/v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + crew.admin_token.encode()
            + b"\r\nContent-Type: multipart/form-data; boundary=xx\r\n"
            b"Content-Length: 100000\r\n\r\n--xx\r\nContent-Disposition: form-data; "
            b'name="file"; filename="a.txt"\r\n\r\nsome bytes'
        )
    logged = srv.wait_for_log("route=/api/v1/files status=499", since)
    _assert_no_traceback(logged)


def test_a_socket_leaving_before_its_auth_frame_logs_one_line(srv: ChatdServer) -> None:
    since = len(srv.log)
    key = base64.b64encode(os.urandom(16))
    with socket.create_connection(("127.0.0.1", srv.port)) as sock:
        sock.sendall(
            b"GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    logged = srv.wait_for_log("ws.abandoned", since)
    _assert_no_traceback(logged)
    assert len(logged.strip().splitlines()) == 1, logged  # uvicorn's own lines are gone too


def test_max_uses_as_a_string_is_a_wrong_type(srv: ChatdServer, crew: Team) -> None:
    with srv.client(crew.admin_token) as http:
        for body in ({"max_uses": "2"}, {"expires_in_s": "3600"}):
            answer = http.post("/api/v1/admin/invites", json=body)
            assert answer.status_code == 422, answer.text
            assert set(answer.json()["error"]["fields"]) == set(body)
        assert http.post("/api/v1/admin/invites", json={"max_uses": 2}).status_code == 201


def test_invalid_utf8_in_an_emoji_is_refused(srv: ChatdServer, crew: Team) -> None:
    with srv.client(crew.admin_token) as http:
        made = http.post("/api/v1/conversations", json={"kind": "group", "members": []})
        conversation = made.json()["conversation"]["id"]
        sent = http.post(f"/api/v1/conversations/{conversation}/messages", json={"body": "hi"})
        message = sent.json()["message"]["id"]
        for method in ("PUT", "DELETE"):
            answer = http.request(method, f"/api/v1/messages/{message}/reactions/%ff")
            assert answer.status_code == 422, answer.text
            assert answer.json()["error"]["fields"] == {"emoji": "is not valid UTF-8"}
        good = http.put(f"/api/v1/messages/{message}/reactions/%F0%9F%91%8D")
        assert good.status_code == 200
        assert [r["emoji"] for r in good.json()["message"]["reactions"]] == ["\N{THUMBS UP SIGN}"]


def test_a_socket_logs_only_chatd_lines(srv: ChatdServer, crew: Team) -> None:
    since = len(srv.log)
    ws = WS(srv.url, crew.admin_token)
    ws.welcome()
    ws.close()
    logged = srv.wait_for_log("ws.close", since)
    assert "ws.open" in logged
    for chatter in ("[accepted]", "connection open", "connection closed", '"WebSocket '):
        assert chatter not in logged, logged
