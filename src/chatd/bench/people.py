"""The bench's users and channel, made through the public API like any client would."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx

PASSWORD = "bench-" + secrets.token_hex(8)


async def make_people(
    url: str, admin_token: str | None, count: int
) -> tuple[list[dict[str, Any]], str]:
    """`count` users with tokens, and an admin token (`admin_token`, or the first registrant)."""
    tag = secrets.token_hex(3)
    slots = asyncio.Semaphore(4)
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def one(i: int) -> dict[str, Any]:
            name = f"bench-{tag}-{i}"
            async with slots:
                if admin_token:
                    made = await http.post(
                        "/api/v1/admin/users",
                        json={"username": name, "password": PASSWORD},
                        headers={"Authorization": f"Bearer {admin_token}"},
                    )
                    made.raise_for_status()
                    answer = await http.post(
                        "/api/v1/auth/login", json={"username": name, "password": PASSWORD}
                    )
                else:
                    answer = await http.post(
                        "/api/v1/auth/register", json={"username": name, "password": PASSWORD}
                    )
                if answer.status_code not in (200, 201):
                    raise SystemExit(f"cannot make bench users: {answer.text}")
                data: dict[str, Any] = answer.json()
                return {"id": data["user"]["id"], "token": data["token"]}

        people = list(await asyncio.gather(*(one(i) for i in range(count))))
    return people, admin_token or people[0]["token"]


async def make_channel(url: str, token: str, members: list[str]) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        answer = await http.post(
            "/api/v1/conversations",
            json={"kind": "channel", "name": f"bench-{secrets.token_hex(4)}", "members": members},
            headers={"Authorization": f"Bearer {token}"},
        )
        answer.raise_for_status()
        cid: str = answer.json()["conversation"]["id"]
        return cid
