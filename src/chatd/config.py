"""Configuration: each key is defined once, as a field of its section; all else derives from it.

Precedence, highest first: command-line flags, `CHATD_<SECTION>_<KEY>` environment variables,
the TOML file, the defaults below. Every value is checked here, so the rest of chatd can trust
a `Config` without re-validating it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs


class ConfigError(Exception):
    """A configuration value or key is wrong; the message names it."""


@dataclass(frozen=True)
class Option:
    """One configuration key, as read from its field's definition in a section class below."""

    section: str
    key: str
    kind: type  # str, int or list
    default: Any
    help: str
    secret: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def env_name(self) -> str:
        return f"CHATD_{self.section}_{self.key}".upper()


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
        for network in self.metrics_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(
                    f"server.metrics_networks: {network!r} is not a network"
                ) from None

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
        for network in self.deny_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(
                    f"integrations.deny_networks: {network!r} is not a network"
                ) from None


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


def _check_tls(values: dict[str, Any]) -> None:
    cert, key = values["server.tls_cert_file"], values["server.tls_key_file"]
    if bool(cert) != bool(key):
        raise ConfigError("server.tls_cert_file and server.tls_key_file go together: set both")
    for name in ("server.tls_cert_file", "server.tls_key_file"):
        if values[name] and not Path(values[name]).is_file():
            raise ConfigError(f"{name}: {values[name]} is not a readable file")


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


CHANNEL_NAME = re.compile(r"[a-z0-9_-]{1,80}")


def _check_channel_names(names: tuple[str, ...]) -> None:
    for name in names:
        if not CHANNEL_NAME.fullmatch(name.lower()):
            raise ConfigError(
                f"auth.default_channels: {name!r} is not a channel name (1-80 of a-z 0-9 - _)"
            )


def _check_cluster(values: dict[str, Any]) -> None:
    """The cluster keys that only make sense together (the contract's "Scale-out")."""
    if not values["cluster.node_name"]:
        values["cluster.node_name"] = socket.gethostname()
    if values["cluster.bus"] == "nats":
        if values.get("storage.backend", "sqlite") == "sqlite":
            raise ConfigError(
                "cluster.bus = nats needs storage.backend = postgres: the embedded SQLite "
                "database serves one node only (set storage.backend and storage.postgres_url, "
                "or cluster.bus = local)"
            )
        if not values["cluster.nats_url"].replace(",", "").strip():
            raise ConfigError("cluster.nats_url: name at least one NATS server")


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


def _options_of(config_cls: type[Config]) -> tuple[Option, ...]:
    options: list[Option] = []
    for outer in dataclasses.fields(config_cls):
        section_cls = outer.default_factory
        if not isinstance(section_cls, type):
            raise TypeError(f"Config.{outer.name} must be a section class with defaults")
        for inner in dataclasses.fields(section_cls):
            default = inner.default
            kind: type = list if isinstance(default, tuple) else type(default)
            meta = inner.metadata
            options.append(
                Option(
                    outer.name,
                    key_of(inner.name),
                    kind,
                    list(default) if kind is list else default,
                    meta["help"],
                    meta["secret"],
                    meta["choices"],
                    meta["minimum"],
                    meta["maximum"],
                )
            )
    return tuple(options)


OPTIONS: tuple[Option, ...] = _options_of(Config)
OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}
SECTIONS = tuple(dict.fromkeys(option.section for option in OPTIONS))
_SECTION_TYPES: dict[str, type] = {
    outer.name: outer.default_factory  # type: ignore[misc]
    for outer in dataclasses.fields(Config)
}


def _coerce(option: Option, value: Any, from_text: bool) -> Any:
    """Check one value against its option; text from the environment or flags is parsed."""
    where = option.name
    if option.kind is int:
        if from_text and isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise ConfigError(f"{where}: {value!r} is not an integer") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        if option.minimum is not None and value < option.minimum:
            raise ConfigError(f"{where}: {value} is below the minimum {option.minimum}")
        if option.maximum is not None and value > option.maximum:
            raise ConfigError(f"{where}: {value} is above the maximum {option.maximum}")
        return value
    if option.kind is list:
        if from_text and isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        return tuple(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    if option.choices and value not in option.choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(option.choices)}")
    return value


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from None
    values: dict[str, Any] = {}
    for section, table in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"{path}: unknown section [{section}]")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {section} must be a table")
        for key, value in table.items():
            name = f"{section}.{key}"
            if name not in OPTIONS_BY_NAME:
                raise ConfigError(f"{path}: unknown key {name}")
            values[name] = _coerce(OPTIONS_BY_NAME[name], value, from_text=False)
    return values


def _read_env(env: Mapping[str, str]) -> dict[str, Any]:
    by_env = {option.env_name: option for option in OPTIONS}
    prefixes = tuple(f"CHATD_{section.upper()}_" for section in SECTIONS)
    values: dict[str, Any] = {}
    for name, text in env.items():
        if not name.startswith(prefixes):
            continue
        option = by_env.get(name)
        if option is None:
            raise ConfigError(f"environment variable {name} names no configuration key")
        values[option.name] = _coerce(option, text, from_text=True)
    return values


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir("chatd")) / "chatd.toml"


def load(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Config:
    """Build the Config: defaults <- file <- environment <- flags (None flags are skipped)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {option.name: option.default for option in OPTIONS}
    path: Path | None = None
    if config_file:
        path = Path(config_file)
    elif env.get("CHATD_CONFIG"):
        path = Path(env["CHATD_CONFIG"])
    elif default_config_path().is_file():
        path = default_config_path()
    if path is not None:
        values.update(_read_file(path))
    values.update(_read_env(env))
    for name, value in (flags or {}).items():
        if value is None:
            continue
        if name not in OPTIONS_BY_NAME:
            raise ConfigError(f"unknown key {name}")
        values[name] = _coerce(OPTIONS_BY_NAME[name], value, from_text=isinstance(value, str))
    for name, option in OPTIONS_BY_NAME.items():
        if option.kind is list and isinstance(values[name], list):
            values[name] = tuple(values[name])
    if not values["storage.data_dir"]:
        values["storage.data_dir"] = platformdirs.user_data_dir("chatd")
    if values["storage.backend"] == "postgres" and not values["storage.postgres_url"]:
        raise ConfigError("storage.backend is postgres: set storage.postgres_url too")
    _check_cluster(values)
    _check_tls(values)
    _check_channel_names(values["auth.default_channels"])
    sections: dict[str, Any] = {}
    for section, cls in _SECTION_TYPES.items():
        fields = {f.name: values[f"{section}.{key_of(f.name)}"] for f in dataclasses.fields(cls)}
        sections[section] = cls(**fields)
    return Config(**sections)


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return str(value)


def example_toml() -> str:
    """The commented example file: every key at its default (`chatd default-config`)."""
    lines = [
        "# chatd configuration. Every key is shown at its default.",
        "# Environment variables override this file: CHATD_<SECTION>_<KEY>,",
        "# e.g. CHATD_SERVER_PORT=9000.",
        "# Command-line flags override both. Durations are in seconds.",
    ]
    for section in SECTIONS:
        lines += ["", f"[{section}]"]
        for option in OPTIONS:
            if option.section != section:
                continue
            lines.append(f"# {option.help}")
            if option.choices:
                lines.append(f"# one of: {', '.join(option.choices)}")
            lines.append(f"{option.key} = {_toml_value(option.default)}")
    return "\n".join(lines) + "\n"
