"""Configuration keys, each defined once as a field of its section class (`setting`), and
`Config`, which holds one of each section. Reading them (file, environment, flags), the
option table and the example file are derived from these fields in `chatd.config`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A configuration value or key is wrong; the message names it."""


def setting(
    default: Any,
    help: str,
    *,
    secret: bool = False,
    choices: tuple[str, ...] = (),
    minimum: int | None = None,
    maximum: int | None = None,
) -> Any:
    """Define one key: its default, help line and checks live on its dataclass field.

    A key is written once, as a field of its section class; the option table, the example
    file, the environment names and the redacted dump are all derived from these fields.
    Lists are given as tuples (the values are immutable). Mark anything credential-like
    `secret=True`: `Config.redacted()` and the start-up log then show it as `***`.
    """
    meta = {
        "help": help,
        "secret": secret,
        "choices": choices,
        "minimum": minimum,
        "maximum": maximum,
    }
    return field(default=default, metadata=meta)


def _check_networks(name: str, networks: tuple[str, ...]) -> None:
    """Every entry of a list of networks (`10.0.0.0/8`, `::1`) parses; the key names the bad one."""
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"{name}: {network!r} is not a network") from None


@dataclass(frozen=True)
class ServerConfig:
    host: str = setting("127.0.0.1", "address to listen on")
    port: int = setting(8080, "port to listen on", minimum=0, maximum=65535)
    public_url: str = setting(
        "",
        "the URL people open, when behind a proxy (used in printed links and the Origin check)",
    )
    allowed_origins: tuple[str, ...] = setting(
        (), "extra origins allowed for cookie-authenticated WebSockets"
    )
    trusted_proxies: tuple[str, ...] = setting(
        (), "proxy addresses whose X-Forwarded-For is believed"
    )
    shutdown_timeout_s: int = setting(10, "SIGTERM grace", minimum=1, maximum=3600)
    metrics_networks: tuple[str, ...] = setting(
        ("127.0.0.0/8", "::1/128"), "networks allowed to read /metrics"
    )
    # hardening: what one connection may cost before its request is read (as nginx bounds it)
    max_header_bytes: int = setting(
        32768, "largest request head (request line and headers) before 431", minimum=4096
    )
    max_headers: int = setting(100, "most header lines in one request before 431", minimum=16)
    header_timeout_s: int = setting(
        60,
        "seconds a connection has to send its request head (then closed; 408 if it sent part)",
        minimum=1,
        maximum=3600,
    )
    body_timeout_s: int = setting(
        60,
        "seconds a request body may stall between two reads before 408",
        minimum=1,
        maximum=3600,
    )
    # https served directly (push, notifications and the clipboard need a secure page)
    tls_cert_file: str = setting("", "PEM certificate chain; with tls_key_file, chatd speaks https")
    tls_key_file: str = setting("", "PEM private key of tls_cert_file")

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert_file)

    def __post_init__(self) -> None:
        _check_networks("server.metrics_networks", self.metrics_networks)

    def may_read_metrics(self, host: str) -> bool:
        """Whether a client at `host` (the forwarded address behind a trusted proxy) is in
        `metrics_networks`; anything that is not an IP address is not."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 client
        return any(
            address in ipaddress.ip_network(network, strict=False)
            for network in self.metrics_networks
        )


@dataclass(frozen=True)
class StorageConfig:
    data_dir: str = setting(
        "", 'database and files; empty means platformdirs user_data_dir("chatd")'
    )
    min_free_bytes: int = setting(104857600, "/readyz fails below this free space", minimum=0)
    orphan_ttl_s: int = setting(86400, "unattached uploads older than this are removed", minimum=1)
    synchronous: str = setting(
        "normal",
        "SQLite synchronous: normal survives a process crash, full also a power loss",
        choices=("normal", "full"),
    )
    # Scale-out (issue 16): several nodes share a PostgreSQL database instead.
    backend: str = setting(
        "sqlite",
        "sqlite (embedded, one node) or postgres (storage.postgres_url; several nodes)",
        choices=("sqlite", "postgres"),
    )
    postgres_url: str = setting(
        "",
        "libpq URL of the PostgreSQL database, e.g. postgresql://chatd:secret@db.lan/chatd",
        secret=True,
    )

    @property
    def path(self) -> Path:
        return Path(self.data_dir)


@dataclass(frozen=True)
class AuthConfig:
    registration: str = setting(
        "invite", "open, invite or closed", choices=("open", "invite", "closed")
    )
    session_ttl_days: int = setting(
        30, "a token expires this long after its last use", minimum=1, maximum=3650
    )
    login_max_failures: int = setting(
        10,
        "failed logins per username, and 5x that per IP, within login_window_s, before 429",
        minimum=1,
    )
    login_window_s: int = setting(900, "window of the login throttle", minimum=1)
    # the web client's second round
    default_channels: tuple[str, ...] = setting(
        ("general",),
        "channels created at setup that every new account joins; an empty list makes none",
    )


@dataclass(frozen=True)
class LimitsConfig:
    max_message_chars: int = setting(4000, "longest message body", minimum=1, maximum=100000)
    max_body_bytes: int = setting(1048576, "largest JSON request body", minimum=1024)
    max_upload_bytes: int = setting(104857600, "largest upload", minimum=1)
    user_quota_bytes: int = setting(0, "stored bytes per user, 0 = unlimited", minimum=0)
    ws_outbox_bytes: int = setting(
        4194304, "queued bytes per socket before it is closed with 4008", minimum=65536
    )
    webhook_per_minute: int = setting(
        60, "messages one incoming webhook may post per minute before 429", minimum=1
    )
    # hardening: limits on what one user can make or cost
    search_time_ms: int = setting(
        3000, "a search running longer is stopped (422: use more distinctive words)", minimum=1
    )


@dataclass(frozen=True)
class PresenceConfig:
    away_after_s: int = setting(300, "idle time before away", minimum=1)
    offline_grace_s: int = setting(10, "time without a socket before offline", minimum=0)


@dataclass(frozen=True)
class IntegrationsConfig:
    deny_networks: tuple[str, ...] = setting(
        ("169.254.0.0/16", "fe80::/10"),
        "networks that commands, outgoing webhooks and Web Push may never reach "
        "(checked against the resolved address)",
    )
    timeout_s: int = setting(
        5, "seconds an outgoing webhook's URL has to answer", minimum=1, maximum=300
    )

    def __post_init__(self) -> None:
        _check_networks("integrations.deny_networks", self.deny_networks)


@dataclass(frozen=True)
class LogConfig:
    level: str = setting(
        "info", "debug, info, warning, error", choices=("debug", "info", "warning", "error")
    )
    format: str = setting("text", "text or json", choices=("text", "json"))


@dataclass(frozen=True)
class EmailConfig:
    """Email digests for people who are away (docs/operations.md, "Notifications")."""

    smtp_host: str = setting("", "SMTP server; empty: email off")
    smtp_port: int = setting(587, "SMTP port", minimum=1, maximum=65535)
    smtp_username: str = setting("", "SMTP user name; empty: no login")
    smtp_password: str = setting("", "SMTP password", secret=True)
    smtp_security: str = setting(
        "starttls", "starttls, tls (implicit TLS) or none", choices=("starttls", "tls", "none")
    )
    from_: str = setting("", "sender address; empty: chatd <chatd@HOST>")  # the key `from`
    delay_s: int = setting(
        600, "wait this long after a message arrives before mailing it if still unread", minimum=1
    )

    @property
    def enabled(self) -> bool:
        return bool(self.smtp_host)


def key_of(field_name: str) -> str:
    """A field's key: `from_` is `email.from` (the key is a Python keyword)."""
    return field_name.removesuffix("_")


@dataclass(frozen=True)
class ClusterConfig:
    """Several nodes (docs/operations.md, "When you outgrow one machine")."""

    bus: str = setting(
        "local",
        "local (one process) or nats (several nodes on PostgreSQL share events over NATS)",
        choices=("local", "nats"),
    )
    nats_url: str = setting("nats://127.0.0.1:4222", "NATS server(s), comma-separated")
    node_name: str = setting(
        "", "this node's name in logs, /metrics and /readyz; empty means the host name"
    )

    @property
    def nats_servers(self) -> list[str]:
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]


_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def _redact(value: Any, secret: bool) -> Any:
    """A secret is `***` (empty stays empty, to show it is unset); URL user:password -> ***@."""
    if secret:
        return "***" if value not in ("", (), None) else value
    if isinstance(value, str):
        return _URL_CREDENTIALS.sub("***@", value)
    if isinstance(value, tuple):
        return [_redact(item, False) for item in value]
    return value


@dataclass(frozen=True)
class Config:
    """Every setting, by section. Add a section as a field here, its keys in its own class."""

    server: ServerConfig = field(default_factory=ServerConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    presence: PresenceConfig = field(default_factory=PresenceConfig)
    integrations: IntegrationsConfig = field(default_factory=IntegrationsConfig)
    log: LogConfig = field(default_factory=LogConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    email: EmailConfig = field(default_factory=EmailConfig)

    def base_url(self) -> str:
        """The URL people open: `server.public_url`, else built from host and port."""
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = self.server.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if self.server.tls else "http"
        return f"{scheme}://{host}:{self.server.port}"

    def redacted_fields(self) -> dict[str, Any]:
        """`redacted()` flattened to `section.key` names: the start-up log's fields."""
        return {
            f"{name}.{key}": value
            for name, keys in self.redacted().items()
            for key, value in keys.items()
        }

    def redacted(self) -> dict[str, dict[str, Any]]:
        """Every value, secrets and URL credentials masked: for bug reports and the start-up log.

        Works from this instance's own fields, so a section added by a subclass or a later
        change is covered without being listed anywhere else.
        """
        out: dict[str, dict[str, Any]] = {}
        for outer in dataclasses.fields(self):
            part = getattr(self, outer.name)
            out[outer.name] = {
                key_of(inner.name): _redact(getattr(part, inner.name), inner.metadata["secret"])
                for inner in dataclasses.fields(part)
            }
        return out
