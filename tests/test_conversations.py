"""Conversations over real HTTP: kinds, permissions for member, non-member, owner and admin."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import ChatdServer, Team


class Person:
    def __init__(self, server: ChatdServer, user: dict[str, Any], token: str) -> None:
        self.user = user
        self.id: str = user["id"]
        self.http: httpx.Client = server.client(token)

    def create(self, kind: str, members: list[str] | None = None, **extra: Any) -> httpx.Response:
        return self.http.post(
            "/api/v1/conversations", json={"kind": kind, "members": members or [], **extra}
        )


@pytest.fixture(scope="module")
def people(server: ChatdServer, team: Team) -> dict[str, Person]:
    made = {name: Person(server, *team.user(name, name.title())) for name in ("ann", "ben", "cat")}
    made["admin"] = Person(server, team.admin, team.admin_token)
    return made


def test_direct_conversations(people: dict[str, Person]) -> None:
    ann, ben = people["ann"], people["ben"]
    first = ann.create("direct", [ben.id])
    assert first.status_code == 201
    again = ben.create("direct", [ann.id])
    assert again.status_code == 200
    assert again.json()["conversation"]["id"] == first.json()["conversation"]["id"]
    convo = first.json()["conversation"]
    assert convo["kind"] == "direct"
    assert sorted(convo["members"]) == sorted([ann.id, ben.id])
    # the contract: `created_by` names who opened it (issue 15, item 15), whoever asks
    assert convo["created_by"] == ann.id
    assert again.json()["conversation"]["created_by"] == ann.id
    assert (
        ben.http.get(f"/api/v1/conversations/{convo['id']}").json()["conversation"]["created_by"]
        == ann.id
    )
    notes = ann.create("direct", [ann.id])
    assert notes.status_code == 201
    assert notes.json()["conversation"]["members"] == [ann.id]
    assert ann.create("direct", [ann.id]).status_code == 200
    assert ann.create("direct", [ben.id, people["cat"].id]).status_code == 422
    assert ann.create("direct", []).status_code == 422
    unknown = ann.create("direct", ["nobody"])
    assert unknown.status_code == 422
    assert "members" in unknown.json()["error"]["fields"]
    cid = convo["id"]
    # ... and no owner's powers: neither a name nor removing the other person
    assert ann.http.patch(f"/api/v1/conversations/{cid}", json={"name": "x"}).status_code == 422
    assert ann.http.delete(f"/api/v1/conversations/{cid}/members/{ben.id}").status_code in (
        403,
        422,
    )
    assert ann.http.delete(f"/api/v1/conversations/{cid}/members/{ann.id}").status_code == 422
    assert (
        ann.http.post(f"/api/v1/conversations/{cid}/members", json={"user_id": people["cat"].id})
    ).status_code == 422
    # an outsider cannot see it at all
    cat = people["cat"]
    assert cat.http.get(f"/api/v1/conversations/{cid}").status_code == 404
    assert cat.http.get(f"/api/v1/conversations/{cid}/messages").status_code == 404


def test_groups_are_private(people: dict[str, Person]) -> None:
    ann, ben, cat = people["ann"], people["ben"], people["cat"]
    made = ann.create("group", [ben.id], name="Plans", topic="secret")
    assert made.status_code == 201
    group = made.json()["conversation"]
    gid = group["id"]
    assert group["kind"] == "group"
    assert group["created_by"] == ann.id
    assert cat.http.get(f"/api/v1/conversations/{gid}").status_code == 404
    assert cat.http.post(f"/api/v1/conversations/{gid}/join").status_code == 404
    assert cat.http.patch(f"/api/v1/conversations/{gid}", json={"topic": "x"}).status_code == 404
    sent = cat.http.post(f"/api/v1/conversations/{gid}/messages", json={"body": "hi"})
    assert sent.status_code == 404
    # any member may rename and add
    renamed = ben.http.patch(f"/api/v1/conversations/{gid}", json={"name": "Plans 2"})
    assert renamed.status_code == 200
    assert renamed.json()["conversation"]["name"] == "Plans 2"
    added = ben.http.post(f"/api/v1/conversations/{gid}/members", json={"user_id": cat.id})
    assert added.status_code == 200
    assert cat.id in added.json()["conversation"]["members"]
    # removing someone else needs the owner (ann) or an admin
    assert ben.http.delete(f"/api/v1/conversations/{gid}/members/{cat.id}").status_code == 403
    assert ann.http.delete(f"/api/v1/conversations/{gid}/members/{cat.id}").status_code == 204
    assert cat.http.get(f"/api/v1/conversations/{gid}").status_code == 404
    # leaving yourself is always allowed
    assert ben.http.delete(f"/api/v1/conversations/{gid}/members/{ben.id}").status_code == 204
    assert ben.http.get(f"/api/v1/conversations/{gid}").status_code == 404
    # an admin who is not in the group cannot see it either
    admin = people["admin"]
    assert admin.http.get(f"/api/v1/conversations/{gid}").status_code == 404


def test_channels_are_public(people: dict[str, Person]) -> None:
    ann, ben, cat, admin = people["ann"], people["ben"], people["cat"], people["admin"]
    made = ann.create("channel", name="Random-Talk", topic="anything")
    assert made.status_code == 201
    channel = made.json()["conversation"]
    cid = channel["id"]
    assert channel["name"] == "random-talk"
    assert ben.create("channel", name="RANDOM-talk").status_code == 409
    assert ben.create("channel", name="has space").status_code == 422
    assert ben.create("channel").status_code == 422
    assert ben.create("meeting").status_code == 422
    # anyone signed in may see it, but messages need membership: 403 for a channel
    assert ben.http.get(f"/api/v1/conversations/{cid}").status_code == 200
    assert ben.http.get(f"/api/v1/conversations/{cid}/messages").status_code == 403
    send = ben.http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "hi"})
    assert send.status_code == 403
    assert send.json()["error"]["code"] == "forbidden"
    browse = ben.http.get("/api/v1/channels", params={"q": "RANDOM"}).json()["conversations"]
    assert [c["id"] for c in browse] == [cid]
    joined = ben.http.post(f"/api/v1/conversations/{cid}/join")
    assert joined.status_code == 200
    assert ben.id in joined.json()["conversation"]["members"]
    assert ben.http.post(f"/api/v1/conversations/{cid}/join").status_code == 200  # again: same
    # only the owner or an admin may change a channel or remove others
    assert ben.http.patch(f"/api/v1/conversations/{cid}", json={"topic": "x"}).status_code == 403
    assert cat.http.patch(f"/api/v1/conversations/{cid}", json={"topic": "x"}).status_code == 403
    assert ann.http.patch(f"/api/v1/conversations/{cid}", json={"topic": "new"}).status_code == 200
    assert (
        admin.http.patch(f"/api/v1/conversations/{cid}", json={"topic": "adm"}).status_code == 200
    )
    taken = ann.create("channel", name="taken-name")
    assert taken.status_code == 201
    clash = ann.http.patch(f"/api/v1/conversations/{cid}", json={"name": "Taken-Name"})
    assert clash.status_code == 409
    assert ann.http.delete(f"/api/v1/conversations/{cid}/members/{ben.id}").status_code == 204
    assert ben.http.post(f"/api/v1/conversations/{cid}/join").status_code == 200
    assert cat.http.delete(f"/api/v1/conversations/{cid}/members/{ben.id}").status_code == 403
    assert admin.http.delete(f"/api/v1/conversations/{cid}/members/{ben.id}").status_code == 204
    # archiving: refused sends with 409, hidden from browse
    archived = ann.http.patch(f"/api/v1/conversations/{cid}", json={"archived": True})
    assert archived.json()["conversation"]["archived"] is True
    refused = ann.http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "late"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conflict"
    assert cid not in [c["id"] for c in ben.http.get("/api/v1/channels").json()["conversations"]]
    assert (
        ann.http.patch(f"/api/v1/conversations/{cid}", json={"archived": "yes"}).status_code == 422
    )


def test_list_is_most_recent_first_with_counts(people: dict[str, Person]) -> None:
    ann, ben = people["ann"], people["ben"]
    first = ann.create("group", [ben.id], name="first").json()["conversation"]["id"]
    second = ann.create("group", [ben.id], name="second").json()["conversation"]["id"]
    ann.http.post(f"/api/v1/conversations/{first}/messages", json={"body": "one"})
    ann.http.post(f"/api/v1/conversations/{first}/messages", json={"body": "two"})
    ben.http.post(f"/api/v1/conversations/{first}/messages", json={"body": "mine"})
    listed = ben.http.get("/api/v1/conversations").json()["conversations"]
    ids = [c["id"] for c in listed]
    assert ids.index(first) < ids.index(second)
    mine = next(c for c in listed if c["id"] == first)
    assert mine["last_seq"] == 3
    assert mine["read_seq"] == 0
    assert mine["unread_count"] == 2  # not ben's own
    assert next(c for c in ann.http.get("/api/v1/conversations").json()["conversations"]
                if c["id"] == first)["unread_count"] == 1  # fmt: skip


def test_read_markers(people: dict[str, Person]) -> None:
    ann, ben = people["ann"], people["ben"]
    cid = ann.create("group", [ben.id]).json()["conversation"]["id"]
    sent = [
        ann.http.post(f"/api/v1/conversations/{cid}/messages", json={"body": f"m{i}"}).json()
        for i in range(5)
    ]
    url = f"/api/v1/conversations/{cid}/read"
    assert ben.http.post(url, json={"seq": 2}).json()["conversation"]["read_seq"] == 2
    assert ben.http.post(url, json={"seq": 1}).json()["conversation"]["read_seq"] == 2  # forward
    moved = ben.http.post(url, json={"seq": 99}).json()["conversation"]
    assert moved["read_seq"] == 5  # clamped
    assert moved["unread_count"] == 0
    assert ben.http.post(url, json={"seq": "x"}).status_code == 422
    assert ben.http.post(url, json={}).status_code == 422
    # deleted messages do not count as unread
    for message in sent[:2]:
        ann.http.delete(f"/api/v1/messages/{message['message']['id']}")
    conv = ann.http.get(f"/api/v1/conversations/{cid}").json()["conversation"]
    assert conv["unread_count"] == 0
    ann.http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "new"})
    after = ben.http.get(f"/api/v1/conversations/{cid}").json()["conversation"]
    assert after["unread_count"] == 1
    assert after["last_seq"] == 6


def test_settings_mute(people: dict[str, Person]) -> None:
    ann, ben = people["ann"], people["ben"]
    cid = ann.create("group", [ben.id]).json()["conversation"]["id"]
    muted = ben.http.patch(f"/api/v1/conversations/{cid}/settings", json={"muted": True})
    assert muted.json()["conversation"]["muted"] is True
    assert ann.http.get(f"/api/v1/conversations/{cid}").json()["conversation"]["muted"] is False
    assert (
        people["cat"].http.patch(f"/api/v1/conversations/{cid}/settings", json={"muted": True})
    ).status_code == 404


def test_creation_is_rate_limited(server: ChatdServer, team: Team) -> None:
    """1,500 groups holding another person were once made in 2.2 s (issue 15, item 6): 30 new
    conversations a minute per person, then 429 with Retry-After; opening an existing direct
    conversation is never refused, and refusals cost the victim nothing."""
    ida = Person(server, *team.user("ida"))
    joe = Person(server, *team.user("joe"))
    kim = Person(server, *team.user("kim"))
    dm = ida.create("direct", [kim.id])
    assert dm.status_code == 201
    assert ida.create("direct", [kim.id]).status_code == 200  # not counted
    assert ida.create("group", ["nobody"], name="x").status_code == 422  # not counted either
    for i in range(29):
        assert ida.create("group", [joe.id], name=f"g{i}").status_code == 201
    refused = ida.create("group", [joe.id], name="one too many")
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert ida.create("channel", name="ida-flood").status_code == 429
    assert ida.create("direct", [joe.id]).status_code == 429  # a new one counts
    again = ida.create("direct", [kim.id])
    assert (
        again.status_code == 200
        and again.json()["conversation"]["id"] == (dm.json()["conversation"]["id"])
    )
    assert joe.create("direct", [ida.id]).status_code == 201  # the limit is ida's alone
    listed = joe.http.get("/api/v1/conversations").json()["conversations"]
    assert len(listed) == 30  # 29 groups and the direct one
