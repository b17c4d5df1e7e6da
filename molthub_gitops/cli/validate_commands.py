"""``molthub validate`` and ``molthub diff``: check a repository (and what a change does).

Both call :func:`molthub_gitops.repo.validate.run_validate` / ``run_diff`` for an
:class:`~molthub_gitops.report.outcome.Outcome`, render it in every requested format, write the
results, and exit with the outcome's code: 0 clean, 1 something to act on (findings at or
above ``--fail-on`` for ``validate``; differences for ``diff``), 2 input that could not be
processed.

``-o`` may repeat. A bare ``FORMAT`` goes to stdout (or to ``--output-file``); ``FORMAT=FILE``
writes that file. Every report is rendered before any file is written, and each file is
replaced atomically, so a failed run leaves no half-written report behind.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from molthub_gitops.cli.output import (
    command_guard,
    print_problems,
    use_color,
    write_stdout,
    write_texts_atomic,
)
from molthub_gitops.errors import InputError, Problem

__all__ = ["register"]

_ALL_FORMATS = ("text", "json", "sarif", "github", "junit", "markdown")
_DIFF_FORMATS = ("text", "json", "markdown")
SUMMARY_ENV = "GITHUB_STEP_SUMMARY"

_PATH = click.argument("path", type=click.Path(path_type=Path), default=".", required=False)


def _parse_outputs(specs: Sequence[str], allowed: Sequence[str], output_file: Path | None
                   ) -> list[tuple[str, Path | None]]:
    """``("github", "sarif=out.sarif")`` -> ``[("github", None), ("sarif", Path("out.sarif"))]``
    (None: stdout, or ``output_file``). Raises click.UsageError for a wrong spec."""
    parsed: list[tuple[str, Path | None]] = []
    for spec in specs or ("text",):
        fmt, sep, target = spec.partition("=")
        fmt = fmt.strip().lower()
        if fmt not in allowed:
            raise click.UsageError(
                f"unknown output format {fmt!r}; choose from {', '.join(allowed)}"
                " (FORMAT, or FORMAT=FILE to write a file)")
        if sep and not target:
            raise click.UsageError(f"-o {spec}: give a file after '=' (e.g. {fmt}=report.{fmt})")
        parsed.append((fmt, Path(target) if sep else None))
    bare = [fmt for fmt, target in parsed if target is None]
    if len(bare) > 1:
        raise click.UsageError(
            f"only one format can go to standard output (got {', '.join(bare)}); "
            "write the others to files with FORMAT=FILE")
    if output_file is not None:
        if not bare:
            raise click.UsageError("--output-file needs one -o FORMAT without '=FILE'")
        parsed = [(fmt, output_file if target is None else target) for fmt, target in parsed]
    return parsed


def _check_targets(targets: Sequence[Path]) -> None:
    problems = []
    for target in targets:
        parent = target.parent if str(target.parent) else Path(".")
        if target.is_dir():
            problems.append(Problem("output-not-writable", f"{target} is a directory",
                                    hint="give a file name"))
        elif not parent.is_dir():
            problems.append(Problem("output-not-writable", f"directory {parent} does not exist",
                                    hint="create it first, or write somewhere else"))
    if problems:
        raise InputError(problems)


def _emit(outcome: object, outputs: list[tuple[str, Path | None]], color: bool | None) -> None:
    from molthub_gitops.report.formats import render_report
    from molthub_gitops.report.outcome import Outcome

    assert isinstance(outcome, Outcome)
    _check_targets([t for _, t in outputs if t is not None])
    stream = sys.stderr if outcome.problems else sys.stdout
    tty = use_color(stream) if color is None else color
    rendered = [
        (fmt, target, render_report(fmt, outcome, color=tty and target is None and fmt == "text"))
        for fmt, target in outputs
    ]
    summary = None
    summary_path = os.environ.get(SUMMARY_ENV, "").strip()
    if summary_path and any(fmt == "github" for fmt, _ in outputs):
        from molthub_gitops.report.github import job_summary

        summary = job_summary(outcome)
    files = [(target, text) for _fmt, target, text in rendered if target is not None]
    try:
        write_texts_atomic(files)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        raise InputError.single(
            "output-not-writable",
            f"cannot write the reports{where}: {exc.strerror or exc}; none was written",
            hint="check the paths given with -o FORMAT=FILE") from None
    if summary is not None:
        try:
            with open(summary_path, "a", encoding="utf-8") as fh:
                fh.write(summary)
        except OSError as exc:
            raise InputError.single(
                "output-not-writable",
                f"cannot append the job summary to ${SUMMARY_ENV} ({summary_path}): "
                f"{exc.strerror or exc}") from None
    for fmt, target, text in rendered:
        if target is None:
            if fmt == "text" and outcome.problems:
                # An error report: to stderr, where editors and CI logs look for file:line.
                sys.stderr.write(text)
                sys.stderr.flush()
            else:
                write_stdout(text)
    if outcome.problems and not any(fmt == "text" and t is None for fmt, t in outputs):
        # Machine formats on stdout: still tell the human on stderr why it failed.
        print_problems(outcome.problems)


_OUTPUT_HELP = (
    "Report format: {formats}. Repeatable: a bare FORMAT goes to stdout, FORMAT=FILE writes "
    "that file (e.g. -o github -o sarif=molthub.sarif)."
)


@click.command("validate", short_help="Render, schema-check and policy-check every bot.")
@_PATH
@click.option("--base", metavar="REF",
              help="Also render this Git revision and report what would change per bot.")
@click.option("--head", metavar="REF",
              help="Check this Git revision instead of the files on disk (no checkout).")
@click.option("--rev", metavar="REF", hidden=True, help="Same as --head.")
@click.option("-o", "--output", "outputs", multiple=True, metavar="FORMAT[=FILE]",
              help=_OUTPUT_HELP.format(formats=", ".join(_ALL_FORMATS)))
@click.option("--output-file", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Write the stdout format to FILE instead (atomically).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]),
              help="Lowest severity that fails (exit 1). Default: the Repository's failOn.")
@click.option("--color/--no-color", default=None,
              help="Colour the text report (default: only on a terminal, unless NO_COLOR).")
@command_guard
def validate_cmd(path: Path, base: str | None, head: str | None, rev: str | None,
                   outputs: tuple[str, ...], output_file: Path | None, fail_on: str | None,
                   color: bool | None) -> int:
    """Load, render and check every bot: its OpenClaw config schema and the policy packs.

    With --base, also render that revision straight from Git and report per bot what would
    change (paths, before/after with secrets redacted, config hashes), the blast radius and
    the rollout waves. Differences alone never fail validation.

    Exit 0 clean, 1 findings at or above --fail-on, 2 the repository (or a revision) could
    not be processed; every problem is listed with file:line.
    """
    from molthub_gitops.repo.validate import run_validate

    if head and rev and head != rev:
        raise click.UsageError("--rev is another name for --head; give one of them")
    parsed = _parse_outputs(outputs, _ALL_FORMATS, output_file)
    outcome = run_validate(path, head=head or rev, base=base, fail_on=fail_on)
    _emit(outcome, parsed, color)
    return outcome.exit_code


@click.command("diff", short_help="What a change does to each bot's rendered config.")
@_PATH
@click.option("--base", metavar="REF", required=True, help="The revision to compare against.")
@click.option("--head", metavar="REF",
              help="The revision to compare (default: the files on disk).")
@click.option("-o", "--output", "outputs", multiple=True, metavar="FORMAT[=FILE]",
              help=_OUTPUT_HELP.format(formats=", ".join(_DIFF_FORMATS)))
@click.option("--output-file", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Write the stdout format to FILE instead (atomically).")
@click.option("--color/--no-color", default=None,
              help="Colour the text report (default: only on a terminal, unless NO_COLOR).")
@command_guard
def diff_cmd(path: Path, base: str, head: str | None, outputs: tuple[str, ...],
               output_file: Path | None, color: bool | None) -> int:
    """Render BASE and HEAD straight from Git and print, per bot, what would change.

    Exit 0 no differences, 1 differences, 2 a revision could not be processed.
    """
    from molthub_gitops.repo.validate import run_diff

    parsed = _parse_outputs(outputs, _DIFF_FORMATS, output_file)
    outcome = run_diff(path, base=base, head=head)
    _emit(outcome, parsed, color)
    return outcome.exit_code


def register(group: click.Group) -> None:
    """Add ``validate`` and ``diff`` to the `molthub` group."""
    for command in (validate_cmd, diff_cmd):
        group.add_command(command)

