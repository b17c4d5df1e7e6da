"""The ``github`` format: workflow-command annotations within GitHub's limits, and the
Markdown job summary.

GitHub shows at most 10 annotations of each level (error, warning, notice) per step and
drops the rest silently. So, per level: when everything fits in 10, everything is annotated;
when it does not, the 9 worst are annotated and the 10th slot is one annotation of the same
level saying how many more were not annotated (``::warning::14 more warnings not annotated;
see the job summary``), so the cap line is never the one GitHub drops. Input problems and
error findings share the ``error`` level (problems first); info findings use ``notice``.
Waived findings are not annotated (nothing to change), but are counted in the log group and
listed in the job summary. Before the annotations, a ``::group::`` holds the full text
report for the log; its lines never start with ``::`` and never contain the legacy ``##[``
command prefix (user text is kept on one line behind a fixed prefix, and defused where it
would still look like a command), so repository content cannot inject workflow commands.

:func:`job_summary` is Markdown for ``$GITHUB_STEP_SUMMARY``, under 1 MiB: totals, input
problems, findings, waived findings, the diff with its blast radius and waves, the table
of changed bots with their config hashes, then the changes grouped by identical change set
(paths with before/after); when too long it stops at a whole block (never inside a table
row) and says so.

At most 30 annotations per step (10 per level) also keeps a job with one validate step within
GitHub's 50 annotations per job.
"""

from __future__ import annotations

from collections.abc import Sequence

from molthub_gitops.errors import Location, Problem
from molthub_gitops.policy.findings import Finding
from molthub_gitops.report import _common as c
from molthub_gitops.report import _md as md
from molthub_gitops.report.outcome import Outcome
from molthub_gitops.report.text import render_text

__all__ = [
    "ANNOTATIONS_PER_LEVEL",
    "SUMMARY_LIMIT",
    "escape_data",
    "escape_property",
    "job_summary",
    "render_github",
]

ANNOTATIONS_PER_LEVEL = 10
SUMMARY_LIMIT = 1_000_000
"""Job summary cap in UTF-8 bytes: below GitHub's 1 MiB (1,048,576) with room to spare."""
BOTS_IN_ANNOTATION = 10
_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}
_NOUN = {"error": ("error", "errors"), "warning": ("warning", "warnings"),
         "notice": ("info finding", "info findings")}


def escape_data(text: str) -> str:
    """Escape a workflow command's message: ``%``, CR, LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property value: as data, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, message: str, *, file: str = "", loc: Location | None = None,
             title: str = "") -> str:
    props: list[str] = []
    if file:
        props.append(f"file={escape_property(c.no_control(file))}")
        if loc is not None and loc.line > 0:
            props.append(f"line={loc.line}")
            if loc.column > 0:
                props.append(f"col={loc.column}")
    if title:
        props.append(f"title={escape_property(c.single_line(title))}")
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{escape_data(c.no_control(message))}"


def _finding_annotation(outcome: Outcome, f: Finding) -> str:
    text = f.message.rstrip()
    if f.path:
        text += f"\nconfig path: {f.path}"
    if f.bots:
        text += f"\nbots ({len(f.bots)}): {c.bots_phrase(f.bots, BOTS_IN_ANNOTATION)}"
    if f.hint:
        text += f"\nhint: {f.hint}"
    title = f.rule if len(f.bots) <= 1 else f"{f.rule} ({len(f.bots)} bots)"
    return _command(_LEVEL[f.severity], c.no_control(text), file=c.prefixed(outcome, f.location),
                    loc=f.location, title=c.single_line(title))


def _problem_annotation(outcome: Outcome, p: Problem) -> str:
    text = p.message.rstrip() + (f"\nhint: {p.hint}" if p.hint else "")
    return _command("error", c.no_control(text), file=c.prefixed(outcome, p.location),
                    loc=p.location, title=c.single_line(f"input/{p.code}"))


def _capped(level: str, lines: Sequence[str]) -> list[str]:
    if len(lines) <= ANNOTATIONS_PER_LEVEL:
        return list(lines)
    shown = ANNOTATIONS_PER_LEVEL - 1
    more = len(lines) - shown
    noun = _NOUN[level][0 if more == 1 else 1]
    return [*lines[:shown], f"::{level}::{more} more {noun} not annotated; see the job summary"]


def _log_line(line: str) -> str:
    """A log line that the runner cannot take for a command: none starts with ``::`` and
    none holds the legacy ``##[`` prefix (which the runner looks for anywhere in a line)."""
    line = line.replace("##[", "##\u2060[")
    return "> " + line if line.lstrip().startswith("::") else line


def render_github(outcome: Outcome) -> str:
    """Workflow commands for the step's log: the text report in a group, then annotations."""
    n = c.counts(outcome)
    head = f"molthub-gitops {outcome.command}: {c.verdict(outcome)}"
    if outcome.command == "validate":
        head += (f" ({c.plural(n.errors, 'error')}, {c.plural(n.warnings, 'warning')}, "
                 f"{n.info} info, {n.waived} waived, {c.plural(n.problems, 'input problem')})")
    out = [f"::group::{escape_data(c.single_line(head))}"]
    out += [_log_line(line) for line in render_text(outcome, color=False).splitlines()]
    out.append("::endgroup::")
    per_level: dict[str, list[str]] = {"error": [], "warning": [], "notice": []}
    per_level["error"] += [_problem_annotation(outcome, p) for p in c.problems(outcome)]
    for f in c.findings(outcome):
        per_level[_LEVEL[f.severity]].append(_finding_annotation(outcome, f))
    for level in ("error", "warning", "notice"):
        out += _capped(level, per_level[level])
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------- job summary


def job_summary(outcome: Outcome) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY`` (at most :data:`SUMMARY_LIMIT` UTF-8 bytes)."""
    budget = c.Budget(SUMMARY_LIMIT, reserve=2048)
    blocks = md.header_blocks(outcome, title_level=2)
    blocks += md.problem_blocks(outcome, limit=None)
    blocks += md.finding_blocks(outcome, limit=None)
    blocks += md.waived_blocks(outcome, limit=None, folded=False)
    blocks += md.diff_summary_blocks(outcome)
    blocks += md.bot_table_blocks(outcome)
    blocks += md.change_blocks(outcome)
    left = budget.add_all(blocks)
    text = budget.text()
    if left:
        text += ("\n> [!NOTE]\n> The summary stops here: GitHub caps a job summary at 1 MiB. "
                 "The full report is in the SARIF and JSON outputs "
                 "(`molthub validate -o json`).\n")
    return text
