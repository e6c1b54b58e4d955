"""Slack's message markup to chatd's Markdown, and Slack reaction names to emoji.

Slack writes links, mentions and channel references in angle brackets and escapes only
`&`, `<` and `>` in the rest of the text. The contract spells the conversions:
`<@U123>` -> `@username`, `<#C123|name>` -> `#name`, `<https://x|label>` -> `[label](https://x)`,
`<!channel>` and `<!here>` -> `@channel`. Emphasis (`*bold*`, `_italic_`) is left as written:
Slack and Markdown disagree on it, and a guess would turn `snake_case_names` into italics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TAG_RE = re.compile(r"<([^<>\n]*)>")
_ENTITY_RE = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_SKIN_TONE_RE = re.compile(r"::skin-tone-\d$")

# The reactions people use most, by Slack's name; any other stays `:name:` (a custom emoji
# has no Unicode form, and chatd stores a reaction as the text it is given).
EMOJI = {
    "+1": "👍", "thumbsup": "👍", "-1": "👎", "thumbsdown": "👎", "heart": "❤️",
    "smile": "😄", "smiley": "😃", "grinning": "😀", "joy": "😂", "laughing": "😆",
    "slightly_smiling_face": "🙂", "wink": "😉", "blush": "😊", "thinking_face": "🤔",
    "tada": "🎉", "eyes": "👀", "fire": "🔥", "rocket": "🚀", "clap": "👏", "pray": "🙏",
    "raised_hands": "🙌", "muscle": "💪", "ok_hand": "👌", "wave": "👋", "100": "💯",
    "white_check_mark": "✅", "heavy_check_mark": "✔️", "x": "❌", "warning": "⚠️",
    "star": "⭐", "sparkles": "✨", "cry": "😢", "sob": "😭", "scream": "😱",
    "sweat_smile": "😅", "see_no_evil": "🙈", "party_popper": "🎉", "bulb": "💡",
    "memo": "📝", "point_up": "☝️", "heart_eyes": "😍", "sunglasses": "😎",
}  # fmt: skip


def convert(text: str, usernames: Mapping[str, str], channels: Mapping[str, str]) -> str:
    """Slack `text` as chatd Markdown; `usernames` and `channels` map Slack ids to names."""

    def tag(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            ident = target[1:]
            return "@" + usernames.get(ident, label.lstrip("@") or ident.lower())
        if target.startswith("#"):
            ident = target[1:]
            return "#" + (label or channels.get(ident, ident.lower()))
        if target.startswith("!"):
            word = target[1:].split("^", 1)[0]
            if word in ("channel", "here", "everyone"):
                return "@channel"
            return label or "@" + word
        if not target:
            return match.group(0)
        return f"[{label}]({target})" if label else target

    converted = _TAG_RE.sub(tag, text)
    return _ENTITY_RE.sub(lambda m: _ENTITIES[m.group(1)], converted)


def plain(text: str) -> str:
    """Text Slack escaped but that carries no markup (names, topics)."""
    return _ENTITY_RE.sub(lambda m: _ENTITIES[m.group(1)], text)


def emoji(name: str) -> str:
    """A reaction's Slack name as the emoji chatd stores."""
    base = _SKIN_TONE_RE.sub("", name)
    return EMOJI.get(base, f":{base}:")[:32]
