"""The secrets of integrations, derived from one key file instead of stored.

A webhook's URL secret, a command's verification token and an outgoing hook's signing secret
are each HMAC-SHA256(key, "<purpose>:<id>"): 256 bits that chatd can show or use again
whenever it needs them, while the database holds none of them (a webhook keeps only the
SHA-256 of its secret, to be found by it). The key lives in `integrations.key` in the data
directory, readable by its owner only; a copy of the database alone reveals no secret, and a
new key (deleting the file) changes every secret at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_FILE = "integrations.key"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def digest(secret: str) -> bytes:
    """What is stored to find a webhook by its secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


class Keyring:
    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def load(cls, data_dir: Path) -> Keyring:
        """Read the key file, creating it (mode 0600) on first use. Blocking: call on a thread."""
        path = data_dir / KEY_FILE
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            text = secrets.token_hex(32)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                return cls.load(data_dir)
            with os.fdopen(fd, "w") as handle:
                handle.write(text + "\n")
        return cls(bytes.fromhex(text))

    def secret(self, purpose: str, item_id: str) -> str:
        """The secret of one integration (`purpose`: webhook, command or outgoing)."""
        mac = hmac.new(self._key, f"{purpose}:{item_id}".encode(), hashlib.sha256)
        return _b64(mac.digest())
