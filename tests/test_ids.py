"""Identifiers: message ids sort by creation time and stay unguessable."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from chatd.ids import new_id, new_message_id

URL_SAFE_22 = re.compile(r"[A-Za-z0-9_-]{22}")
TIMES = st.integers(min_value=0, max_value=2**48 - 1)


@given(st.lists(TIMES, min_size=2, max_size=50))
def test_message_ids_sort_as_their_creation_times(times: list[int]) -> None:
    made = [(t, new_message_id(t)) for t in times]
    assert all(URL_SAFE_22.fullmatch(i) for _, i in made)
    by_id = [t for t, _ in sorted(made, key=lambda pair: pair[1])]
    assert by_id == sorted(times)


def test_message_ids_of_one_millisecond_differ_in_80_random_bits() -> None:
    ids = {new_message_id(1_796_000_000_000) for _ in range(2000)}
    assert len(ids) == 2000
    prefixes = {i[:8] for i in ids}  # 48 bits of time: 8 characters
    assert len(prefixes) == 1
    assert len({i[8:] for i in ids}) == 2000


def test_other_ids_stay_wholly_random() -> None:
    ids = [new_id() for _ in range(500)]
    assert len(set(ids)) == 500 and all(URL_SAFE_22.fullmatch(i) for i in ids)
    assert ids != sorted(ids)
