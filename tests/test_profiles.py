"""Profiles and admin (the web client's second round): avatars, invites, password resets,
deactivated sign-in, the mentions view. Against a real server."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import PASSWORD, ChatdServer, Team, backend_env, start_server
from tests.wsclient import WS


def _image(fmt: str, size: tuple[int, int], **save: object) -> bytes:
    out = io.BytesIO()
    picture = Image.new("RGB", size, (200, 30, 30))
    picture.paste((0, 0, 255), (0, 0, size[0] // 2, size[1]))  # left half blue: see the crop
    picture.save(out, fmt, **save)
    return out.getvalue()


def _claiming(png: bytes, width: int, height: int) -> bytes:
    """The PNG with its header rewritten to claim another size (checksum fixed)."""
    header = b"IHDR" + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + header + struct.pack(">I", zlib.crc32(header)) + png[33:]


def _put(http: object, data: bytes, content_type: str, name: str = "me.png") -> object:
    return http.put(  # type: ignore[attr-defined]
        "/api/v1/users/me/avatar", files={"file": (name, data, content_type)}
    )


def test_avatar_upload_crops_reencodes_and_is_served(server: ChatdServer, team: Team) -> None:
    (ann, ann_token), (_, bob_token) = team.user("ann"), team.user("bob")
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # a GPS latitude
    photo = _image("JPEG", (600, 300), exif=exif.tobytes(), comment=b"private note")
    assert b"SecretCamera" in photo
    with server.client(ann_token) as http:
        watcher = WS(server.url, ann_token)
        watcher.welcome()
        answer = _put(http, photo, "image/jpeg", "holiday.jpg")
        assert answer.status_code == 200, answer.text
        user = answer.json()["user"]
        assert user["id"] == ann["id"] and user["avatar_url"].startswith("/api/v1/users/")
        updated = watcher.expect("user.updated")
        assert updated["user"]["avatar_url"] == user["avatar_url"]
        watcher.conn.close()
    with server.client(bob_token) as other:  # anyone signed in may load it
        image = other.get(user["avatar_url"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/webp"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in image.headers["content-security-policy"]
    assert b"SecretCamera" not in image.content and b"private note" not in image.content
    decoded = Image.open(io.BytesIO(image.content))
    assert decoded.size == (256, 256)
    assert not decoded.getexif()
    left, right = decoded.getpixel((5, 128)), decoded.getpixel((250, 128))
    assert right[0] > 150 and right[2] < 100  # red on the right, blue on the left:
    assert left[2] > 150 and left[0] < 100  # the crop was centred, not from an edge
    with server.client() as anonymous:
        assert anonymous.get(user["avatar_url"]).status_code == 401


def test_avatar_small_transparent_gif_png_webp(server: ChatdServer, team: Team) -> None:
    _, token = team.user("cat")
    with server.client(token) as http:
        small = _put(http, _image("PNG", (40, 90)), "image/png")
        assert small.status_code == 200, small.text
        got = Image.open(io.BytesIO(http.get(small.json()["user"]["avatar_url"]).content))
        assert got.size == (40, 40)  # never enlarged
        for fmt in ("GIF", "WEBP"):
            answer = _put(http, _image(fmt, (300, 300)), "application/octet-stream")
            assert answer.status_code == 200, (fmt, answer.text)
        first = http.get("/api/v1/users/me").json()["user"]["avatar_url"]
        assert first is not None
        removed = http.delete("/api/v1/users/me/avatar")
        assert removed.status_code == 200 and removed.json()["user"]["avatar_url"] is None
        assert http.get(first).status_code == 404


def test_avatar_refusals(server: ChatdServer, team: Team) -> None:
    _, token = team.user("dan")
    with server.client(token) as http:
        svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
        assert _put(http, svg, "image/svg+xml", "x.svg").status_code == 415
        assert _put(http, b"%PDF-1.4 hello", "application/pdf", "x.pdf").status_code == 415
        broken = _put(http, b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png")
        assert broken.status_code == 422 and broken.json()["error"]["fields"]["file"]
        liar = _put(http, b"not really an image", "image/jpeg")
        assert liar.status_code == 422
        too_big = _put(http, b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024), "image/png")
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "payload_too_large"
        # decompression bombs: tiny files whose header claims 8,000 x 8,000 pixels (over
        # chatd's limit) and 20,000 x 20,000 (over Pillow's own)
        for side in (8_000, 20_000):
            answer = _put(http, _claiming(_image("PNG", (8, 8)), side, side), "image/png")
            assert answer.status_code == 422, answer.text
            assert "pixels" in answer.json()["error"]["fields"]["file"]
        missing = http.put("/api/v1/users/me/avatar", files={"other": ("a.png", b"x")})
        assert missing.status_code == 422
        assert http.get("/api/v1/users/me").json()["user"]["avatar_url"] is None


def test_invites_list_and_revoke(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    """On a server that takes invites (the default): uses count, a revoked code stops."""
    server = start_server(tmp_path, auth_default_channels="", **backend_env(request, backend))
    try:
        _invites_list_and_revoke(server, Team(server))
    finally:
        server.stop()


def _invites_list_and_revoke(server: ChatdServer, team: Team) -> None:
    _, member_token = team.user("eve")
    with server.client(team.admin_token) as admin:
        made = admin.post("/api/v1/admin/invites", json={"max_uses": 2, "expires_in_s": 3600})
        assert made.status_code == 201
        code = made.json()["code"]
        short = admin.post("/api/v1/admin/invites", json={"expires_in_s": 60}).json()["code"]
        listed = admin.get("/api/v1/admin/invites")
        assert listed.status_code == 200
        invites = {i["code"]: i for i in listed.json()["invites"]}
        entry = invites[code]
        assert entry["uses"] == 0 and entry["max_uses"] == 2
        assert entry["created_by"] == team.admin["id"]
        assert entry["url"].endswith(f"/register#invite={code}")
        assert entry["created_at"].endswith("Z") and entry["expires_at"].endswith("Z")
        assert short in invites
    with server.client() as anyone:
        joined = anyone.post(
            "/api/v1/auth/register",
            json={"username": "fay", "password": PASSWORD, "invite": code},
        )
        assert joined.status_code == 201
    with server.client(team.admin_token) as admin:
        uses = {i["code"]: i["uses"] for i in admin.get("/api/v1/admin/invites").json()["invites"]}
        assert uses[code] == 1
        assert admin.delete(f"/api/v1/admin/invites/{code}").status_code == 204
        assert admin.delete(f"/api/v1/admin/invites/{code}").status_code == 404
        codes = [i["code"] for i in admin.get("/api/v1/admin/invites").json()["invites"]]
        assert code not in codes
    with server.client() as anyone:
        again = anyone.post(
            "/api/v1/auth/register",
            json={"username": "gus", "password": PASSWORD, "invite": code},
        )
        assert again.status_code == 403
    with server.client(member_token) as member:
        assert member.get("/api/v1/admin/invites").status_code == 403
        assert member.delete(f"/api/v1/admin/invites/{short}").status_code == 403


def test_invite_lifetimes_from_one_second_to_a_year(server: ChatdServer, team: Team) -> None:
    """The contract allows `expires_in_s` from 1 to 31,536,000 (issue 15, item 16)."""
    with server.client(team.admin_token) as admin:
        for seconds in (1, 59, 31_536_000):
            made = admin.post("/api/v1/admin/invites", json={"expires_in_s": seconds})
            assert made.status_code == 201, (seconds, made.text)
        for seconds in (0, -1, 31_536_001):
            refused = admin.post("/api/v1/admin/invites", json={"expires_in_s": seconds})
            assert refused.status_code == 422, (seconds, refused.text)
            assert "expires_in_s" in refused.json()["error"]["fields"]


def test_admin_resets_password_and_revokes_sessions(server: ChatdServer, team: Team) -> None:
    gil, token = team.user("gil")
    _, member_token = team.user("hal")
    socket = WS(server.url, token)
    socket.welcome()
    with server.client(member_token) as member:
        refused = member.post(
            f"/api/v1/admin/users/{gil['id']}/password", json={"password": "x" * 9}
        )
        assert refused.status_code == 403
    with server.client(team.admin_token) as admin:
        short = admin.post(f"/api/v1/admin/users/{gil['id']}/password", json={"password": "short"})
        assert short.status_code == 422 and "password" in short.json()["error"]["fields"]
        unknown = admin.post("/api/v1/admin/users/nobody/password", json={"password": "x" * 9})
        assert unknown.status_code == 404
        done = admin.post(
            f"/api/v1/admin/users/{gil['id']}/password", json={"password": "brand new secret"}
        )
        assert done.status_code == 204
    with server.client(token) as old:
        assert old.get("/api/v1/users/me").status_code == 401
    deadline = time.monotonic() + 5
    closed = None
    while closed is None and time.monotonic() < deadline:
        try:
            socket.recv(timeout=1)
        except TimeoutError:
            continue
        except Exception:
            closed = socket.conn.close_code
    assert closed == 4001
    with server.client() as anyone:
        old_password = {"username": "gil", "password": PASSWORD}
        assert anyone.post("/api/v1/auth/login", json=old_password).status_code == 401
        fresh = {"username": "gil", "password": "brand new secret"}
        assert anyone.post("/api/v1/auth/login", json=fresh).status_code == 200


def test_deactivated_account_is_told_so_only_with_the_right_password(
    server: ChatdServer, team: Team
) -> None:
    ida, _ = team.user("ida")
    with server.client(team.admin_token) as admin:
        assert admin.patch(f"/api/v1/admin/users/{ida['id']}", json={"active": False}).is_success
    with server.client() as anyone:
        right = anyone.post("/api/v1/auth/login", json={"username": "ida", "password": PASSWORD})
        assert right.status_code == 401
        assert right.json()["error"]["code"] == "account_disabled"
        wrong = anyone.post("/api/v1/auth/login", json={"username": "ida", "password": "nope" * 3})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
        nobody = anyone.post("/api/v1/auth/login", json={"username": "zzz", "password": "nope" * 3})
        assert nobody.json() == wrong.json()


def test_mentions_view_pages_newest_first(server: ChatdServer, team: Team) -> None:
    (jo, jo_token), (_, kai_token) = team.user("jo"), team.user("kai")
    with server.client(kai_token) as kai_http:
        group = kai_http.post(
            "/api/v1/conversations", json={"kind": "group", "name": "m", "members": [jo["id"]]}
        ).json()["conversation"]
        url = f"/api/v1/conversations/{group['id']}/messages"
        sent = [kai_http.post(url, json={"body": f"hi @jo number {n}"}).json() for n in range(5)]
        kai_http.post(url, json={"body": "no mention here"})
        deleted = kai_http.post(url, json={"body": "@jo soon gone"}).json()["message"]
        assert kai_http.delete(f"/api/v1/messages/{deleted['id']}").status_code == 204
    with server.client(jo_token) as http:
        http.post(url, json={"body": "talking to myself @jo"})  # one's own: not a mention
        first = http.get("/api/v1/mentions", params={"limit": 3}).json()
        ids = [m["id"] for m in first["messages"]]
        assert ids == [s["message"]["id"] for s in reversed(sent)][:3]
        assert first["next_cursor"]
        second = http.get(
            "/api/v1/mentions", params={"limit": 3, "cursor": first["next_cursor"]}
        ).json()
        assert [m["id"] for m in second["messages"]] == [
            sent[1]["message"]["id"],
            sent[0]["message"]["id"],
        ]
        assert second["next_cursor"] is None
        assert http.get("/api/v1/mentions", params={"cursor": "junk"}).status_code == 422
        assert http.get("/api/v1/mentions", params={"limit": 0}).status_code == 422
        http.delete(f"/api/v1/conversations/{group['id']}/members/{jo['id']}")
        assert http.get("/api/v1/mentions").json()["messages"] == []  # left: no longer shown
