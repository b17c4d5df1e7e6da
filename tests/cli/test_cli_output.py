"""The shared CLI helpers: problem formatting, colour, and the exit-code mapping."""

from __future__ import annotations

import io

import click
import pytest
from click.testing import CliRunner

from molthub_gitops.cli.output import command_guard, format_problem, print_problems
from molthub_gitops.errors import GatewayUnavailable, InputError, Location, Problem

PROBLEM = Problem(
    "duplicate-key", "key 'port' appears twice", Location("fleets/a.yaml", 7, 5),
    hint="remove one of them", related=(Location("fleets/a.yaml", 3, 5),),
)


def test_format_problem_plain() -> None:
    text = format_problem(PROBLEM)
    assert text.splitlines() == [
        "fleets/a.yaml:7:5: error[duplicate-key]: key 'port' appears twice",
        "  see also: fleets/a.yaml:3:5",
        "  hint: remove one of them",
    ]


def test_format_problem_color_only_when_asked() -> None:
    assert "\x1b[" in format_problem(PROBLEM, color=True)
    assert "\x1b[" not in format_problem(PROBLEM, color=False)


def test_format_problem_without_location() -> None:
    assert format_problem(Problem("x", "no place")) == "error[x]: no place"


def test_print_problems_sorts_counts_and_never_colours_a_pipe() -> None:
    later = Problem("b", "second", Location("z.yaml", 1, 1))
    earlier = Problem("a", "first", Location("a.yaml", 9, 1))
    out = io.StringIO()  # not a tty
    assert print_problems([later, earlier], out) == 2
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("a.yaml:9:1: error[a]")
    assert lines[1].startswith("z.yaml:1:1: error[b]")
    assert lines[-1] == "2 problems found"
    assert "\x1b[" not in out.getvalue()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_print_problems_colours_a_tty_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = _Tty()
    print_problems([PROBLEM], out)
    assert "\x1b[" in out.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    out = _Tty()
    print_problems([PROBLEM], out)
    assert "\x1b[" not in out.getvalue()


def _command(behaviour: str) -> click.Command:
    @click.command()
    @command_guard
    def cmd() -> int:
        if behaviour == "input":
            raise InputError([PROBLEM])
        if behaviour == "molthub":
            raise GatewayUnavailable("gateway starting", url="ws://bot:18789")
        if behaviour == "bug":
            raise RuntimeError("token=hunter2-should-not-leak")
        if behaviour == "usage":
            raise click.UsageError("bad option")
        if behaviour == "one":
            return 1
        return 0

    return cmd


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [("ok", 0), ("one", 1), ("input", 2), ("molthub", 2), ("usage", 2), ("bug", 3)],
)
def test_exit_codes(behaviour: str, code: int) -> None:
    result = CliRunner().invoke(_command(behaviour), [], env={"MOLTHUB_DEBUG": ""})
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.stderr


def test_input_error_lists_problems_on_stderr() -> None:
    result = CliRunner().invoke(_command("input"), [])
    assert "fleets/a.yaml:7:5: error[duplicate-key]" in result.stderr
    assert "hint: remove one of them" in result.stderr
    assert result.stdout == ""


def test_internal_error_is_short_without_debug() -> None:
    result = CliRunner().invoke(_command("bug"), [], env={"MOLTHUB_DEBUG": ""})
    assert result.exit_code == 3
    assert "internal error: RuntimeError" in result.stderr
    assert "--debug" in result.stderr
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr  # the exception text is not echoed without --debug


def test_internal_error_traceback_with_debug_flag() -> None:
    result = CliRunner().invoke(_command("bug"), ["--debug"], env={"MOLTHUB_DEBUG": ""})
    assert result.exit_code == 3
    assert "Traceback" in result.stderr


def test_internal_error_traceback_with_debug_env() -> None:
    result = CliRunner().invoke(_command("bug"), [], env={"MOLTHUB_DEBUG": "1"})
    assert result.exit_code == 3
    assert "Traceback" in result.stderr
