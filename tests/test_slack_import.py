"""`chatd import-slack` against a real server, with a Slack export generated here holding
every feature the contract lists, then the same import again, then malformed exports."""

from __future__ import annotations

import contextlib
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from chatd.cli import main
from chatd.services import slack_markup

from .conftest import PASSWORD, ChatdServer, Team, backend_env, start_server

PARENT_TS = "1704067300.000200"  # 2024-01-01T00:01:40.000Z

USERS = [
    {"id": "U1", "name": "ann", "real_name": "Ann Archer", "profile": {"display_name": "Ann"}},
    {"id": "U2", "name": "bob", "profile": {"real_name": "Bob B"}},
    {"id": "U3", "name": "admin", "profile": {}},  # exists in chatd: that person
    {"id": "U4", "name": "deploybot", "is_bot": True, "profile": {"bot_id": "B9"}},
    {"id": "U5", "name": "Carl.Old", "deleted": True, "profile": {}},
]
CHANNELS = [
    {"id": "C1", "name": "general", "created": 1704000000, "creator": "U1",
     "members": ["U1", "U2", "U3"], "topic": {"value": "Company-wide &amp; more"}},
    {"id": "C2", "name": "old", "created": 1704000000, "is_archived": True, "members": ["U1"]},
]  # fmt: skip
GENERAL_DAY1 = [
    {"type": "message", "subtype": "channel_join", "user": "U2", "ts": "1704067200.000100",
     "text": "<@U2> has joined the channel"},
    {"type": "message", "user": "U1", "ts": PARENT_TS, "thread_ts": PARENT_TS,
     "text": "Hi <@U2>, see <#C2|old> and <https://example.com|the site> <!here> &lt;3 &amp;",
     "edited": {"user": "U1", "ts": "1704067400.000000"},
     "reactions": [{"name": "+1", "users": ["U2", "U3"], "count": 2},
                   {"name": "partyparrot", "users": ["U1"], "count": 1}]},
    {"type": "message", "subtype": "bot_message", "bot_id": "B1", "username": "CI",
     "ts": "1704067500.000000", "text": "build passed",
     "attachments": [{"fallback": "Build 12 passed", "title": "Build 12",
                      "title_link": "https://ci.example/12", "text": "all green"}]},
    {"type": "message", "user": "U2", "ts": "1704067600.000000", "text": "here",
     "files": [{"name": "plan.pdf", "url_private": "https://files.slack.com/plan.pdf"}]},
]  # fmt: skip
GENERAL_DAY2 = [  # not in ts order in the file: the import sorts
    {"type": "message", "subtype": "tombstone", "user": "U1", "ts": "1704153900.000000",
     "text": "This message was deleted."},
    {"type": "message", "user": "U2", "ts": "1704153600.000300", "thread_ts": PARENT_TS,
     "parent_user_id": "U1", "text": "a reply"},
    {"type": "message", "subtype": "bot_message", "bot_id": "B9", "ts": "1704153700.000000",
     "text": "deployed <!channel>"},
]  # fmt: skip


def write_export(path: Path, broken: dict[str, Any] | None = None) -> Path:
    files: dict[str, Any] = {
        "users.json": USERS,
        "channels.json": CHANNELS,
        "groups.json": [{"id": "G1", "name": "secret", "created": 1704000000,
                         "members": ["U1", "U2"], "topic": {"value": ""}}],
        "dms.json": [{"id": "D1", "created": 1704000000, "members": ["U1", "U2"]}],
        "mpims.json": [{"id": "M1", "name": "mpdm-ann--bob--admin-1", "created": 1704000000,
                        "members": ["U1", "U2", "U3"]}],
        "general/2024-01-01.json": GENERAL_DAY1,
        "general/2024-01-02.json": GENERAL_DAY2,
        "secret/2024-01-01.json": [{"user": "U2", "ts": "1704067200.1", "text": "psst"}],
        "D1/2024-01-01.json": [{"user": "U1", "ts": "1704067200.2", "text": "just us"}],
        "mpdm-ann--bob--admin-1/2024-01-01.json": [
            {"user": "U3", "ts": "1704067200.3", "text": "three of us"}
        ],
        "old/2024-01-01.json": [{"user": "U5", "ts": "1704067200.4", "text": "long ago"}],
    }  # fmt: skip
    files.update(broken or {})
    with zipfile.ZipFile(path, "w") as zf:
        for name, value in files.items():
            zf.writestr(name, value if isinstance(value, str) else json.dumps(value))
    return path


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_markup_conversion_as_the_contract_spells_it() -> None:
    users, channels = {"U123": "ann"}, {"C9": "random"}
    assert slack_markup.convert("<@U123>", users, channels) == "@ann"
    assert slack_markup.convert("<@U123|whoever>", users, channels) == "@ann"
    assert slack_markup.convert("<#C123|name>", users, channels) == "#name"
    assert slack_markup.convert("<#C9>", users, channels) == "#random"
    assert slack_markup.convert("<https://x|label>", users, channels) == "[label](https://x)"
    assert slack_markup.convert("<https://x>", users, channels) == "https://x"
    assert slack_markup.convert("<!channel> <!here>", users, channels) == "@channel @channel"
    assert slack_markup.convert("a &lt;b&gt; &amp;lt;", users, channels) == "a <b> &lt;"
    assert slack_markup.emoji("+1::skin-tone-3") == "👍"
    assert slack_markup.emoji("partyparrot") == ":partyparrot:"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Any:
    srv = start_server(
        tmp_path_factory.mktemp("slack"), auth_default_channels="", **backend_env(request, backend)
    )
    yield srv
    srv.stop()


@contextlib.contextmanager
def signed_in(server: ChatdServer, username: str) -> Iterator[httpx.Client]:
    with server.client() as http:
        login = {"username": username, "password": PASSWORD}
        answer = http.post("/api/v1/auth/login", json=login)
        assert answer.status_code == 200, answer.text
        http.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        yield http


def test_import_everything_then_again(server: ChatdServer, tmp_path: Path) -> None:
    Team(server)  # the admin, whose username the export shares
    export = write_export(tmp_path / "export.zip")
    code, out = cli("import-slack", str(export), env=server.storage_env)
    assert code == 0, out
    assert "checked export.zip: 5 users, 5 conversations, 11 messages" in out
    assert "#general: 6 messages" in out
    assert out.splitlines()[-1].startswith(
        "imported from Slack: 3 users (1 existing matched), 2 bots, 5 conversations, "
        "10 messages, 3 reactions; 1 join/leave notices skipped"
    )
    with signed_in(server, "admin") as admin:
        people = {u["username"]: u for u in admin.get("/api/v1/admin/users").json()["users"]}
        assert people["admin"]["active"] and not people["ann"]["active"]
        assert people["ann"]["display_name"] == "Ann" and people["bob"]["display_name"] == "Bob B"
        assert people["carl.old"]["active"] is False
        assert people["deploybot"]["bot"] and people["ci"]["bot"] and not people["ci"]["active"]
        check_general(admin, people)
        mine = {c["kind"] + ":" + c["name"] for c in admin.get("/api/v1/conversations").json()[
            "conversations"]}  # fmt: skip
        assert mine == {"channel:general", "group:"}
    refused = server.client().post(
        "/api/v1/auth/login", json={"username": "ann", "password": PASSWORD}
    )
    assert refused.status_code == 401
    code, out = cli_stdin(server, "ann")
    assert code == 0, out
    with signed_in(server, "ann") as ann:
        kinds = sorted(
            (c["kind"], c["name"], c["archived"])
            for c in ann.get("/api/v1/conversations").json()["conversations"]
        )
        assert kinds == [("channel", "general", False), ("channel", "old", True),
                         ("direct", "", False), ("group", "", False),
                         ("group", "secret", False)]  # fmt: skip
        assert all(c["unread_count"] == 0 for c in ann.get("/api/v1/conversations").json()[
            "conversations"])  # fmt: skip

    code, again = cli("import-slack", str(export), env=server.storage_env)
    assert code == 0, again
    assert again.splitlines()[-1].startswith(
        "imported from Slack: 0 users (1 existing matched), 0 bots, 0 conversations, "
        "0 messages, 0 reactions"
    )
    with signed_in(server, "admin") as admin:
        people = {u["username"]: u for u in admin.get("/api/v1/admin/users").json()["users"]}
        check_general(admin, people)


def cli_stdin(server: ChatdServer, name: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        ["user", "passwd", name, "--password-stdin"],
        env=server.storage_env,
        input=PASSWORD + "\n",
    )
    return result.exit_code, result.output


def check_general(admin: httpx.Client, people: dict[str, Any]) -> None:
    general = next(
        c for c in admin.get("/api/v1/channels").json()["conversations"] if c["name"] == "general"
    )
    assert general["topic"] == "Company-wide & more"
    got = admin.get(f"/api/v1/conversations/{general['id']}/messages", params={"after": 0})
    history = got.json()["messages"]
    assert [m["seq"] for m in history] == [1, 2, 3, 4, 5, 6]
    parent, bot, file, reply, deploy, tomb = history
    assert parent["body"] == "Hi @bob, see #old and [the site](https://example.com) @channel <3 &"
    assert parent["author_id"] == people["ann"]["id"]
    assert parent["created_at"] == "2024-01-01T00:01:40.000Z"
    assert parent["edited_at"] == "2024-01-01T00:03:20.000Z"
    reactions = {r["emoji"]: sorted(r["user_ids"]) for r in parent["reactions"]}
    assert reactions == {
        "👍": sorted([people["bob"]["id"], people["admin"]["id"]]),
        ":partyparrot:": [people["ann"]["id"]],
    }
    assert bot["author_id"] == people["ci"]["id"]
    assert bot["body"] == "build passed\n[Build 12](https://ci.example/12)\nall green"
    assert file["body"] == "here\nplan.pdf: https://files.slack.com/plan.pdf"
    assert reply["reply_to"] == parent["id"] and reply["body"] == "a reply"
    assert (
        deploy["author_id"] == people["deploybot"]["id"] and deploy["body"] == "deployed @channel"
    )
    assert tomb["deleted"] and tomb["body"] == ""


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        ({"general/2024-01-03.json": [{"user": "U1", "ts": "1", "text": "ok"},
                                      {"user": "U1", "ts": 17, "text": "no"}]},
         "general/2024-01-03.json: [1].ts: must be a string"),
        ({"users.json": [{"id": "U1"}]}, "users.json: [0].name: missing"),
        ({"channels.json": "{not json"}, "channels.json: not JSON"),
        ({"secret/2024-01-02.json": [{"ts": "2.0", "text": "who?"}]},
         "secret/2024-01-02.json: [0].user: missing"),
    ],
)  # fmt: skip
def test_malformed_export_is_refused_whole(tmp_path: Path, broken: Any, named: str) -> None:
    export = write_export(tmp_path / "bad.zip", broken)
    code, out = cli("import-slack", str(export), "--data-dir", str(tmp_path / "data"))
    assert code == 1 and named in out, out
    code, listed = cli("user", "list", "--data-dir", str(tmp_path / "data"))
    assert code == 0 and listed.strip().splitlines()[1:] == []


def test_generated_export_imports_whole(tmp_path: Path) -> None:
    """The benchmark's generator (docs/performance.md) writes exports the importer takes."""
    from chatd.bench.slack import generate

    made = generate(tmp_path / "gen.zip", 6000, people=20, channels=4, per_day=700)
    code, out = cli("import-slack", str(tmp_path / "gen.zip"), "--data-dir", str(tmp_path / "d"))
    assert code == 0, out
    found = re.search(r"([\d,]+) messages, [\d,]+ reactions; ([\d,]+) join", out)
    assert found is not None, out
    imported, skipped = (int(g.replace(",", "")) for g in found.groups())
    assert imported + skipped == made["messages"] and skipped > 0
