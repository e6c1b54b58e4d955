"""The `chatd` command: serve, admin commands, backup, bench and the example configuration.

Admin commands open the same data directory as the server (SQLite WAL makes that safe while
it runs) and go through the same services, so their rules cannot drift from the API's. They
leave the server's working files alone and refuse a schema a running server of another
version uses (services/datadir.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from chatd import __version__, log
from chatd.config import Config, ConfigError, example_toml, load
from chatd.db.migrate import SchemaError
from chatd.errors import ChatdError
from chatd.services.container import Services
from chatd.services.datadir import DataDirBusy, DataDirLock, prepare_data_dir
from chatd.services.nodes import NodeConflict, check_can_join
from chatd.services.principal import SYSTEM

T = TypeVar("T")

_DURATION_RE = re.compile(r"(\d+)([smhdw]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> int:
    """`90`, `30m`, `12h`, `7d`, `2w` -> seconds."""
    match = _DURATION_RE.fullmatch(text.strip().lower())
    if not match:
        raise click.BadParameter(f"{text!r} is not a duration like 3600, 30m, 12h or 7d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"chatd: {message}", err=True)
    sys.exit(code)


def state_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--config and --data-dir, on every command that touches a server's state."""
    func = click.option(
        "--data-dir",
        "data_dir",
        type=click.Path(file_okay=False),
        help="Data directory (storage.data_dir).",
    )(func)
    func = click.option(
        "--config", "config_file", type=click.Path(dir_okay=False), help="TOML config file."
    )(func)
    return func


def load_config(config_file: str | None, **flags: Any) -> Config:
    try:
        return load(config_file, os.environ, flags)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}")
        raise  # unreachable


def run_with_services(config: Config, work: Callable[[Services], Awaitable[T]]) -> T:
    """Open the data directory, run one piece of admin work, close it again."""
    log.setup("warning", config.log.format)

    async def main() -> T:
        services = await Services.start(config, background=False)
        try:
            return await work(services)
        finally:
            await services.stop()

    try:
        return asyncio.run(main())
    except SchemaError as exc:
        _fail(str(exc))
    except ChatdError as exc:
        detail = "".join(f"\n  {k}: {v}" for k, v in (exc.fields or {}).items())
        _fail(f"{exc.message}{detail}", 1)
    raise AssertionError("unreachable")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chatd")
def main() -> None:
    """chatd: a team chat server in one process."""


@main.command()
@state_options
@click.option("--host", help="Address to listen on (server.host).")
@click.option("--port", type=int, help="Port to listen on (server.port).")
def serve(
    config_file: str | None, data_dir: str | None, host: str | None, port: int | None
) -> None:
    """Run the server: API, WebSocket, presence, files and web client."""
    config = load_config(
        config_file,
        **{"server.host": host, "server.port": port, "storage.data_dir": data_dir},
    )
    node = config.cluster.node_name if config.cluster.bus == "nats" else None
    log.setup(config.log.level, config.log.format, node)
    # Held until the process ends: the mark admin commands look for (services/datadir.py).
    lock = DataDirLock(config.storage.path)
    try:
        config.storage.path.mkdir(parents=True, exist_ok=True)
        if config.storage.backend == "postgres":
            lock.hold_shared()  # nodes may share the directory (files/, tmp/)
        else:
            lock.hold_as_only_server()
        prepare_data_dir(config)
        check_can_join(config)
    except (SchemaError, OSError, NodeConflict, DataDirBusy) as exc:
        _fail(str(exc))
    from chatd import server

    code = server.main(config)
    lock.release()
    sys.exit(code)


@main.command("default-config")
def default_config() -> None:
    """Print a commented TOML file with every key at its default."""
    click.echo(example_toml(), nl=False)


@main.group()
def user() -> None:
    """Manage accounts."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user.command("add")
@state_options
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user an admin.")
@click.option("--display-name", default=None, help="Name shown to others.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(
    config_file: str | None,
    data_dir: str | None,
    name: str,
    admin: bool,
    display_name: str | None,
    password_stdin: bool,
) -> None:
    """Create an account."""
    config = load_config(config_file, **{"storage.data_dir": data_dir})
    password = _read_password(password_stdin)
    role = "admin" if admin else "member"
    created = run_with_services(
        config, lambda s: s.users.create(SYSTEM, name, password, display_name, role)
    )
    click.echo(f"created {created.role} {created.username} ({created.id})")


@user.command("list")
@state_options
def user_list(config_file: str | None, data_dir: str | None) -> None:
    """List every account."""
    config = load_config(config_file, **{"storage.data_dir": data_dir})
    everyone = run_with_services(config, lambda s: s.users.list_all(SYSTEM))
    click.echo(f"{'USERNAME':<32} {'ROLE':<7} {'ACTIVE':<6} DISPLAY NAME")
    for person in everyone:
        active = "yes" if person.active else "no"
        click.echo(f"{person.username:<32} {person.role:<7} {active:<6} {person.display_name}")


@user.command("passwd")
@state_options
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_passwd(
    config_file: str | None, data_dir: str | None, name: str, password_stdin: bool
) -> None:
    """Set a user's password; their sessions are signed out."""
    config = load_config(config_file, **{"storage.data_dir": data_dir})
    password = _read_password(password_stdin)
    run_with_services(config, lambda s: s.users.set_password(SYSTEM, name, password))
    click.echo(f"password changed for {name.lower()}")


def _set_active(config: Config, name: str, active: bool) -> None:
    async def work(services: Services) -> None:
        person = await services.users.by_username(name)
        await services.users.update(SYSTEM, person.id, active=active)

    run_with_services(config, work)


@user.command("disable")
@state_options
@click.argument("name")
def user_disable(config_file: str | None, data_dir: str | None, name: str) -> None:
    """Disable an account; its sessions end at once, on a running server too."""
    _set_active(load_config(config_file, **{"storage.data_dir": data_dir}), name, False)
    click.echo(f"disabled {name.lower()}")


@user.command("enable")
@state_options
@click.argument("name")
def user_enable(config_file: str | None, data_dir: str | None, name: str) -> None:
    """Enable a disabled account."""
    _set_active(load_config(config_file, **{"storage.data_dir": data_dir}), name, True)
    click.echo(f"enabled {name.lower()}")


@main.group()
def invite() -> None:
    """Invite people to register."""


@invite.command("create")
@state_options
@click.option("--max-uses", type=click.IntRange(min=1), help="How many accounts it may create.")
@click.option("--expires", default="7d", show_default=True, help="Lifetime: 3600, 30m, 12h, 7d.")
def invite_create(
    config_file: str | None, data_dir: str | None, max_uses: int | None, expires: str
) -> None:
    """Create an invite code and print its registration URL."""
    config = load_config(config_file, **{"storage.data_dir": data_dir})
    seconds = parse_duration(expires)
    made = run_with_services(config, lambda s: s.users.create_invite(SYSTEM, max_uses, seconds))
    click.echo(f"code: {made.code}")
    click.echo(f"url:  {made.url}")


@main.command("backup")
@state_options
@click.argument("dest_dir", type=click.Path(file_okay=False))
def backup_command(config_file: str | None, data_dir: str | None, dest_dir: str) -> None:
    """Copy the database and files, consistently, while the server runs."""
    from pathlib import Path

    from chatd.services.backup import BackupError, backup

    config = load_config(config_file, **{"storage.data_dir": data_dir})
    if config.storage.backend == "postgres":
        _fail(
            "chatd backup copies the embedded SQLite database only; on PostgreSQL use "
            "`chatd export` (a portable archive) or PostgreSQL's own tools (pg_dump, "
            "base backups) and copy the shared files/ directory",
            1,
        )
    try:
        report = backup(config.storage.path, Path(dest_dir))
    except (BackupError, OSError, sqlite3.Error) as exc:
        _fail(f"backup failed: {exc}", 1)
        return
    click.echo(
        f"backed up to {report.dest}: database {report.database_bytes} bytes, "
        f"{report.files_copied} files"
        + (
            f" ({report.files_dropped} unattached uploads removed meanwhile)"
            if report.files_dropped
            else ""
        )
    )


@main.command("bench")
@click.option(
    "--url",
    "urls",
    multiple=True,
    help="The chatd server, e.g. http://127.0.0.1:8080; several nodes: --url once per node"
    " (clients round robin over them).",
)
@click.option("--token", help="An admin's token to create bench users (else open registration).")
@click.option("--members", default=50, show_default=True, help="WebSocket clients in the channel.")
@click.option("--senders", default=5, show_default=True, help="How many of them send.")
@click.option("--rate", default=1000.0, show_default=True, help="Aggregate messages per second.")
@click.option("--duration", default=10.0, show_default=True, help="Seconds of sending.")
@click.option("--idle", default=0, help="Instead: open this many idle sockets, report RSS each.")
@click.option("--http", "over_http", is_flag=True, help="Send over HTTP instead of the socket.")
@click.option(
    "--floor",
    type=click.Choice(["strict", "library"]),
    is_flag=False,
    flag_value="strict",
    help="Also run the load on a bare server: strict (uvloop, each frame framed once, the same"
    " bytes to every transport; --floor alone) or library (websockets.broadcast).",
)
@click.option("--pid", type=int, help="The server's PID (found from the port when omitted).")
@click.option(
    "--listeners", type=int, help="Members that hold a socket and receive (default: all)."
)
@click.option(
    "--closed",
    is_flag=True,
    help="Each sender awaits its answer before the next, --rate at most (WebSocket).",
)
@click.option(
    "--no-client-id",
    "no_client_id",
    is_flag=True,
    help="Sends carry no client_id (the web client always sends one).",
)
@click.option("--queries", is_flag=True, help="Instead: time history, list and search reads.")
@click.option(
    "--seed-messages", type=int, help="Instead: fill --data-dir (server stopped) with a history."
)
@click.option("--data-dir", type=click.Path(file_okay=False), help="With --seed-messages.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def bench_command(
    urls: tuple[str, ...],
    token: str | None,
    members: int,
    senders: int,
    rate: float,
    duration: float,
    idle: int,
    over_http: bool,
    floor: str | None,
    pid: int | None,
    listeners: int | None,
    closed: bool,
    no_client_id: bool,
    queries: bool,
    seed_messages: int | None,
    data_dir: str | None,
    as_json: bool,
) -> None:
    """Measure a running server: fan-out, persisted sends, idle sockets, against the floor."""
    import json
    from pathlib import Path

    from chatd.bench import seed

    if seed_messages is not None:
        if not data_dir:
            raise click.BadParameter("--seed-messages needs --data-dir")
        click.echo(json.dumps(seed.seed(Path(data_dir), seed_messages), indent=2))
        return
    if not urls:
        raise click.BadParameter("--url is required")
    url = urls[0]
    if queries:
        if not token:
            raise click.BadParameter("--queries needs --token (the one --seed-messages printed)")
        click.echo(json.dumps(seed.queries(url.rstrip("/"), token), indent=2))
        return

    from chatd.bench import report as bench_report
    from chatd.bench import run

    if senders > members and not idle:
        raise click.BadParameter("--senders cannot exceed --members")
    options = run.Options(url.rstrip("/"), token, members, senders, rate, duration, idle,
                          over_http, floor, pid, listeners, closed,
                          client_ids=not no_client_id,
                          urls=tuple(u.rstrip("/") for u in urls))  # fmt: skip
    report = run.run_loop(run.run(options))
    click.echo(json.dumps(report, indent=2) if as_json else bench_report.table(report))


# Export, import and Slack import live in their own module, which adds them to `main`.
from chatd import cli_archive  # noqa: E402, F401
