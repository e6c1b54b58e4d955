"""Slack's message payload (`text` and `attachments`) as one chatd Markdown body.

Tools that post to a Slack incoming webhook, and slash-command answers written for Slack,
send this shape. The body is `text`, then each attachment: its pretext, `**[title](link)**`
(or `**title**` without a link), its text, then each field as `**title**: value` on its own
line; `fallback` stands in for an attachment that has none of these. `color`, `username`,
`icon_*` and `channel` are ignored.
"""

from __future__ import annotations

import re
from typing import Any

from chatd.errors import BadRequest

_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def _text(value: Any, where: str) -> str:
    """A string field; numbers are taken as their text (tools send them), None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadRequest(f"{where} must be a string")
    return str(value).strip()


def _attachment(item: Any, index: int) -> list[str]:
    if not isinstance(item, dict):
        raise BadRequest(f"attachments[{index}] must be an object")
    lines: list[str] = []
    pretext = _text(item.get("pretext"), f"attachments[{index}].pretext")
    if pretext:
        lines.append(pretext)
    title = _text(item.get("title"), f"attachments[{index}].title")
    link = _text(item.get("title_link"), f"attachments[{index}].title_link")
    if title:
        lines.append(f"**[{title}]({link})**" if link else f"**{title}**")
    text = _text(item.get("text"), f"attachments[{index}].text")
    if text:
        lines.append(text)
    fields = item.get("fields") or []
    if not isinstance(fields, list):
        raise BadRequest(f"attachments[{index}].fields must be a list")
    for number, entry in enumerate(fields):
        where = f"attachments[{index}].fields[{number}]"
        if not isinstance(entry, dict):
            raise BadRequest(f"{where} must be an object")
        name = _text(entry.get("title"), f"{where}.title")
        value = _text(entry.get("value"), f"{where}.value")
        if name or value:
            lines.append(f"**{name}**: {value}" if name else value)
    if not lines:
        fallback = _text(item.get("fallback"), f"attachments[{index}].fallback")
        if fallback:
            lines.append(fallback)
    return lines


def body_of(payload: Any, max_chars: int) -> str:
    """The Markdown body for a Slack payload; BadRequest if it carries nothing to post.

    Control characters are dropped and an over-long body is cut (with an ellipsis) rather
    than refused: a monitoring tool cannot fix its payload, and its alert should arrive."""
    if not isinstance(payload, dict):
        raise BadRequest("the payload must be a JSON object")
    lines: list[str] = []
    text = _text(payload.get("text"), "text")
    if text:
        lines.append(text)
    attachments = payload.get("attachments") or []
    if not isinstance(attachments, list):
        raise BadRequest("attachments must be a list")
    for index, item in enumerate(attachments):
        lines.extend(_attachment(item, index))
    body = _SURROGATES.sub("\ufffd", _UNSAFE.sub("", "\n".join(lines))).strip()
    if not body:
        raise BadRequest("the payload has neither text nor attachments")
    if len(body) > max_chars:
        body = body[: max_chars - 1].rstrip() + "\u2026"
    return body
