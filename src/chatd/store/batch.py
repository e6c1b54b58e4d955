"""Ids in groups small enough for one `IN (...)` (SQLite bounds the number of parameters)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

GROUP = 500


def in_groups(ids: Sequence[str]) -> Iterator[tuple[list[str], str]]:
    """Each group of ids, with its placeholders: `for group, marks in in_groups(ids)`."""
    for start in range(0, len(ids), GROUP):
        group = list(ids[start : start + GROUP])
        yield group, ",".join("?" * len(group))
