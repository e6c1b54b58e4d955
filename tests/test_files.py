"""Files over real HTTP: streamed uploads, dedupe, access, safe headers, limits, orphans."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatd.clock import ManualClock
from chatd.config import load
from chatd.errors import NotFound
from chatd.services.accounts import ClientInfo
from chatd.services.container import Services
from chatd.services.messages import Draft

from .conftest import PASSWORD, ChatdServer, Team, backend_env, backend_flags, start_server
from .test_conversations import Person


def upload(http: httpx.Client, name: str, data: bytes, content_type: str | None = None) -> Any:
    if content_type is None:
        return raw_upload(http, name, data, None)
    return http.post("/api/v1/files", files={"file": (name, data, content_type)})


def raw_upload(http: httpx.Client, name: str, data: bytes, content_type: str | None) -> Any:
    """A hand-made multipart body, so the part may carry no Content-Type at all."""
    boundary = "chatdtestboundary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    body = head.encode() + b"\r\n" + data + f"\r\n--{boundary}--\r\n".encode()
    return http.post(
        "/api/v1/files",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


def stored_blobs(server: ChatdServer) -> list[Path]:
    return [p for p in (server.data_dir / "files").rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def people(server: ChatdServer, team: Team) -> dict[str, Person]:
    return {name: Person(server, *team.user(name)) for name in ("quin", "rose", "sam")}


def test_upload_and_metadata(people: dict[str, Person]) -> None:
    quin = people["quin"]
    data = b"hello, files\n" * 100
    made = upload(quin.http, "notes.txt", data, "text/plain")
    assert made.status_code == 201, made.text
    meta = made.json()["file"]
    assert meta["name"] == "notes.txt"
    assert meta["size"] == len(data)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["content_type"] == "text/plain"
    assert meta["uploader_id"] == quin.id
    assert quin.http.get(f"/api/v1/files/{meta['id']}/meta").json()["file"] == meta
    got = quin.http.get(f"/api/v1/files/{meta['id']}")
    assert got.content == data
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")
    guessed = raw_upload(quin.http, "photo.png", b"\x89PNG fake", None).json()["file"]
    assert guessed["content_type"] == "image/png"
    unknown = raw_upload(quin.http, "blob.zzzz", b"??", None).json()["file"]
    assert unknown["content_type"] == "application/octet-stream"


def test_bad_uploads(people: dict[str, Person]) -> None:
    quin = people["quin"]
    wrong = quin.http.post("/api/v1/files", json={"file": "x"})
    assert wrong.status_code == 415
    other_part = quin.http.post("/api/v1/files", files={"document": ("a.txt", b"x", "text/plain")})
    assert other_part.status_code == 422
    garbage = quin.http.post(
        "/api/v1/files",
        content=b"not multipart at all",
        headers={"Content-Type": "multipart/form-data; boundary=zzz"},
    )
    assert garbage.status_code in (400, 422)
    assert httpx.post(f"{quin.http.base_url}/api/v1/files").status_code == 401


def test_same_bytes_stored_once(server: ChatdServer, people: dict[str, Person]) -> None:
    data = os.urandom(50_000)
    before = len(stored_blobs(server))
    one = upload(people["quin"].http, "a.bin", data, "application/octet-stream").json()["file"]
    two = upload(people["rose"].http, "b.bin", data, "application/octet-stream").json()["file"]
    assert one["id"] != two["id"]
    assert one["sha256"] == two["sha256"]
    assert len(stored_blobs(server)) == before + 1


def test_hostile_names_stay_metadata(server: ChatdServer, people: dict[str, Person]) -> None:
    quin = people["quin"]
    cases = {
        "../../etc/passwd": "passwd",
        "..\\..\\windows\\win.ini": "win.ini",
        "a\x07b\x1bc.txt": "abc.txt",
        "..": "file",
        "résumé 📄.pdf": "résumé 📄.pdf",
    }
    for raw, shown in cases.items():
        made = raw_upload(quin.http, raw, b"x", "text/plain")
        assert made.status_code == 201, raw
        assert made.json()["file"]["name"] == shown
    long = raw_upload(quin.http, "n" * 1000 + ".txt", b"x", "text/plain").json()["file"]
    assert len(long["name"]) == 255
    unicode_file = raw_upload(quin.http, "naïve ☃.txt", b"snow", "text/plain").json()["file"]
    got = quin.http.get(f"/api/v1/files/{unicode_file['id']}")
    assert "filename*=UTF-8''na%C3%AFve%20%E2%98%83.txt" in got.headers["content-disposition"]
    for path in (server.data_dir / "files").rglob("*"):
        assert all(
            c in "0123456789abcdef/" for c in str(path.relative_to(server.data_dir / "files"))
        )


def test_access_follows_attachments(people: dict[str, Person]) -> None:
    quin, rose, sam = people["quin"], people["rose"], people["sam"]
    meta = upload(quin.http, "shared.txt", b"shared", "text/plain").json()["file"]
    url = f"/api/v1/files/{meta['id']}"
    assert rose.http.get(url).status_code == 404
    assert rose.http.get(url + "/meta").status_code == 404
    cid = quin.create("group", [rose.id]).json()["conversation"]["id"]
    sent = quin.http.post(
        f"/api/v1/conversations/{cid}/messages", json={"body": "", "file_ids": [meta["id"]]}
    )
    assert sent.status_code == 201, sent.text
    message = sent.json()["message"]
    assert message["body"] == ""
    assert [f["id"] for f in message["files"]] == [meta["id"]]
    assert message["files"][0]["name"] == "shared.txt"
    assert rose.http.get(url).content == b"shared"
    assert sam.http.get(url).status_code == 404
    history = rose.http.get(f"/api/v1/conversations/{cid}/messages").json()["messages"]
    assert history[-1]["files"][0]["sha256"] == meta["sha256"]
    # a deleted message drops its attachments from view
    quin.http.delete(f"/api/v1/messages/{message['id']}")
    assert rose.http.get(url).status_code == 404
    assert quin.http.get(url).status_code == 200  # still the uploader's


def test_attach_rules(people: dict[str, Person]) -> None:
    quin, rose = people["quin"], people["rose"]
    cid = quin.create("group", [rose.id]).json()["conversation"]["id"]
    theirs = upload(rose.http, "r.txt", b"rose", "text/plain").json()["file"]
    url = f"/api/v1/conversations/{cid}/messages"
    stolen = quin.http.post(url, json={"body": "x", "file_ids": [theirs["id"]]})
    assert stolen.status_code == 422
    assert "file_ids" in stolen.json()["error"]["fields"]
    assert quin.http.post(url, json={"body": "x", "file_ids": ["nope"]}).status_code == 422
    many = [upload(quin.http, f"{i}.txt", b"%d" % i, "text/plain").json()["file"]["id"]
            for i in range(11)]  # fmt: skip
    assert quin.http.post(url, json={"body": "x", "file_ids": many}).status_code == 422
    assert quin.http.post(url, json={"body": "x", "file_ids": "a"}).status_code == 422
    assert quin.http.post(url, json={"body": " ", "file_ids": []}).status_code == 422
    ten = quin.http.post(url, json={"body": "ten", "file_ids": many[:10]})
    assert [f["id"] for f in ten.json()["message"]["files"]] == many[:10]


@pytest.mark.parametrize(
    ("declared", "served", "inline"),
    [
        ("text/html", "application/octet-stream", False),
        ("image/svg+xml", "application/octet-stream", False),
        ("application/xml", "application/octet-stream", False),
        ("application/javascript", "application/octet-stream", False),
        ("image/png", "image/png", True),
        ("application/pdf", "application/pdf", True),
        ("audio/ogg", "audio/ogg", True),
        ("video/mp4", "video/mp4", True),
        ("text/plain", "text/plain", False),
        ("application/zip", "application/zip", False),
    ],
)
def test_served_headers(
    people: dict[str, Person], declared: str, served: str, inline: bool
) -> None:
    quin = people["quin"]
    meta = upload(quin.http, "f", b"<script>alert(1)</script>", declared).json()["file"]
    assert meta["content_type"] == declared
    got = quin.http.get(f"/api/v1/files/{meta['id']}")
    assert got.headers["content-type"].split(";")[0] == served
    assert got.headers["content-disposition"].startswith("inline" if inline else "attachment")
    assert got.headers["x-content-type-options"] == "nosniff"


def test_etag_and_ranges(people: dict[str, Person]) -> None:
    quin = people["quin"]
    data = bytes(range(256)) * 40
    meta = upload(quin.http, "r.bin", data, "application/octet-stream").json()["file"]
    url = f"/api/v1/files/{meta['id']}"
    first = quin.http.get(url)
    etag = first.headers["etag"]
    assert etag == f'"{meta["sha256"]}"'
    assert quin.http.get(url, headers={"If-None-Match": etag}).status_code == 304
    part = quin.http.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    tail = quin.http.get(url, headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == data[-5:]
    beyond = quin.http.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"
    assert beyond.json()["error"]["code"] == "range_not_satisfiable"
    # Several ranges, or a malformed one, are ignored: the whole file, with its own type
    # (api/files.py says why chatd does not answer multipart/byteranges).
    for ignored in ("bytes=0-1,5-6", "bytes=abc", "lines=1-2", "bytes=9-3"):
        whole = quin.http.get(url, headers={"Range": ignored})
        assert whole.status_code == 200, ignored
        assert whole.content == data
        assert whole.headers["content-type"] == "application/octet-stream"


@pytest.fixture(scope="module")
def tight(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[ChatdServer]:
    """Small limits: 1 MiB uploads, a 1.5 MiB quota."""
    srv = start_server(
        tmp_path_factory.mktemp("tight"),
        limits_max_upload_bytes=str(1024 * 1024),
        limits_user_quota_bytes=str(1536 * 1024),
        **backend_env(request, backend),
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def tight_team(tight: ChatdServer) -> Team:
    return Team(tight)


def test_size_limit_and_quota_leave_nothing(tight: ChatdServer, tight_team: Team) -> None:
    team = tight_team
    _, token = team.user()
    with tight.client(token) as http:
        too_big = upload(http, "big.bin", b"x" * (1024 * 1024 + 1), "application/octet-stream")
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "payload_too_large"
        assert list((tight.data_dir / "tmp").iterdir()) == []
        assert upload(http, "ok.bin", os.urandom(1024 * 1024), "x/y").status_code == 201
        over = upload(http, "more.bin", os.urandom(600 * 1024), "x/y")
        assert over.status_code == 413
        assert "quota" in over.json()["error"]["message"]
        assert list((tight.data_dir / "tmp").iterdir()) == []


def test_interrupted_upload_leaves_nothing(tight: ChatdServer, tight_team: Team) -> None:
    team = tight_team
    _, token = team.user()
    before = stored_blobs(tight)
    boundary = "cutcut"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body_length = len(head) + 500_000
    with socket.create_connection(("127.0.0.1", tight.port)) as sock:
        sock.sendall(
            (
                f"POST /api/v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {body_length}\r\n\r\n"
            ).encode()
            + head
            + b"y" * 200_000
        )
        deadline = time.monotonic() + 5
        while not list((tight.data_dir / "tmp").iterdir()):  # in progress, in tmp/
            assert time.monotonic() < deadline, "the upload never reached tmp/"
            time.sleep(0.01)
        assert len(list((tight.data_dir / "tmp").iterdir())) == 1
    deadline = time.monotonic() + 5
    while list((tight.data_dir / "tmp").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list((tight.data_dir / "tmp").iterdir()) == []
    assert stored_blobs(tight) == before


def test_orphans_are_swept(tmp_path: Path, request: pytest.FixtureRequest, backend: str) -> None:
    """An upload never attached within `storage.orphan_ttl_s` is removed with its bytes; an
    attached one stays. On a manual clock: the sweep runs when told, nothing sleeps."""

    async def scenario() -> None:
        clock = ManualClock()
        flags = {"storage.data_dir": str(tmp_path), "storage.orphan_ttl_s": 60}
        config = load(None, {}, {**flags, **backend_flags(request, backend)})
        services = await Services.start(config, clock, background=False)
        try:
            signed = await services.accounts.setup(
                services.accounts.setup_token, "ona", PASSWORD, "", ClientInfo()
            )
            user = signed.user

            async def stored(name: str) -> str:
                sink = await services.files.begin(user, None)
                await sink.write(os.urandom(1000))
                return (await services.files.finish(user, sink, name, "x/y")).id

            orphan, kept = await stored("o.bin"), await stored("k.bin")
            room, _ = await services.conversations.create(user, "channel", "files", "", [])
            await services.messages.send(user, room.id, Draft("k", file_ids=[kept]))
            clock.advance(59)
            assert await services.files.sweep() == 0  # not yet past the TTL
            clock.advance(2)
            assert await services.files.sweep() == 1
            with pytest.raises(NotFound):
                await services.files.open(user, orphan)
            found, path = await services.files.open(user, kept)
            assert path.is_file() and found.id == kept
            assert len(list((tmp_path / "files").glob("*/*"))) == 1  # the orphan's bytes went
            assert await services.files.sweep() == 0
        finally:
            await services.stop()

    asyncio.run(scenario())


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_200_mib_upload_keeps_memory_flat(tmp_path: Path) -> None:
    server = start_server(tmp_path, limits_max_upload_bytes=str(256 * 1024 * 1024))
    try:
        check_big_upload(server)
    finally:
        server.stop()


def check_big_upload(server: ChatdServer) -> None:
    assert server.proc is not None
    pid = server.proc.pid
    _, token = Team(server).user()
    size = 200 * 1024 * 1024
    chunk = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    peak = [rss_kib(pid)]
    start = peak[0]
    boundary = "bigbigbig"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        for i in range(size // len(chunk)):
            digest.update(chunk)
            if i % 16 == 0:
                peak.append(rss_kib(pid))
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    with httpx.Client(base_url=server.url, timeout=120) as http:
        made = http.post(
            "/api/v1/files",
            content=body(),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
    assert made.status_code == 201, made.text
    assert made.json()["file"]["size"] == size
    assert made.json()["file"]["sha256"] == digest.hexdigest()
    growth_mib = (max(peak) - start) / 1024
    print(f"\nserver RSS during a 200 MiB upload: start {start / 1024:.1f} MiB, "
          f"peak {max(peak) / 1024:.1f} MiB, growth {growth_mib:.1f} MiB")  # fmt: skip
    assert growth_mib < 40  # generous: the upload itself is 200 MiB


def test_low_disk_space_fails_readyz_and_uploads(tmp_path: Path) -> None:
    server = start_server(tmp_path, storage_min_free_bytes=str(10**18))  # more than any disk
    try:
        _, token = Team(server).user()
        with server.client(token) as http:
            ready = http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["error"]["code"] == "unavailable"
            assert http.get("/healthz").status_code == 200  # still serving
            refused = upload(http, "a.txt", b"x", "text/plain")
            assert refused.status_code == 503
            assert list((tmp_path / "tmp").iterdir()) == []
    finally:
        server.stop()
