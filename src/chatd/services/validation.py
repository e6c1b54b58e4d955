"""Checks of user-supplied values, shared by every service.

Each function returns the normalised value or raises ValidationFailed naming the field, so
HTTP, WebSocket and CLI callers all get the same answer for the same mistake.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from chatd.errors import ValidationFailed

INT64 = 2**63 - 1
USERNAME_RE = re.compile(r"[a-z0-9._-]{1,32}")
CHANNEL_RE = re.compile(r"[a-z0-9_-]{1,80}")
# Control characters: C0, DEL and C1. Bodies may keep \n and \t.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BODY_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")  # lone halves that cannot be encoded


def fail(field: str, problem: str) -> ValidationFailed:
    return ValidationFailed({field: problem})


def has_control(text: str) -> bool:
    return _CONTROL_RE.search(text) is not None


def _surrogates(text: str) -> bool:
    return _SURROGATE_RE.search(text) is not None


def text(value: Any, field: str, *, required: bool = True) -> str | None:
    if value is None:
        if required:
            raise fail(field, "is required")
        return None
    if not isinstance(value, str):
        raise fail(field, "must be a string")
    if _surrogates(value):
        raise fail(field, "is not valid Unicode")
    return value


def username(value: Any, field: str = "username") -> str:
    name = text(value, field)
    assert name is not None
    name = name.lower()
    if not USERNAME_RE.fullmatch(name):
        raise fail(field, "must be 1-32 characters of a-z 0-9 . _ -")
    return name


def _line(value: Any, field: str, max_chars: int) -> str:
    """An optional one-line text: stripped, at most `max_chars`, no control characters."""
    words = text(value, field, required=False)
    if words is None:
        return ""
    words = words.strip()
    if len(words) > max_chars:
        raise fail(field, f"must be at most {max_chars} characters")
    if has_control(words):
        raise fail(field, "must not contain control characters")
    return words


def display_name(value: Any, field: str = "display_name") -> str:
    return _line(value, field, 64)


def password(value: Any, field: str = "password") -> str:
    secret = text(value, field)
    assert secret is not None
    if not 8 <= len(secret) <= 1024:
        raise fail(field, "must be 8-1024 characters")
    if "\x00" in secret:
        raise fail(field, "must not contain NUL")
    return secret


def body(value: Any, max_chars: int, *, allow_empty: bool = False, field: str = "body") -> str:
    """A message body: stripped, 1..max_chars (0 allowed with attachments), no control chars."""
    raw = text(value, field, required=not allow_empty)
    stripped = (raw or "").strip()
    if not stripped and not allow_empty:
        raise fail(field, "must not be empty")
    if len(stripped) > max_chars:
        raise fail(field, f"must be at most {max_chars} characters")
    if _BODY_CONTROL_RE.search(stripped):
        raise fail(field, "must not contain control characters other than newline and tab")
    return stripped


def channel_name(value: Any, field: str = "name") -> str:
    name = text(value, field)
    assert name is not None
    name = name.strip().lower()
    if not CHANNEL_RE.fullmatch(name):
        raise fail(field, "must be 1-80 characters of a-z 0-9 - _")
    return name


def group_name(value: Any, field: str = "name") -> str:
    return _line(value, field, 80)


def topic(value: Any, field: str = "topic") -> str:
    return _line(value, field, 250)


def boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise fail(field, "must be true or false")
    return value


def integer(
    value: Any, field: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An integer from JSON: a JSON number without a fraction, never a string (`"2"` is a
    wrong type, 422, as the contract says of every field)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(field, "must be an integer")
    if not -INT64 <= value <= INT64:  # what SQLite can store
        raise fail(field, "is out of range")
    if minimum is not None and value < minimum:
        raise fail(field, f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise fail(field, f"must be at most {maximum}")
    return value


def query_integer(
    value: Any, field: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An integer from a query string (or a path), where everything arrives as text."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise fail(field, "must be an integer") from None
    return integer(value, field, minimum=minimum, maximum=maximum)


def limit(value: Any, default: int = 50, maximum: int = 200) -> int:
    """The contract's list limit (a query parameter): default 50, above 200 means 200, below
    1 is refused."""
    if value is None or value == "":
        return default
    return min(query_integer(value, "limit", minimum=1), maximum)


def identifier(value: Any, field: str) -> str:
    ident = text(value, field)
    assert ident is not None
    if not 1 <= len(ident) <= 64 or has_control(ident):
        raise fail(field, "is not a valid id")
    return ident


def client_id(value: Any) -> str | None:
    ident = text(value, "client_id", required=False)
    if ident is None:
        return None
    if not 1 <= len(ident) <= 64 or has_control(ident):
        raise fail("client_id", "must be 1-64 characters without control characters")
    return ident


def emoji(value: str) -> str:
    """A reaction: 1-32 characters, no whitespace or control characters."""
    value = unicodedata.normalize("NFC", value)
    if not 1 <= len(value) <= 32 or any(c.isspace() for c in value) or has_control(value):
        raise fail("emoji", "must be 1-32 characters with no whitespace or control characters")
    return value


def collect(*checks: tuple[Any, Any]) -> list[Any]:
    """Run several `(check, value)` pairs and report every failing field at once."""
    errors: dict[str, str] = {}
    results: list[Any] = []
    for check, value in checks:
        try:
            results.append(check(value))
        except ValidationFailed as exc:
            errors.update(exc.fields or {})
            results.append(None)
    if errors:
        raise ValidationFailed(errors)
    return results
