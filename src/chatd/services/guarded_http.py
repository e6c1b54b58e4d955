"""The httpx side of `outbound`: the address check inside httpcore's network backend, and
one POST with its answer read within a byte limit. Imported on the first call out."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from typing import Any

import httpcore
import httpx

from chatd.services.outbound import MAX_ANSWER_BYTES, Answer, Network, OutboundError, where


class Refused(httpcore.ConnectError):
    """The destination is in `integrations.deny_networks`."""


def _denied(address: str, networks: tuple[Network, ...]) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(
        c in network for c in candidates for network in networks if c.version == network.version
    )


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address check between resolving and connecting."""

    def __init__(self, networks: tuple[Network, ...]) -> None:
        self.networks = networks
        self.inner = httpcore.AnyIOBackend()

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to, after checking every address the name resolves to
        (one denied address refuses them all)."""
        try:
            ipaddress.ip_address(host)
            addresses = [host]
        except ValueError:
            loop = asyncio.get_running_loop()
            try:
                found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from None
            addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:
            if _denied(address, self.networks):
                raise Refused(f"{host} resolves to {address}, in integrations.deny_networks")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the checked addresses themselves, in order, never to the name."""
        failure: Exception | None = None
        for address in await self.resolve(host, port):
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("integrations never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, networks: tuple[Network, ...]) -> None:
        super().__init__(trust_env=False)  # no proxy from the environment
        # httpx takes no network backend, so its pool is rebuilt with one (same defaults)
        self._pool = httpcore.AsyncConnectionPool(
            # SSL_CERT_FILE / SSL_CERT_DIR (OpenSSL's own variables) name a private CA to
            # trust, as on a LAN with its own; proxies from the environment stay off
            ssl_context=httpx.create_ssl_context(trust_env=True),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(networks),
        )


def client(networks: tuple[Network, ...], timeout_s: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=_GuardedTransport(networks),
        follow_redirects=False,
        trust_env=False,
        timeout=timeout_s,
        headers={"User-Agent": "chatd-integrations"},
    )


async def post(
    http: httpx.AsyncClient, url: str, content: bytes, headers: Mapping[str, str], limit: float
) -> Answer:
    """POST `content`; the answer, or OutboundError naming the host (never the URL's path,
    query or credentials)."""
    try:
        return await _post(http, url, content, headers, limit)
    except httpx.TimeoutException:
        raise OutboundError(f"{where(url)} did not answer within {limit:g} s") from None
    except httpx.HTTPError as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, Refused) else exc
        text = str(cause) or type(cause).__name__
        raise OutboundError(f"calling {where(url)} failed: {text}") from None


async def _post(
    http: httpx.AsyncClient, url: str, content: bytes, headers: Mapping[str, str], limit: float
) -> Answer:
    request = http.build_request("POST", url, content=content, headers=headers, timeout=limit)
    response = await http.send(request, stream=True)
    try:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise OutboundError(f"{where(url)} answered more than {MAX_ANSWER_BYTES} bytes")
            chunks.append(chunk)
    finally:
        await response.aclose()
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return Answer(response.status_code, kind, b"".join(chunks))
