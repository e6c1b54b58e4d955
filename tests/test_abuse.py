"""Sign-in and registration under attack, as the outside security test ran it: bursts of
parallel guesses, registrations with bogus invites, and what a failed sign-in logs.

The server trusts loopback as a proxy, so each test speaks from an address of its own
(`X-Forwarded-For`) and the per-address limits of one test do not touch another's."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import PASSWORD, ChatdServer, Team, start_server


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatdServer]:
    srv = start_server(
        tmp_path_factory.mktemp("abuse"),
        auth_login_max_failures="1",  # 5 per address: each hash costs a CPU second here
        server_trusted_proxies="127.0.0.1",
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def crew(guarded: ChatdServer) -> Team:
    return Team(guarded)


def _burst(url: str, path: str, bodies: list[dict[str, Any]], ip: str) -> list[httpx.Response]:
    """Send every body at once, as parallel clients would."""

    async def go() -> list[httpx.Response]:
        headers = {"X-Forwarded-For": ip}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
            return list(await asyncio.gather(*(http.post(path, json=b) for b in bodies)))

    return asyncio.run(go())


def test_parallel_wrong_passwords_meet_the_limit(guarded: ChatdServer, crew: Team) -> None:
    """80 parallel wrong guesses for one user: at most the limit are checked, the rest 429."""
    crew.user("victim")
    wrong = [{"username": "victim", "password": f"guess-{i}-xx"} for i in range(80)]
    codes = [a.status_code for a in _burst(guarded.url, "/api/v1/auth/login", wrong, "10.0.0.1")]
    assert codes.count(401) <= 1 and codes.count(429) >= 79, codes


def test_right_password_inside_a_burst_is_refused(guarded: ChatdServer, crew: Team) -> None:
    crew.user("target")
    guesses = [{"username": "target", "password": f"guess-{i}-xx"} for i in range(40)]
    guesses[34]["password"] = PASSWORD
    answers = _burst(guarded.url, "/api/v1/auth/login", guesses, "10.0.0.2")
    assert answers[34].status_code == 429
    assert all(a.status_code in (401, 429) for a in answers)


def test_a_success_takes_back_its_count(guarded: ChatdServer, crew: Team) -> None:
    """Good sign-ins never use up an address's budget (a team behind one NAT)."""
    names = [crew.user(f"regular{i}")[0]["username"] for i in range(3)]
    good = [{"username": name, "password": PASSWORD} for name in names]
    for _ in range(2):  # 6 sign-ins from one address: more than its 5 failures
        answers = _burst(guarded.url, "/api/v1/auth/login", good, "10.0.0.3")
        assert [a.status_code for a in answers] == [200] * len(good)


def test_registration_without_invite_answers_the_same_for_taken_names(
    guarded: ChatdServer, crew: Team
) -> None:
    crew.user("alice")
    body = {"password": PASSWORD, "invite": "bogus-invite-code"}
    taken, free = _burst(
        guarded.url,
        "/api/v1/auth/register",
        [{**body, "username": "alice"}, {**body, "username": "nobody-here"}],
        "10.0.0.4",
    )
    assert taken.status_code == free.status_code == 403
    assert taken.json() == free.json()


def test_failed_registrations_are_throttled_per_address(guarded: ChatdServer) -> None:
    bogus = [
        {"username": f"reg{i}", "password": PASSWORD, "invite": "bogus-invite-code"}
        for i in range(40)
    ]
    answers = _burst(guarded.url, "/api/v1/auth/register", bogus, "10.0.0.5")
    codes = [a.status_code for a in answers]
    assert codes.count(403) <= 5 and codes.count(429) >= 35, codes
    limited = next(a for a in answers if a.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"


def test_a_typed_username_never_reaches_the_log(guarded: ChatdServer, crew: Team) -> None:
    """A password typed into the username box is logged only as a short keyed hash."""
    logged, _ = crew.user("logged")
    typo = "MyS3cretPassw0rd!"
    with guarded.client() as http:
        http.headers["X-Forwarded-For"] = "10.0.0.6"
        for _ in range(2):
            http.post("/api/v1/auth/login", json={"username": typo, "password": "whatever1"})
        http.post("/api/v1/auth/login", json={"username": "logged", "password": "not-it-at-all"})
    log = guarded.log
    assert typo.lower() not in log.lower()
    assert "login.failed" in log and "login.throttled" in log and "name_tag=" in log
    assert f"user_id={logged['id']}" in log
