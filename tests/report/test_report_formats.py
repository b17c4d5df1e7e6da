"""Every format renders every kind of Outcome, deterministically; unknown formats are input
errors; secrets never show."""

from __future__ import annotations

import pytest

from molthub_gitops.errors import InputError
from molthub_gitops.report.formats import FORMATS, render_report
from molthub_gitops.report.outcome import Outcome

from .builders import SECRET, clean, findings_outcome, problems_only, small_diff


def test_formats_list() -> None:
    assert FORMATS == ("text", "json", "sarif", "github", "junit", "markdown")


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_outcome_same_bytes(fmt: str, any_outcome: Outcome) -> None:
    first = render_report(fmt, any_outcome)
    again = render_report(fmt, any_outcome)
    assert isinstance(first, str)
    assert first
    assert first == again
    assert first.endswith("\n")


@pytest.mark.parametrize("fmt", FORMATS)
def test_secret_never_shows(fmt: str, any_outcome: Outcome) -> None:
    """The small diff holds an unredacted secret at a sensitive path (a producer bug): every
    format redacts it again, and shows the redaction marker instead."""
    out = render_report(fmt, any_outcome, color=True)
    assert SECRET not in out
    assert SECRET[:12] not in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_secret_redacted_in_diff_output(fmt: str) -> None:
    outcome = findings_outcome()
    assert outcome.diff is not None
    assert outcome.diff.bots[0].changes[0].before == SECRET  # the fixture really holds it
    out = render_report(fmt, outcome)
    assert SECRET not in out
    if fmt in ("text", "json", "markdown", "junit"):
        assert "redacted" in out


def test_unknown_format_is_input_error() -> None:
    with pytest.raises(InputError) as info:
        render_report("yaml", clean())
    problem = info.value.problems[0]
    assert problem.code == "unknown-format"
    assert "sarif" in problem.hint


@pytest.mark.parametrize("fmt", FORMATS)
def test_problems_only_are_reported(fmt: str) -> None:
    out = render_report(fmt, problems_only())
    assert problems_only().exit_code == 2
    for code in ("yaml-syntax", "base-unreadable", "duplicate-key"):
        assert code in out
    assert "mapping values are not allowed here" in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_waived_findings_are_shown(fmt: str) -> None:
    out = render_report(fmt, findings_outcome())
    assert "replicas-range" in out
    if fmt != "github":  # annotations skip waived findings; the log group lists them
        assert "allow-big-batch" in out
    else:
        assert "waived by: allow-big-batch" in out


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "markdown"])
def test_diff_command_reports_changes(fmt: str) -> None:
    outcome = Outcome(command="diff", source="repo", diff=small_diff())
    assert outcome.exit_code == 1
    out = render_report(fmt, outcome)
    for name in ("bot-a", "bot-new", "bot-old", "channels.telegram.dmPolicy"):
        assert name in out
