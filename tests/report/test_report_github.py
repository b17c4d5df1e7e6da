"""The github format: escaping, at most 10 annotations per level, no command injection, and
the job summary under 1 MiB."""

from __future__ import annotations

import re

import pytest

from molthub_gitops.policy.findings import PolicyResult
from molthub_gitops.report._common import no_control
from molthub_gitops.report.formats import render_report
from molthub_gitops.report.github import (
    ANNOTATIONS_PER_LEVEL,
    SUMMARY_LIMIT,
    escape_data,
    escape_property,
    job_summary,
)
from molthub_gitops.report.outcome import Outcome

from .builders import HOSTILE, RULES, clean, diff_only, finding, findings_outcome, hostile

_COMMAND = re.compile(r"^::(?P<cmd>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<data>.*)$")


def _unescape(text: str) -> str:
    return (text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":")
            .replace("%2C", ",").replace("%25", "%"))


def _commands(out: str) -> list[tuple[str, dict[str, str], str]]:
    """Every line the runner would take as a workflow command, parsed."""
    found = []
    for line in out.splitlines():
        if not line.lstrip().startswith("::"):
            continue
        m = _COMMAND.match(line)
        assert m, f"malformed command line: {line!r}"
        props: dict[str, str] = {}
        if m["props"]:
            for pair in m["props"].split(","):
                key, _, value = pair.partition("=")
                props[key] = _unescape(value)
        found.append((m["cmd"], props, _unescape(m["data"])))
    return found


def _annotations(out: str) -> list[tuple[str, dict[str, str], str]]:
    return [c for c in _commands(out) if c[0] in ("error", "warning", "notice")]


def _outcome_with(n_errors: int) -> Outcome:
    found = tuple(finding("security-baseline/dm-policy-open", "error", line=i + 1,
                          bots=(f"bot-{i}",)) for i in range(n_errors))
    return Outcome(command="validate", source="r",
                   policy=PolicyResult(findings=found, rules=RULES))


def test_escaping() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert escape_data("a:b,c") == "a:b,c"


def test_annotation_fields() -> None:
    anns = _annotations(render_report("github", findings_outcome()))
    assert [a[0] for a in anns] == ["error", "error", "warning", "warning", "notice"]
    _level, props, data = anns[1]
    assert props == {"file": "example-repo/templates/support.yaml", "line": "7", "col": "3",
                     "title": "security-baseline/dm-policy-open (3 bots)"}
    assert data.splitlines() == ["dmPolicy is open", "config path: channels.telegram.dmPolicy",
                                 "bots (3): bot-a, bot-b, bot-c", "hint: change it"]
    notice = anns[-1][1]
    assert "col" not in notice
    assert notice["line"] == "1"


def test_waived_not_annotated_but_listed_in_log() -> None:
    out = render_report("github", findings_outcome())
    assert not any("replicas-range" in a[1].get("title", "") for a in _annotations(out))
    group = out.split("::endgroup::")[0]
    assert "waived by: allow-big-batch" in group


@pytest.mark.parametrize(("n", "shown", "more"), [(10, 10, None), (11, 9, 2), (250, 9, 241)])
def test_cap_per_level(n: int, shown: int, more: int | None) -> None:
    anns = _annotations(render_report("github", _outcome_with(n)))
    assert len(anns) == min(n, ANNOTATIONS_PER_LEVEL)
    real = [a for a in anns if a[1]]
    assert len(real) == shown
    tail = [a for a in anns if not a[1]]
    if more is None:
        assert tail == []
    else:
        assert tail == [("error", {}, f"{more} more errors not annotated; see the job summary")]


def test_large_outcome_respects_every_level(big: Outcome) -> None:
    anns = _annotations(render_report("github", big))
    for level in ("error", "warning", "notice"):
        mine = [a for a in anns if a[0] == level]
        assert len(mine) == ANNOTATIONS_PER_LEVEL
        assert "more" in mine[-1][2]
        assert not mine[-1][1]
    errors = [a for a in anns if a[0] == "error"]
    assert all(a[1]["title"].startswith("input/") for a in errors[:9])  # problems come first
    assert errors[-1][2] == "340 more errors not annotated; see the job summary"
    notices = [a for a in anns if a[0] == "notice"]
    assert notices[-1][2] == "324 more info findings not annotated; see the job summary"
    assert len(anns) <= 50


def test_no_command_injection() -> None:
    out = render_report("github", hostile())
    commands = _commands(out)
    assert [c[0] for c in commands] == ["group", "endgroup", "error", "error"]
    problem, finding_ann = _annotations(out)
    shown = no_control(HOSTILE)
    assert problem[1]["file"] == f"repo dir/{shown}"
    assert finding_ann[1]["file"] == f"repo dir/bots/{shown}.yaml"
    assert "::error::boom" in finding_ann[2]  # carried as data, not a command
    for line in out.splitlines():
        if not _COMMAND.match(line):
            assert "##[" not in line, line
    assert "\x1b" not in out
    assert "\x00" not in out


def test_clean_has_no_annotations() -> None:
    out = render_report("github", clean())
    assert _annotations(out) == []
    assert out.startswith("::group::molthub-gitops validate: passed")


def test_diff_command_has_no_annotations() -> None:
    assert _annotations(render_report("github", diff_only())) == []


# ----------------------------------------------------------------------------- job summary


def _check_markdown_blocks(text: str) -> None:
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith("|"), line
    assert text.count("<details>") == text.count("</details>")
    assert text.count("```") % 2 == 0


def test_job_summary_content() -> None:
    text = job_summary(findings_outcome())
    assert text.startswith("## ❌ molthub-gitops: 2 findings at or above error block this")
    assert "**2** errors · **2** warnings · **1** info · **1** waived" in text
    assert "### Findings (5)" in text
    assert "### Waived findings (1)" in text
    assert "`allow-big-batch`" in text
    assert "**Blast radius:** 3 of 36 bots" in text
    assert "| `support` | canary | 1. canary: `bot-a` (bake 10m) → 2. batch: `bot-new`" in text
    assert "#### Changed bots (3)" in text
    assert "| `channels.telegram.dmPolicy` | `\"open\"` | `\"pairing\"` |" in text
    assert "stops here" not in text
    _check_markdown_blocks(text)


def test_job_summary_under_one_mib(big: Outcome) -> None:
    text = job_summary(big)
    size = len(text.encode("utf-8"))
    assert size <= SUMMARY_LIMIT < 1024 * 1024
    assert size > SUMMARY_LIMIT - 50_000  # it used the room it had
    assert "The summary stops here: GitHub caps a job summary at 1 MiB" in text
    _check_markdown_blocks(text)
    assert "### Findings (1000)" in text
    assert text.count("| 🔴 error |") == 334  # every finding row before the diff


def _outside_code(text: str) -> str:
    """``text`` without its code spans (whose content Markdown shows literally)."""
    return re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", text)


def test_job_summary_escapes_user_text() -> None:
    text = job_summary(hostile())
    assert "\x1b" not in text
    assert "\x00" not in text
    bare = _outside_code(text)
    assert "<b>" not in bare
    assert "<script>" not in bare
    assert "&lt;b&gt;bold&lt;/b&gt;" in text  # free text is HTML-escaped
    assert "x\\|y" in text  # pipes inside table cells are escaped
    _check_markdown_blocks(text)
