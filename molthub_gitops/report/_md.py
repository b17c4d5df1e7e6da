"""Markdown building blocks shared by the job summary and the PR comment.

Every block is a whole unit (a heading, a paragraph, one table row, a whole ``<details>``),
ending in a newline, so a size budget can stop between blocks and never inside a table row
or code block. User text is escaped: free text is HTML-escaped, Markdown punctuation is
backslash-escaped and ``@`` is followed by a word joiner (so user text cannot @-mention);
names, paths and values go in code spans (no Markdown, no HTML, no mentions), with table
pipes escaped.
"""

from __future__ import annotations

import html
import re

from molthub_gitops.errors import Location
from molthub_gitops.plan.types import BotChange
from molthub_gitops.policy.findings import Finding
from molthub_gitops.report import _common as c
from molthub_gitops.report.outcome import Outcome

__all__ = [
    "bot_table_blocks",
    "change_blocks",
    "change_groups",
    "code",
    "diff_summary_blocks",
    "finding_blocks",
    "group_detail",
    "header_blocks",
    "html_code",
    "problem_blocks",
    "text",
    "waived_blocks",
]

_PUNCT = re.compile(r"([\\`*_\[\]{}()#+!|~])")
_TICKS = re.compile(r"`+")
_SEVERITY_ICON = {"error": "🔴 error", "warning": "🟠 warning", "info": "🔵 info"}
BOTS_IN_CELL = 5
VALUE_CHARS = 120
PATHS_PER_BOT = 30


def text(value: str, limit: int = 500) -> str:
    """Free text for Markdown (paragraphs and table cells): one line, HTML and Markdown
    punctuation escaped."""
    one = c.truncate(c.single_line(value), limit)
    escaped = _PUNCT.sub(r"\\\1", html.escape(one, quote=False))
    return escaped.replace("@", "@\u2060")


def code(value: str, limit: int = 300) -> str:
    """``value`` as a code span that is safe inside a table cell."""
    one = c.truncate(c.single_line(value), limit).replace("|", "\\|")
    if not one:
        return ""
    longest = max((len(m) for m in _TICKS.findall(one)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if one.startswith("`") or one.endswith("`") or one.strip() == "" else ""
    return f"{fence}{pad}{one}{pad}{fence}"


def html_code(value: str, limit: int = 300) -> str:
    """``value`` in ``<code>`` for HTML contexts (``<summary>``)."""
    return f"<code>{html.escape(c.truncate(c.single_line(value), limit))}</code>"


def _bots_cell(bots: tuple[str, ...]) -> str:
    if not bots:
        return "-"
    shown = ", ".join(code(b, 100) for b in bots[:BOTS_IN_CELL])
    if len(bots) > BOTS_IN_CELL:
        shown += f" and {len(bots) - BOTS_IN_CELL} more"
    return shown


def _where(location: Location | None) -> str:
    loc_text = c.location_text(location)
    return code(loc_text) if loc_text else "-"


def headline(outcome: Outcome) -> str:
    n = c.counts(outcome)
    verdict = c.verdict(outcome)
    if verdict == "input-error":
        return (f"⛔ molthub-gitops: the repository could not be "
                f"{'validated' if outcome.command == 'validate' else 'compared'} "
                f"({c.plural(n.problems, 'input problem')})")
    if verdict == "failed":
        return (f"❌ molthub-gitops: {c.plural(n.failing, 'finding')} at or above "
                f"{outcome.fail_on} block this change")
    if verdict == "passed":
        return "✅ molthub-gitops: validation passed"
    diff = outcome.diff
    changed = len(diff.bots) if diff is not None else 0
    if verdict == "changes":
        return f"📝 molthub-gitops diff: {c.plural(changed, 'bot')} would change"
    return "✅ molthub-gitops diff: no bot changes"


def header_blocks(outcome: Outcome, title_level: int) -> list[str]:
    n = c.counts(outcome)
    blocks = [f"{'#' * title_level} {headline(outcome)}\n\n"]
    facts: list[str] = []
    if outcome.command == "validate" and outcome.policy is not None:
        facts.append(f"**{n.errors}** {'error' if n.errors == 1 else 'errors'} · "
                     f"**{n.warnings}** {'warning' if n.warnings == 1 else 'warnings'} · "
                     f"**{n.info}** info · **{n.waived}** waived · "
                     f"{c.plural(n.bots_checked, 'bot')} checked · fail on "
                     f"{code(outcome.fail_on)}")
    if n.problems:
        facts.append(f"**{n.problems}** input {'problem' if n.problems == 1 else 'problems'} "
                     f"(stage {code(outcome.stage)})")
    facts.append(f"Repository {code(outcome.source)}")
    blocks.append("  \n".join(facts) + "\n\n")
    return blocks


def _more(count: int, what: str, where: str) -> str:
    return f"\n_and {count} more {what}; {where}._\n\n"


def problem_blocks(outcome: Outcome, limit: int | None) -> list[str]:
    probs = c.problems(outcome)
    if not probs:
        return []
    blocks = [f"### Input problems ({len(probs)})\n\n",
              "| Where | Code | Problem | Hint |\n|---|---|---|---|\n"]
    shown = probs if limit is None else probs[:limit]
    for p in shown:
        blocks.append(f"| {_where(p.location)} | {code(p.code)} | {text(p.message)} | "
                      f"{text(p.hint) or '-'} |\n")
    if len(shown) < len(probs):
        blocks.append(_more(len(probs) - len(shown), "problems", "see the job summary"))
    else:
        blocks.append("\n")
    return blocks


def _finding_row(f: Finding, waived: bool) -> str:
    cells = [_SEVERITY_ICON[f.severity], code(f.rule), _where(f.location),
             code(f.path) if f.path else "-", _bots_cell(f.bots),
             text(f.message) + (f"<br>hint: {text(f.hint)}" if f.hint else "")]
    if waived:
        cells.append(code(f.waived_by or "?"))
    return "| " + " | ".join(cells) + " |\n"


def _finding_table(items: tuple[Finding, ...], waived: bool) -> list[str]:
    head = "| Severity | Rule | Where | Path | Bots | Message |"
    sep = "|---|---|---|---|---|---|"
    if waived:
        head += " Waived by |"
        sep += "---|"
    return [f"{head}\n{sep}\n", *(_finding_row(f, waived) for f in items)]


def finding_blocks(outcome: Outcome, limit: int | None) -> list[str]:
    found = c.findings(outcome)
    if outcome.command != "validate" or outcome.policy is None:
        return []
    if not found:
        return ["### Findings\n\nNo findings.\n\n"]
    shown = found if limit is None else found[:limit]
    blocks = [f"### Findings ({len(found)})\n\n", *_finding_table(shown, False)]
    if len(shown) < len(found):
        blocks.append(_more(len(found) - len(shown), "findings",
                            "the job summary and the SARIF report list them all"))
    else:
        blocks.append("\n")
    return blocks


def waived_blocks(outcome: Outcome, limit: int | None, folded: bool) -> list[str]:
    items = c.waived(outcome)
    if not items:
        return []
    shown = items if limit is None else items[:limit]
    title = f"Waived findings ({len(items)})"
    blocks = [f"<details><summary>{title}</summary>\n\n"] if folded else [f"### {title}\n\n"]
    blocks += _finding_table(shown, True)
    if len(shown) < len(items):
        blocks.append(_more(len(items) - len(shown), "waived findings", "see the job summary"))
    else:
        blocks.append("\n")
    if folded:
        blocks.append("</details>\n\n")
    return blocks


def diff_summary_blocks(outcome: Outcome) -> list[str]:
    diff = outcome.diff
    if diff is None:
        return []
    blocks = [f"### Change {code(diff.base)} → {code(diff.head)}\n\n"]
    if diff.empty:
        blocks.append(f"No bot changes ({diff.unchanged} bots unchanged).\n\n")
        return blocks
    br = diff.blast_radius
    fleets = ", ".join(code(f) for f in br.fleets) or "-"
    envs = ", ".join(code(e) for e in br.environments) or "-"
    blocks.append(
        f"**Blast radius:** {br.bots} of {br.bots_total} bots "
        f"({diff.count('added')} added, {diff.count('removed')} removed, "
        f"{diff.count('changed')} changed) in {c.plural(len(br.fleets), 'fleet')} ({fleets}), "
        f"{c.plural(len(br.environments), 'environment')} ({envs}).\n\n")
    if diff.waves:
        blocks.append("#### Rollout waves\n\n| Fleet | Strategy | Waves |\n|---|---|---|\n")
        for fw in diff.waves:
            steps = " → ".join(_wave_text(w.index, w.kind, w.bots, w.bake_seconds,
                                          w.pause_seconds) for w in fw.waves) or "-"
            blocks.append(f"| {code(fw.fleet)} | {fw.strategy} | {steps} |\n")
        blocks.append("\n")
    return blocks


def _wave_text(index: int, kind: str, bots: tuple[str, ...], bake: float, pause: float) -> str:
    who = ", ".join(code(b, 100) for b in bots) if len(bots) <= 3 else c.plural(len(bots), "bot")
    extra = []
    if bake:
        extra.append(f"bake {c.duration(bake)}")
    if pause:
        extra.append(f"pause {c.duration(pause)}")
    tail = f" ({', '.join(extra)})" if extra else ""
    return f"{index}. {kind}: {who}{tail}"


def _hashes(b: BotChange) -> str:
    return f"{code((b.hash_before or '-')[:12])} → {code((b.hash_after or '-')[:12])}"


def bot_table_blocks(outcome: Outcome) -> list[str]:
    diff = outcome.diff
    if diff is None or diff.empty:
        return []
    blocks = [f"#### Changed bots ({len(diff.bots)})\n\n",
              "| Bot | Fleet | Environment | Change | Paths | Config hash |\n"
              "|---|---|---|---|---|---|\n"]
    for b in diff.bots:
        blocks.append(f"| {code(b.name)} | {code(b.fleet)} | {code(b.environment)} | {b.kind} | "
                      f"{len(b.changes)} | {_hashes(b)} |\n")
    blocks.append("\n")
    return blocks


def _signature(b: BotChange) -> tuple[object, ...]:
    changes = tuple((ch.path, ch.kind, c.display_value(ch, "before", VALUE_CHARS),
                     c.display_value(ch, "after", VALUE_CHARS)) for ch in b.changes)
    return (b.kind, changes, b.other_changes)


def change_groups(outcome: Outcome) -> list[list[BotChange]]:
    """Changed bots grouped by identical changes (same paths, same before/after as shown),
    largest group first, then in diff order."""
    diff = outcome.diff
    if diff is None:
        return []
    groups: dict[tuple[object, ...], tuple[int, list[BotChange]]] = {}
    for index, b in enumerate(diff.bots):
        groups.setdefault(_signature(b), (index, []))[1].append(b)
    ordered = sorted(groups.values(), key=lambda item: (-len(item[1]), item[0]))
    return [bots for _, bots in ordered]


def group_detail(bots: list[BotChange], paths_limit: int = PATHS_PER_BOT,
                 names_limit: int = 10) -> str:
    """The changes shared by ``bots`` as a folded ``<details>`` block."""
    b = bots[0]
    what = {"added": "added", "removed": "removed",
            "changed": c.plural(len(b.changes), "path") + " changed"}[b.kind]
    names = ", ".join(html_code(x.name, 100) for x in bots[:names_limit])
    if len(bots) > names_limit:
        names += f" and {len(bots) - names_limit} more"
    if len(bots) == 1:
        where = f" ({html_code(b.fleet)} / {html_code(b.environment)})"
    else:
        fleets = sorted({x.fleet for x in bots})
        where = f" ({len(bots)} bots in {c.plural(len(fleets), 'fleet')})"
    out = [f"<details><summary>{names}{where}: {what}</summary>\n\n"]
    if len(bots) == 1:
        out.append(f"Config hash {_hashes(b)}\n\n")
    elif len(bots) > names_limit:
        out.append("Bots: " + ", ".join(code(x.name, 100) for x in bots[:200])
                   + (f" and {len(bots) - 200} more" if len(bots) > 200 else "") + "\n\n")
    if b.changes:
        out.append("| Path | Before | After |\n|---|---|---|\n")
        for ch in b.changes[:paths_limit]:
            out.append(f"| {code(ch.path)} | {code(c.display_value(ch, 'before', VALUE_CHARS))}"
                       f" | {code(c.display_value(ch, 'after', VALUE_CHARS))} |\n")
        if len(b.changes) > paths_limit:
            out.append(f"\n_and {len(b.changes) - paths_limit} more paths._\n")
        out.append("\n")
    for other in b.other_changes:
        out.append(f"- {text(other)}\n")
    if b.other_changes:
        out.append("\n")
    out.append("</details>\n\n")
    return "".join(out)


def change_blocks(outcome: Outcome) -> list[str]:
    """A heading and one folded block per group of identical changes."""
    diff = outcome.diff
    if diff is None or diff.empty:
        return []
    groups = change_groups(outcome)
    return [f"#### Changes ({c.plural(len(groups), 'distinct change set')})\n\n",
            *(group_detail(g) for g in groups)]
