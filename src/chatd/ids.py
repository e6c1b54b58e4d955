"""Opaque identifiers: random, URL-safe, never sequential."""

from __future__ import annotations

import secrets


def new_id() -> str:
    """128 random bits in 22 URL-safe characters."""
    return secrets.token_urlsafe(16)
