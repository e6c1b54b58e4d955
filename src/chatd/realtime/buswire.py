"""How events look on the cluster bus: one NATS message per committed event, encoded once.

A bus message is a small JSON header, a newline, then the frame exactly as sockets receive it
(the bytes the origin node encoded for its own sockets), so no node re-encodes a frame. The
header carries what routing needs without parsing the frame (its type, conversation, `seq`,
recipients) and where it came from: the origin (node name and a random instance id, new at
every start, so a restarted node is a new origin) and that origin's counter, which increases
by one per event and lets a receiver see that it lost one.

Control messages (heartbeats, presence, manual status) are plain JSON on their own subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from chatd.realtime.hub import Event, Revoke
from chatd.realtime.protocol import Encoded

SUBJECT_EVENTS = "chatd.ev"
SUBJECT_CONTROL = "chatd.ctl"
SUBJECT_ALL = "chatd.>"


class BadMessage(ValueError):
    """A bus message that is not one of ours (another program on the subject, a bug)."""


@dataclass(frozen=True)
class Received:
    """A decoded bus event: who sent it, its place in the origin's stream, and the event."""

    origin: str
    counter: int
    item: Event | Revoke


def message_seq(item: Event | Revoke) -> int | None:
    """The `seq` that orders an event among its conversation's events, if it has one: only
    `message.created` takes a new place in the conversation."""
    if isinstance(item, Event) and item.frame.get("type") == "message.created":
        return int(item.frame["message"]["seq"])
    return None


def encode_event(origin: str, counter: int, item: Event | Revoke, payload: bytes) -> bytes:
    """One event as a bus message; `payload` is the frame as encoded for sockets (empty for a
    revocation, which has no frame)."""
    header: dict[str, Any] = {"o": origin, "n": counter}
    if isinstance(item, Revoke):
        header.update(t="revoke", code=item.code, why=item.reason)
        header.update(sids=list(item.session_ids), uids=list(item.user_ids))
        return orjson.dumps(header) + b"\n"
    header["t"] = item.frame.get("type")
    if item.conversation_id is not None:
        header["c"] = item.conversation_id
    seq = message_seq(item)
    if seq is not None:
        header["s"] = seq
    if item.user_ids:
        header["u"] = list(item.user_ids)
    if item.skip_user is not None:
        header["su"] = item.skip_user
    if item.skip_conn is not None:
        header["sc"] = item.skip_conn
    return orjson.dumps(header) + b"\n" + payload


def decode_event(data: bytes) -> Received:
    head, sep, payload = data.partition(b"\n")
    if not sep:
        raise BadMessage("no header line")
    try:
        header = orjson.loads(head)
        origin = str(header["o"])
        counter = int(header["n"])
        if header.get("t") == "revoke":
            revoke = Revoke(
                int(header["code"]),
                str(header["why"]),
                session_ids=tuple(str(s) for s in header.get("sids", ())),
                user_ids=tuple(str(u) for u in header.get("uids", ())),
            )
            return Received(origin, counter, revoke)
        frame = orjson.loads(payload)
        if not isinstance(frame, dict):
            raise BadMessage("the frame is not an object")
        event = Event(
            frame,
            conversation_id=header.get("c"),
            user_ids=tuple(header.get("u", ())),
            skip_user=header.get("su"),
            skip_conn=header.get("sc"),
            encoded=Encoded(payload),
        )
        return Received(origin, counter, event)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, BadMessage):
            raise
        raise BadMessage(str(exc)) from None


def encode_control(origin: str, kind: str, **fields: Any) -> bytes:
    return orjson.dumps({"o": origin, "k": kind, **fields})


def decode_control(data: bytes) -> dict[str, Any]:
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadMessage(str(exc)) from None
    if not isinstance(message, dict) or not isinstance(message.get("o"), str):
        raise BadMessage("not a control message")
    return message
