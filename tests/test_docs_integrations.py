"""docs/integrations.md is tested: its curl examples, the Grafana, Alertmanager and CI
recipes, the signature check and the WebSocket bot all run against a real server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import ROOT, ChatdServer, Team, backend_env, start_server
from .receiver import Receiver, Reply

DOC = (ROOT / "docs" / "integrations.md").read_text()
BLOCKS = {
    name: code for name, code in re.findall(r"<!-- test: (\S+) -->\n```\w+\n(.*?)```", DOC, re.S)
}


@pytest.fixture(scope="module")
def receiver(backend: str) -> Iterator[Receiver]:
    """One per backend's server: what it records must not carry over to the next server."""
    found = Receiver()
    yield found
    found.close()


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[tuple[ChatdServer, Team]]:
    srv = start_server(tmp_path_factory.mktemp("docs"), **backend_env(request, backend))
    yield srv, Team(srv)
    srv.stop()


@pytest.fixture(scope="module")
def env(site: tuple[ChatdServer, Team]) -> dict[str, str]:
    """The doc's shell variables, for a member who owns a channel #releases."""
    server, team = site
    _user, token = team.user("writer")
    with server.client(token) as http:
        channel = http.post(
            "/api/v1/conversations", json={"kind": "channel", "name": "releases", "members": []}
        ).json()["conversation"]
    return {
        "CHATD": server.url, "ADMIN_TOKEN": team.admin_token, "TOKEN": token,
        "CONVERSATION": channel["id"], "PATH": os.environ["PATH"],
    }  # fmt: skip


def sh(name: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["sh", "-c", BLOCKS[name]], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
    return done.stdout


def hook_url(server: ChatdServer, env: dict[str, str], name: str) -> str:
    with server.client(env["TOKEN"]) as http:
        made = http.post(
            f"/api/v1/conversations/{env['CONVERSATION']}/webhooks", json={"name": name}
        )
    url: str = made.json()["webhook"]["url"]
    return url


def last_body(server: ChatdServer, env: dict[str, str]) -> str:
    with server.client(env["TOKEN"]) as http:
        page = http.get(f"/api/v1/conversations/{env['CONVERSATION']}/messages?limit=1")
    body: str = page.json()["messages"][-1]["body"]
    return body


def test_every_marked_block_is_here() -> None:
    assert set(BLOCKS) == {
        "curl-bot", "bot", "curl-webhook-create", "curl-webhook-post", "grafana",
        "alertmanager", "ci", "curl-command", "curl-command-run", "curl-outgoing", "verify",
    }  # fmt: skip
    assert len(BLOCKS["bot"].strip().splitlines()) <= 22  # "a 20-line bot"


def test_curl_examples(
    site: tuple[ChatdServer, Team], env: dict[str, str], receiver: Receiver
) -> None:
    server, _ = site
    bot = json.loads(sh("curl-bot", env))
    assert bot["user"]["bot"] is True and bot["token"]
    webhook = json.loads(sh("curl-webhook-create", env))["webhook"]
    assert sh("curl-webhook-post", {**env, "WEBHOOK_URL": webhook["url"]}) == "okok"
    assert last_body(server, env) == "The same, form-encoded"
    ephemeral = json.dumps({"text": "Deploying main"}).encode()
    command_url = receiver.answer("/doc-command", Reply(body=ephemeral))
    made = json.loads(sh("curl-command", {**env, "COMMAND_URL": command_url}))
    assert made["command"]["trigger"] == "deploy" and made["command"]["token"]
    assert json.loads(sh("curl-command-run", env)) == {"ephemeral": {"text": "Deploying main"}}
    hook = json.loads(sh("curl-outgoing", {**env, "HOOK_URL": receiver.url("/doc-hook")}))
    with server.client(env["TOKEN"]) as http:
        path = f"/api/v1/conversations/{env['CONVERSATION']}/messages"
        http.post(path, json={"body": "deploy v2 now"})
    (call,) = receiver.wait("/doc-hook")
    scope: dict[str, Any] = {}
    exec(BLOCKS["verify"], scope)  # the doc's own signature check
    signature = call.headers["X-Chatd-Signature"]
    assert scope["verified"](hook["secret"], call.body, signature) is True
    assert scope["verified"](hook["secret"], call.body + b" ", signature) is False
    assert scope["verified"]("wrong secret", call.body, signature) is False


def test_grafana_recipe(site: tuple[ChatdServer, Team], env: dict[str, str]) -> None:
    server, _ = site
    with httpx.Client() as http:
        answer = http.post(hook_url(server, env, "Grafana"), content=BLOCKS["grafana"])
    assert answer.status_code == 200 and answer.text == "ok"
    assert last_body(server, env) == (
        "**[[FIRING:1] HighCPU Production (web-1)](https://grafana.example.com/alerting/list)**\n"
        "**Firing**\n\nValue: B=93.2\nLabels:\n - alertname = HighCPU\n - instance = web-1\n"
        "Annotations:\n - summary = CPU above 90% for 5 minutes"
    )


def test_alertmanager_recipe(site: tuple[ChatdServer, Team], env: dict[str, str]) -> None:
    server, _ = site
    with httpx.Client() as http:  # Alertmanager sends JSON with this content type
        answer = http.post(
            hook_url(server, env, "Alertmanager"),
            content=BLOCKS["alertmanager"],
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 200
    assert last_body(server, env) == (
        "**[[FIRING:2] InstanceDown](http://alertmanager.example.com:9093/#/alerts?receiver=chatd)**\n"
        "web-1 has been down for 5 minutes\nweb-2 has been down for 5 minutes\n"
        "**Severity**: critical"
    )


def test_ci_recipe(site: tuple[ChatdServer, Team], env: dict[str, str]) -> None:
    server, _ = site
    url = hook_url(server, env, "CI")
    ci = {
        "CHATD_WEBHOOK_URL": url, "CI_JOB_STATUS": "failed", "CI_PROJECT_NAME": "chatd",
        "CI_COMMIT_SHORT_SHA": "1a2b3c4d", "CI_PIPELINE_URL": "https://ci.example.com/p/42",
    }  # fmt: skip
    assert sh("ci", {**env, **ci}) == "ok"
    assert last_body(server, env) == (
        "Pipeline of chatd at 1a2b3c4d **failed**: https://ci.example.com/p/42"
    )


def test_python_bot_example(
    site: tuple[ChatdServer, Team], env: dict[str, str], tmp_path: Path
) -> None:
    server, team = site
    with server.client(team.admin_token) as http:
        made = http.post("/api/v1/admin/bots", json={"username": "pingbot"}).json()
    with server.client(env["TOKEN"]) as http:
        room = http.post(
            "/api/v1/conversations", json={"kind": "group", "members": [made["user"]["id"]]}
        ).json()["conversation"]
    script = tmp_path / "bot.py"
    script.write_text(BLOCKS["bot"])
    bot = subprocess.Popen(
        [sys.executable, str(script)],
        env={**os.environ, "CHATD_URL": server.url, "CHATD_TOKEN": made["token"]},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with server.client(env["TOKEN"]) as http:
            path = f"/api/v1/conversations/{room['id']}/messages"
            asked: dict[str, Any] = {}
            deadline = time.monotonic() + 15
            replies: list[dict[str, Any]] = []
            while not replies and time.monotonic() < deadline:
                if not asked or time.monotonic() > asked["at"] + 2:  # until its socket is up
                    asked = {**http.post(path, json={"body": "!ping"}).json()["message"],
                             "at": time.monotonic()}  # fmt: skip
                time.sleep(0.2)
                found = http.get(path).json()["messages"]
                replies = [m for m in found if m["author_id"] == made["user"]["id"]]
        assert replies and replies[0]["body"] == "pong", bot.poll()
        assert replies[0]["reply_to"] is not None
    finally:
        bot.kill()
        bot.wait(5)
