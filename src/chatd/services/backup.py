"""`chatd backup`: a consistent copy of a live data directory that `chatd serve` can use as is.

The database is copied with SQLite's online backup (one consistent snapshot, taken while the
server keeps writing); then the content files that snapshot references are copied. Content
files are immutable and named by their hash, so a copy is never torn. A file that vanished
between the snapshot and the copy can only have been an unattached upload removed by the
orphan sweep; its rows are dropped from the copy so that the two stay consistent.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from chatd.db.database import online_copy
from chatd.services.keyring import KEY_FILE
from chatd.store import files


class BackupError(Exception):
    """The backup cannot be made where it was asked for."""


@dataclass(frozen=True)
class BackupReport:
    dest: Path
    files_copied: int
    files_dropped: int
    database_bytes: int


def _blob(root: Path, sha256: str) -> Path:
    return root / "files" / sha256[:2] / sha256[2:]


def backup(data_dir: Path, dest: Path) -> BackupReport:
    source_db = data_dir / "chatd.db"
    if not source_db.is_file():
        raise BackupError(f"no chatd database in {data_dir}")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory")
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "files").mkdir()
    (dest / "tmp").mkdir()
    copied = dropped = 0
    with online_copy(source_db, dest / "chatd.db") as target:
        for sha256 in files.all_blobs(target):
            origin = _blob(data_dir, sha256)
            if not origin.exists():
                files.forget_blob(target, sha256)
                dropped += 1
                continue
            _blob(dest, sha256).parent.mkdir(exist_ok=True)
            shutil.copy2(origin, _blob(dest, sha256))
            copied += 1
    key = data_dir / KEY_FILE  # integration secrets derive from it: URLs keep working
    if key.exists():
        shutil.copy2(key, dest / KEY_FILE)
    return BackupReport(dest, copied, dropped, (dest / "chatd.db").stat().st_size)
