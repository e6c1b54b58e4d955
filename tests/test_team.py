"""Team features over real HTTP and WebSocket: mentions, reactions, pins, threads, search."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatd.services import mentions
from chatd.services.search import cjk_bigrams, plan

from .conftest import ChatdServer, Team
from .test_conversations import Person
from .wsclient import WS

NAMES = {"ann": "id-ann", "bob.b": "id-bob", "c_3": "id-c3", "all": "id-all-user"}


def reference(body: str, kind: str, author: str) -> set[str]:
    """A plain restatement of the contract's mention rule."""
    found = set()
    for match in re.finditer(r"@([A-Za-z0-9._-]+)", body):
        if match.start() > 0 and (
            body[match.start() - 1].isalnum() or body[match.start() - 1] in "_@"
        ):
            continue
        word = match.group(1)[:32].lower()
        for candidate in (word, word.rstrip(".-_")):
            if candidate in NAMES:
                found.add(NAMES[candidate])
            if candidate in ("all", "channel") and kind != "direct":
                found |= {uid for uid in NAMES.values() if uid != author}
    return found


@given(
    st.lists(
        st.one_of(
            st.sampled_from(["@ann", "@ANN", "@bob.b", "@bob.b.", "@c_3", "@all", "@channel",
                             "x@ann", "@@ann", "@nobody", "(@ann)", "@ann,", " ", "\n", "word"]),
            st.text(alphabet="ab@._- ", max_size=6),
        ),
        max_size=8,
    ),
    st.sampled_from(["direct", "group", "channel"]),
)  # fmt: skip
def test_mention_parsing_matches_reference(parts: list[str], kind: str) -> None:
    body = "".join(parts)
    assert set(mentions.resolve(body, kind, "id-ann", NAMES)) == reference(body, kind, "id-ann")


def test_cjk_bigrams_and_query_parsing() -> None:
    assert cjk_bigrams("東京都 and 서울") == "東京 京都 서울"
    query = plan('hello "big world" ab 東京')
    assert query.trigram == '"hel" AND "big" AND "ell" AND "g w" AND "llo" AND "wor" AND "rld"'
    assert query.bigram == '"東京"'
    assert query.terms == ("hello", "big world", "東京")
    assert query.keep("Hello, BIG WORLD of 東京") and not query.keep("hello big  world 東京")
    assert plan("a b") == plan("") and plan("a b").trigram is None


@pytest.fixture(scope="module")
def people(server: ChatdServer, team: Team) -> dict[str, Person]:
    made = {n: Person(server, *team.user(n, n.title())) for n in ("tia", "uma", "vic", "wes")}
    made["admin"] = Person(server, team.admin, team.admin_token)
    return made


def post(person: Person, cid: str, body: str, **extra: Any) -> dict[str, Any]:
    answer = person.http.post(f"/api/v1/conversations/{cid}/messages", json={"body": body, **extra})
    assert answer.status_code == 201, answer.text
    message: dict[str, Any] = answer.json()["message"]
    return message


def test_mentions_and_mention_count(people: dict[str, Person]) -> None:
    tia, uma, vic = people["tia"], people["uma"], people["vic"]
    cid = tia.create("group", [uma.id, vic.id]).json()["conversation"]["id"]
    one = post(tia, cid, "hey @UMA and mail tia@uma.example, @nobody")
    assert one["mentions"] == [uma.id]
    everyone = post(tia, cid, "@all stand-up in 5")
    assert set(everyone["mentions"]) == {uma.id, vic.id}
    post(uma, cid, "@uma talking to myself")  # own messages never count
    conv = uma.http.get(f"/api/v1/conversations/{cid}").json()["conversation"]
    assert conv["mention_count"] == 2
    edited = tia.http.patch(f"/api/v1/messages/{one['id']}", json={"body": "never mind"}).json()
    assert edited["message"]["mentions"] == []
    assert uma.http.get(f"/api/v1/conversations/{cid}").json()["conversation"]["mention_count"] == 1
    uma.http.post(f"/api/v1/conversations/{cid}/read", json={"seq": 99})
    assert uma.http.get(f"/api/v1/conversations/{cid}").json()["conversation"]["mention_count"] == 0
    direct = tia.create("direct", [uma.id]).json()["conversation"]["id"]
    assert post(tia, direct, "@channel hi")["mentions"] == []


def test_reactions(server: ChatdServer, people: dict[str, Person]) -> None:
    tia, uma, wes = people["tia"], people["uma"], people["wes"]
    cid = tia.create("group", [uma.id]).json()["conversation"]["id"]
    message = post(tia, cid, "react to me")
    url = f"/api/v1/messages/{message['id']}/reactions"
    watcher = WS(server.url, str(uma.http.headers["Authorization"].split(" ")[1]))
    watcher.welcome()
    first = tia.http.put(f"{url}/👍")
    assert first.status_code == 200
    assert first.json()["message"]["reactions"] == [
        {"emoji": "👍", "count": 1, "user_ids": [tia.id]}
    ]
    assert watcher.expect("message.updated")["message"]["reactions"][0]["count"] == 1
    again = tia.http.put(f"{url}/👍")  # idempotent: no change, no event
    assert again.json()["message"]["reactions"][0]["count"] == 1
    uma.http.put(f"{url}/:tada:")
    uma.http.put(f"{url}/👍")
    reactions = tia.http.get(f"/api/v1/messages/{message['id']}").json()["message"]["reactions"]
    assert [(r["emoji"], r["count"]) for r in reactions] == [("👍", 2), (":tada:", 1)]
    assert uma.http.delete(f"{url}/:tada:").json()["message"]["reactions"] == [
        {"emoji": "👍", "count": 2, "user_ids": [tia.id, uma.id]}
    ]
    assert uma.http.put(f"{url}/a%20b").status_code == 422
    assert uma.http.put(f"{url}/{'x' * 33}").status_code == 422
    assert wes.http.put(f"{url}/👍").status_code == 404
    watcher.close()


def test_reactions_are_capped(server: ChatdServer, people: dict[str, Person]) -> None:
    """One member once put 2,000 emoji on a message, each `message.updated` re-sending all of
    them (issue 15, item 5): now 20 per person and 50 distinct per message, 422 past them."""
    tia, uma, vic = people["tia"], people["uma"], people["vic"]
    cid = tia.create("group", [uma.id, vic.id]).json()["conversation"]["id"]
    message = post(tia, cid, "pile on")
    url = f"/api/v1/messages/{message['id']}/reactions"
    for i in range(20):
        assert tia.http.put(f"{url}/:t{i}:").status_code == 200
    over = tia.http.put(f"{url}/:t20:")
    assert over.status_code == 422, over.text
    assert over.json()["error"]["code"] == "validation_failed"
    assert "emoji" in over.json()["error"]["fields"]
    assert tia.http.put(f"{url}/:t3:").status_code == 200  # again: no change, never refused
    assert tia.http.delete(f"{url}/:t3:").status_code == 200  # room for one more of hers
    assert tia.http.put(f"{url}/:t20:").status_code == 200
    for i in range(20):
        assert uma.http.put(f"{url}/:u{i}:").status_code == 200
    for i in range(10):
        assert vic.http.put(f"{url}/:v{i}:").status_code == 200  # the 50th distinct emoji
    watcher = WS(server.url, str(tia.http.headers["Authorization"].split(" ")[1]))
    watcher.welcome()
    full = vic.http.put(f"{url}/:v10:")
    assert full.status_code == 422 and "emoji" in full.json()["error"]["fields"]
    joined = vic.http.put(f"{url}/:u0:")  # an emoji already there still takes her
    assert joined.status_code == 200
    reactions = joined.json()["message"]["reactions"]
    assert len(reactions) == 50 and reactions[20] == {
        "emoji": ":u0:",
        "count": 2,
        "user_ids": [uma.id, vic.id],
    }
    frame = watcher.expect("message.updated")  # the refused one sent nothing
    assert frame["message"]["reactions"] == reactions
    watcher.close()


def test_pin_permissions(people: dict[str, Person]) -> None:
    tia, uma, vic, admin = people["tia"], people["uma"], people["vic"], people["admin"]
    group = tia.create("group", [uma.id]).json()["conversation"]["id"]
    first = post(tia, group, "pin me")
    second = post(tia, group, "pin me too")
    assert uma.http.put(f"/api/v1/messages/{first['id']}/pin").json()["message"]["pinned"] is True
    uma.http.put(f"/api/v1/messages/{second['id']}/pin")
    pins = tia.http.get(f"/api/v1/conversations/{group}/pins").json()["messages"]
    assert [m["id"] for m in pins] == [second["id"], first["id"]]  # most recently pinned first
    assert (
        tia.http.delete(f"/api/v1/messages/{first['id']}/pin").json()["message"]["pinned"] is False
    )
    channel = tia.create("channel", [uma.id], name="pins-here").json()["conversation"]["id"]
    message = post(uma, channel, "channel message")
    assert uma.http.put(f"/api/v1/messages/{message['id']}/pin").status_code == 403
    admin.http.post(f"/api/v1/conversations/{channel}/join")
    assert admin.http.put(f"/api/v1/messages/{message['id']}/pin").status_code == 200
    assert tia.http.put(f"/api/v1/messages/{message['id']}/pin").status_code == 200
    assert vic.http.get(f"/api/v1/conversations/{channel}/pins").status_code == 403
    direct = tia.create("direct", [vic.id]).json()["conversation"]["id"]
    dm = post(tia, direct, "dm")
    assert vic.http.put(f"/api/v1/messages/{dm['id']}/pin").status_code == 200


def test_replies_update_their_parent(server: ChatdServer, people: dict[str, Person]) -> None:
    tia, uma = people["tia"], people["uma"]
    cid = tia.create("group", [uma.id]).json()["conversation"]["id"]
    root = post(tia, cid, "thread root")
    watcher = WS(server.url, str(tia.http.headers["Authorization"].split(" ")[1]))
    watcher.welcome()
    post(uma, cid, "a reply", reply_to=root["id"])
    updated = watcher.expect("message.updated")["message"]
    assert (updated["id"], updated["reply_count"]) == (root["id"], 1)
    watcher.close()


@pytest.fixture(scope="module")
def corpus(people: dict[str, Person]) -> dict[str, Any]:
    tia, uma, vic = people["tia"], people["uma"], people["vic"]
    shared = tia.create("group", [uma.id], name="search").json()["conversation"]["id"]
    private = vic.create("group", [], name="secret").json()["conversation"]["id"]
    made = {
        "en": post(tia, shared, "The quarterly Roadmap review is on Friday"),
        "phrase": post(uma, shared, "big world news today"),
        "words": post(tia, shared, "world is big"),
        "zh": post(tia, shared, "我们明天在东京开会"),
        "ja": post(uma, shared, "東京都の天気"),
        "ru": post(tia, shared, "Привет, коллеги! Совещание перенесено"),
        "gone": post(tia, shared, "ephemeral secret plans"),
        "private": post(vic, private, "the roadmap for vic alone"),
    }
    tia.http.delete(f"/api/v1/messages/{made['gone']['id']}")
    return {"shared": shared, "private": private, **made}


def search(person: Person, **params: Any) -> dict[str, Any]:
    answer = person.http.get("/api/v1/search", params=params)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def ids(found: dict[str, Any]) -> list[str]:
    return [m["id"] for m in found["messages"]]


def test_search_matching(people: dict[str, Person], corpus: dict[str, Any]) -> None:
    tia, vic = people["tia"], people["vic"]
    assert ids(search(tia, q="roadm")) == [corpus["en"]["id"]]  # part of a word, any case
    assert ids(search(tia, q="QUARTERLY friday")) == [corpus["en"]["id"]]  # all words
    assert ids(search(tia, q='"big world"')) == [corpus["phrase"]["id"]]
    assert set(ids(search(tia, q="world big"))) == {corpus["phrase"]["id"], corpus["words"]["id"]}
    assert ids(search(tia, q="东京")) == [corpus["zh"]["id"]]  # two-character CJK run
    assert ids(search(tia, q="東京都")) == [corpus["ja"]["id"]]
    assert ids(search(tia, q="天気")) == [corpus["ja"]["id"]]
    assert ids(search(tia, q="совещание")) == [corpus["ru"]["id"]]  # Cyrillic, any case
    assert ids(search(tia, q="колле")) == [corpus["ru"]["id"]]
    assert ids(search(tia, q="ephemeral")) == []  # deleted messages never match
    assert ids(search(vic, q="roadmap")) == [corpus["private"]["id"]]  # only their own
    assert corpus["private"]["id"] not in ids(search(tia, q="roadmap"))
    assert search(tia, q="ab")["messages"] == []  # too short to match anything


def test_search_filters_and_paging(people: dict[str, Person], corpus: dict[str, Any]) -> None:
    tia, uma = people["tia"], people["uma"]
    shared = corpus["shared"]
    for i in range(5):
        post(uma, shared, f"paging marker {i}")
    first = search(tia, q="paging marker", limit=2)
    assert [m["body"] for m in first["messages"]] == ["paging marker 4", "paging marker 3"]
    assert first["next_cursor"]
    second = search(tia, q="paging marker", limit=2, cursor=first["next_cursor"])
    assert [m["body"] for m in second["messages"]] == ["paging marker 2", "paging marker 1"]
    third = search(tia, q="paging marker", limit=2, cursor=second["next_cursor"])
    assert [m["body"] for m in third["messages"]] == ["paging marker 0"]
    assert third["next_cursor"] is None
    by_author = search(tia, q="world", author_id=uma.id)
    assert ids(by_author) == [corpus["phrase"]["id"]]
    elsewhere = tia.create("group", [], name="elsewhere").json()["conversation"]["id"]
    post(tia, elsewhere, "world elsewhere")
    assert len(ids(search(tia, q="world", conversation_id=shared))) == 2
    assert tia.http.get("/api/v1/search", params={"q": "x", "cursor": "abc"}).status_code == 422
    huge = {"q": "world", "cursor": str(10**30)}
    assert tia.http.get("/api/v1/search", params=huge).status_code == 422
    assert tia.http.get("/api/v1/search", params={"q": "wor\x00ld"}).status_code == 422
    read = tia.http.post(f"/api/v1/conversations/{shared}/read", json={"seq": 10**30})
    assert read.status_code == 422
    assert tia.http.get("/api/v1/search").status_code == 422
    edited = post(tia, shared, "a typo in zebrra")
    tia.http.patch(f"/api/v1/messages/{edited['id']}", json={"body": "fixed zebra"})
    assert ids(search(tia, q="zebrra")) == []
    assert ids(search(tia, q="zebra")) == [edited["id"]]
