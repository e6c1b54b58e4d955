"""Reading a Slack workspace export (a zip), checked whole before anything is written.

Layout: `users.json`, `channels.json`, and where the workspace had them `groups.json`
(private channels), `dms.json`, `mpims.json` (group DMs); then a folder per conversation
(named after a channel, group or group DM; after the id for a DM) with one JSON file of
messages per day. `SlackExport.check()` reads every file once, as a stream, and refuses the
export at the first problem with the file and the field; only then does the import begin,
re-reading the day files one at a time, so memory holds one day of one conversation.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatd.errors import BadRequest

_TS_RE = re.compile(r"\d{1,12}(\.\d{1,9})?")
# Notices Slack writes for joining and leaving; membership comes from the member lists.
SKIPPED_SUBTYPES = frozenset({"channel_join", "channel_leave", "group_join", "group_leave"})
_KINDS = {"channels.json": "channel", "groups.json": "group", "mpims.json": "mpim"}


class SlackExportError(BadRequest):
    """The export is malformed; the message names the file and the field."""


@dataclass
class SlackUser:
    id: str
    name: str
    display_name: str
    bot: bool
    bot_id: str | None


@dataclass
class SlackConversation:
    id: str
    kind: str  # channel, group, direct or mpim
    name: str
    topic: str
    archived: bool
    created_ms: int
    creator: str | None
    members: list[str]
    days: list[str] = field(default_factory=list)  # zip members, in date order


def ts_ms(ts: str) -> int:
    """Slack's `ts` (seconds with a fraction, as a string) in milliseconds, exactly."""
    seconds, _, fraction = ts.partition(".")
    return int(seconds) * 1000 + int((fraction + "000")[:3])


def ts_key(ts: str) -> tuple[int, int]:
    seconds, _, fraction = ts.partition(".")
    return int(seconds), int((fraction + "000000000")[:9])


def _fail(where: str, problem: str) -> SlackExportError:
    return SlackExportError(f"the Slack export is malformed: {where}: {problem}")


def _text(entry: dict[str, Any], key: str, where: str, required: bool = False) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _fail(f"{where}.{key}", "missing" if value is None else "must be a string")
    return value


def _ids(entry: dict[str, Any], key: str, where: str) -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(f"{where}.{key}", "must be a list of ids")
    return list(value)


class SlackExport:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise SlackExportError(f"{path} is not a zip file: {exc}") from exc
        names = [n for n in self.zip.namelist() if n.rsplit("/", 1)[-1] == "users.json"]
        if not names:
            raise _fail("users.json", "missing from the export")
        top = min(names, key=len)
        self.prefix = top[: -len("users.json")]
        self.users: dict[str, SlackUser] = {}
        self.conversations: list[SlackConversation] = []
        self.bots: dict[str, str] = {}  # bot_id -> name, for bot messages with no user
        self.messages = 0
        self.unknown: set[str] = set()  # authors missing from users.json (shared channels)

    def close(self) -> None:
        self.zip.close()

    def _json(self, name: str, required: bool = True) -> Any:
        try:
            with self.zip.open(self.prefix + name) as stream:
                return json.load(stream)
        except KeyError:
            if required:
                raise _fail(name, "missing from the export") from None
            return []
        except (ValueError, UnicodeDecodeError) as exc:
            raise _fail(name, f"not JSON ({exc})") from exc

    def _list(self, name: str, required: bool = True) -> list[dict[str, Any]]:
        value = self._json(name, required)
        if not isinstance(value, list):
            raise _fail(name, "must be a JSON list")
        for i, entry in enumerate(value):
            if not isinstance(entry, dict):
                raise _fail(f"{name}: [{i}]", "must be an object")
        return value

    def check(self) -> None:
        """Read and check everything; afterwards `users`, `conversations`, `bots` and
        `messages` describe the whole export."""
        for i, entry in enumerate(self._list("users.json")):
            where = f"users.json: [{i}]"
            profile = entry.get("profile") or {}
            if not isinstance(profile, dict):
                raise _fail(f"{where}.profile", "must be an object")
            user = SlackUser(
                id=_text(entry, "id", where, True) or "",
                name=_text(entry, "name", where, True) or "",
                display_name=(
                    _text(profile, "display_name", where + ".profile")
                    or _text(entry, "real_name", where)
                    or _text(profile, "real_name", where + ".profile")
                    or ""
                ),
                bot=bool(entry.get("is_bot")),
                bot_id=_text(profile, "bot_id", where + ".profile"),
            )
            self.users[user.id] = user
        for name, kind in (*_KINDS.items(), ("dms.json", "direct")):
            for i, entry in enumerate(self._list(name, name == "channels.json")):
                self.conversations.append(self._conversation(entry, kind, f"{name}: [{i}]"))
        folders: dict[str, SlackConversation] = {}
        for conv in self.conversations:
            folders[conv.id if conv.kind == "direct" else conv.name] = conv
        for member in sorted(self.zip.namelist()):
            if not member.startswith(self.prefix) or not member.endswith(".json"):
                continue
            folder, _, day = member[len(self.prefix) :].rpartition("/")
            if folder in folders and "/" not in folder and day:
                folders[folder].days.append(member)
        for conv in self.conversations:
            for member in conv.days:
                self.messages += len(self.day(member))

    def _conversation(self, entry: dict[str, Any], kind: str, where: str) -> SlackConversation:
        topic = entry.get("topic") or {}
        if not isinstance(topic, dict):
            raise _fail(f"{where}.topic", "must be an object")
        created = entry.get("created", 0)
        if not isinstance(created, int | float) or isinstance(created, bool):
            raise _fail(f"{where}.created", "must be a number")
        members = _ids(entry, "members", where)
        if kind == "direct" and not 1 <= len(members) <= 2:
            raise _fail(f"{where}.members", "a direct message has one or two members")
        return SlackConversation(
            id=_text(entry, "id", where, True) or "",
            kind=kind,
            name=_text(entry, "name", where, kind != "direct") or "",
            topic=_text(topic, "value", f"{where}.topic") or "",
            archived=bool(entry.get("is_archived")),
            created_ms=int(created * 1000),
            creator=_text(entry, "creator", where),
            members=members,
        )

    def day(self, member: str) -> list[dict[str, Any]]:
        """One day's messages, checked, in `ts` order."""
        name = member[len(self.prefix) :]
        messages = self._list(name)
        for i, message in enumerate(messages):
            self._check_message(message, f"{name}: [{i}]")
        messages.sort(key=lambda m: ts_key(m["ts"]))
        return messages

    def _check_message(self, message: dict[str, Any], where: str) -> None:
        for key in ("ts", "thread_ts"):
            ts = _text(message, key, where, key == "ts")
            if ts is not None and not _TS_RE.fullmatch(ts):
                raise _fail(f"{where}.{key}", "must be a Slack timestamp like 1712345678.123456")
        for key in ("text", "subtype", "user", "bot_id", "username"):
            _text(message, key, where)
        no_author = not message.get("user") and not message.get("bot_id")
        if no_author and message.get("subtype") not in SKIPPED_SUBTYPES:
            raise _fail(f"{where}.user", "missing (and no bot_id)")
        edited = message.get("edited")
        if edited is not None and (
            not isinstance(edited, dict) or not _TS_RE.fullmatch(str(edited.get("ts", "")))
        ):
            raise _fail(f"{where}.edited.ts", "must be a Slack timestamp")
        for i, reaction in enumerate(_objects(message, "reactions", where)):
            _text(reaction, "name", f"{where}.reactions[{i}]", True)
            _ids(reaction, "users", f"{where}.reactions[{i}]")
        for i, file in enumerate(_objects(message, "files", where)):
            for key in ("name", "title", "url_private", "permalink"):
                _text(file, key, f"{where}.files[{i}]")
        for i, attachment in enumerate(_objects(message, "attachments", where)):
            for key in ("fallback", "text", "title", "title_link", "pretext"):
                _text(attachment, key, f"{where}.attachments[{i}]")
        profile = message.get("bot_profile")
        if profile is not None and not isinstance(profile, dict):
            raise _fail(f"{where}.bot_profile", "must be an object")
        bot_id = bot_of(message)
        user = message.get("user")
        skipped = message.get("subtype") in SKIPPED_SUBTYPES
        if bot_id is None and user and user not in self.users and not skipped:
            self.unknown.add(user)
        if bot_id is not None and bot_id not in self.bots:
            name = (profile or {}).get("name") or message.get("username") or bot_id
            self.bots[bot_id] = str(name)

    def days(self, conv: SlackConversation) -> Iterator[list[dict[str, Any]]]:
        for member in conv.days:
            yield self.day(member)


def bot_of(message: dict[str, Any]) -> str | None:
    """The bot a message is from: a `bot_message`, or one with a `bot_id` and no `user`."""
    bot_id = message.get("bot_id")
    if bot_id and (message.get("subtype") == "bot_message" or not message.get("user")):
        return str(bot_id)
    return None


def _objects(message: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = message.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _fail(f"{where}.{key}", "must be a list of objects")
    return value
