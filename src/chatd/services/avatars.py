"""Avatars: an uploaded image becomes a small square WebP that carries nothing of the original.

Decoding untrusted images is the risky part, so it happens on a thread (never on the event
loop), only for the four formats the contract names (Pillow is told not to try any other
decoder), and only after the header's pixel count passed a limit: a small file that claims
to be 50,000 x 50,000 pixels is refused before a single pixel is decoded. Re-encoding from
pixels drops EXIF, ICC profiles, comments and any trailing data; the EXIF orientation is
applied first so a phone photo is not shown on its side.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import sqlite3
import warnings
from collections.abc import Callable

from chatd.db.database import Database
from chatd.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from chatd.log import event
from chatd.models import User
from chatd.store import avatars, users

log = logging.getLogger("chatd.avatars")

MAX_AVATAR_BYTES = 5 * 1024 * 1024
MAX_SIDE = 256
MAX_PIXELS = 40_000_000  # about 7,000 x 5,700: any real photo, no decompression bomb
OUTPUT_TYPE = "image/webp"
ACCEPTED_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
FORMATS = ("PNG", "JPEG", "GIF", "WEBP")


def sniff(head: bytes) -> str | None:
    """The accepted format these first bytes announce, whatever the upload declared."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def check_type(data: bytes, declared: str | None) -> None:
    """415 for anything that is neither one of the four formats nor declared as one."""
    media = (declared or "").split(";")[0].strip().lower()
    if sniff(data[:16]) is None and media not in ACCEPTED_TYPES:
        raise UnsupportedMediaType("an avatar must be a PNG, JPEG, GIF or WebP image")


def square(data: bytes, side: int = MAX_SIDE, max_pixels: int = MAX_PIXELS) -> bytes:
    """The centre square of the image, at most `side` pixels wide, as WebP (blocking).
    Pillow is imported here, on the first avatar: it costs megabytes a server at rest
    should not carry."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    unreadable = ValidationFailed({"file": "is not a readable PNG, JPEG, GIF or WebP image"})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if width < 1 or height < 1:
                    raise unreadable
                if width * height > max_pixels:
                    raise ValidationFailed(
                        {"file": f"has more than {max_pixels} pixels"}, "the image is too large"
                    )
                image.seek(0)  # an animation keeps its first frame
                upright = ImageOps.exif_transpose(image)
                edge = min(upright.size)
                left = (upright.width - edge) // 2
                top = (upright.height - edge) // 2
                cropped = upright.crop((left, top, left + edge, top + edge))
                has_alpha = cropped.mode in ("RGBA", "LA", "PA") or (
                    cropped.mode == "P" and "transparency" in cropped.info
                )
                pixels = cropped.convert("RGBA" if has_alpha else "RGB")
                if edge > side:
                    pixels = pixels.resize((side, side), Image.Resampling.LANCZOS)
                out = io.BytesIO()
                pixels.save(out, "WEBP", quality=85, method=4)
                return out.getvalue()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise unreadable from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationFailed({"file": "has too many pixels"}, "the image is too large") from exc


class Avatars:
    def __init__(self, db: Database, announce: Callable[[User], None]) -> None:
        self.db = db
        self._announce = announce  # `user.updated` to everyone who sees the user
        self._decodes = asyncio.Semaphore(2)  # bounds the memory of decodes running at once

    async def set(self, user_id: str, data: bytes, declared: str | None) -> User:
        if len(data) > MAX_AVATAR_BYTES:
            raise PayloadTooLarge(f"an avatar is at most {MAX_AVATAR_BYTES} bytes")
        check_type(data, declared)
        async with self._decodes:
            encoded = await asyncio.to_thread(square, data)
        key = hashlib.sha256(encoded).hexdigest()[:16]

        def store(conn: sqlite3.Connection) -> User | None:
            avatars.put(conn, user_id, key, OUTPUT_TYPE, encoded)
            return users.get(conn, user_id)

        user = await self.db.write(store)
        if user is None:
            raise NotFound("no such user")
        self._announce(user)
        event(log, logging.INFO, "avatar.set", user_id=user_id, bytes=len(encoded))
        return user

    async def remove(self, user_id: str) -> User:
        def drop(conn: sqlite3.Connection) -> User | None:
            avatars.remove(conn, user_id)
            return users.get(conn, user_id)

        user = await self.db.write(drop)
        if user is None:
            raise NotFound("no such user")
        self._announce(user)
        return user

    async def image(self, user_id: str) -> tuple[str, str, bytes]:
        """(key, content type, bytes) of a user's avatar; 404 when they have none."""
        found = await self.db.read(avatars.get, user_id)
        if found is None:
            raise NotFound("this user has no avatar")
        return found
