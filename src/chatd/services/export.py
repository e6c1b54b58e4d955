"""`chatd export`: the whole service in one archive, consistent while the server runs.

Everything is read in one read transaction, a snapshot no concurrent commit changes, so the
archive is one moment of the service. File contents are written first: they are immutable
and named by their hash, and a content file can only vanish (the orphan sweep removing an
upload never attached to a message) after the snapshot was taken; such a file is left out
together with its rows, so the archive stays consistent. The archive is written next to its
destination and renamed into place only when complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatd import __version__
from chatd.clock import Clock, now_ms
from chatd.db.database import Database
from chatd.services import archive
from chatd.services.archive import ArchiveError, Progress
from chatd.services.files import Files
from chatd.store import archive as archive_store
from chatd.store import files as file_store


@dataclass
class ExportReport:
    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    file_bytes: int = 0
    files_left_out: int = 0
    archive_bytes: int = 0


class Exporter:
    def __init__(self, db: Database, files: Files, clock: Clock, backend: str) -> None:
        self.db = db
        self.files = files
        self.clock = clock
        self.backend = backend

    async def export(self, dest: Path, progress: Progress) -> ExportReport:
        if await asyncio.to_thread(dest.exists):
            raise ArchiveError(f"{dest} exists; choose a new file name")
        partial = dest.with_name(dest.name + ".part")
        report = ExportReport(dest)
        try:
            await self.db.read(self._write, partial, report, progress)
            os.replace(partial, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(partial.unlink)
        report.archive_bytes = (await asyncio.to_thread(dest.stat)).st_size
        return report

    def _write(self, conn: Any, partial: Path, report: ExportReport, progress: Progress) -> None:
        """Runs in the read transaction: the whole archive is this one snapshot."""
        archive_store.long_transaction(conn)
        tables = archive.carried(archive_store.tables(conn))
        now = time.time()
        header = {
            "format": archive.FORMAT,
            "version": archive.VERSION,
            "chatd": __version__,
            "backend": self.backend,
            "exported_at": now_ms(self.clock),
            "tables": [{"name": t.name, "columns": list(t.columns)} for t in tables],
        }
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            archive.add_json(tar, archive.HEADER, header, now)
            for name in archive.KEY_FILES:
                with contextlib.suppress(FileNotFoundError):
                    data = (self.files.root / name).read_bytes()
                    archive.add_bytes(tar, f"keys/{name}", data, now)
            left_out = self._write_files(tar, file_store.all_blobs(conn), report, progress)
            for table in tables:
                count = self._write_table(conn, tar, table, left_out, now, progress)
                report.counts[table.name] = count
                progress(f"{table.name}: {count:,}")
            manifest = {"tables": report.counts, "files": report.files}
            archive.add_json(tar, archive.MANIFEST, manifest, now)

    def _write_files(
        self, tar: tarfile.TarFile, hashes: list[str], report: ExportReport, progress: Progress
    ) -> set[str]:
        left_out: set[str] = set()
        for sha256 in hashes:
            try:
                info = tar.gettarinfo(self.files.blob_path(sha256), f"files/{sha256}")
                with open(self.files.blob_path(sha256), "rb") as handle:
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    tar.addfile(info, handle)
            except FileNotFoundError:
                left_out.add(sha256)  # swept after the snapshot: its rows stay out too
                continue
            report.files += 1
            report.file_bytes += info.size
            if report.files % 1000 == 0:
                progress(f"files: {report.files:,}")
        report.files_left_out = len(left_out)
        progress(f"files: {report.files:,} ({report.file_bytes:,} bytes)")
        return left_out

    @staticmethod
    def _write_table(
        conn: Any,
        tar: tarfile.TarFile,
        table: archive_store.Table,
        gone: set[str],
        now: float,
        progress: Progress,
    ) -> int:
        """Rows in members of `CHUNK_ROWS`; rows of content left out are skipped (`gone` gains
        the ids of file rows skipped, so rows pointing at them are skipped as well)."""
        sha_at = table.columns.index("sha256") if "sha256" in table.columns else None
        file_at = table.columns.index("file_id") if "file_id" in table.columns else None
        lines: list[str] = []
        written = part = 0

        def flush() -> None:
            nonlocal lines, part
            if lines:
                part += 1
                data = ("\n".join(lines) + "\n").encode()
                archive.add_bytes(tar, f"tables/{table.name}/{part:06d}.jsonl", data, now)
                lines = []

        for chunk in archive_store.rows(conn, table):
            for row in chunk:
                if gone and (
                    (sha_at is not None and row[sha_at] in gone)
                    or (file_at is not None and row[file_at] in gone)
                ):
                    if table.name == "files":
                        gone.add(str(row[0]))
                    continue
                lines.append(archive.encode_row(row))
                written += 1
            if len(lines) >= archive.CHUNK_ROWS:
                flush()
            if written // archive.PROGRESS_EVERY > (written - len(chunk)) // archive.PROGRESS_EVERY:
                progress(f"{table.name}: {written:,} ...")
        flush()
        return written
