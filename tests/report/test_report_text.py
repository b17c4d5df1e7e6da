"""The text format: grouping, alignment, colour only on request, summary line."""

from __future__ import annotations

from molthub_gitops.report.formats import render_report

from .builders import HOSTILE, clean, diff_only, findings_outcome, hostile, problems_only


def test_no_ansi_without_color() -> None:
    out = render_report("text", findings_outcome())
    assert "\x1b" not in out


def test_ansi_with_color() -> None:
    out = render_report("text", findings_outcome(), color=True)
    assert "\x1b[1;31m" in out  # errors in red
    assert "\x1b[1;33m" in out  # warnings in yellow
    assert out.count("\x1b[0m") >= 5


def test_grouped_by_severity_then_file() -> None:
    lines = render_report("text", findings_outcome()).splitlines()
    assert lines[1] == "36 bots in 2 fleets (prod, staging; OpenClaw 2026.9.6)"
    heads = [ln for ln in lines[2:] if ln and not ln.startswith(" ") and "(" in ln]
    assert heads[:4] == ["errors (2)", "warnings (2)", "info (1)", "waived (1)"]
    errors = lines[lines.index("errors (2)") + 1:lines.index("warnings (2)")]
    files = [ln.strip() for ln in errors if ln.startswith("  ") and not ln.startswith("    ")]
    assert files == ["bots/bot-a.yaml", "templates/support.yaml"]
    assert any("bots (3): bot-a, bot-b, bot-c" in ln for ln in errors)


def test_aligned_columns_within_a_file() -> None:
    outcome = findings_outcome()
    lines = render_report("text", outcome).splitlines()
    warn = lines[lines.index("warnings (2)") + 1:lines.index("info (1)")]
    rule_lines = [ln for ln in warn if "security-baseline/" in ln or "policy/" in ln]
    assert rule_lines, warn


def test_summary_line_counts_and_diff() -> None:
    last = render_report("text", findings_outcome()).splitlines()[-1]
    assert last.startswith("failed (fail on error): ")
    assert "2 errors, 2 warnings, 1 info, 1 waived; 36 bots checked" in last
    assert "3 bots changed (1 added, 1 removed, 1 changed) of 36 in 2 fleets (2 environments)" \
        in last
    assert "waves per fleet: support 2" in last


def test_clean_passes() -> None:
    last = render_report("text", clean()).splitlines()[-1]
    assert last == "passed: 0 errors, 0 warnings, 0 info, 0 waived; 36 bots checked"


def test_problems_listed_with_hint() -> None:
    out = render_report("text", problems_only())
    assert "fleets/support.yaml:3:9: error[yaml-syntax]: mapping values" in out
    assert "hint: indent the key" in out
    assert "see also: bots/a.yaml:1:1" in out
    assert out.splitlines()[-1] == "input error: 3 input problems"


def test_diff_lines() -> None:
    out = render_report("text", diff_only())
    assert '~ channels.telegram.dmPolicy: "open" -> "pairing"' in out
    assert "- tools.deny: [\"exec\"] -> (absent)" in out
    assert "+ bot-new (support/prod) added" in out
    assert "support (canary): 1 canary: bot-a (bake 10m); 2 batch: bot-new (pause 1m30s)" in out
    assert out.splitlines()[-1].startswith("changes: diff: 3 bots changed")
    empty = render_report("text", diff_only(empty=True))
    assert "no bot changes (36 unchanged)" in empty
    assert empty.splitlines()[-1].startswith("no changes: ")


def test_user_text_cannot_send_terminal_escapes() -> None:
    out = render_report("text", hostile())
    assert "\x1b" not in out
    assert "\x00" not in out
    assert "\\x1b[31m" in out
    assert HOSTILE not in out  # its newline and escape are neutralised



def test_identical_changes_are_one_block_listing_the_bots() -> None:
    from molthub_gitops.plan.types import BlastRadius, BotChange, PathChange, RevisionDiff
    from molthub_gitops.report.outcome import Outcome

    same = (PathChange("agents.defaults.model.primary", "changed", "a/old", "a/new"),)
    alike = [BotChange(name, "support", "prod", "changed", "1" * 64, "2" * 64, same)
             for name in ("bot-1", "bot-2", "bot-3")]
    odd = BotChange("odd-one", "support", "prod", "changed", "3" * 64, "4" * 64,
                    (PathChange("tools.profile", "changed", "minimal", "messaging"),))
    bots = (*alike, odd)
    diff = RevisionDiff("base", "head", bots, 5, BlastRadius(4, ("support",), ("prod",), 9), ())
    text = render_report("text", Outcome(command="diff", source="repo", diff=diff))
    lines = text.splitlines()
    assert sum("agents.defaults.model.primary" in ln for ln in lines) == 1
    assert any("3 bots changed alike (support): bot-1, bot-2, bot-3" in ln for ln in lines)
    assert any(ln.startswith("  ~ odd-one (support/prod) changed  333333333333 -> 444444444444")
               for ln in lines)
    assert any('tools.profile: "minimal" -> "messaging"' in ln for ln in lines)
