"""Commands that read a config repository: ``render``, ``explain``, ``init``.

Each command parses its options, calls one function of :mod:`molthub_gitops.repo.pipeline`
(or :mod:`molthub_gitops.repo.scaffold`), prints the result, and returns the exit code.
"""

from __future__ import annotations

from pathlib import Path

import click

from molthub_gitops.cli import formats
from molthub_gitops.cli.output import (
    EXIT_OK,
    command_guard,
    write_stdout,
)
from molthub_gitops.repo.pipeline import explain_at, render_at
from molthub_gitops.repo.scaffold import init_repository

_PATH = click.argument("path", type=click.Path(path_type=Path), default=".", required=False)
_REV = click.option(
    "--rev",
    metavar="REV",
    help="Read this Git revision (branch, tag, commit) of PATH's repository, not its files.",
)


@click.command("render", short_help="Print bots' rendered OpenClaw configs.")
@_PATH
@_REV
@click.option("--fleet", "fleets", multiple=True, metavar="F", help="Only this fleet (repeatable).")
@click.option("--bot", "bots", multiple=True, metavar="B", help="Only this bot (repeatable).")
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True, help="A YAML multi-document stream or a JSON list.")
@command_guard
def render_cmd(path: Path, rev: str | None, fleets: tuple[str, ...], bots: tuple[str, ...],
               fmt: str) -> int:
    """Render bots' OpenClaw configs.

    Prints one document per bot: name, fleet, environment, labels, openclawVersion,
    gatewayUrl, configHash and config. PATH defaults to the current directory.
    """
    rendered = render_at(path, rev, fleets=fleets, bots=bots)
    write_stdout(formats.rendered_bots(rendered, fmt))
    return EXIT_OK


@click.command("explain", short_help="Show which layers set a config value, with file:line.")
@click.argument("bot")
@click.argument("config_path", metavar="CONFIG.PATH")
@_PATH
@_REV
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@command_guard
def explain_cmd(bot: str, config_path: str, path: Path, rev: str | None, fmt: str) -> int:
    """Show every layer that set or overrode a config value of BOT, then the final value.

    CONFIG.PATH is dotted (agents.defaults.model.primary); list items go by index
    (bindings[0].agentId or bindings.0.agentId). PATH defaults to the current directory.
    """
    explanation = explain_at(path, bot, config_path, rev)
    write_stdout(formats.explanation(explanation, fmt))
    return EXIT_OK


@click.command("init", short_help="Create a new config repository from the bundled example.")
@click.argument("directory", type=click.Path(path_type=Path))
@command_guard
def init_cmd(directory: Path) -> int:
    """Create a new config repository in DIRECTORY from the bundled example.

    DIRECTORY must not exist or must be empty.
    """
    created = init_repository(directory)
    write_stdout(formats.init_next_steps(directory, created))
    return EXIT_OK


def register(group: click.Group) -> None:
    """Add this module's commands to the `molthub` group."""
    for command in (init_cmd, render_cmd, explain_cmd):
        group.add_command(command)
