"""The ``text`` format: a human report, grouped by severity then file, aligned, coloured only
when asked (the CLI asks when stdout is a terminal)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from molthub_gitops.errors import Location
from molthub_gitops.plan.types import BotChange, RevisionDiff
from molthub_gitops.policy.findings import Finding
from molthub_gitops.report import _common as c
from molthub_gitops.report.outcome import Outcome

__all__ = ["render_text"]

_RESET = "\x1b[0m"
_STYLE = {
    "error": "\x1b[1;31m",
    "warning": "\x1b[1;33m",
    "info": "\x1b[1;36m",
    "waived": "\x1b[35m",
    "ok": "\x1b[1;32m",
    "dim": "\x1b[2m",
    "bold": "\x1b[1m",
    "added": "\x1b[32m",
    "removed": "\x1b[31m",
    "changed": "\x1b[33m",
}
_HEADINGS = {"error": "errors", "warning": "warnings", "info": "info"}
_MARK = {"added": "+", "removed": "-", "changed": "~"}
BOTS_SHOWN = 10
"""Bot names listed per finding before ``and N more``."""


class _Out:
    def __init__(self, color: bool) -> None:
        self.color = color
        self.lines: list[str] = []

    def paint(self, style: str, text: str) -> str:
        return f"{_STYLE[style]}{text}{_RESET}" if self.color else text

    def line(self, text: str = "") -> None:
        self.lines.append(text)


def _where(location: Location | None) -> str:
    if location is None or location.line <= 0:
        return "-"
    return f"{location.line}:{location.column}" if location.column > 0 else str(location.line)


def _finding_lines(out: _Out, items: Sequence[Finding], style: str, waived: bool) -> None:
    def file_of(f: Finding) -> str:
        return f.location.file if f.location and f.location.file else ""

    for file, group in groupby(items, key=file_of):
        group_items = list(group)
        out.line(f"  {out.paint('bold', c.single_line(file) or '(no file)')}")
        width = max(len(_where(f.location)) for f in group_items)
        for f in group_items:
            where = _where(f.location).ljust(width)
            rule = out.paint(style, c.single_line(f.rule))
            if waived:
                rule += f" ({f.severity})"
            head = f"    {where}  {rule}  {c.single_line(f.message)}"
            if f.path:
                head += f"  [{c.single_line(f.path)}]"
            out.line(head)
            pad = " " * (4 + width + 2)
            if f.bots:
                names = c.single_line(c.bots_phrase(f.bots, BOTS_SHOWN))
                out.line(f"{pad}bots ({len(f.bots)}): {names}")
            if f.layer:
                out.line(f"{pad}{out.paint('dim', 'set by: ' + c.single_line(f.layer))}")
            if waived:
                out.line(f"{pad}waived by: {c.single_line(f.waived_by or '?')}")
            for rel in f.related:
                out.line(f"{pad}{out.paint('dim', 'see also: ' + c.location_text(rel))}")
            if f.hint:
                out.line(f"{pad}{out.paint('dim', 'hint: ' + c.single_line(f.hint))}")


def _change_lines(out: _Out, bot: BotChange) -> list[str]:
    lines = []
    for ch in bot.changes:
        before = c.display_value(ch, "before")
        after = c.display_value(ch, "after")
        lines.append(f"      {_MARK[ch.kind]} {c.single_line(ch.path)}: {before} -> {after}")
    lines.extend(f"      * {c.single_line(other)}" for other in bot.other_changes)
    return lines


def _bot_lines(out: _Out, bots: Sequence[BotChange], changes: Sequence[str]) -> None:
    """One block per set of identical changes: the bots (with hashes when there is one), then
    the changes once."""
    first = bots[0]
    mark = out.paint(first.kind, _MARK[first.kind])
    if len(bots) == 1:
        hashes = f"{(first.hash_before or '-')[:12]} -> {(first.hash_after or '-')[:12]}"
        out.line(f"  {mark} {c.single_line(first.name)} ({c.single_line(first.fleet)}/"
                 f"{c.single_line(first.environment)}) {first.kind}  {out.paint('dim', hashes)}")
    else:
        names = c.single_line(c.bots_phrase(tuple(b.name for b in bots), BOTS_SHOWN))
        fleets = c.single_line(", ".join(sorted({b.fleet for b in bots})))
        out.line(f"  {mark} {len(bots)} bots {first.kind} alike ({fleets}): {names}")
    for line in changes:
        out.line(line)


def _diff_lines(out: _Out, diff: RevisionDiff) -> None:
    out.line(out.paint("bold", f"diff {c.single_line(diff.base)} -> {c.single_line(diff.head)}"))
    if diff.empty:
        out.line(f"  no bot changes ({diff.unchanged} unchanged)")
        return
    groups: dict[tuple[str, ...], list[BotChange]] = {}
    for bot in diff.bots:
        changes = _change_lines(out, bot)
        groups.setdefault((bot.kind, *changes), []).append(bot)
    for key, bots in groups.items():
        _bot_lines(out, bots, key[1:])
    br = diff.blast_radius
    out.line()
    out.line(out.paint("bold", "blast radius"))
    out.line(f"  {br.bots} of {br.bots_total} bots; fleets: "
             f"{c.single_line(', '.join(br.fleets)) or '-'}; environments: "
             f"{c.single_line(', '.join(br.environments)) or '-'}")
    if diff.waves:
        out.line()
        out.line(out.paint("bold", "rollout waves"))
        for fw in diff.waves:
            waves = "; ".join(c.single_line(c.wave_phrase(w)) for w in fw.waves) or "none"
            out.line(f"  {c.single_line(fw.fleet)} ({fw.strategy}): {waves}")


def _summary(out: _Out, outcome: Outcome) -> str:
    n = c.counts(outcome)
    parts: list[str] = []
    if n.problems:
        parts.append(c.plural(n.problems, "input problem"))
    if outcome.command == "validate" and outcome.policy is not None:
        parts.append(
            f"{c.plural(n.errors, 'error')}, {c.plural(n.warnings, 'warning')}, "
            f"{n.info} info, {n.waived} waived; {c.plural(n.bots_checked, 'bot')} checked"
        )
    elif outcome.command == "validate" and not n.problems:
        parts.append("policy not evaluated")
    if outcome.diff is not None:
        diff = outcome.diff
        text = "diff: " + c.diff_phrase(diff)
        if diff.waves:
            text += "; waves per fleet: " + c.single_line(c.waves_count_phrase(diff.waves))
        parts.append(text)
    verdict = c.verdict(outcome)
    style = {"input-error": "error", "failed": "error", "passed": "ok", "changes": "warning",
             "no-changes": "ok"}[verdict]
    label = {"input-error": "input error", "failed": f"failed (fail on {outcome.fail_on})",
             "passed": "passed", "changes": "changes", "no-changes": "no changes"}[verdict]
    return f"{out.paint(style, label)}: {'; '.join(parts) if parts else 'nothing to report'}"


def render_text(outcome: Outcome, *, color: bool = False) -> str:
    """The report for a terminal or a log."""
    out = _Out(color)
    out.line(out.paint("bold", f"molthub {outcome.command} {c.single_line(outcome.source)}"))
    if outcome.bots:
        fleets = len(outcome.fleets)
        out.line(
            f"{c.plural(outcome.bots, 'bot')} in {c.plural(fleets, 'fleet')} "
            f"({c.single_line(', '.join(outcome.environments)) or 'no environments'}; "
            f"OpenClaw {c.single_line(', '.join(outcome.openclaw_versions)) or '-'})"
        )
    probs = c.problems(outcome)
    if probs:
        out.line()
        out.line(out.paint("error", f"input problems ({len(probs)})"))
        for p in probs:
            where = c.location_text(p.location)
            lead = f"{where}: " if where else ""
            out.line(f"  {lead}{out.paint('error', 'error[' + c.single_line(p.code) + ']')}: "
                     f"{c.single_line(p.message)}")
            for rel in p.related:
                out.line(f"    see also: {c.location_text(rel)}")
            if p.hint:
                out.line(f"    {out.paint('dim', 'hint: ' + c.single_line(p.hint))}")
    found = c.findings(outcome)
    for severity, group in groupby(found, key=lambda f: f.severity):
        items = list(group)
        out.line()
        out.line(out.paint(severity, f"{_HEADINGS[severity]} ({len(items)})"))
        _finding_lines(out, items, severity, waived=False)
    waived = c.waived(outcome)
    if waived:
        out.line()
        out.line(out.paint("waived", f"waived ({len(waived)})"))
        _finding_lines(out, waived, "waived", waived=True)
    if outcome.diff is not None:
        out.line()
        _diff_lines(out, outcome.diff)
    out.line()
    out.line(_summary(out, outcome))
    return "\n".join(out.lines) + "\n"
