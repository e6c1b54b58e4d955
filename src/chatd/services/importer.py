"""`chatd import`: an export archive into an empty service, of either backend, as it was.

The whole import is one write transaction: it starts by checking the service is empty and
ends by checking the archive's manifest, so an import either lands whole or leaves nothing
(file contents placed meanwhile are removed again). Rows are inserted as they were exported,
ids, seqs, times, hashes and password hashes included; the search index, which archives do
not carry, is rebuilt afterwards by the ordinary catch-up.

The archive is read as a stream (a `tar` in `r|gz` mode), one member after another, so its
size does not matter to memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from chatd.db.database import Database
from chatd.services import archive
from chatd.services.archive import ArchiveError, Progress
from chatd.services.files import Files
from chatd.services.search import SearchIndexer
from chatd.store import archive as archive_store

INSERT_ROWS = 1000
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_TABLE_MEMBER_RE = re.compile(r"tables/([A-Za-z0-9_]+)/\d+\.jsonl")
_SAVEPOINT = "chatd_import"


@dataclass
class ImportReport:
    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    file_bytes: int = 0


class Importer:
    def __init__(self, db: Database, files: Files, indexer: SearchIndexer) -> None:
        self.db = db
        self.files = files
        self.indexer = indexer

    async def load(self, source: Path, progress: Progress) -> ImportReport:
        if not await asyncio.to_thread(source.is_file):
            raise ArchiveError(f"{source} is not a file")
        placed: list[Path] = []
        outcome = await self.db.write(self._load, source, placed, progress)
        if isinstance(outcome, ArchiveError):
            await asyncio.to_thread(_remove, placed)
            raise outcome
        progress("rebuilding the search index ...")
        started = time.monotonic()
        await self.indexer.rebuild()
        progress(f"search index rebuilt in {time.monotonic() - started:.1f} s")
        return outcome

    def _load(
        self, conn: Any, source: Path, placed: list[Path], progress: Progress
    ) -> ImportReport | ArchiveError:
        """Runs as one write. A failure rolls back to a savepoint and is returned, not raised:
        the writer would otherwise run the whole operation a second time to isolate it."""
        archive_store.savepoint(conn, _SAVEPOINT)
        try:
            report = self._load_all(conn, source, placed, progress)
        except ArchiveError as exc:
            archive_store.rollback_to(conn, _SAVEPOINT)
            return exc
        except (OSError, tarfile.TarError, EOFError) as exc:
            archive_store.rollback_to(conn, _SAVEPOINT)
            return ArchiveError(f"{source} cannot be read as a chatd archive: {exc}")
        except Exception as exc:
            archive_store.rollback_to(conn, _SAVEPOINT)
            return ArchiveError(f"the archive does not fit this service's database: {exc}")
        archive_store.release(conn, _SAVEPOINT)
        return report

    def _load_all(
        self, conn: Any, source: Path, placed: list[Path], progress: Progress
    ) -> ImportReport:
        archive_store.long_transaction(conn)
        target = {t.name: t for t in archive.carried(archive_store.tables(conn))}
        busy = [name for name in target if archive_store.has_rows(conn, name)]
        if busy:
            raise ArchiveError(
                "the service is not empty (it has " + ", ".join(busy) + "); import only into a "
                "new one: a fresh data directory, or an empty PostgreSQL database"
            )
        report = ImportReport()
        with tarfile.open(source, "r|gz") as tar:
            members = iter(tar)
            first = next(members, None)
            if first is None or first.name != archive.HEADER:
                raise ArchiveError(f"{source} is not a chatd archive (no {archive.HEADER})")
            columns = self._check_header(archive.read_json(tar.extractfile(first), first.name))
            manifest: dict[str, Any] | None = None
            for member in members:
                stream = tar.extractfile(member) if member.isfile() else None
                if stream is None or manifest is not None:
                    raise ArchiveError(f"unexpected member {member.name!r} in the archive")
                if member.name.removeprefix("keys/") in archive.KEY_FILES:
                    self._key(member.name.removeprefix("keys/"), stream, placed)
                elif member.name.startswith("files/"):
                    self._place(member.name, stream, placed, report)
                    if report.files % 1000 == 0:
                        progress(f"files: {report.files:,}")
                elif found := _TABLE_MEMBER_RE.fullmatch(member.name):
                    table = found.group(1)
                    self._rows(conn, target.get(table), columns, stream, member.name, report)
                    progress(f"{table}: {report.counts[table]:,}")
                elif member.name == archive.MANIFEST:
                    manifest = archive.read_json(stream, member.name)
                else:
                    raise ArchiveError(f"unexpected member {member.name!r} in the archive")
        if manifest is None:
            raise ArchiveError(f"{source} is cut off: it ends before its {archive.MANIFEST}")
        expected = {"tables": manifest.get("tables"), "files": manifest.get("files")}
        found_counts = {"tables": {t: report.counts.get(t, 0) for t in columns}}
        found_counts["files"] = report.files  # type: ignore[assignment]
        if expected != found_counts:
            raise ArchiveError(f"{source} does not hold what its manifest lists")
        archive_store.after_import(conn)
        return report

    @staticmethod
    def _check_header(header: dict[str, Any]) -> dict[str, list[str]]:
        """Archive table -> the columns its rows list, once the header is known good."""
        if header.get("format") != archive.FORMAT or header.get("version") != archive.VERSION:
            raise ArchiveError(
                f"not a chatd archive of version {archive.VERSION} "
                f"(format {header.get('format')!r}, version {header.get('version')!r})"
            )
        tables = header.get("tables")
        if not isinstance(tables, list):
            raise ArchiveError(f"{archive.HEADER}: tables: not a list")
        found: dict[str, list[str]] = {}
        for entry in tables:
            name = entry.get("name") if isinstance(entry, dict) else None
            cols = entry.get("columns") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not isinstance(cols, list):
                raise ArchiveError(f"{archive.HEADER}: tables: an entry lacks name or columns")
            found[name] = [str(c) for c in cols]
        return found

    def _key(self, name: str, stream: IO[bytes], placed: list[Path]) -> None:
        """A key file replaces the empty service's own: the imported records depend on it."""
        target = self.files.root / name
        existed = target.exists()
        partial = self.files.tmp / f"import-{name}.part"
        partial.write_bytes(stream.read())
        partial.chmod(0o600)
        os.replace(partial, target)
        if not existed:
            placed.append(target)

    def _place(
        self, name: str, stream: IO[bytes], placed: list[Path], report: ImportReport
    ) -> None:
        """Content into `files/`, checked against the hash that names it."""
        sha256 = name.removeprefix("files/")
        if not _SHA256_RE.fullmatch(sha256):
            raise ArchiveError(f"unexpected member {name!r} in the archive")
        target = self.files.blob_path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = self.files.tmp / f"import-{sha256}.part"
        digest = hashlib.sha256()
        size = 0
        with open(partial, "wb") as out:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            partial.unlink()
            raise ArchiveError(f"{name}: the content does not match its sha256")
        if target.exists():
            partial.unlink()
        else:
            os.replace(partial, target)
            placed.append(target)
        report.files += 1
        report.file_bytes += size

    def _rows(
        self,
        conn: Any,
        target: archive_store.Table | None,
        columns: dict[str, list[str]],
        stream: IO[bytes],
        where: str,
        report: ImportReport,
    ) -> None:
        table = where.split("/")[1]
        if table not in columns:
            raise ArchiveError(f"{where}: table {table!r} is not in {archive.HEADER}")
        names = columns[table]
        if target is None:
            raise ArchiveError(
                f"the archive holds rows of table {table!r}, which this chatd does not have: "
                "import it with the chatd version that wrote it, or a newer one"
            )
        unknown = [c for c in names if c not in target.columns]
        if unknown:
            raise ArchiveError(
                f"the archive's table {table!r} has columns this chatd does not have: "
                + ", ".join(unknown)
            )
        added = 0
        for group in _groups(stream, len(names), where):
            added += archive_store.insert(conn, target.name, names, group)
        report.counts[table] = report.counts.get(table, 0) + added


def _groups(stream: IO[bytes], width: int, where: str) -> Iterator[list[list[Any]]]:
    group: list[list[Any]] = []
    for line in stream:
        if not line.strip():
            continue
        values = archive.decode_row(line, where)
        if len(values) != width:
            raise ArchiveError(f"{where}: a row has {len(values)} values, not {width}")
        group.append(values)
        if len(group) >= INSERT_ROWS:
            yield group
            group = []
    if group:
        yield group


def _remove(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
