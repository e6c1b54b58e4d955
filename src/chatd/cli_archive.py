"""`chatd export`, `chatd import` and `chatd import-slack`: the service in and out of files.

Kept apart from `chatd.cli` (which registers them) so that module stays about the server and
its accounts. Each command opens the service like the other admin commands, prints progress
as it goes and one summary line at the end.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from chatd.cli import load_config, main, run_with_services, state_options
from chatd.services.archive import summary
from chatd.services.container import Services
from chatd.services.export import Exporter, ExportReport
from chatd.services.importer import Importer, ImportReport
from chatd.services.slack_import import SlackImporter, SlackReport


def _progress(line: str) -> None:
    click.echo(line)


@main.command("export")
@state_options
@click.argument("archive_path", metavar="ARCHIVE", type=click.Path(dir_okay=False))
def export_command(config_file: str | None, data_dir: str | None, archive_path: str) -> None:
    """Write the whole service to one .tar.gz ARCHIVE, consistently, while the server runs.

    Users (with password hashes), conversations, members, read markers, messages, reactions,
    pins, mentions, files with their bytes, and integrations; not sessions or tokens."""
    config = load_config(config_file, **{"storage.data_dir": data_dir})
    started = time.monotonic()

    async def work(services: Services) -> ExportReport:
        backend = services.config.storage.backend  # the header says where the rows came from
        exporter = Exporter(services.db, services.files, services.clock, backend)
        return await exporter.export(Path(archive_path), _progress)

    report = run_with_services(config, work)
    took = time.monotonic() - started
    left_out = (
        f" ({report.files_left_out} unattached uploads removed meanwhile left out)"
        if report.files_left_out
        else ""
    )
    click.echo(
        f"exported {summary(report.counts, report.files, report.file_bytes)}{left_out} "
        f"to {report.path} "
        f"({report.archive_bytes:,} bytes) in {took:.1f} s"
    )


@main.command("import")
@state_options
@click.argument("archive_path", metavar="ARCHIVE", type=click.Path(dir_okay=False))
def import_command(config_file: str | None, data_dir: str | None, archive_path: str) -> None:
    """Load an ARCHIVE written by `chatd export` into an empty service (either backend).

    Every id, seq, time, file hash and password hash is kept; a service that already holds
    anything is refused. Run it with the server stopped."""
    config = load_config(config_file, **{"storage.data_dir": data_dir})
    started = time.monotonic()

    async def work(services: Services) -> ImportReport:
        importer = Importer(services.db, services.files, services.search.indexer)
        return await importer.load(Path(archive_path), _progress)

    report = run_with_services(config, work)
    click.echo(
        f"imported {summary(report.counts, report.files, report.file_bytes)} "
        f"in {time.monotonic() - started:.1f} s"
    )


@main.command("import-slack")
@state_options
@click.argument("export_path", metavar="EXPORT.zip", type=click.Path(dir_okay=False))
def import_slack_command(config_file: str | None, data_dir: str | None, export_path: str) -> None:
    """Import a Slack workspace export (the zip Slack's export tool writes).

    Users (inactive and without a password unless the username exists; `chatd user passwd`
    activates them), channels, private groups, DMs and group DMs with their members, and
    messages with edits, threads and reactions. Running it again adds nothing. Best run with
    the server stopped (or restart it afterwards, so it learns the new memberships)."""
    config = load_config(config_file, **{"storage.data_dir": data_dir})

    async def work(services: Services) -> SlackReport:
        importer = SlackImporter(
            services.db,
            services.search.indexer,
            services.clock,
            config.limits.max_message_chars,
        )
        return await importer.run(Path(export_path), _progress)

    r = run_with_services(config, work)
    extras = [
        f"{r.notices_skipped:,} join/leave notices skipped" if r.notices_skipped else "",
        f"{r.empty_skipped:,} empty messages skipped" if r.empty_skipped else "",
        f"{r.cut:,} bodies cut to {config.limits.max_message_chars} characters" if r.cut else "",
    ]
    rate = r.messages / r.seconds if r.seconds else 0.0
    click.echo(
        f"imported from Slack: {r.users:,} users ({r.users_existing:,} existing matched), "
        f"{r.bots:,} bots, {r.conversations:,} conversations, {r.messages:,} messages, "
        f"{r.reactions:,} reactions"
        + "".join(f"; {e}" for e in extras if e)
        + f" in {r.seconds:.1f} s ({rate:,.0f} messages/s)"
    )
