"""Every failure answers in the contract's JSON envelope, never HTML or a traceback."""

from __future__ import annotations

import socket

from .conftest import ChatdServer, Team


def _error(answer: object) -> dict[str, object]:
    data = answer.json()  # type: ignore[attr-defined]
    assert set(data) == {"error"}
    assert isinstance(data["error"]["message"], str)
    return data["error"]  # type: ignore[no-any-return]


def test_unknown_path_and_method(server: ChatdServer) -> None:
    with server.client() as http:
        missing = http.get("/api/v1/nothing-here")
        assert missing.status_code == 404
        assert _error(missing)["code"] == "not_found"
        wrong = http.put("/api/v1/auth/login")
        assert wrong.status_code == 405
        assert wrong.headers["content-type"].startswith("application/json")


def test_auth_required(server: ChatdServer) -> None:
    with server.client() as http:
        assert _error(http.get("/api/v1/users/me"))["code"] == "unauthorized"
        bad = http.get("/api/v1/users/me", headers={"Authorization": "Basic abc"})
        assert bad.status_code == 401


def test_bad_bodies(server: ChatdServer, team: Team) -> None:
    with server.client(team.admin_token) as http:
        url = "/api/v1/admin/users"
        not_json = http.post(url, content=b"{nope", headers={"Content-Type": "application/json"})
        assert not_json.status_code == 400
        assert _error(not_json)["code"] == "invalid_json"
        bad_utf8 = http.post(
            url, content=b'{"username": "\xff\xfe"}', headers={"Content-Type": "application/json"}
        )
        assert bad_utf8.status_code == 400
        deep = b"[" * 65 + b"]" * 65
        answer = http.post(url, content=deep, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400
        very_deep = b"[" * 5000 + b"]" * 5000
        answer = http.post(url, content=very_deep, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400
        ok_depth = b'{"a":' * 63 + b"1" + b"}" * 63
        answer = http.post(url, content=ok_depth, headers={"Content-Type": "application/json"})
        assert answer.status_code == 422  # parsed; the fields are what is wrong
        wrong_type = http.post(url, json={"username": 5, "password": ["x"]})
        assert wrong_type.status_code == 422
        fields = _error(wrong_type)["fields"]
        assert set(fields) >= {"username", "password"}  # type: ignore[arg-type]
        not_object = http.post(url, json=[1, 2])
        assert not_object.status_code == 422
        form = http.post(url, content=b"a=b", headers={"Content-Type": "text/plain"})
        assert form.status_code == 415
        assert _error(form)["code"] == "unsupported_media_type"
        nul = http.post(url, json={"username": "a\x00b", "password": "x" * 10})
        assert nul.status_code == 422


def test_body_too_large_refused_while_reading(server: ChatdServer, team: Team) -> None:
    with server.client(team.admin_token) as http:
        big = b'{"username": "' + b"a" * (1024 * 1024 + 10) + b'"}'
        answer = http.post(
            "/api/v1/admin/users", content=big, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 413
        assert _error(answer)["code"] == "payload_too_large"
    # chunked, no Content-Length: refused once the limit passes, not after the whole body
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        head = (
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        )
        sock.sendall(head.encode())
        chunk = b"a" * 65536
        sent = 0
        try:
            while sent < 4 * 1024 * 1024:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        except OSError:
            pass
        sock.settimeout(10)
        reply = sock.recv(4096)
        assert b" 413 " in reply.split(b"\r\n")[0]


def test_security_headers(server: ChatdServer) -> None:
    with server.client() as http:
        answer = http.get("/healthz")
        assert answer.json() == {"status": "ok"}
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-request-id"]
        assert http.get("/readyz").status_code == 200
