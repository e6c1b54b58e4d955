"""The integrations key file: made once, whole, and the same for every process that loads it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chatd.services.keyring import KEY_FILE, KeyFileError, Keyring


def test_made_once_and_shared(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:  # nodes starting together on one shared directory
        keys = list(pool.map(lambda _: Keyring.load(tmp_path), range(32)))
    assert len({k.secret("webhook", "h1") for k in keys}) == 1
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]  # no draft left behind
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert Keyring.load(tmp_path).secret("webhook", "h1") == keys[0].secret("webhook", "h1")


@pytest.mark.parametrize("content", ["", "\n", "abc", "zz" * 32])
def test_a_file_without_a_key_is_refused(tmp_path: Path, content: str) -> None:
    """An empty key (a file seen before its key was written) would make every secret
    computable from an id: it is refused, never used."""
    (tmp_path / KEY_FILE).write_text(content)
    with pytest.raises(KeyFileError, match="does not hold a key"):
        Keyring.load(tmp_path)
