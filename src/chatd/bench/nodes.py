"""Benchmarking several nodes at once: clients spread round robin, CPU summed over the nodes'
processes, and the seq check that a run with writers on several nodes must pass."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from chatd.bench import procstat


def pick(urls: list[str], index: int) -> str:
    """Client `index`'s node: round robin, so each node gets every n-th client."""
    return urls[index % len(urls)]


def pids_of(urls: list[str]) -> list[int]:
    """The processes listening on the nodes' ports (those this machine can see)."""
    found = [procstat.pid_listening_on(urlsplit(url).port or 80) for url in urls]
    return sorted({pid for pid in found if pid is not None})


def cpu_seconds(pids: list[int]) -> float:
    return sum(procstat.cpu_seconds(pid) for pid in pids)


def rss_bytes(pids: list[int]) -> int:
    return sum(procstat.rss_bytes(pid) for pid in pids)


async def seq_check(url: str, token: str, conversation: str, acked: int) -> dict[str, Any]:
    """The conversation's stored history read back: its seqs must be exactly 1..N, and every
    acknowledged message among them (N >= acked: an unanswered send may still commit)."""
    seqs: list[int] = []
    after = 0
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        while True:
            page = await http.get(
                f"/api/v1/conversations/{conversation}/messages",
                params={"after": after, "limit": 200},
                headers={"Authorization": f"Bearer {token}"},
            )
            page.raise_for_status()
            found = page.json()
            seqs += [m["seq"] for m in found["messages"]]
            if not found["has_more"] or not found["messages"]:
                break
            after = seqs[-1]
    gapless = seqs == list(range(1, len(seqs) + 1))
    return {"stored": len(seqs), "gapless": gapless, "passed": gapless and len(seqs) >= acked}
