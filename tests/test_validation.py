"""Pure validation rules, with property tests against the contract's definitions."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatd.clock import ManualClock
from chatd.errors import ValidationFailed
from chatd.services import validation
from chatd.services.throttle import FailureWindow

USERNAME = re.compile(r"[a-z0-9._-]{1,32}")


@given(st.text(max_size=40))
def test_username_accepts_exactly_the_contract(name: str) -> None:
    if USERNAME.fullmatch(name.lower()) and name.lower() == name.lower().strip():
        assert validation.username(name) == name.lower()
    else:
        with pytest.raises(ValidationFailed):
            validation.username(name)


@given(st.text(max_size=4100))
def test_body_rules(body: str) -> None:
    stripped = body.strip()
    bad_control = any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in stripped)
    surrogate = any(0xD800 <= ord(c) <= 0xDFFF for c in body)
    ok = 1 <= len(stripped) <= 4000 and not bad_control and not surrogate
    if ok:
        assert validation.body(body, 4000) == stripped
    else:
        with pytest.raises(ValidationFailed):
            validation.body(body, 4000)


@given(st.text(max_size=90))
def test_channel_names(name: str) -> None:
    normal = name.strip().lower()
    if re.fullmatch(r"[a-z0-9_-]{1,80}", normal):
        assert validation.channel_name(name) == normal
    else:
        with pytest.raises(ValidationFailed):
            validation.channel_name(name)


def test_limit() -> None:
    assert validation.limit(None) == 50
    assert validation.limit("500") == 200
    assert validation.limit("1") == 1
    for bad in ("0", "-3", "x", "1.5"):
        with pytest.raises(ValidationFailed):
            validation.limit(bad)


def test_empty_body_allowed_only_with_files() -> None:
    assert validation.body("  ", 10, allow_empty=True) == ""
    with pytest.raises(ValidationFailed):
        validation.body("  ", 10)


def test_failure_window() -> None:
    clock = ManualClock()
    window = FailureWindow(clock, limit=3, window_s=60)
    for _ in range(3):
        assert window.retry_after("k") == 0
        window.fail("k")
    assert 59 <= window.retry_after("k") <= 60
    clock.advance(30)
    assert 29 <= window.retry_after("k") <= 30
    clock.advance(31)
    assert window.retry_after("k") == 0
    window.fail("k")
    window.reset("k")
    assert window.retry_after("k") == 0


def test_json_integers_are_strict_and_query_integers_parse_text() -> None:
    assert validation.integer(3, "n") == 3
    for bad in ("3", "x", 3.0, True, None):
        with pytest.raises(ValidationFailed):
            validation.integer(bad, "n")
    assert validation.query_integer(" 3 ", "n") == 3
    assert validation.query_integer(3, "n") == 3
    with pytest.raises(ValidationFailed):
        validation.query_integer("3.5", "n")
