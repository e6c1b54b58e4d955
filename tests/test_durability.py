"""Acknowledged means committed: concurrency, restarts and kill -9 lose and double nothing."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from .conftest import Team, start_server


def all_messages(http: httpx.Client, cid: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = http.get(
            f"/api/v1/conversations/{cid}/messages", params={"after": after, "limit": 200}
        ).json()
        found += page["messages"]
        if not page["has_more"]:
            return found
        after = found[-1]["seq"]


def make_channel(team: Team, members: list[str]) -> str:
    with team.server.client(team.admin_token) as http:
        made = http.post(
            "/api/v1/conversations", json={"kind": "channel", "name": "load", "members": members}
        )
        cid: str = made.json()["conversation"]["id"]
        return cid


def test_concurrent_senders_get_gapless_seq(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        team = Team(server)
        people = [team.user() for _ in range(4)]
        cid = make_channel(team, [user["id"] for user, _ in people])
        tokens = [token for _, token in people]

        async def client(n: int) -> list[dict[str, Any]]:
            headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
            acked = []
            async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as http:
                for i in range(50):
                    answer = await http.post(
                        f"/api/v1/conversations/{cid}/messages",
                        json={"body": f"c{n} m{i}", "client_id": f"c{n}-{i}"},
                    )
                    assert answer.status_code == 201, answer.text
                    acked.append(answer.json()["message"])
            return acked

        async def everyone() -> list[list[dict[str, Any]]]:
            return await asyncio.gather(*(client(n) for n in range(20)))

        acked = [m for batch in asyncio.run(everyone()) for m in batch]
        assert sorted(m["seq"] for m in acked) == list(range(1, 1001))
        with server.client(team.admin_token) as http:
            stored = all_messages(http, cid)
            assert [m["seq"] for m in stored] == list(range(1, 1001))
            by_id = {m["id"]: m for m in stored}
            for message in acked:
                assert by_id[message["id"]]["body"] == message["body"]
                assert by_id[message["id"]]["seq"] == message["seq"]
        # each client's own messages are in its send order
        for n in range(20):
            mine = [m["seq"] for m in stored if m["body"].startswith(f"c{n} ")]
            assert mine == sorted(mine)
        # restart keeps counting
        assert server.stop() == 0
        server.start()
        with server.client(team.admin_token) as http:
            after = http.post(f"/api/v1/conversations/{cid}/messages", json={"body": "after"})
            assert after.json()["message"]["seq"] == 1001
            retry = http.post(
                f"/api/v1/conversations/{cid}/messages", json={"body": "x", "client_id": "c0-0"}
            )
            assert retry.status_code == 201  # client_id is per user: the admin never used it
    finally:
        server.stop()


def test_kill_9_loses_no_acknowledged_message(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        team = Team(server)
        people = [team.user() for _ in range(3)]
        cid = make_channel(team, [user["id"] for user, _ in people])
        acked: list[dict[str, Any]] = []
        lock = threading.Lock()
        stop = threading.Event()

        def sender(token: str, n: int) -> None:
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
            ) as http:
                i = 0
                while not stop.is_set():
                    try:
                        answer = http.post(
                            f"/api/v1/conversations/{cid}/messages", json={"body": f"s{n} {i}"}
                        )
                    except httpx.HTTPError:
                        return
                    if answer.status_code == 201:
                        with lock:
                            acked.append(answer.json()["message"])
                    i += 1

        threads = [
            threading.Thread(target=sender, args=(token, n))
            for n, (_, token) in enumerate(people * 2)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(acked) < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(15)
        assert len(acked) >= 300
        server.start()
        with server.client(team.admin_token) as http:
            stored = all_messages(http, cid)
        seqs = [m["seq"] for m in stored]
        assert seqs == list(range(1, len(seqs) + 1))  # no gap, no repeat
        by_id = {m["id"]: m for m in stored}
        missing = [m for m in acked if m["id"] not in by_id]
        assert not missing, f"{len(missing)} acknowledged messages lost"
        for message in acked:
            assert by_id[message["id"]]["seq"] == message["seq"]
    finally:
        server.stop()
