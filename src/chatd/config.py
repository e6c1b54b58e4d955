"""Configuration: each key is defined once, as a field of its section; all else derives from it.

Precedence, highest first: command-line flags, `CHATD_<SECTION>_<KEY>` environment variables,
the TOML file, the defaults. Every value is checked here, so the rest of chatd can trust a
`Config` without re-validating it. The sections and their keys are in `config_sections`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from chatd.config_sections import Config, ConfigError, key_of

__all__ = ["OPTIONS", "Config", "ConfigError", "Option", "example_toml", "key_of", "load"]


@dataclass(frozen=True)
class Option:
    """One configuration key, as read from its field in a section class (`config_sections`)."""

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


def _check_tls(values: dict[str, Any]) -> None:
    cert, key = values["server.tls_cert_file"], values["server.tls_key_file"]
    if bool(cert) != bool(key):
        raise ConfigError("server.tls_cert_file and server.tls_key_file go together: set both")
    for name in ("server.tls_cert_file", "server.tls_key_file"):
        if values[name] and not Path(values[name]).is_file():
            raise ConfigError(f"{name}: {values[name]} is not a readable file")


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
