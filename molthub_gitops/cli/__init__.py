"""The `molthub` command line: a click group whose subcommands live in sibling modules.

Each module holds thin commands (parse options, call one function, map the result to an
exit code): 0 clean, 1 something to act on, 2 the input could not be processed.
"""

from __future__ import annotations

import click

from molthub_gitops import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="molthub")
def main() -> None:
    """GitOps for fleets of OpenClaw bots: render, validate and sync them from Git."""


def _register() -> None:
    from molthub_gitops.cli import gateway_commands, repo_commands, schema_command

    for module in (repo_commands, schema_command, gateway_commands):
        module.register(main)


_register()
