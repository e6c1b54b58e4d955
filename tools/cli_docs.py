"""Write docs/cli.md from the commands' own --help, so the reference cannot drift.

`python tools/cli_docs.py` rewrites it; the test suite checks it is current.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from chatd.cli import main  # noqa: E402


def commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
    found = [prefix]
    for name in sorted(group.commands):
        command = group.commands[name]
        if isinstance(command, click.Group):
            found += commands(command, [*prefix, name])
        else:
            found.append([*prefix, name])
    return found


def render() -> str:
    runner = CliRunner()
    parts = [
        "# chatd command-line reference",
        "",
        "Generated from `--help` by `tools/cli_docs.py`; do not edit by hand.",
    ]
    for path in commands(main, []):
        text = runner.invoke(main, [*path, "--help"], prog_name="chatd", terminal_width=100).output
        title = " ".join(["chatd", *path])
        parts += ["", f"## `{title}`", "", "```", text.rstrip(), "```"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    (ROOT / "docs" / "cli.md").write_text(render())
