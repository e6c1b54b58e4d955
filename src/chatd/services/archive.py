"""The export archive's format and which tables it carries; shared by export and import.

An archive is one gzip'd tar, read and written as a stream, in this order:

- `chatd-archive.json`: format and version, the exporting backend and chatd version, and
  every carried table with its columns (in the order the rows list them);
- `keys/<name>`: the data directory's key files (`KEY_FILES`) that exist, such as the key
  webhook URLs are derived from, so integrations keep working after a move;
- `files/<sha256>`: the content of every stored file, once per hash;
- `tables/<table>/<n>.jsonl`: the rows, parents before children, at most `CHUNK_ROWS`
  rows per member, one JSON array per line (bytes as `{"$b64": "..."}`);
- `manifest.json`: how many rows of each table and how many files were written, so an
  import can tell a whole archive from a cut-off one.

Every table of the schema is carried unless `EXCLUDED` names it (with the reason) or it is
derived data the database itself describes as such (full-text indexes), which an import
rebuilds. A table added by a later migration is therefore exported and imported with no code
of its own; `tests/test_archive.py` fails until each new table is reviewed into one list or
the other.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
from collections.abc import Callable
from typing import IO, Any

from chatd.errors import BadRequest
from chatd.services import keyring
from chatd.store.archive import Table

FORMAT = "chatd-archive"
VERSION = 1
HEADER = "chatd-archive.json"
MANIFEST = "manifest.json"
CHUNK_ROWS = 20_000
PROGRESS_EVERY = 100_000

# Tables never exported, and why. Everything else is.
EXCLUDED: dict[str, str] = {
    "sessions": "sign-in sessions: tokens are not exported, people sign in again",
    "meta": "the running service's own counters (revocation epoch, probes)",
    "search_changes": "edits waiting for the search index, which an import rebuilds whole",
    "command_responses": "a slash command's one-time response tokens, valid for 30 minutes",
    "schema_version": "PostgreSQL's migration bookkeeping: the importing service has its own",
    "email_pending": "messages waiting minutes for an email digest; a move is no time to mail",
    "nodes": "the running cluster's node registry (heartbeats), rebuilt by the nodes that run",
}

# Files of the data directory that records depend on; carried when they exist.
KEY_FILES = (keyring.KEY_FILE,)

Progress = Callable[[str], None]


class ArchiveError(BadRequest):
    """The archive cannot be written or read as asked; the message says why."""


def carried(schema: list[Table]) -> list[Table]:
    """The tables an archive holds, parents first."""
    return [t for t in schema if not t.derived and t.name not in EXCLUDED]


def encode_row(row: tuple[object, ...]) -> str:
    return json.dumps(
        [{"$b64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v for v in row],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode_row(line: bytes, where: str) -> list[Any]:
    try:
        values = json.loads(line)
    except ValueError as exc:
        raise ArchiveError(f"{where}: a line is not JSON ({exc})") from exc
    if not isinstance(values, list):
        raise ArchiveError(f"{where}: a line is not a JSON array")
    for i, value in enumerate(values):
        if isinstance(value, dict):
            try:
                values[i] = base64.b64decode(value["$b64"], validate=True)
            except (KeyError, ValueError, TypeError) as exc:
                raise ArchiveError(f"{where}: column {i + 1} is not a value") from exc
    return values


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def add_json(tar: tarfile.TarFile, name: str, value: Any, mtime: float) -> None:
    add_bytes(tar, name, json.dumps(value, indent=1).encode(), mtime)


def read_json(stream: IO[bytes] | None, name: str) -> dict[str, Any]:
    try:
        value = json.loads(stream.read() if stream else b"")
    except ValueError as exc:
        raise ArchiveError(f"{name} in the archive is not JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ArchiveError(f"{name} in the archive is not a JSON object")
    return value


def summary(counts: dict[str, int], files: int, file_bytes: int) -> str:
    """`3 users, 5 conversations, 1,204 messages (1,290 rows in 10 tables), 2 files (9 bytes)`"""
    main = ", ".join(
        f"{counts.get(name, 0):,} {name}" for name in ("users", "conversations", "messages")
    )
    rows = sum(counts.values())
    return (
        f"{main} ({rows:,} rows in {sum(1 for n in counts.values() if n)} tables), "
        f"{files:,} files ({file_bytes:,} bytes)"
    )
