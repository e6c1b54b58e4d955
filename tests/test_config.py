"""Configuration: precedence, validation, the example file, and start-up errors."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatd.cli import main
from chatd.config import OPTIONS, Config, ConfigError, example_toml, key_of, load

from .conftest import start_server

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_match_the_contract(tmp_path: Path) -> None:
    config = load(None, {"CHATD_STORAGE_DATA_DIR": str(tmp_path)}, {})
    assert config.server.host == "127.0.0.1"
    assert config.server.port == 8080
    assert config.auth.registration == "invite"
    assert config.limits.max_body_bytes == 1048576
    assert config.limits.ws_outbox_bytes == 4194304
    assert config.presence.offline_grace_s == 10
    assert config.storage.synchronous == "normal"


def test_platformdirs_default_data_dir() -> None:
    import platformdirs

    config = load(None, {}, {})
    assert config.storage.data_dir == platformdirs.user_data_dir("chatd")


def test_precedence_flags_env_file_defaults(tmp_path: Path) -> None:
    path = tmp_path / "chatd.toml"
    path.write_text('[server]\nport = 7000\nhost = "0.0.0.0"\n[auth]\nregistration = "open"\n')
    env = {"CHATD_SERVER_PORT": "9000", "CHATD_SERVER_ALLOWED_ORIGINS": "http://a, http://b"}
    config = load(path, env, {"server.port": 9100, "server.host": None})
    assert config.server.port == 9100  # flag beats env
    assert config.server.host == "0.0.0.0"  # file beats default, flag None skipped
    assert config.auth.registration == "open"
    assert config.server.allowed_origins == ("http://a", "http://b")
    assert load(path, env, {}).server.port == 9000  # env beats file
    assert load(None, {"CHATD_CONFIG": str(path)}, {}).server.port == 7000


@pytest.mark.parametrize(
    ("text", "env", "needle"),
    [
        ("[server]\nprot = 1\n", {}, "server.prot"),
        ("[nope]\na = 1\n", {}, "[nope]"),
        ('[server]\nport = "x"\n', {}, "server.port"),
        ("[server]\nport = 70000\n", {}, "server.port"),
        ('[auth]\nregistration = "maybe"\n', {}, "auth.registration"),
        ("", {"CHATD_SERVER_PROT": "1"}, "CHATD_SERVER_PROT"),
        ("", {"CHATD_LIMITS_MAX_BODY_BYTES": "lots"}, "limits.max_body_bytes"),
        ("[server\n", {}, "chatd.toml"),
    ],
)
def test_bad_config_names_the_key(
    tmp_path: Path, text: str, env: dict[str, str], needle: str
) -> None:
    path = tmp_path / "chatd.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=None) as caught:
        load(path, env, {})
    assert needle in str(caught.value)


def test_every_option_is_a_config_field() -> None:
    import dataclasses

    for option in OPTIONS:
        section = next(f for f in dataclasses.fields(Config) if f.name == option.section)
        assert section is not None
        config = load(None, {"CHATD_STORAGE_DATA_DIR": "/tmp/x"}, {})
        part = getattr(config, option.section)
        assert option.key in {key_of(f.name) for f in dataclasses.fields(part)}


def test_example_file_is_the_default_config_output() -> None:
    printed = CliRunner().invoke(main, ["default-config"]).output
    assert printed == example_toml()
    assert (ROOT / "chatd.toml.example").read_text() == printed
    parsed = tomllib.loads(printed)
    for option in OPTIONS:
        value = parsed[option.section][option.key]
        assert (
            list(value) == list(option.default) if option.kind is list else value == option.default
        )


def test_redacted_dump_has_every_key(tmp_path: Path) -> None:
    dump = load(None, {"CHATD_STORAGE_DATA_DIR": str(tmp_path)}, {}).redacted()
    assert sum(len(keys) for keys in dump.values()) == len(OPTIONS)


def test_serve_with_bad_config_exits_2_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[server]\nport = -1\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatd",
            "serve",
            "--config",
            str(path),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "server.port" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_version() -> None:
    from chatd import __version__

    assert CliRunner().invoke(main, ["--version"]).output.strip().endswith(__version__)


def test_redacted_masks_every_secret_key_and_url_credentials() -> None:
    """A key marked secret never shows; credentials inside any URL value are masked too."""
    from dataclasses import dataclass, field

    from chatd.config_sections import setting

    @dataclass(frozen=True)
    class Vault:
        url: str = setting("", "a database URL", secret=True)
        other: str = setting("", "an empty secret stays visibly unset", secret=True)

    @dataclass(frozen=True)
    class WithVault(Config):
        vault: Vault = field(default_factory=Vault)

    config = WithVault(vault=Vault(url="postgresql://chatd:hunter2@db/chatd"))
    config = dataclasses.replace(
        config,
        server=dataclasses.replace(
            config.server,
            public_url="https://ops:pa55@chat.example",
            allowed_origins=("http://x:y@a.example",),
        ),
    )
    dump = config.redacted()
    assert dump["vault"] == {"url": "***", "other": ""}
    assert dump["server"]["public_url"] == "https://***@chat.example"
    assert dump["server"]["allowed_origins"] == ["http://***@a.example"]
    flat = config.redacted_fields()
    assert flat["vault.url"] == "***"
    assert "hunter2" not in repr(flat) and "pa55" not in repr(flat)


def test_every_secret_option_is_masked_in_the_redacted_dump(tmp_path: Path) -> None:
    dump = load(None, {"CHATD_STORAGE_DATA_DIR": str(tmp_path)}, {}).redacted()
    for option in OPTIONS:
        if option.secret:
            assert dump[option.section][option.key] in ("***", "")


def test_start_up_log_carries_the_redacted_config(tmp_path: Path) -> None:
    srv = start_server(tmp_path, server_allowed_origins="http://ops:pa55@a.example")
    try:
        line = next(x for x in srv.output if "server.config" in x)
    finally:
        srv.stop()
    assert "server.port=0" in line and "limits.max_body_bytes=1048576" in line
    assert "***@a.example" in line and "pa55" not in srv.log


def test_metrics_networks_are_checked() -> None:
    assert load(None, {}, {}).server.metrics_networks == ("127.0.0.0/8", "::1/128")
    with pytest.raises(ConfigError, match=r"server\.metrics_networks"):
        load(None, {"CHATD_SERVER_METRICS_NETWORKS": "127.0.0.0/8,not-a-net"}, {})
    server = load(None, {"CHATD_SERVER_METRICS_NETWORKS": "10.0.0.0/8"}, {}).server
    assert server.may_read_metrics("10.1.2.3") and server.may_read_metrics("::ffff:10.1.2.3")
    assert not server.may_read_metrics("127.0.0.1") and not server.may_read_metrics("")
