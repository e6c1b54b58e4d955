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
import re
import secrets
from pathlib import Path

KEY_FILE = "integrations.key"
KEY_RE = re.compile(r"[0-9a-f]{64}")


class KeyFileError(ValueError):
    """The key file exists but holds no key (cut short, or edited)."""


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
        """Read the key file, creating it (mode 0600) on first use. Blocking: call on a thread.

        The key is written under a name of its own and then linked into place, so a node
        starting at the same moment on the shared data directory finds either no key file
        or the whole key, never an empty file: an empty key would make every secret
        computable from the integration's id. A file that holds no key is refused."""
        path = data_dir / KEY_FILE
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            text = secrets.token_hex(32)
            draft = data_dir / f".{KEY_FILE}.{secrets.token_hex(8)}"
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(text + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                os.link(draft, path)  # fails if another process put its key there first
            except FileExistsError:
                return cls.load(data_dir)
            finally:
                draft.unlink(missing_ok=True)
        if not KEY_RE.fullmatch(text):
            raise KeyFileError(
                f"{path} does not hold a key (64 hex digits): restore it from a backup; "
                "deleting it makes a new key and changes every integration's secret"
            )
        return cls(bytes.fromhex(text))

    def secret(self, purpose: str, item_id: str) -> str:
        """The secret of one integration (`purpose`: webhook, command or outgoing)."""
        mac = hmac.new(self._key, f"{purpose}:{item_id}".encode(), hashlib.sha256)
        return _b64(mac.digest())
