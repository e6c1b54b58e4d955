"""Incoming webhooks against a real server, posted with real HTTP (JSON and Slack's form)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import ChatdServer, Team, backend_env, start_server


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[tuple[ChatdServer, Team]]:
    srv = start_server(
        tmp_path_factory.mktemp("hooks"),
        limits_webhook_per_minute="5",
        **backend_env(request, backend),
    )
    yield srv, Team(srv)
    srv.stop()


@pytest.fixture(scope="module")
def room(site: tuple[ChatdServer, Team]) -> dict[str, Any]:
    """#alerts owned by olive, with member mia; a group with gus; olive's DM with mia."""
    server, team = site
    _olive, olive_token = team.user("olive")
    mia, mia_token = team.user("mia")
    _gus, gus_token = team.user("gus")
    with server.client(olive_token) as http:
        alerts = http.post(
            "/api/v1/conversations",
            json={"kind": "channel", "name": "alerts", "members": [mia["id"]]},
        ).json()["conversation"]
        direct = http.post(
            "/api/v1/conversations", json={"kind": "direct", "members": [mia["id"]]}
        ).json()["conversation"]
    with server.client(gus_token) as http:
        group = http.post("/api/v1/conversations", json={"kind": "group", "members": []}).json()[
            "conversation"
        ]
    return {
        "olive": olive_token, "mia": mia_token, "gus": gus_token, "alerts": alerts,
        "direct": direct, "group": group,
    }  # fmt: skip


def make_hook(server: ChatdServer, token: str, conversation_id: str, name: str) -> dict[str, Any]:
    with server.client(token) as http:
        made = http.post(f"/api/v1/conversations/{conversation_id}/webhooks", json={"name": name})
    assert made.status_code == 201, made.text
    hook: dict[str, Any] = made.json()["webhook"]
    return hook


def last_message(server: ChatdServer, token: str, conversation_id: str) -> dict[str, Any]:
    with server.client(token) as http:
        page = http.get(f"/api/v1/conversations/{conversation_id}/messages?limit=1").json()
    message: dict[str, Any] = page["messages"][-1]
    return message


def test_who_may_add_list_and_delete_webhooks(
    site: tuple[ChatdServer, Team], room: dict[str, Any]
) -> None:
    server, team = site
    alerts = room["alerts"]["id"]
    hook = make_hook(server, room["olive"], alerts, "Deploys")
    assert set(hook) == {"id", "name", "conversation_id", "url", "created_by", "created_at"}
    prefix = f"{server.url}/hooks/"
    assert hook["url"].startswith(prefix) and len(hook["url"]) - len(prefix) >= 22  # 128+ bits
    with server.client(room["mia"]) as http:  # a member, not the channel's owner
        path = f"/api/v1/conversations/{alerts}/webhooks"
        assert http.post(path, json={"name": "Mine"}).status_code == 403
        listed = http.get(path).json()["webhooks"]
        assert [h["url"] for h in listed] == [hook["url"]]
        assert http.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 403
        direct = room["direct"]["id"]
        refused = http.post(f"/api/v1/conversations/{direct}/webhooks", json={"name": "x"})
        assert refused.status_code == 422
        group = room["group"]["id"]  # not hers: it does not exist for her
        assert http.get(f"/api/v1/conversations/{group}/webhooks").status_code == 404
        assert (
            http.post(f"/api/v1/conversations/{group}/webhooks", json={"name": "x"}).status_code
            == 404
        )
    with server.client(room["gus"]) as http:  # any member of a group may add one
        made = http.post(
            f"/api/v1/conversations/{room['group']['id']}/webhooks", json={"name": "CI"}
        )
        assert made.status_code == 201
        assert (
            http.post(f"/api/v1/conversations/{alerts}/webhooks", json={"name": ""}).status_code
            == 403
        )
        # a channel is public, its webhooks are not his to delete
        assert http.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 403
        assert http.delete("/api/v1/webhooks/unknown").status_code == 404
    with server.client(team.admin_token) as http:  # an admin may add to any channel
        bad = http.post(f"/api/v1/conversations/{alerts}/webhooks", json={"name": " "})
        assert bad.status_code == 422 and "name" in bad.json()["error"]["fields"]
    with server.client(room["olive"]) as http:
        assert http.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 204
        assert http.get(f"/api/v1/conversations/{alerts}/webhooks").json()["webhooks"] == []
    with httpx.Client() as http:
        assert http.post(hook["url"], json={"text": "after delete"}).status_code == 404


def test_admin_outside_and_creator_who_left_may_delete(
    site: tuple[ChatdServer, Team], room: dict[str, Any]
) -> None:
    """The contract names who may delete (creator, channel owner, admin), not members: an
    admin who never joined, and a creator who has since left, get 204."""
    server, team = site
    with server.client(room["olive"]) as http:
        mia_id = http.get("/api/v1/users", params={"q": "mia"}).json()["users"][0]["id"]
        group = http.post(
            "/api/v1/conversations", json={"kind": "group", "members": [mia_id]}
        ).json()["conversation"]["id"]
    by_mia = make_hook(server, room["mia"], group, "Mia's bot")
    by_olive = make_hook(server, room["olive"], group, "Olive's bot")
    in_alerts = make_hook(server, room["olive"], room["alerts"]["id"], "Pager")
    with server.client(room["gus"]) as http:  # the group is hidden from him
        assert http.delete(f"/api/v1/webhooks/{by_mia['id']}").status_code == 404
    with server.client(room["mia"]) as http:
        assert http.delete(f"/api/v1/conversations/{group}/members/{mia_id}").status_code == 204
        assert http.delete(f"/api/v1/webhooks/{by_olive['id']}").status_code == 404
        assert http.delete(f"/api/v1/webhooks/{by_mia['id']}").status_code == 204
    with server.client(team.admin_token) as http:  # a member of neither
        assert http.delete(f"/api/v1/webhooks/{by_olive['id']}").status_code == 204
        assert http.delete(f"/api/v1/webhooks/{in_alerts['id']}").status_code == 204
    with httpx.Client() as http:
        for hook in (by_mia, by_olive, in_alerts):
            assert http.post(hook["url"], json={"text": "after delete"}).status_code == 404


def test_json_post_is_authored_by_the_hooks_bot_with_via(
    site: tuple[ChatdServer, Team], room: dict[str, Any]
) -> None:
    server, _ = site
    alerts = room["alerts"]["id"]
    hook = make_hook(server, room["olive"], alerts, "Build Status")
    with httpx.Client() as http:  # no cookie, no token
        answer = http.post(hook["url"], json={"text": "build *42* passed", "username": "ci"})
    assert answer.status_code == 200 and answer.text == "ok"
    message = last_message(server, room["mia"], alerts)
    assert message["body"] == "build *42* passed"
    assert message["via"] == {"kind": "webhook", "id": hook["id"], "name": "Build Status"}
    with server.client(room["mia"]) as http:
        author = http.get(f"/api/v1/users/{message['author_id']}").json()["user"]
    assert author["bot"] is True and author["display_name"] == "Build Status"
    with server.client(room["mia"]) as http:
        typed = http.post(
            f"/api/v1/conversations/{alerts}/messages", json={"body": "by a person"}
        ).json()["message"]
    assert typed["via"] is None


def test_form_payload_with_attachments_becomes_markdown(
    site: tuple[ChatdServer, Team], room: dict[str, Any]
) -> None:
    server, _ = site
    alerts = room["alerts"]["id"]
    hook = make_hook(server, room["olive"], alerts, "Monitor")
    payload = {
        "text": "Disk alert",
        "channel": "#ignored",
        "icon_emoji": ":fire:",
        "attachments": [
            {
                "fallback": "unused when there is more",
                "color": "danger",
                "pretext": "On db-1",
                "title": "Disk 91% full",
                "title_link": "https://grafana.example/d/disk",
                "text": "Free space is low",
                "fields": [{"title": "Host", "value": "db-1"}, {"title": "Used", "value": 91}],
            },
            {"fallback": "Only a fallback"},
            {"title": "No link"},
        ],
    }
    with httpx.Client() as http:
        answer = http.post(hook["url"], data={"payload": json.dumps(payload)})
    assert answer.status_code == 200 and answer.text == "ok"
    assert last_message(server, room["mia"], alerts)["body"] == (
        "Disk alert\n"
        "On db-1\n"
        "**[Disk 91% full](https://grafana.example/d/disk)**\n"
        "Free space is low\n"
        "**Host**: db-1\n"
        "**Used**: 91\n"
        "Only a fallback\n"
        "**No link**"
    )


def test_bad_posts_are_refused_with_their_status(
    site: tuple[ChatdServer, Team], room: dict[str, Any]
) -> None:
    server, _team = site
    hook = make_hook(server, room["gus"], room["group"]["id"], "Strict")
    url = hook["url"]
    with httpx.Client() as http:
        empty = http.post(url, json={"username": "x"})
        assert empty.status_code == 400 and empty.json()["error"]["code"] == "bad_request"
        assert http.post(url, json={"attachments": [{"color": "good"}]}).status_code == 400
        broken = http.post(url, content=b"{nope", headers={"Content-Type": "application/json"})
        assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
        assert http.post(url, data={"text": "form without payload"}).status_code == 400
        assert http.post(url, json={"text": 5, "attachments": "x"}).status_code == 400
        unknown = http.post(f"{server.url}/hooks/{'A' * 43}", json={"text": "hi"})
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
        huge = http.post(url, json={"text": "x" * (1024 * 1024 + 10)})
        assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"
    with server.client(room["gus"]) as http:
        group = room["group"]["id"]
        assert (
            http.patch(f"/api/v1/conversations/{group}", json={"archived": True}).status_code == 200
        )
    with httpx.Client() as http:
        archived = http.post(url, json={"text": "too late"})
        assert archived.status_code == 409 and archived.json()["error"]["code"] == "conflict"
    with server.client(room["gus"]) as http:
        http.patch(f"/api/v1/conversations/{room['group']['id']}", json={"archived": False})


def test_rate_limit_per_webhook(site: tuple[ChatdServer, Team], room: dict[str, Any]) -> None:
    server, _ = site
    alerts = room["alerts"]["id"]
    noisy = make_hook(server, room["olive"], alerts, "Noisy")
    quiet = make_hook(server, room["olive"], alerts, "Quiet")
    with httpx.Client() as http:
        for n in range(5):  # limits.webhook_per_minute = 5 on this server
            assert http.post(noisy["url"], json={"text": f"n{n}"}).status_code == 200
        limited = http.post(noisy["url"], json={"text": "one too many"})
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert http.post(quiet["url"], json={"text": "others are not limited"}).status_code == 200


def test_secrets_are_not_stored(site: tuple[ChatdServer, Team], room: dict[str, Any]) -> None:
    server, _ = site
    hook = make_hook(server, room["olive"], room["alerts"]["id"], "Secretive")
    secret = hook["url"].rsplit("/", 1)[1]
    with httpx.Client() as http:
        assert http.post(hook["url"], json={"text": "flush the WAL"}).status_code == 200
    for name in ("chatd.db", "chatd.db-wal"):
        path = server.data_dir / name
        if path.exists():
            assert secret.encode() not in path.read_bytes()
    assert secret not in server.log
    key = server.data_dir / "integrations.key"
    assert key.stat().st_mode & 0o077 == 0  # the key file is its owner's alone


def test_backup_keeps_webhook_urls_working(
    site: tuple[ChatdServer, Team], room: dict[str, Any], tmp_path: Path, backend: str
) -> None:
    """The URL secret derives from the key file: a backup carries it, mode and all. (On
    PostgreSQL `chatd backup` refuses, naming `chatd export`: test_postgres checks that, and
    test_archive that an exported hook still posts after an import.)"""
    server, _ = site
    if backend == "postgres":
        pytest.skip("chatd backup copies the embedded SQLite service only")
    dest = tmp_path / "copy"
    done = subprocess.run(
        [sys.executable, "-m", "chatd", "backup", str(dest), "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    original = server.data_dir / "integrations.key"
    copied = dest / "integrations.key"
    assert copied.read_bytes() == original.read_bytes()
    assert copied.stat().st_mode & 0o077 == 0
