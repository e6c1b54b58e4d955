"""Web Push (RFC 8030): subscriptions, and sending encrypted pushes from a bounded queue.

Payloads are encrypted per RFC 8291 (`aes128gcm`, http_ece) and signed per RFC 8292 (VAPID,
py_vapid): both are web-push-libs' own libraries, the ones pywebpush is built on; chatd only
does the HTTP, through the integrations' outbound client (async httpx, deny_networks checked
where it connects), so no call blocks the event loop (the key agreement and signing,
a millisecond or so, run on a thread). The VAPID key pair is made once and kept in the
database, so subscriptions survive restarts and every node signs with the same key.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from chatd.clock import Clock, now_ms
from chatd.db.database import Database
from chatd.log import event
from chatd.models import User
from chatd.services import validation
from chatd.services.outbound import Outbound, OutboundError, where
from chatd.store import notify as store

if TYPE_CHECKING:
    import py_vapid

log = logging.getLogger("chatd.push")

TTL_S = 86_400  # a day: a notification older than that is news no more
MAX_SUBSCRIPTIONS = 20  # per user; the oldest goes when a 21st browser subscribes
MAX_ENDPOINT_CHARS = 2048
QUEUE_SIZE = 1000  # pushes waiting; beyond that new ones are dropped and logged
SENDERS = 4  # pushes in flight at once


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_field(keys: dict[str, Any], name: str, size: int) -> str:
    value = keys.get(name)
    if not isinstance(value, str):
        raise validation.fail(f"keys.{name}", "required, base64url")
    try:
        raw = unb64url(value)
    except (binascii.Error, ValueError):
        raise validation.fail(f"keys.{name}", "is not base64url") from None
    if len(raw) != size:
        raise validation.fail(f"keys.{name}", f"must be {size} bytes")
    if name == "p256dh":
        try:
            from cryptography.hazmat.primitives.asymmetric import ec

            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError:
            raise validation.fail("keys.p256dh", "is not a P-256 public key") from None
    return value


def endpoint(value: Any) -> str:
    """A push service URL: https (every browser's push service is), at most 2048 chars."""
    if not isinstance(value, str) or not value:
        raise validation.fail("endpoint", "required, the push service URL")
    if len(value) > MAX_ENDPOINT_CHARS or validation.has_control(value):
        raise validation.fail("endpoint", "is not a valid URL")
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise validation.fail("endpoint", "must be an https URL")
    return value


@dataclass(frozen=True)
class Push:
    subscription: store.Subscription
    payload: bytes


class PushService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        subject: Callable[[], str],
        outbound: Outbound,
    ) -> None:
        self.db = db
        self.clock = clock
        self.outbound = outbound  # integrations' guarded client: deny_networks, no redirects
        self.subject = subject  # the VAPID `sub`: how a push service reaches the operator
        self._vapid: py_vapid.Vapid02 | None = None
        self._public_key = ""
        self._loading = asyncio.Lock()
        self._queue: asyncio.Queue[Push] = asyncio.Queue(QUEUE_SIZE)

    async def public_key(self) -> str:
        """The VAPID public key (base64url), made with its private key on first use.

        Loaded when first asked for, not at start: the crypto libraries cost megabytes and
        tens of milliseconds, and a team that never turns notifications on never needs them.
        The first node to store a key pair wins; every node then uses that one."""
        if not self._public_key:
            async with self._loading:
                if not self._public_key:
                    await self._load_keys()
        return self._public_key

    async def _load_keys(self) -> None:
        import py_vapid  # loaded on first use (see public_key)
        from cryptography.hazmat.primitives import serialization

        pem = await self.db.read(store.stored_key, "vapid_private_pem")
        if pem is None:
            fresh = py_vapid.Vapid02()
            fresh.generate_keys()
            pem = await self.db.write(store.key, "vapid_private_pem", fresh.private_pem().decode())
        vapid = py_vapid.Vapid02.from_pem(pem.encode())
        raw = vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self._vapid, self._public_key = vapid, b64url(raw)

    # ---- subscriptions ---------------------------------------------------------------

    async def subscribe(self, user: User, url: Any, keys: Any) -> None:
        where = endpoint(url)
        if not isinstance(keys, dict):
            raise validation.fail("keys", "required: {p256dh, auth}")
        p256dh = _key_field(keys, "p256dh", 65)
        auth = _key_field(keys, "auth", 16)
        now = now_ms(self.clock)

        def add(conn: sqlite3.Connection) -> None:
            store.unsubscribe(conn, where)  # re-subscribing the same endpoint is no new one
            while store.subscription_count(conn, user.id) >= MAX_SUBSCRIPTIONS:
                oldest = store.oldest_subscription(conn, user.id)
                assert oldest is not None
                store.unsubscribe(conn, oldest)
            store.subscribe(conn, user.id, where, p256dh, auth, now)

        await self.db.write(add)

    async def unsubscribe(self, user: User, url: Any) -> None:
        """Removing an endpoint one does not own is a no-op, like removing an unknown one."""
        if not isinstance(url, str) or not url:
            raise validation.fail("endpoint", "required, the push service URL")
        await self.db.write(store.unsubscribe, url, user.id)

    # ---- sending -----------------------------------------------------------------------

    def enqueue(self, subscription: store.Subscription, payload: dict[str, Any]) -> None:
        """Queue one push; never waits (a full queue drops it and says so in the log)."""
        try:
            self._queue.put_nowait(Push(subscription, orjson.dumps(payload)))
        except asyncio.QueueFull:
            event(log, logging.WARNING, "push.dropped", reason="queue full")

    def _encrypt(self, push: Push) -> tuple[bytes, dict[str, str]]:
        """RFC 8291 body and RFC 8292 headers; runs on a thread (EC key agreement, signing)."""
        import http_ece  # loaded on first use (see public_key)
        from cryptography.hazmat.primitives.asymmetric import ec

        assert self._vapid is not None
        sub = push.subscription
        body = http_ece.encrypt(
            push.payload,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=unb64url(sub.p256dh),
            auth_secret=unb64url(sub.auth),
            version="aes128gcm",
        )
        parts = urlsplit(sub.endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(self.clock.now()) + 12 * 3600,
            "sub": self.subject(),
        }
        headers = dict(self._vapid.sign(claims))
        headers.update(
            {
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "TTL": str(TTL_S),
                "Urgency": "high",
            }
        )
        return body, headers

    async def _send(self, push: Push) -> None:
        host = where(push.subscription.endpoint)
        await self.public_key()  # the key pair, loaded once
        body, headers = await asyncio.to_thread(self._encrypt, push)
        try:
            answer = await self.outbound.post(
                push.subscription.endpoint, content=body, headers=headers
            )
        except OutboundError as exc:  # unreachable, too slow, or in integrations.deny_networks
            event(log, logging.WARNING, "push.failed", host=host, error=str(exc))
            return
        if answer.status in (404, 410):
            await self.db.write(store.unsubscribe, push.subscription.endpoint)
            event(log, logging.INFO, "push.subscription_gone", host=host)
        elif not answer.ok:
            event(log, logging.WARNING, "push.refused", host=host, status=answer.status)

    async def _worker(self) -> None:
        while True:
            push = await self._queue.get()
            try:
                await self._send(push)
            except Exception:
                log.exception("push.send_failed")

    async def run(self) -> None:
        """The senders: a few at once, each taking the next push from the queue."""
        workers = [
            asyncio.create_task(self._worker(), name=f"chatd-push-{i}") for i in range(SENDERS)
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
