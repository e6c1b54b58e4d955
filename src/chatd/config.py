"""Configuration: one option table drives defaults, TOML, environment, flags and the example file.

Precedence, highest first: command-line flags, `CHATD_<SECTION>_<KEY>` environment variables,
the TOML file, the defaults below. Every value is checked here, so the rest of chatd can trust
a `Config` without re-validating it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs


class ConfigError(Exception):
    """A configuration value or key is wrong; the message names it."""


@dataclass(frozen=True)
class Option:
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


OPTIONS: tuple[Option, ...] = (
    Option("server", "host", str, "127.0.0.1", "address to listen on"),
    Option("server", "port", int, 8080, "port to listen on", minimum=0, maximum=65535),
    Option(
        "server",
        "public_url",
        str,
        "",
        "the URL people open, when behind a proxy (used in printed links and the Origin check)",
    ),
    Option(
        "server",
        "allowed_origins",
        list,
        [],
        "extra origins allowed for cookie-authenticated WebSockets",
    ),
    Option(
        "server", "trusted_proxies", list, [], "proxy addresses whose X-Forwarded-For is believed"
    ),
    Option("server", "shutdown_timeout_s", int, 10, "SIGTERM grace", minimum=1, maximum=3600),
    Option(
        "storage",
        "data_dir",
        str,
        "",
        'database and files; empty means platformdirs user_data_dir("chatd")',
    ),
    Option(
        "storage",
        "min_free_bytes",
        int,
        104857600,
        "/readyz fails below this free space",
        minimum=0,
    ),
    Option(
        "storage",
        "orphan_ttl_s",
        int,
        86400,
        "unattached uploads older than this are removed",
        minimum=1,
    ),
    Option(
        "storage",
        "synchronous",
        str,
        "normal",
        "SQLite synchronous: normal survives a process crash, full also a power loss",
        choices=("normal", "full"),
    ),
    Option(
        "auth",
        "registration",
        str,
        "invite",
        "open, invite or closed",
        choices=("open", "invite", "closed"),
    ),
    Option(
        "auth",
        "session_ttl_days",
        int,
        30,
        "a token expires this long after its last use",
        minimum=1,
        maximum=3650,
    ),
    Option(
        "auth",
        "login_max_failures",
        int,
        10,
        "failed logins per username, and 5x that per IP, within login_window_s, before 429",
        minimum=1,
    ),
    Option("auth", "login_window_s", int, 900, "window of the login throttle", minimum=1),
    # the web client's second round
    Option(
        "auth",
        "default_channels",
        list,
        ["general"],
        "channels created at setup that every new account joins; an empty list makes none",
    ),
    Option(
        "limits", "max_message_chars", int, 4000, "longest message body", minimum=1, maximum=100000
    ),
    Option("limits", "max_body_bytes", int, 1048576, "largest JSON request body", minimum=1024),
    Option("limits", "max_upload_bytes", int, 104857600, "largest upload", minimum=1),
    Option("limits", "user_quota_bytes", int, 0, "stored bytes per user, 0 = unlimited", minimum=0),
    Option(
        "limits",
        "ws_outbox_bytes",
        int,
        4194304,
        "queued bytes per socket before it is closed with 4008",
        minimum=65536,
    ),
    Option("presence", "away_after_s", int, 300, "idle time before away", minimum=1),
    Option(
        "presence", "offline_grace_s", int, 10, "time without a socket before offline", minimum=0
    ),
    Option(
        "log",
        "level",
        str,
        "info",
        "debug, info, warning, error",
        choices=("debug", "info", "warning", "error"),
    ),
    Option("log", "format", str, "text", "text or json", choices=("text", "json")),
)

OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}
SECTIONS = tuple(dict.fromkeys(option.section for option in OPTIONS))


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    public_url: str
    allowed_origins: tuple[str, ...]
    trusted_proxies: tuple[str, ...]
    shutdown_timeout_s: int


@dataclass(frozen=True)
class StorageConfig:
    data_dir: str
    min_free_bytes: int
    orphan_ttl_s: int
    synchronous: str

    @property
    def path(self) -> Path:
        return Path(self.data_dir)


@dataclass(frozen=True)
class AuthConfig:
    registration: str
    session_ttl_days: int
    login_max_failures: int
    login_window_s: int
    default_channels: tuple[str, ...]


@dataclass(frozen=True)
class LimitsConfig:
    max_message_chars: int
    max_body_bytes: int
    max_upload_bytes: int
    user_quota_bytes: int
    ws_outbox_bytes: int


@dataclass(frozen=True)
class PresenceConfig:
    away_after_s: int
    offline_grace_s: int


@dataclass(frozen=True)
class LogConfig:
    level: str
    format: str


@dataclass(frozen=True)
class Config:
    server: ServerConfig
    storage: StorageConfig
    auth: AuthConfig
    limits: LimitsConfig
    presence: PresenceConfig
    log: LogConfig

    def base_url(self) -> str:
        """The URL people open: `server.public_url`, else built from host and port."""
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = self.server.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server.port}"

    def redacted(self) -> dict[str, dict[str, Any]]:
        """Every value, secrets replaced, for bug reports and the start-up log."""
        out: dict[str, dict[str, Any]] = {}
        for option in OPTIONS:
            value = getattr(getattr(self, option.section), option.key)
            out.setdefault(option.section, {})[option.key] = "***" if option.secret else value
        return out


_SECTION_TYPES = {
    "server": ServerConfig,
    "storage": StorageConfig,
    "auth": AuthConfig,
    "limits": LimitsConfig,
    "presence": PresenceConfig,
    "log": LogConfig,
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
    _check_channel_names(values["auth.default_channels"])
    if not values["storage.data_dir"]:
        values["storage.data_dir"] = platformdirs.user_data_dir("chatd")
    sections: dict[str, Any] = {}
    for section, cls in _SECTION_TYPES.items():
        fields = {f.name: values[f"{section}.{f.name}"] for f in dataclasses.fields(cls)}
        sections[section] = cls(**fields)
    return Config(**sections)


CHANNEL_NAME = re.compile(r"[a-z0-9_-]{1,80}")


def _check_channel_names(names: tuple[str, ...]) -> None:
    for name in names:
        if not CHANNEL_NAME.fullmatch(name.lower()):
            raise ConfigError(
                f"auth.default_channels: {name!r} is not a channel name (1-80 of a-z 0-9 - _)"
            )


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
