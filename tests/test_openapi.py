"""The OpenAPI document matches the route table, real answers match its schemas, and fuzzing
the API finds no server error."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from jsonschema_rs import Draft202012Validator
from schemathesis.checks import not_a_server_error
from starlette.routing import Route

from chatd.api import routes
from chatd.api.openapi import OPERATIONS, document

from .conftest import PASSWORD, ChatdServer, Team, start_server


def route_operations() -> set[tuple[str, str]]:
    found = set()
    for route in routes.table():
        if isinstance(route, Route):
            for method in route.methods or ():
                if method != "HEAD":
                    found.add((method, route.path))
    return found


def test_document_describes_every_route() -> None:
    assert set(OPERATIONS) == route_operations()
    doc = document()
    assert doc["openapi"].startswith("3.1")
    for path, item in doc["paths"].items():
        for operation in item.values():
            names = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert names == set(path.replace("}", "{").split("{")[1::2])


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChatdServer, str]]:
    server = start_server(tmp_path_factory.mktemp("fuzz"), auth_registration="open")
    team = Team(server)
    with server.client(team.admin_token) as http:
        cid = http.post("/api/v1/conversations", json={"kind": "group", "members": []}).json()
        http.post(f"/api/v1/conversations/{cid['conversation']['id']}/messages", json={"body": "x"})
    yield server, team.admin_token
    server.stop()


# Operations that would end the fuzzer's own session; their rules have their own tests.
SKIPPED = {"/api/v1/auth/logout", "/api/v1/auth/sessions/{id}", "/api/v1/users/me/password"}


@pytest.fixture(scope="module")
def api_schema(fuzz_target: tuple[ChatdServer, str]) -> Any:
    server, _ = fuzz_target
    raw = document()
    raw["paths"] = {p: item for p, item in raw["paths"].items() if p not in SKIPPED}
    raw["servers"] = [{"url": server.url}]
    return schemathesis.openapi.from_dict(raw)


FUZZED = sorted((method, path) for method, path in OPERATIONS if path not in SKIPPED)


@pytest.mark.parametrize(("method", "path"), FUZZED, ids=[f"{m} {p}" for m, p in FUZZED])
def test_fuzzing_finds_no_server_error(
    api_schema: Any, fuzz_target: tuple[ChatdServer, str], method: str, path: str
) -> None:
    """Schemathesis generates requests from the document; no answer may be a 5xx."""
    server, token = fuzz_target
    operation = api_schema[path][method]

    @settings(
        max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy())
    def fuzz(case: Any) -> None:
        response = case.call(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
        case.validate_response(response, checks=[not_a_server_error])

    fuzz()


# ---- real answers against the served document ------------------------------------------


def strict(schema: Any) -> Any:
    """The document's schemas as a check of real answers: nothing undocumented (the contract
    fixes each object's fields) and, where the document does not say which are required,
    every documented field present; nested objects too."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    tight = {key: strict(value) for key, value in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        tight.setdefault("required", sorted(schema["properties"]))
        tight["additionalProperties"] = False
    return tight


class Recorder:
    """Calls the live server and keeps every answer with the operation that gave it."""

    def __init__(self, http: httpx.Client, doc: dict[str, Any]) -> None:
        self.http = http
        self.answers: list[tuple[str, str, httpx.Response]] = []
        self.templates = [
            (re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", path) + "$"), path)
            for path in doc["paths"]
        ]

    def __call__(self, method: str, url: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, url, **kwargs)
        path = url.split("?", 1)[0]
        found = [t for pattern, t in self.templates if pattern.match(path)]
        exact = [t for t in found if t == path]  # /users/me before /users/{id}
        assert found, f"{method} {path} is not in the document"
        self.answers.append((method, (exact or found)[0], answer))
        return (
            answer.json()
            if answer.headers.get("content-type", "").startswith("application/json")
            else answer
        )


def exercise(call: Recorder, server: ChatdServer, team: Team) -> None:
    """One pass over the API as a client uses it, success and error answers alike."""
    API = "/api/v1"
    for path in ("/healthz", "/readyz", f"{API}/info", f"{API}/setup", f"{API}/push/key"):
        call("GET", path)
    call("POST", f"{API}/auth/login", json={"username": "admin", "password": PASSWORD})
    call("GET", f"{API}/auth/sessions")
    me = call("GET", f"{API}/users/me")["user"]
    call("PATCH", f"{API}/users/me", json={"display_name": "The Admin"})
    made = call("POST", f"{API}/admin/users", json={"username": f"oa{os.getpid()}",
                                                     "password": PASSWORD})["user"]  # fmt: skip
    call("PATCH", f"{API}/admin/users/{made['id']}", json={"role": "member"})
    call("GET", f"{API}/users")
    call("GET", f"{API}/users/{made['id']}")
    call("GET", f"{API}/admin/users")
    call("POST", f"{API}/admin/invites", json={"max_uses": 2, "expires_in_s": 3600})
    call("GET", f"{API}/admin/invites")
    channel = {"kind": "channel", "name": f"openapi-{server.port}", "topic": "bodies"}
    cid = call("POST", f"{API}/conversations", json=channel)["conversation"]["id"]
    call("POST", f"{API}/conversations", json={"kind": "direct", "members": [made["id"]]})
    call("PATCH", f"{API}/conversations/{cid}", json={"topic": "checked bodies"})
    call("POST", f"{API}/conversations/{cid}/members", json={"user_id": made["id"]})
    call("GET", f"{API}/conversations")
    call("GET", f"{API}/conversations/{cid}")
    call("GET", f"{API}/channels")
    file = call("POST", f"{API}/files", files={"file": ("a.txt", b"hello", "text/plain")})["file"]
    call("GET", f"{API}/files/{file['id']}/meta")
    sent = {"body": f"hello @{made['username']}", "client_id": "c1", "file_ids": [file["id"]]}
    mid = call("POST", f"{API}/conversations/{cid}/messages", json=sent)["message"]["id"]
    call("POST", f"{API}/conversations/{cid}/messages",
         json={"body": "a reply", "reply_to": mid, "thread": True})  # fmt: skip
    call("POST", f"{API}/conversations/{cid}/read", json={"seq": 1})
    call("PATCH", f"{API}/conversations/{cid}/settings", json={"notify": "mentions"})
    call("PATCH", f"{API}/messages/{mid}", json={"body": "hello, edited"})
    call("PUT", f"{API}/messages/{mid}/reactions/%F0%9F%91%8D")
    call("PUT", f"{API}/messages/{mid}/pin")
    call("GET", f"{API}/conversations/{cid}/pins")
    call("GET", f"{API}/messages/{mid}")
    call("GET", f"{API}/messages/{mid}/replies")
    call("GET", f"{API}/conversations/{cid}/messages")
    call("DELETE", f"{API}/messages/{mid}/reactions/%F0%9F%91%8D")
    call("DELETE", f"{API}/messages/{mid}/pin")
    call("GET", f"{API}/search?q=edited")
    call("GET", f"{API}/mentions")
    call("GET", f"{API}/presence")
    bot = call("POST", f"{API}/admin/bots", json={"username": f"bot{server.port}"})["user"]
    call("GET", f"{API}/admin/bots")
    call("POST", f"{API}/admin/bots/{bot['id']}/token")
    call("POST", f"{API}/conversations/{cid}/webhooks", json={"name": "ci"})
    call("GET", f"{API}/conversations/{cid}/webhooks")
    call("POST", f"{API}/admin/commands",
         json={"trigger": f"t{server.port}", "url": "https://example.com/cmd"})  # fmt: skip
    call("GET", f"{API}/commands")
    call("GET", f"{API}/admin/outgoing-hooks")
    # error answers: the envelope of `default`
    call("GET", f"{API}/messages/{me['id']}")  # 404
    call("POST", f"{API}/conversations", json={"kind": "nonsense"})  # 422
    call("DELETE", f"{API}/messages/{mid}")


def test_live_answers_match_the_served_document(server: ChatdServer, team: Team) -> None:
    """Real bodies from a live server, validated against /api/v1/openapi.json as served."""
    with server.client() as http:
        doc = http.get("/api/v1/openapi.json").json()
    components = strict(doc["components"])
    with server.client(team.admin_token) as http:
        call = Recorder(http, doc)
        exercise(call, server, team)
    checked: set[tuple[str, str]] = set()
    problems: list[str] = []
    for method, template, answer in call.answers:
        responses = doc["paths"][template][method.lower()]["responses"]
        where = f"{method} {template} -> {answer.status_code}"
        if answer.status_code < 400:
            if str(answer.status_code) not in responses:
                problems.append(f"{where}: status not documented")
                continue
            described = responses[str(answer.status_code)]
        else:
            described = responses["default"]
        content = described.get("content", {}).get("application/json")
        if content is None:
            if answer.headers.get("content-type", "").startswith("application/json"):
                problems.append(f"{where}: JSON not documented")
            continue
        schema = {**strict(content["schema"]), "components": components}
        validator = Draft202012Validator(schema, validate_formats=True)  # date-time too
        problems += [
            f"{where}: /{'/'.join(map(str, e.instance_path))}: {e.message}"
            for e in validator.iter_errors(answer.json())
        ]
        checked.add((method, template))
    assert not problems, "\n".join(problems)
    assert len(checked) >= 40  # the pass above reaches most of the API, bodies and all
