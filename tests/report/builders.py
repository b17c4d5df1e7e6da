"""Outcome fixtures for the report tests, built straight from the dataclasses."""

from __future__ import annotations

from molthub_gitops.errors import Location, Problem
from molthub_gitops.model.sensitive import REDACTED
from molthub_gitops.plan.types import (
    BlastRadius,
    BotChange,
    FleetWaves,
    PathChange,
    RevisionDiff,
    Wave,
)
from molthub_gitops.policy.findings import Finding, PolicyResult, RuleInfo
from molthub_gitops.report.outcome import Outcome

SECRET = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
"""A literal secret: producers should have redacted it; no format may show it."""

HOSTILE = ('x|y <b>bold</b> & `tick` @octocat ::error::boom %25 a,b:c\r\n::warning::next '
           '##[error]legacy \x1b[31m\x00')

RULES = (
    RuleInfo("production-guardrails/replicas-range", "range", "warning",
             description="Concurrency within limits", rationale="Too many runs starve the host.",
             fix="Set agents.defaults.maxConcurrent between 1 and 8.",
             path="agents.defaults.maxConcurrent",
             location=Location("policies/guardrails.yaml", 12, 5)),
    RuleInfo("security-baseline/dm-policy-open", "openclaw-dm-open", "error",
             description="Direct messages open to anyone",
             rationale="Anyone can talk to the bot and use its tools.",
             fix="Set dmPolicy to pairing or allowlist."),
    RuleInfo("security-baseline/plaintext-secret", "openclaw-plaintext-secret", "error",
             description="Secret written in plain text", rationale="Git keeps it forever.",
             fix="Use a ${VAR} reference."),
    RuleInfo("security-baseline/redaction-off", "openclaw-redaction", "info",
             description="Log redaction off", rationale="Logs leak secrets.",
             fix="Set logging.redactSensitive to tools."),
    RuleInfo("security-baseline/tool-profile-full", "openclaw-tool-profile", "warning",
             description="Tool profile full", rationale="Every tool is exposed.",
             fix="Use a narrower profile."),
)


def finding(rule: str, severity: str, *, file: str = "templates/support.yaml", line: int = 7,
            column: int = 3, bots: tuple[str, ...] = ("bot-a",), path: str = "x.y",
            message: str = "something is off", waived_by: str | None = None,
            related: tuple[Location, ...] = ()) -> Finding:
    return Finding(rule=rule, severity=severity, message=message, bots=bots,  # type: ignore[arg-type]
                   fleets=("support",), path=path, hint="change it",
                   location=Location(file, line, column), layer="template Template/support",
                   related=related, waived_by=waived_by)


def small_diff() -> RevisionDiff:
    bots = (
        BotChange("bot-a", "support", "prod", "changed", "a" * 64, "b" * 64, changes=(
            PathChange("channels.telegram.botToken", "changed", before=SECRET, after=REDACTED,
                       location=Location("bots/bot-a.yaml", 4, 5)),
            PathChange("channels.telegram.dmPolicy", "changed", before="open", after="pairing",
                       location=Location("templates/support.yaml", 9, 7)),
            PathChange("gateway.auth", "added", after={"mode": "token",
                                                       "token": "${GW_TOKEN}"}),
            PathChange("tools.deny", "removed", before=["exec"]),
        ), other_changes=("openclawVersion 2026.3.31 -> 2026.9.6",)),
        BotChange("bot-new", "support", "prod", "added", None, "c" * 64),
        BotChange("bot-old", "sales", "staging", "removed", "d" * 64, None),
    )
    waves = (
        FleetWaves("support", "canary", (
            Wave(1, "canary", ("bot-a",), bake_seconds=600),
            Wave(2, "batch", ("bot-new",), pause_seconds=90),
        )),
    )
    return RevisionDiff(base="main (0123abcd)", head="HEAD", bots=bots, unchanged=33,
                        blast_radius=BlastRadius(3, ("sales", "support"), ("prod", "staging"),
                                                 36),
                        waves=waves)


def clean() -> Outcome:
    return Outcome(command="validate", source="example-repo", bots=36, fleets=("support",),
                   environments=("prod",), policy=PolicyResult(rules=RULES, bots_checked=36),
                   tool_version="0.1.0")


def problems_only() -> Outcome:
    return Outcome(command="validate", source="broken-repo", stage="load", problems=(
        Problem("yaml-syntax", "mapping values are not allowed here",
                Location("fleets/support.yaml", 3, 9), hint="indent the key"),
        Problem("base-unreadable", "base revision main~9 cannot be read", None),
        Problem("duplicate-key", "key 'name' appears twice", Location("bots/a.yaml", 2, 1),
                related=(Location("bots/a.yaml", 1, 1),)),
    ), path_prefix="example-repo/", tool_version="0.1.0")


def findings_outcome(*, with_diff: bool = True, fail_on: str = "error") -> Outcome:
    found = (
        finding("security-baseline/dm-policy-open", "error", bots=("bot-a", "bot-b", "bot-c"),
                path="channels.telegram.dmPolicy", message="dmPolicy is open"),
        finding("security-baseline/plaintext-secret", "error", file="bots/bot-a.yaml", line=4,
                path="channels.telegram.botToken", message="botToken is written in plain text",
                related=(Location("templates/support.yaml", 2, 1),)),
        finding("security-baseline/tool-profile-full", "warning", line=20,
                path="tools.profile", message="tool profile is full"),
        finding("security-baseline/redaction-off", "info", file="fleets/support.yaml", line=1,
                column=0, path="logging.redactSensitive", message="redaction is off"),
        finding("policy/exception-unused", "warning", file="policies/exceptions.yaml", line=3,
                bots=(), path="", message="exception 'old' matches nothing"),
    )
    waived = (
        finding("production-guardrails/replicas-range", "warning", line=30,
                path="agents.defaults.maxConcurrent", message="maxConcurrent 12 > 8",
                waived_by="allow-big-batch"),
    )
    policy = PolicyResult(findings=found, waived=waived, rules=RULES, bots_checked=36)
    return Outcome(command="validate", source="example-repo", fail_on=fail_on,  # type: ignore[arg-type]
                   bots=36, fleets=("sales", "support"), environments=("prod", "staging"),
                   openclaw_versions=("2026.9.6",), policy=policy,
                   diff=small_diff() if with_diff else None, path_prefix="example-repo/",
                   tool_version="0.1.0")


def diff_only(empty: bool = False) -> Outcome:
    diff = small_diff()
    if empty:
        diff = RevisionDiff(base="main", head="HEAD", bots=(), unchanged=36,
                            blast_radius=BlastRadius(0, (), (), 36), waves=())
    return Outcome(command="diff", source="example-repo", bots=36, diff=diff,
                   tool_version="0.1.0")


def hostile() -> Outcome:
    found = (
        finding("security-baseline/dm-policy-open", "error", file=f"bots/{HOSTILE}.yaml",
                bots=(HOSTILE, "bot|pipe", "<script>alert(1)</script>"), path=HOSTILE,
                message=HOSTILE),
        finding("security-baseline/tool-profile-full", "warning", message=HOSTILE,
                waived_by=HOSTILE),
    )
    policy = PolicyResult(findings=found[:1], waived=found[1:], rules=RULES, bots_checked=3)
    diff = RevisionDiff(
        base=HOSTILE, head="HEAD",
        bots=(BotChange(HOSTILE, HOSTILE, HOSTILE, "changed", "a" * 64, "b" * 64, changes=(
            PathChange(HOSTILE, "changed", before=HOSTILE, after={"k": HOSTILE}),),
            other_changes=(HOSTILE,)),),
        unchanged=0, blast_radius=BlastRadius(1, (HOSTILE,), (HOSTILE,), 1),
        waves=(FleetWaves(HOSTILE, "all", (Wave(1, "all", (HOSTILE,)),)),))
    return Outcome(command="validate", source=HOSTILE, policy=policy, diff=diff,
                   problems=(Problem(HOSTILE, HOSTILE, Location(HOSTILE, 1, 1), HOSTILE),),
                   path_prefix="repo dir/", tool_version="0.1.0")


def large(findings_n: int = 1000, bots_n: int = 2000) -> Outcome:
    severities = ("error", "warning", "info")
    rules = [r.rule for r in RULES]
    found = tuple(
        finding(rules[i % len(rules)], severities[i % 3], file=f"bots/b{i:04d}.yaml",
                line=i % 50 + 1, bots=tuple(f"bot-{i:04d}-{k}" for k in range(i % 40 + 1)),
                path=f"channels.c{i}.dmPolicy", message=f"finding number {i} is bad " * 3)
        for i in range(findings_n)
    )
    waived = tuple(
        finding(rules[i % len(rules)], "warning", file=f"bots/w{i:04d}.yaml", line=1,
                message=f"waived {i}", waived_by=f"exc-{i}") for i in range(100)
    )
    bots = tuple(
        BotChange(f"bot-{i:05d}-with-a-longish-name", f"fleet-{i % 17:02d}",
                  ("prod", "staging", "dev")[i % 3], "changed", f"{i:012x}" * 5 + "abcd",
                  f"{i + 1:012x}" * 5 + "abcd",
                  changes=tuple(PathChange(f"agents.list[{k}].model.primary", "changed",
                                           before=f"anthropic/claude-old-{k}-{i % 2 and i}" * 3,
                                           after=f"anthropic/claude-new-{k}" * 3)
                                for k in range(8)))
        for i in range(bots_n)
    )
    waves = tuple(
        FleetWaves(f"fleet-{f:02d}", "percentage", tuple(
            Wave(w + 1, "batch", tuple(b.name for b in bots if b.fleet == f"fleet-{f:02d}")[:20],
                 pause_seconds=60) for w in range(5)))
        for f in range(17)
    )
    diff = RevisionDiff("main", "HEAD", bots, 0,
                        BlastRadius(bots_n, tuple(sorted({b.fleet for b in bots})),
                                    ("dev", "prod", "staging"), bots_n), waves)
    policy = PolicyResult(findings=found, waived=waived, rules=RULES, bots_checked=bots_n)
    probs = tuple(Problem("schema", f"bad value {i}", Location(f"bots/p{i}.yaml", i + 1, 1))
                  for i in range(15))
    return Outcome(command="validate", source="big-repo", bots=bots_n, policy=policy,
                   diff=diff, path_prefix="fleet/", tool_version="0.1.0", problems=probs)


def large_no_problems() -> Outcome:
    o = large()
    return Outcome(command="validate", source=o.source, bots=o.bots, policy=o.policy,
                   diff=o.diff, path_prefix=o.path_prefix, tool_version=o.tool_version)


ALL = {
    "clean": clean,
    "problems": problems_only,
    "findings": findings_outcome,
    "findings-no-diff": lambda: findings_outcome(with_diff=False),
    "fail-on-warning": lambda: findings_outcome(fail_on="warning"),
    "diff": diff_only,
    "diff-empty": lambda: diff_only(empty=True),
    "hostile": hostile,
}
