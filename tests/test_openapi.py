"""The OpenAPI document matches the route table, and fuzzing the API finds no server error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from starlette.routing import Route

from chatd.api import routes
from chatd.api.openapi import OPERATIONS, document

from .conftest import ChatdServer, Team, start_server


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
