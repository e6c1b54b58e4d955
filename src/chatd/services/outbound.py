"""The one HTTP client that integrations use to call out (commands, outgoing hooks, Web Push).

Rules, whoever calls: only `http` and `https` URLs; redirects are never followed (a 3xx is an
answer like any other non-2xx); and no connection to an address in
`integrations.deny_networks` (by default link-local, where cloud metadata services live).
The address is checked where the connection is made: the host name is resolved
asynchronously, every address it resolves to is checked, and the socket connects to the
checked address itself, so a DNS answer that changes between a check and a connect (DNS
rebinding) cannot slip past. TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chatd.services import validation

if TYPE_CHECKING:
    import httpx

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_ANSWER_BYTES = 256 * 1024


class OutboundError(Exception):
    """A call out failed; the message is for people and names no secret."""


def check_url(value: Any, field: str = "url") -> str:
    """An integration's URL as given at creation: absolute http or https, at most 2000 chars."""
    url = validation.text(value, field)
    assert url is not None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise validation.fail(field, "must be an http or https URL")
    if len(url) > 2000 or validation.has_control(url):
        raise validation.fail(field, "must be at most 2000 characters, without control characters")
    return url


def where(url: str) -> str:
    """The host of a URL, for messages and logs (never its path, query or credentials)."""
    return urlsplit(url).hostname or "?"


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Outbound:
    """The client is made on the first call: httpx (with httpcore, anyio and its own CLI's
    imports) costs megabytes and tens of milliseconds at start, and a server without
    integrations or push never calls out."""

    def __init__(self, deny_networks: Iterable[str], timeout_s: float) -> None:
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in deny_networks)
        self.timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str],
        timeout_s: float | None = None,
    ) -> Answer:
        """POST and read at most 256 KiB of the answer, all within the timeout; any
        failure (refused, unreachable, too slow, too long) raises OutboundError."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise OutboundError("only http and https URLs are called")
        from chatd.services import guarded_http

        if self._client is None:
            self._client = guarded_http.client(self.networks, self.timeout_s)
        limit = self.timeout_s if timeout_s is None else timeout_s
        try:
            async with asyncio.timeout(limit):
                return await guarded_http.post(self._client, url, content, headers, limit)
        except TimeoutError:
            raise OutboundError(f"{where(url)} did not answer within {limit:g} s") from None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
