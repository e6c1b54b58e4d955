"""Slash commands: `/trigger rest of line` in the composer calls the command's URL.

chatd POSTs Slack's outbound form (`command`, `text`, `user_id`, `user_name`, `channel_id`,
`channel_name`, `token`, `response_url`) and gives the URL 3 s to answer JSON
`{text, response_type?}` (or plain text). `in_channel` posts a message by the command's own
bot user; `ephemeral` goes back to the caller only. A slow command answers later, once,
through `response_url` (30 minutes). The verification `token` is derived from the key file,
shown once at creation, and never stored.
"""

from __future__ import annotations

import logging
import re
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from chatd.clock import Clock, now_ms
from chatd.db.database import Database
from chatd.errors import BadGateway, BadRequest, Conflict, NotFound, RateLimited
from chatd.ids import new_id
from chatd.log import event
from chatd.models import Command, Message, User, Via
from chatd.realtime.hub import Event, Hub
from chatd.services import access, slack, validation
from chatd.services.bots import integration_bot
from chatd.services.keyring import Keyring, digest
from chatd.services.messages import Messages
from chatd.services.outbound import Answer, Outbound, OutboundError, check_url
from chatd.services.principal import Principal
from chatd.services.throttle import FailureWindow
from chatd.services.users import Site, Users
from chatd.store import commands, conversations, users

log = logging.getLogger("chatd.commands")

TRIGGER_RE = re.compile(r"[a-z0-9_-]{1,32}")
DEADLINE_S = 3.0
RESPONSE_TTL_MS = 30 * 60 * 1000
MAX_COMMANDS = 500
RUNS_PER_MINUTE = 30  # per user: each run is a request to someone's URL


@dataclass(frozen=True)
class Reply:
    """A command's answer: a stored message (`in_channel`) or text for the caller only."""

    message: Message | None = None
    ephemeral: str | None = None


def parse_answer(answer: Answer) -> tuple[str, str, Any]:
    """(response_type, raw text, the payload for Slack formatting) of a command's answer."""
    if not answer.body.strip():  # an acknowledgement: the answer comes via response_url
        return "ephemeral", "", None
    if answer.content_type == "application/json" or answer.body.lstrip().startswith(b"{"):
        try:
            payload = orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            raise BadGateway("the command answered JSON that does not parse") from None
        if not isinstance(payload, dict):
            raise BadGateway("the command answered JSON that is not an object")
        kind = payload.get("response_type") or "ephemeral"
        if kind not in ("ephemeral", "in_channel"):
            raise BadGateway("the command answered an unknown response_type")
        return str(kind), "", payload
    text = answer.body.decode("utf-8", "replace").strip()
    return "ephemeral", text, None


class Commands:
    def __init__(
        self,
        db: Database,
        hub: Hub,
        messages: Messages,
        outbound: Outbound,
        keyring: Keyring,
        people: Users,
        site: Site,
        clock: Clock,
    ) -> None:
        self.db = db
        self.hub = hub
        self.messages = messages
        self.outbound = outbound
        self.keyring = keyring
        self.people = people
        self.site = site
        self.clock = clock
        self.deadline_s = DEADLINE_S
        self._runs = FailureWindow(clock, RUNS_PER_MINUTE, 60.0)

    # ---- admin -------------------------------------------------------------------------

    async def create(
        self, principal: Principal, trigger: Any, url: Any, description: Any = None
    ) -> tuple[Command, str]:
        """A command and its verification token (shown once)."""
        self.people.require_admin(principal)
        name, target, about = validation.collect(
            (_trigger, trigger),
            (check_url, url),
            (_description, description),
        )
        command_id = new_id()
        creator = principal.user.id  # an account: these are made over HTTP only

        def create(conn: sqlite3.Connection) -> Command:
            if commands.by_trigger(conn, name) is not None:
                raise Conflict("that trigger is taken", fields={"trigger": "is taken"})
            if commands.count(conn) >= MAX_COMMANDS:
                raise validation.fail("trigger", f"at most {MAX_COMMANDS} commands")
            now = now_ms(self.clock)
            bot = integration_bot(conn, f"/{name}", now)
            command = Command(command_id, name, target, about, bot.id, creator, now)
            commands.insert(conn, command)
            return command

        command = await self.db.write(create)
        event(log, logging.INFO, "command.created", command_id=command.id, trigger=name)
        return command, self.keyring.secret("command", command.id)

    async def list(self) -> list[Command]:
        return await self.db.read(commands.list_all)

    async def delete(self, principal: Principal, command_id: str) -> None:
        self.people.require_admin(principal)

        def delete(conn: sqlite3.Connection) -> None:
            command = commands.get(conn, command_id)
            if command is None:
                raise NotFound("no such command")
            commands.delete(conn, command_id)
            users.set_active(conn, command.bot_user_id, False)

        await self.db.write(delete)
        event(log, logging.INFO, "command.deleted", command_id=command_id)

    # ---- running -----------------------------------------------------------------------

    async def run(self, user: User, conversation_id: str, text: Any) -> Reply:
        line = validation.text(text, "text")
        assert line is not None
        line = line.strip()
        if not line.startswith("/") or len(line) > 4000:
            raise validation.fail("text", "must start with /trigger (at most 4000 characters)")
        wait = self._runs.retry_after(user.id)
        if wait > 0:
            raise RateLimited(wait, "too many commands; try again in a minute")
        self._runs.fail(user.id)  # counts every run
        head, _, rest = line[1:].partition(" ")
        trigger = head.lower()
        token = secrets.token_urlsafe(32)
        now = now_ms(self.clock)

        def prepare(conn: sqlite3.Connection) -> tuple[Command, str]:
            found = access.member(conversations.access(conn, conversation_id, user.id), user)
            command = commands.by_trigger(conn, trigger)
            if command is None:
                raise NotFound(f"there is no /{trigger} command")
            conversation = conversations.get(conn, conversation_id, user.id)
            name = conversation.name if conversation else ""
            commands.add_response(
                conn, digest(token), command.id, user.id, conversation_id,
                now + RESPONSE_TTL_MS, now,
            )  # fmt: skip
            return command, name or found.kind

        command, channel_name = await self.db.write(prepare)
        form = {
            "command": f"/{command.trigger}",
            "text": rest.strip(),
            "user_id": user.id,
            "user_name": user.username,
            "channel_id": conversation_id,
            "channel_name": channel_name,
            "token": self.keyring.secret("command", command.id),
            "response_url": f"{self.site.url}/hooks/commands/{token}",
        }
        try:
            answer = await self.outbound.post(
                command.url,
                content=urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout_s=self.deadline_s,
            )
        except OutboundError as exc:
            event(log, logging.WARNING, "command.failed", command_id=command.id, error=str(exc))
            raise BadGateway(f"/{command.trigger} did not answer: {exc}") from None
        if not answer.ok:
            event(
                log, logging.WARNING, "command.failed", command_id=command.id, status=answer.status
            )
            raise BadGateway(f"/{command.trigger} failed (its URL answered {answer.status})")
        kind, plain, payload = parse_answer(answer)
        return await self._reply(command, user, conversation_id, kind, plain, payload)

    async def _reply(
        self,
        command: Command,
        user: User,
        conversation_id: str,
        kind: str,
        plain: str,
        payload: Any,
    ) -> Reply:
        if payload is None:
            return Reply(ephemeral=plain)
        try:
            text = slack.body_of(payload, self.messages.max_chars)
        except BadRequest:
            text = ""
        if kind != "in_channel" or not text:
            return Reply(ephemeral=text)
        bot = await self.db.read(users.get, command.bot_user_id)
        if bot is None:
            raise NotFound("no such command")
        via = Via("command", command.id, f"/{command.trigger}")
        return Reply(message=await self.messages.post(bot, conversation_id, text, via))

    async def respond(self, token: str, payload: Any) -> Reply:
        """The one POST a `response_url` takes: 404 when unknown, used, or expired.

        It is used up only by a POST that is answered 200: a payload refused (400) or an
        archived conversation (409) leaves it for a corrected retry."""
        if not token or len(token) > 128:
            raise NotFound("no such response_url")
        hashed = digest(token)
        if await self.db.read(commands.find_response, hashed, now_ms(self.clock)) is None:
            raise NotFound("this response_url is unknown, used or expired")
        if not isinstance(payload, dict):
            raise BadRequest("the payload must be a JSON object")
        kind = payload.get("response_type") or "ephemeral"
        if kind not in ("ephemeral", "in_channel"):
            raise BadRequest("response_type must be ephemeral or in_channel")
        slack.body_of(payload, self.messages.max_chars)  # 400 when it carries nothing

        def take(conn: sqlite3.Connection) -> tuple[str, str, str] | None:
            found = commands.find_response(conn, hashed, now_ms(self.clock))
            if found is not None and kind == "in_channel":
                where = conversations.access(conn, found[2], found[1])
                if where is not None and where.archived:
                    raise Conflict("the conversation is archived")
            return commands.take_response(conn, hashed, now_ms(self.clock))

        found = await self.db.write(take)
        if found is None:
            raise NotFound("this response_url is unknown, used or expired")
        command_id, user_id, conversation_id = found
        command = await self.db.read(commands.get, command_id)
        user = await self.db.read(users.get, user_id)
        if command is None or user is None:
            raise NotFound("the command is gone")
        reply = await self._reply(command, user, conversation_id, kind, "", payload)
        if reply.ephemeral is not None:
            frame = {
                "type": "command.ephemeral",
                "conversation_id": conversation_id,
                "command": f"/{command.trigger}",
                "text": reply.ephemeral,
            }
            self.hub.publish(Event(frame, user_ids=(user.id,)))
        return reply


def _trigger(value: Any) -> str:
    name = validation.text(value, "trigger")
    assert name is not None
    name = name.strip().lstrip("/").lower()
    if not TRIGGER_RE.fullmatch(name):
        raise validation.fail("trigger", "must be 1-32 characters of a-z 0-9 _ -")
    return name


def _description(value: Any) -> str:
    about = validation.text(value, "description", required=False) or ""
    about = about.strip()
    if len(about) > 200 or validation.has_control(about):
        raise validation.fail("description", "must be at most 200 characters on one line")
    return about
