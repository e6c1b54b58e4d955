"""Seed a data directory with a large history, and time the read paths against a server.

`chatd bench --seed-messages N --data-dir D` (with the server stopped) writes one user in 500
conversations, one of which holds N messages, through the same store functions and search
index the server uses, in large transactions. It prints a token for that user.
`chatd bench --url URL --token T --queries` then times history pages, the conversation list
and a search for a common word over HTTP, and reports medians.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

from chatd.clock import SystemClock, now_ms
from chatd.config import load
from chatd.db.database import connect
from chatd.ids import new_id
from chatd.models import Conversation, Message, Session, User
from chatd.services import search
from chatd.services.accounts import token_hash
from chatd.services.datadir import open_for_admin, search_index
from chatd.store import conversations, messages, sessions, users
from chatd.store import search as search_store

COMMON = "meeting"  # in about one message in twenty
WORDS = [
    "release", "deploy", "review", "lunch", "design", "ticket", "server", "coffee", "budget",
    "client", "report", "schedule", "backup", "network", "printer", "holiday", "invoice",
    "roadmap", "customer", "standup", "sprint", "database", "monitor", "laptop", "update",
]  # fmt: skip


def body(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(4, 14))
    if rng.random() < 0.05:
        words.insert(rng.randrange(len(words)), COMMON)
    return " ".join(words)


def _add_message(
    conn: sqlite3.Connection, conversation_id: str, author_id: str, text: str, now: int
) -> None:
    """What a send stores, through the same store functions (the index comes later, in bulk)."""
    found = conversations.access(conn, conversation_id, author_id)
    assert found is not None
    seq = conversations.next_seq(conn, conversation_id, found.last_seq, now)
    message = Message(new_id(), conversation_id, seq, author_id, text, now, None, False, None, None)
    messages.insert(conn, message)
    conversations.own_message_added(conn, conversation_id, author_id)


def seed(data_dir: Path, count: int, conversations_count: int = 500) -> dict[str, Any]:
    config = load(None, {}, {"storage.data_dir": str(data_dir)})
    db_path = open_for_admin(config)
    conn = connect(db_path)
    rng = random.Random(7)
    clock = SystemClock()
    now = now_ms(clock)
    user = User(new_id(), f"seed-{secrets.token_hex(3)}", "Seed", "member", True, now)
    token = secrets.token_urlsafe(32)
    conn.execute("BEGIN IMMEDIATE")
    users.insert(conn, user, PasswordHasher().hash(secrets.token_hex(16)))
    sessions.insert(conn, Session(new_id(), user.id, now, now, "seed", ""), token_hash(token))
    ids = []
    for i in range(conversations_count):
        made = Conversation(new_id(), "group", f"seed {i}", "", now, user.id, False, 0, now,
                            [user.id])  # fmt: skip
        conversations.insert(conn, made, None, None)
        ids.append(made.id)
    conn.execute("COMMIT")
    big = ids[0]
    started = time.perf_counter()
    for start in range(0, count, 20_000):
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(min(20_000, count - start)):
            _add_message(conn, big, user.id, body(rng), now)
        conn.execute("COMMIT")
    for other in ids[1:]:
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(3):
            _add_message(conn, other, user.id, body(rng), now)
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    asyncio.run(_build_index(db_path))
    return {
        "token": token,
        "user": user.username,
        "conversation_id": big,
        "messages": count,
        "conversations": conversations_count,
        "seconds": round(time.perf_counter() - started, 1),
    }


async def _build_index(db_path: Path) -> None:
    """The search index, as the server's own catch-up builds it (on the index file's writer)."""
    index = search_index(db_path)
    await index.start(lambda: connect(db_path))
    try:
        await index.write(search_store.prepare)
        more = True
        while more:
            more, _ = await index.write(search.catch_up, 20_000)
    finally:
        await index.stop()


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def queries(url: str, token: str, rounds: int = 200) -> dict[str, Any]:
    """Median times of the read paths, over HTTP, for the seeded user."""
    rng = random.Random(3)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        found = http.get("/api/v1/conversations").json()["conversations"]
        big = max(found, key=lambda c: c["last_seq"])
        timings: dict[str, list[float]] = {"history": [], "list": [], "search": []}
        for _ in range(rounds):
            before = rng.randint(51, big["last_seq"] + 1)
            t0 = time.perf_counter()
            page = http.get(f"/api/v1/conversations/{big['id']}/messages",
                            params={"before": before, "limit": 50})  # fmt: skip
            timings["history"].append(time.perf_counter() - t0)
            assert len(page.json()["messages"]) == 50
        for _ in range(max(20, rounds // 4)):
            t0 = time.perf_counter()
            listed = http.get("/api/v1/conversations")
            timings["list"].append(time.perf_counter() - t0)
        hits = 0
        for _ in range(max(20, rounds // 4)):
            t0 = time.perf_counter()
            result = http.get("/api/v1/search", params={"q": COMMON, "limit": 50})
            timings["search"].append(time.perf_counter() - t0)
            hits = len(result.json()["messages"])
    return {
        "conversation_messages": big["last_seq"],
        "conversations": len(listed.json()["conversations"]),
        "history_page_ms_median": _median_ms(timings["history"]),
        "conversation_list_ms_median": _median_ms(timings["list"]),
        "search_common_word_ms_median": _median_ms(timings["search"]),
        "search_hits_per_page": hits,
    }
