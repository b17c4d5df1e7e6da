"""The ``markdown`` format: one pull-request comment, under GitHub's 64 KB.

It starts with a hidden marker line (``<!-- molthub-gitops:validate -->``, or ``:diff``) by
which the sticky-comment script finds and edits the comment in place. Then: the verdict,
counts, input problems (top 20), findings (top 30, then ``and N more``), waived findings
(folded), the blast radius and rollout waves, and the changes: bots with identical changes
share one folded ``<details>`` block listing the paths with before/after. When that is too
long the diff is folded progressively: change blocks are kept (largest groups first) while
they fit, the bots of the remaining groups are listed by name only while that fits, and the
rest are counted; a note says so. The whole comment never exceeds :data:`COMMENT_LIMIT`
UTF-8 bytes.
"""

from __future__ import annotations

from molthub_gitops.plan.types import BotChange
from molthub_gitops.report import _common as c
from molthub_gitops.report import _md as md
from molthub_gitops.report.outcome import Outcome

__all__ = ["COMMENT_LIMIT", "MARKERS", "render_markdown"]

COMMENT_LIMIT = 65_536
"""GitHub's cap on a comment body, taken as UTF-8 bytes (stricter than characters)."""
MARKERS = {"validate": "<!-- molthub-gitops:validate -->",
           "diff": "<!-- molthub-gitops:diff -->"}
PROBLEMS_SHOWN = 20
FINDINGS_SHOWN = 30
WAIVED_SHOWN = 30
_RESERVE = 1024
_FOOTER = "\n<sub>molthub-gitops {version} · `molthub {command}`</sub>\n"


def _compact_names(budget: c.Budget, bots: list[BotChange]) -> int:
    """Append as many bot names as fit in one paragraph; return how many did not."""
    head = "Other changed bots (details folded away to fit the comment): "
    parts: list[str] = []
    size = len(head.encode("utf-8")) + 4
    for bot in bots:
        piece = md.code(bot.name, 100)
        cost = len(piece.encode("utf-8")) + 2
        if size + cost + 64 > budget.remaining():
            break
        parts.append(piece)
        size += cost
    if parts:
        budget.add(head + ", ".join(parts) + "\n\n")
    return len(bots) - len(parts)


def _diff_details(budget: c.Budget, outcome: Outcome) -> str:
    """Add the change blocks that fit; return a note about what was folded ("" if nothing)."""
    groups = md.change_groups(outcome)
    if not groups:
        return ""
    budget.add(f"#### Changes ({c.plural(len(groups), 'distinct change set')})\n\n")
    folded: list[BotChange] = []
    for group in groups:
        block = md.group_detail(group)
        if folded or not budget.fits(block):
            folded += group
            continue
        budget.add(block)
    if not folded:
        return ""
    unnamed = _compact_names(budget, folded)
    note = f"the diff is folded: {c.plural(len(folded), 'bot')} shown without details"
    if unnamed:
        note += f" ({unnamed} of them not named)"
    return note + " to stay under GitHub's 64 KB comment limit"


def render_markdown(outcome: Outcome) -> str:
    """The PR comment body (at most :data:`COMMENT_LIMIT` UTF-8 bytes)."""
    footer = _FOOTER.format(version=md.text(outcome.tool_version, 40), command=outcome.command)
    budget = c.Budget(COMMENT_LIMIT, reserve=_RESERVE + len(footer.encode("utf-8")))
    budget.add(MARKERS[outcome.command] + "\n")
    blocks = md.header_blocks(outcome, title_level=3)
    blocks += md.problem_blocks(outcome, PROBLEMS_SHOWN)
    blocks += md.finding_blocks(outcome, FINDINGS_SHOWN)
    blocks += md.waived_blocks(outcome, WAIVED_SHOWN, folded=True)
    blocks += md.diff_summary_blocks(outcome)
    note = ""
    if budget.add_all(blocks):
        note = "this comment is cut short to stay under GitHub's 64 KB comment limit"
    else:
        note = _diff_details(budget, outcome)
    body = budget.text()
    if note:
        body += (f"\n> [!NOTE]\n> {note[:1].upper()}{note[1:]}. The job summary and "
                 "`molthub diff -o text` show everything.\n")
    return body + footer
