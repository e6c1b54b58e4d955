"""A synthetic Slack workspace export of any size, to time `chatd import-slack`.

    python -m chatd.bench.slack slack-1m.zip --messages 1000000

The same arguments always write the same export (a seeded generator). It has what real
exports have: people and a bot user, public and private channels, DMs and group DMs, one JSON
file per conversation per day, thread replies, edits, reactions, mentions and links in Slack
markup, file shares, bot messages and join notices, at roughly the proportions of a busy
workspace. Day files are written one at a time, so memory stays small at any size.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import zipfile
from pathlib import Path
from typing import Any

START = 1_600_000_000  # 2020-09-13: the first day of the synthetic history
WORDS = [
    "deploy", "build", "review", "merge", "test", "release", "fix", "bug", "ticket", "notes",
    "lunch", "coffee", "design", "plan", "sprint", "retro", "metrics", "alert", "incident",
    "docs", "api", "client", "server", "database", "cache", "queue", "latency", "rollout",
]  # fmt: skip


def _ts(seconds: float, n: int) -> str:
    return f"{int(seconds)}.{n % 1_000_000:06d}"


def generate(
    path: Path,
    messages: int,
    people: int = 200,
    channels: int = 40,
    per_day: int = 500,
    seed: int = 1,
) -> dict[str, int]:
    """Write the export; how many users, conversations, day files and messages it holds."""
    rng = random.Random(seed)
    users: list[dict[str, Any]] = [
        {"id": f"U{i:06d}", "name": f"person{i}", "real_name": f"Person {i}",
         "profile": {"display_name": f"P{i}"}}
        for i in range(people)
    ]  # fmt: skip
    users.append({"id": "UBOT", "name": "deploybot", "is_bot": True, "profile": {"bot_id": "B1"}})
    ids = [u["id"] for u in users[:people]]
    convs: list[tuple[str, str, dict[str, Any]]] = []  # (file, folder, entry)
    for i in range(channels):
        members = rng.sample(ids, min(len(ids), rng.randint(5, 60)))
        entry = {"id": f"C{i:05d}", "name": f"channel-{i}", "created": START, "creator": ids[0],
                 "members": members, "topic": {"value": f"topic {i}"}}  # fmt: skip
        convs.append(("groups.json" if i % 5 == 4 else "channels.json", entry["name"], entry))
    for i in range(max(2, channels // 4)):
        pair = rng.sample(ids, 2)
        convs.append(("dms.json", f"D{i:05d}", {"id": f"D{i:05d}", "created": START,
                                                "members": pair}))  # fmt: skip
        trio = rng.sample(ids, 3)
        name = "mpdm-" + "--".join(f"person{t[1:].lstrip('0') or '0'}" for t in trio) + "-1"
        convs.append(("mpims.json", name, {"id": f"G{i:05d}", "name": name, "created": START,
                                           "members": trio}))  # fmt: skip
    counts = {"users": len(users), "conversations": len(convs), "days": 0, "messages": 0}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("users.json", json.dumps(users))
        for name in ("channels.json", "groups.json", "dms.json", "mpims.json"):
            zf.writestr(name, json.dumps([e for f, _, e in convs if f == name]))
        share = messages // len(convs)
        for index, (_, folder, entry) in enumerate(convs):
            total = share + (messages - share * len(convs) if index == 0 else 0)
            members = entry["members"]
            day = 0
            while total > 0:
                size = min(total, per_day)
                batch = _day(rng, entry["id"], members, START + day * 86_400, size)
                stamp = time.strftime("%Y-%m-%d", time.gmtime(START + day * 86_400))
                zf.writestr(f"{folder}/{stamp}.json", json.dumps(batch))
                counts["days"] += 1
                counts["messages"] += size
                total -= size
                day += 1
    return counts


def _day(
    rng: random.Random, conv: str, members: list[str], day_start: int, size: int
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    parent: str | None = None
    step = 86_000 / size
    for n in range(size):
        ts = _ts(day_start + n * step, n)
        author = rng.choice(members)
        text = " ".join(rng.choices(WORDS, k=rng.randint(3, 18)))
        message: dict[str, Any] = {"type": "message", "user": author, "ts": ts, "text": text}
        roll = rng.random()
        if roll < 0.02:
            message = {"type": "message", "subtype": "channel_join", "user": author, "ts": ts,
                       "text": f"<@{author}> has joined the channel"}  # fmt: skip
        elif roll < 0.05:
            message = {"type": "message", "subtype": "bot_message", "bot_id": "B9",
                       "username": "CI", "ts": ts, "text": "build passed",
                       "attachments": [{"fallback": "build 42 passed"}]}  # fmt: skip
        elif roll < 0.10:
            message["text"] += f" <@{rng.choice(members)}> see <https://example.com/{n}|this>"
        elif roll < 0.12:
            message["files"] = [{"name": f"f{n}.png", "url_private": f"https://files/{n}"}]
        if roll > 0.85 and parent is not None:
            message["thread_ts"] = parent
        elif roll > 0.80:
            message["thread_ts"] = parent = ts
        if rng.random() < 0.05:
            message["edited"] = {"user": author, "ts": _ts(day_start + n * step + 30, n)}
        if rng.random() < 0.10:
            message["reactions"] = [{"name": rng.choice(["+1", "tada", "eyes", "parrot"]),
                                     "users": rng.sample(members, min(2, len(members))),
                                     "count": 2}]  # fmt: skip
        out.append(message)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(generate(args.path, args.messages, seed=args.seed)))
