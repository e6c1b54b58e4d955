"""Files: uploads streamed to disk, content stored once by sha256, access rules, orphan sweep.

An upload goes to `tmp/` while it is hashed and counted, on a thread, chunk by chunk; memory
stays flat whatever the size. Only a finished upload is moved into `files/ab/cdef...` (an
atomic rename on the same filesystem) and recorded; a cut-off or oversized one leaves
nothing. File names are metadata: no byte of a name ever reaches a filesystem path.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import mimetypes
import os
import re
import secrets
import shutil
import sqlite3
import unicodedata
from pathlib import Path
from typing import IO

from chatd import metrics
from chatd.clock import Clock, now_ms
from chatd.config import Config
from chatd.db.database import Database
from chatd.errors import NotFound, PayloadTooLarge, Unavailable
from chatd.ids import new_id
from chatd.log import event
from chatd.models import File, User
from chatd.store import files

log = logging.getLogger("chatd.files")

_MEDIA_TYPE_RE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
# Types a browser would run or render as a document: never served as themselves.
_ACTIVE_TYPES = frozenset({
    "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
    "text/javascript", "application/javascript", "application/x-javascript",
    "application/ecmascript", "text/ecmascript", "text/xsl", "multipart/x-mixed-replace",
    "application/wasm", "text/vtt",
})  # fmt: skip
_INLINE_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp",
    "application/pdf",
})  # fmt: skip
SWEEP_BATCH = 500


def clean_name(raw: str) -> str:
    """A display name: last path component, no control characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if name in ("", ".", ".."):
        return "file"
    return name[:255]


def media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def stored_type(declared: str | None, name: str) -> str:
    """The declared type if it is well formed, else one guessed from the name."""
    if declared:
        declared = declared.strip()
        if _MEDIA_TYPE_RE.fullmatch(media_type(declared)) and len(declared) <= 127:
            return declared
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def served_type(content_type: str) -> str:
    kind = media_type(content_type)
    if kind in _ACTIVE_TYPES or kind.endswith("+xml") or "script" in kind:
        return "application/octet-stream"
    return content_type


def disposition(content_type: str) -> str:
    kind = media_type(served_type(content_type))
    inline = kind in _INLINE_TYPES or kind.startswith(("audio/", "video/"))
    return "inline" if inline else "attachment"


class Sink:
    """One upload in progress: a temporary file, its running sha256 and size."""

    def __init__(self, path: Path, limit: int, limit_message: str) -> None:
        self.path = path
        self.limit = limit
        self.limit_message = limit_message
        self.size = 0
        self._hash = hashlib.sha256()
        self._handle: IO[bytes] | None = None

    def _open(self) -> None:
        self._handle = open(self.path, "xb")  # noqa: SIM115 - closed in finish()/discard()

    def _write(self, data: bytes) -> None:
        assert self._handle is not None
        self._hash.update(data)
        self._handle.write(data)

    async def write(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            raise PayloadTooLarge(self.limit_message)
        await asyncio.to_thread(self._write, data)

    def _close(self, sync: bool) -> None:
        if self._handle is not None:
            if sync:
                self._handle.flush()
                os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def discard(self) -> None:
        self._close(sync=False)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class Files:
    def __init__(self, db: Database, clock: Clock, config: Config) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.root = config.storage.path
        self.tmp = self.root / "tmp"
        self.blobs = self.root / "files"
        self._blob_lock = asyncio.Lock()  # a rename-and-record never races a sweep's unlink

    def blob_path(self, sha256: str) -> Path:
        return self.blobs / sha256[:2] / sha256[2:]

    # ---- upload ------------------------------------------------------------------------

    async def begin(self, user: User, declared_length: int | None) -> Sink:
        """Check quota and disk space, then open a temporary file for the upload."""
        limits = self.config.limits
        limit, message = (
            limits.max_upload_bytes,
            f"uploads are limited to {limits.max_upload_bytes} bytes",
        )
        if limits.user_quota_bytes:
            used = await self.db.read(files.stored_bytes, user.id)
            room = limits.user_quota_bytes - used
            if room <= 0:
                raise PayloadTooLarge("your storage quota is used up")
            if room < limit:
                limit, message = room, "this upload would exceed your storage quota"
        if declared_length is not None and declared_length > limit + 64 * 1024:
            raise PayloadTooLarge(message)  # the multipart framing is not counted
        free = (await asyncio.to_thread(shutil.disk_usage, self.root)).free
        if free - (declared_length or 0) < self.config.storage.min_free_bytes:
            raise Unavailable("the server is low on disk space")
        sink = Sink(self.tmp / f"{secrets.token_hex(16)}.part", limit, message)
        await asyncio.to_thread(sink._open)
        return sink

    async def finish(
        self, user: User, sink: Sink, raw_name: str, declared_type: str | None
    ) -> File:
        """Move a complete upload into place (once per content) and record it."""
        await asyncio.to_thread(sink._close, True)
        name = clean_name(raw_name)
        record = File(
            id=new_id(),
            name=name,
            size=sink.size,
            content_type=stored_type(declared_type, name),
            sha256=sink.sha256,
            created_at=now_ms(self.clock),
            uploader_id=user.id,
        )
        target = self.blob_path(record.sha256)
        async with self._blob_lock:
            await asyncio.to_thread(self._place, sink, target)
            await self.db.write(files.insert, record)
        metrics.UPLOAD_BYTES.inc(record.size)
        event(log, logging.INFO, "file.uploaded", file_id=record.id, size=record.size,
              user_id=user.id)  # fmt: skip
        return record

    @staticmethod
    def _place(sink: Sink, target: Path) -> None:
        if target.exists():
            sink.discard()  # the same bytes are already stored
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(sink.path, target)

    # ---- download ----------------------------------------------------------------------

    async def open(self, user: User, file_id: str) -> tuple[File, Path]:
        found = await self.db.read(files.visible_to, file_id, user.id)
        if found is None:
            raise NotFound("no such file")
        return found, self.blob_path(found.sha256)

    # ---- orphans -----------------------------------------------------------------------

    async def sweep(self) -> int:
        """Remove uploads never attached to a message within `storage.orphan_ttl_s`."""
        cutoff = now_ms(self.clock) - self.config.storage.orphan_ttl_s * 1000
        removed = 0
        while True:
            async with self._blob_lock:
                found = await self.db.read(files.orphans, cutoff, SWEEP_BATCH)
                if not found:
                    return removed

                def delete(conn: sqlite3.Connection, ids: list[str] = found) -> list[str]:
                    gone = [files.delete(conn, file_id) for file_id in ids]
                    return [sha for sha in gone if sha is not None]

                unused = await self.db.write(delete)
                await asyncio.to_thread(self._unlink, unused)
            removed += len(found)
            event(log, logging.INFO, "file.orphans_removed", count=len(found))

    def _unlink(self, shas: list[str]) -> None:
        for sha in shas:
            with contextlib.suppress(FileNotFoundError):
                self.blob_path(sha).unlink()

    async def run_sweeper(self) -> None:
        interval = max(1.0, min(self.config.storage.orphan_ttl_s / 2, 600.0))
        while True:
            await asyncio.sleep(interval)
            try:
                if await self.db.leader("orphan-sweeper"):  # one node at a time
                    await self.sweep()
            except Exception:
                log.exception("file.sweep_failed")
