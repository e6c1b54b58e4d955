"""`@username`, `@channel` and `@all` in message bodies."""

from __future__ import annotations

import re

# A word boundary before "@" (no letter, digit, "_" or "@" right before it), then a username.
_MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9._-]{1,32})")
EVERYONE = frozenset({"channel", "all"})


def candidates(body: str) -> set[str]:
    """Lower-case names that may be mentioned; trailing punctuation is tried both ways."""
    found: set[str] = set()
    for match in _MENTION_RE.finditer(body):
        name = match.group(1).lower()
        found.add(name)
        trimmed = name.rstrip(".-_")
        if trimmed:
            found.add(trimmed)
    return found


def resolve(body: str, kind: str, author_id: str, member_names: dict[str, str]) -> list[str]:
    """Member ids a body mentions; `member_names` maps username -> id for the conversation."""
    names = candidates(body)
    if not names:
        return []
    mentioned = {member_names[name] for name in names if name in member_names}
    if kind != "direct" and names & EVERYONE:
        mentioned |= {user_id for user_id in member_names.values() if user_id != author_id}
    return sorted(mentioned)
