"""The markdown format: a PR comment with its marker, under 64 KB, folding long diffs."""

from __future__ import annotations

import re

from molthub_gitops.report.formats import render_report
from molthub_gitops.report.markdown import COMMENT_LIMIT, FINDINGS_SHOWN
from molthub_gitops.report.outcome import Outcome

from .builders import clean, diff_only, findings_outcome, hostile, large, problems_only


def _balanced(text: str) -> None:
    assert text.count("<details>") == text.count("</details>")
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith("|"), line


def test_marker_first_line(any_outcome: Outcome) -> None:
    text = render_report("markdown", any_outcome)
    marker = ("<!-- molthub-gitops:validate -->" if any_outcome.command == "validate"
              else "<!-- molthub-gitops:diff -->")
    assert text.splitlines()[0] == marker
    assert len(text.encode("utf-8")) <= COMMENT_LIMIT
    _balanced(text)


def test_verdicts() -> None:
    assert "### ✅ molthub-gitops: validation passed" in render_report("markdown", clean())
    assert "### ⛔ molthub-gitops: the repository could not be validated (3 input problems)" \
        in render_report("markdown", problems_only())
    assert "### ❌ molthub-gitops: 2 findings at or above error block this change" \
        in render_report("markdown", findings_outcome())
    assert "### 📝 molthub-gitops diff: 3 bots would change" in render_report("markdown",
                                                                            diff_only())


def test_full_comment_content() -> None:
    text = render_report("markdown", findings_outcome())
    assert "**2** errors · **2** warnings · **1** info · **1** waived" in text
    assert "<details><summary>Waived findings (1)</summary>" in text
    assert "**Blast radius:** 3 of 36 bots (1 added, 1 removed, 1 changed)" in text
    assert "#### Rollout waves" in text
    assert "<details><summary><code>bot-a</code> (<code>support</code> / <code>prod</code>): " \
        "4 paths changed</summary>" in text
    assert "| `channels.telegram.dmPolicy` | `\"open\"` | `\"pairing\"` |" in text
    assert "folded" not in text


def test_large_comment_is_capped_and_folded(big: Outcome) -> None:
    text = render_report("markdown", big)
    assert len(text.encode("utf-8")) <= COMMENT_LIMIT
    _balanced(text)
    rows = [ln for ln in text.splitlines() if ln.startswith("| 🔴") or ln.startswith("| 🟠")
            or ln.startswith("| 🔵")]
    assert len(rows) == FINDINGS_SHOWN + 30  # top findings and top waived
    assert f"_and {1000 - FINDINGS_SHOWN} more findings;" in text
    assert "_and 70 more waived findings;" in text
    assert "_and 5 ... " not in text
    m = re.search(r"The diff is folded: (\d+) bots shown without details", text)
    assert m
    assert int(m.group(1)) > 0
    assert "<details><summary>" in text  # some change sets still shown in full


def test_identical_changes_share_one_block() -> None:
    outcome = large(findings_n=0, bots_n=400)
    text = render_report("markdown", outcome)
    # even bots share one change set (200 bots), odd bots differ
    assert "(200 bots in 17 fleets): 8 paths changed</summary>" in text
    assert len(text.encode("utf-8")) <= COMMENT_LIMIT


def test_small_diff_never_folded() -> None:
    text = render_report("markdown", diff_only())
    assert "folded" not in text
    assert "cut short" not in text


def test_escaping() -> None:
    text = render_report("markdown", hostile())
    assert "\x1b" not in text
    assert "\x00" not in text
    outside_code = re.sub(r"<code>.*?</code>", "", text)
    outside_code = re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", outside_code)
    assert "<b>" not in outside_code
    assert "<script>" not in outside_code
    assert "@octocat" not in outside_code  # user names only inside code: no mentions
    _balanced(text)


def test_pathological_rows_still_fit() -> None:
    """Even the capped sections can outgrow 64 KB with huge names; the comment is then cut
    between whole blocks and says so."""
    from molthub_gitops.policy.findings import PolicyResult

    from .builders import RULES, finding

    bots = tuple("b" * 250 + str(i) for i in range(40))
    found = tuple(finding("security-baseline/dm-policy-open", "error", line=i + 1, bots=bots,
                          path="é" * 400, message="<" * 3000) for i in range(40))
    outcome = Outcome(command="validate", source="r",
                      policy=PolicyResult(findings=found, rules=RULES))
    text = render_report("markdown", outcome)
    assert len(text.encode("utf-8")) <= COMMENT_LIMIT
    assert "cut short to stay under GitHub's 64 KB comment limit" in text
    assert text.rstrip().endswith("`molthub validate`</sub>")
    _balanced(text)
