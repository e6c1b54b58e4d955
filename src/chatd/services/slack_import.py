"""`chatd import-slack`: a Slack workspace export into chatd, idempotently.

The export is checked whole first (`SlackExport.check`), so a malformed one is refused before
anything is written. Then people, conversations and members go in one transaction, and each
conversation's messages in `ts` order in batches of `BATCH` (one transaction each, through
the ordinary writer). Every id is derived from the Slack id it comes from, and every insert
leaves an existing row alone, so running the same import again adds nothing, and running it
after an interruption finishes the job.

Rules (see docs/operations.md): a Slack user whose username exists in chatd is that person;
others are created inactive with no password. Each bot that posted without a user of its own
becomes one inactive bot user. A channel whose name exists in chatd is merged into it; a DM
between two people who already have one joins it. Join and leave notices are skipped (the
member lists say who is in). Imported history counts as read. Bodies longer than
`limits.max_message_chars` are cut to it, with the count in the summary.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatd.clock import Clock, now_ms
from chatd.db.database import Database
from chatd.services import slack_markup
from chatd.services.archive import Progress
from chatd.services.search import SearchIndexer
from chatd.services.slack_export import (
    SKIPPED_SUBTYPES,
    SlackConversation,
    SlackExport,
    bot_of,
    ts_ms,
)
from chatd.store import imports
from chatd.store import users as user_store
from chatd.store.imports import NewMessage, NewUser

BATCH = 2000
_USERNAME_BAD_RE = re.compile(r"[^a-z0-9._-]+")
_CHANNEL_BAD_RE = re.compile(r"[^a-z0-9_-]+")
_UNWANTED_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]+")


def slack_id(kind: str, *parts: str) -> str:
    """A chatd id derived from Slack's: the same export always maps to the same rows."""
    digest = hashlib.sha256("\x1f".join(("chatd-slack", kind, *parts)).encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def _clean(text: str, limit: int) -> str:
    """What the API would accept: no control characters but newline and tab (nor lone
    surrogates), stripped, at most `limit` characters."""
    return _UNWANTED_RE.sub("", text).strip()[:limit].strip()


@dataclass
class SlackReport:
    users: int = 0
    users_existing: int = 0
    bots: int = 0
    conversations: int = 0
    messages: int = 0
    reactions: int = 0
    notices_skipped: int = 0
    empty_skipped: int = 0
    cut: int = 0
    seconds: float = 0.0


@dataclass
class _Names:
    """Slack ids -> chatd ids and names, built by the first transaction."""

    users: dict[str, str] = field(default_factory=dict)  # Slack user id -> chatd id
    bots: dict[str, str] = field(default_factory=dict)  # bot_id -> chatd id
    usernames: dict[str, str] = field(default_factory=dict)  # Slack user id -> username
    channels: dict[str, str] = field(default_factory=dict)  # Slack conversation id -> name
    conversations: dict[str, str] = field(default_factory=dict)  # Slack id -> chatd id


class SlackImporter:
    def __init__(self, db: Database, indexer: SearchIndexer, clock: Clock, max_chars: int) -> None:
        self.db = db
        self.indexer = indexer
        self.clock = clock
        self.max_chars = max_chars

    async def run(self, path: Path, progress: Progress) -> SlackReport:
        started = time.monotonic()
        export = await asyncio.to_thread(SlackExport, path)
        try:
            await asyncio.to_thread(export.check)
            progress(
                f"checked {path.name}: {len(export.users):,} users, "
                f"{len(export.conversations):,} conversations, {export.messages:,} messages "
                f"in {time.monotonic() - started:.1f} s"
            )
            report = SlackReport()
            names = await self.db.write(self._people, export, now_ms(self.clock), report)
            await self.db.write(self._conversations, export, names, report)
            progress(
                f"users: {report.users:,} new, {report.users_existing:,} existing, "
                f"{report.bots:,} bots; conversations: {report.conversations:,} new"
            )
            for conv in export.conversations:
                await self._messages(export, conv, names, report, progress, started)
        finally:
            await asyncio.to_thread(export.close)
        indexing = time.monotonic()
        progress(f"messages written in {indexing - started:.1f} s; updating the search index ...")
        self.indexer.sent()  # everything after the mark: the ordinary catch-up indexes it
        await self.indexer.catch_up()
        progress(f"search index updated in {time.monotonic() - indexing:.1f} s")
        report.seconds = time.monotonic() - started
        return report

    # ---- people ------------------------------------------------------------------------

    def _people(self, conn: Any, export: SlackExport, now: int, report: SlackReport) -> _Names:
        """Who is who: each Slack user, unknown author and bot as a chatd user id."""
        own_bots = {u.bot_id: u.id for u in export.users.values() if u.bot and u.bot_id}
        wanted: dict[str, tuple[str, str, bool]] = {}  # chatd id -> (username, display, bot)
        for user in export.users.values():
            wanted[slack_id("user", user.id)] = (user.name, user.display_name, user.bot)
        for unknown in sorted(export.unknown):
            wanted[slack_id("user", unknown)] = (f"slack-{unknown}", "", False)
        for bot_id, bot_name in export.bots.items():
            if bot_id not in own_bots:
                wanted[slack_id("bot", bot_id)] = (bot_name, bot_name, True)
        have = imports.existing(conn, "users", list(wanted))
        taken = imports.ids_by_username(conn, [_username(n) for n, _, _ in wanted.values()])
        resolved: dict[str, str] = {}
        fresh: list[NewUser] = []
        for chatd_id, (raw, display, bot) in wanted.items():
            username = _username(raw)
            if chatd_id in have:
                resolved[chatd_id] = chatd_id  # imported before
            elif username in taken and not bot:
                resolved[chatd_id] = taken[username]  # an existing account: that person
                report.users_existing += 1
            else:
                username = _unique(username, taken)
                taken[username] = resolved[chatd_id] = chatd_id
                fresh.append(NewUser(chatd_id, username, _clean(display, 64), now, bot))
                report.bots += bot
                report.users += not bot
        imports.insert_users(conn, fresh)
        known = user_store.get_many(conn, sorted(set(resolved.values())))
        names = _Names()
        for user_id in [*export.users, *export.unknown]:
            names.users[user_id] = resolved[slack_id("user", user_id)]
            names.usernames[user_id] = known[names.users[user_id]].username
        for bot_id in export.bots:
            owner = own_bots.get(bot_id)
            names.bots[bot_id] = names.users[owner] if owner else resolved[slack_id("bot", bot_id)]
        return names

    # ---- conversations -----------------------------------------------------------------

    def _conversations(
        self, conn: Any, export: SlackExport, names: _Names, report: SlackReport
    ) -> None:
        for conv in export.conversations:
            members = sorted({names.users[m] for m in conv.members if m in names.users})
            creator = names.users.get(conv.creator or "") or (members[0] if members else None)
            chatd_id = slack_id("conversation", conv.id)
            keys: tuple[str | None, str | None] = (None, None)
            name = ""
            if conv.kind == "channel":
                name = _channel_name(conv)
                keys = (name, None)
                chatd_id = imports.conversation_by_key(conn, "channel_key", name) or chatd_id
            elif conv.kind == "group":
                name = _clean(slack_markup.plain(conv.name), 80)
            elif conv.kind == "direct":
                pair = members * 2 if len(members) == 1 else members
                keys = (None, ":".join(pair))
                chatd_id = (
                    imports.conversation_by_key(conn, "direct_key", keys[1] or "") or chatd_id
                )
            kind = {"mpim": "group"}.get(conv.kind, conv.kind)
            if not imports.existing(conn, "conversations", [chatd_id]):
                topic = _clean(slack_markup.plain(conv.topic), 250)
                imports.insert_conversation(conn, chatd_id, kind, name, keys, topic,
                                            (conv.created_ms, creator), conv.archived)  # fmt: skip
                report.conversations += 1
            imports.add_members(conn, chatd_id, members, conv.created_ms)
            names.conversations[conv.id] = chatd_id
            names.channels[conv.id] = name or conv.name

    # ---- messages ----------------------------------------------------------------------

    async def _messages(
        self,
        export: SlackExport,
        conv: SlackConversation,
        names: _Names,
        report: SlackReport,
        progress: Progress,
        started: float,
    ) -> None:
        chatd_id = names.conversations[conv.id]
        parents: set[str] = set()
        batch: list[NewMessage] = []
        reactions: list[tuple[str, str, str]] = []
        added = 0
        pending: asyncio.Future[tuple[int, int]] | None = None  # the batch being written
        for member in conv.days:
            day = await asyncio.to_thread(export.day, member)
            for message in day:
                made = self._message(conv, message, names, parents, report)
                if made is None:
                    continue
                batch.append(made)
                reactions += self._reactions(made.id, message, names)
                if len(batch) >= BATCH:
                    if pending is not None:  # one batch is written while the next is built
                        added += _count(await pending, report)
                    pending = self.db.submit(_append, chatd_id, batch, reactions)
                    batch, reactions = [], []
                    if report.messages // 100_000 > (report.messages - BATCH) // 100_000:
                        rate = report.messages / max(time.monotonic() - started, 1e-6)
                        progress(f"messages: {report.messages:,} ({rate:,.0f}/s)")
        if pending is not None:
            added += _count(await pending, report)
        if batch:
            added += _count(await self.db.write(_append, chatd_id, batch, reactions), report)
        if added:
            await self.db.write(imports.mark_read, chatd_id)
        label = {"channel": "#", "group": "group ", "mpim": "group DM ", "direct": "DM "}
        progress(f"{label[conv.kind]}{names.channels[conv.id]}: {added:,} messages")

    def _message(
        self,
        conv: SlackConversation,
        message: dict[str, Any],
        names: _Names,
        parents: set[str],
        report: SlackReport,
    ) -> NewMessage | None:
        subtype = message.get("subtype")
        if subtype in SKIPPED_SUBTYPES:
            report.notices_skipped += 1
            return None
        ts = message["ts"]
        message_id = slack_id("message", conv.id, ts)
        bot_id = bot_of(message)
        author = names.bots[bot_id] if bot_id is not None else names.users[message["user"]]
        deleted = subtype == "tombstone"
        body = "" if deleted else self._body(message, names, report)
        if not body and not deleted:
            report.empty_skipped += 1
            return None
        thread_ts = message.get("thread_ts")
        reply_to = None
        if thread_ts == ts:
            parents.add(message_id)
        elif thread_ts is not None:
            parent = slack_id("message", conv.id, thread_ts)
            reply_to = parent if parent in parents else None
        edited = message.get("edited")
        return NewMessage(
            id=message_id,
            author_id=author,
            body=body,
            created_at=ts_ms(ts),
            edited_at=ts_ms(edited["ts"]) if isinstance(edited, dict) else None,
            deleted=deleted,
            reply_to=reply_to,
        )

    def _body(self, message: dict[str, Any], names: _Names, report: SlackReport) -> str:
        parts = [slack_markup.convert(message.get("text") or "", names.usernames, names.channels)]
        for attachment in message.get("attachments", []):
            text = attachment.get("text") or attachment.get("fallback") or ""
            title = attachment.get("title") or ""
            if attachment.get("title_link") and title:
                title = f"[{title}]({attachment['title_link']})"
            parts += [
                slack_markup.convert(p, names.usernames, names.channels)
                for p in (attachment.get("pretext") or "", title, text)
            ]
        for file in message.get("files", []):
            name = file.get("name") or file.get("title") or "file"
            link = file.get("url_private") or file.get("permalink")
            parts.append(f"{name}: {link}" if link else name)
        text = "\n".join(p for p in parts if p.strip())
        body = _clean(text, self.max_chars + 1)
        if len(body) > self.max_chars:
            body = body[: self.max_chars - 1] + "…"
            report.cut += 1
        return body

    @staticmethod
    def _reactions(
        message_id: str, message: dict[str, Any], names: _Names
    ) -> list[tuple[str, str, str]]:
        rows = []
        for reaction in message.get("reactions", []):
            emoji = slack_markup.emoji(reaction["name"])
            for user in reaction.get("users", []):
                if user in names.users:
                    rows.append((message_id, emoji, names.users[user]))
        return rows


def _append(
    conn: Any,
    chatd_id: str,
    batch: list[NewMessage],
    reactions: list[tuple[str, str, str]],
) -> tuple[int, int]:
    """One batch's transaction: (messages added, reactions added)."""
    added = imports.append_messages(conn, chatd_id, batch)
    return len(added), imports.add_reactions(conn, reactions)


def _count(outcome: tuple[int, int], report: SlackReport) -> int:
    report.messages += outcome[0]
    report.reactions += outcome[1]
    return outcome[0]


def _username(raw: str) -> str:
    name = _USERNAME_BAD_RE.sub("_", raw.lower()).strip("._-")[:32]
    return name or "user"


def _unique(username: str, taken: dict[str, str]) -> str:
    candidate, n = username, 1
    while candidate in taken:
        n += 1
        suffix = f"-{n}"
        candidate = username[: 32 - len(suffix)] + suffix
    return candidate


def _channel_name(conv: SlackConversation) -> str:
    name = _CHANNEL_BAD_RE.sub("-", slack_markup.plain(conv.name).lower()).strip("-")[:80]
    return name or f"channel-{conv.id.lower()}"[:80]
