"""`molthub schema`: write (or check) the JSON Schemas of the molthub documents.

Exit codes through :func:`~molthub_gitops.cli.output.command_guard`: 0 written or up to
date, 1 a schema file is missing or stale (``--check``), 2 the directory is not writable.
"""

from __future__ import annotations

from pathlib import Path

import click

from molthub_gitops.cli.output import EXIT_ACTION, EXIT_OK, command_guard
from molthub_gitops.repo.resources import (
    default_schema_out_dir,
    stale_schema_files,
    write_schema_files,
)


@click.command("schema")
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Directory to write into (default: schemas/ of the source checkout, else ./schemas).",
)
@click.option(
    "--check", is_flag=True,
    help="Write nothing; exit 1 when a schema file is missing or out of date.",
)
@command_guard
def schema_command(out_dir: Path | None, check: bool) -> int:
    """Write the draft-07 JSON Schemas of the documents (for editors and CI).

    Exit 0 written or up to date, 1 out of date (with --check), 2 not writable.
    """
    target = out_dir if out_dir is not None else default_schema_out_dir()
    if check:
        stale = stale_schema_files(target)
        for name in stale:
            click.echo(f"{target / name}: out of date; run `molthub schema`", err=True)
        if stale:
            return EXIT_ACTION
        click.echo(f"{target}: schemas are up to date")
        return EXIT_OK
    changed = write_schema_files(target)  # InputError: the guard prints it and exits 2
    for path in changed:
        click.echo(f"wrote {path}")
    if not changed:
        click.echo(f"{target}: schemas are up to date")
    return EXIT_OK


def register(group: click.Group) -> None:
    """Add this module's commands to the `molthub` group."""
    group.add_command(schema_command)
