"""The ``json`` format: every fact of a run as one stable JSON document (schemaVersion 1).

Field by field in docs/validate-json.md; docs/validate-report.schema.json is its JSON Schema.
Keys are camelCase and always present (``null`` or ``[]`` when empty), so consumers need no
existence checks. File paths are relative to the config repository; ``pathPrefix`` says where
that is inside the Git work tree.
"""

from __future__ import annotations

import json
from typing import Any

from molthub_gitops.errors import Location, Problem
from molthub_gitops.plan.types import BotChange, FleetWaves, PathChange, RevisionDiff
from molthub_gitops.policy.findings import Finding, RuleInfo
from molthub_gitops.report import _common as c
from molthub_gitops.report.outcome import Outcome

__all__ = ["SCHEMA_VERSION", "render_json", "report_document"]

SCHEMA_VERSION = 1


def _location(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    return {
        "file": loc.file,
        "line": loc.line if loc.line > 0 else None,
        "column": loc.column if loc.column > 0 else None,
    }


def _finding(f: Finding, *, waived: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "rule": f.rule,
        "pack": f.pack,
        "severity": f.severity,
        "message": f.message,
        "hint": f.hint,
        "path": f.path,
        "bots": list(f.bots),
        "fleets": list(f.fleets),
        "location": _location(f.location),
        "layer": f.layer,
        "related": [_location(r) for r in f.related],
    }
    if waived:
        doc["waivedBy"] = f.waived_by
    return doc


def _problem(p: Problem) -> dict[str, Any]:
    return {
        "code": p.code,
        "message": p.message,
        "hint": p.hint,
        "location": _location(p.location),
        "related": [_location(r) for r in p.related],
    }


def _rule(r: RuleInfo) -> dict[str, Any]:
    return {
        "rule": r.rule,
        "pack": r.rule.split("/", 1)[0],
        "type": r.type,
        "severity": r.severity,
        "description": r.description,
        "rationale": r.rationale,
        "fix": r.fix,
        "path": r.path,
        "location": _location(r.location),
    }


def _change(ch: PathChange) -> dict[str, Any]:
    return {
        "path": ch.path,
        "kind": ch.kind,
        "before": c.safe_value(ch.path, ch.before) if ch.present_before else None,
        "after": c.safe_value(ch.path, ch.after) if ch.present_after else None,
        "presentBefore": ch.present_before,
        "presentAfter": ch.present_after,
        "location": _location(ch.location),
    }


def _bot(b: BotChange) -> dict[str, Any]:
    return {
        "name": b.name,
        "fleet": b.fleet,
        "environment": b.environment,
        "kind": b.kind,
        "hashBefore": b.hash_before,
        "hashAfter": b.hash_after,
        "changes": [_change(ch) for ch in b.changes],
        "otherChanges": list(b.other_changes),
    }


def _waves(fw: FleetWaves) -> dict[str, Any]:
    return {
        "fleet": fw.fleet,
        "strategy": fw.strategy,
        "waves": [
            {"index": w.index, "kind": w.kind, "bots": list(w.bots),
             "bakeSeconds": w.bake_seconds, "pauseSeconds": w.pause_seconds}
            for w in fw.waves
        ],
    }


def _diff(d: RevisionDiff) -> dict[str, Any]:
    br = d.blast_radius
    return {
        "base": d.base,
        "head": d.head,
        "summary": {
            "added": d.count("added"),
            "removed": d.count("removed"),
            "changed": d.count("changed"),
            "unchanged": d.unchanged,
        },
        "bots": [_bot(b) for b in d.bots],
        "blastRadius": {
            "bots": br.bots,
            "botsTotal": br.bots_total,
            "fleets": list(br.fleets),
            "environments": list(br.environments),
        },
        "waves": [_waves(fw) for fw in d.waves],
    }


def report_document(outcome: Outcome) -> dict[str, Any]:
    """The JSON document as Python data (keys in documented order)."""
    n = c.counts(outcome)
    policy = outcome.policy
    return {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "molthub-gitops", "version": outcome.tool_version},
        "command": outcome.command,
        "source": outcome.source,
        "pathPrefix": outcome.path_prefix,
        "stage": outcome.stage,
        "exitCode": outcome.exit_code,
        "verdict": c.verdict(outcome),
        "failOn": outcome.fail_on,
        "summary": {
            "errors": n.errors,
            "warnings": n.warnings,
            "info": n.info,
            "waived": n.waived,
            "problems": n.problems,
            "failing": n.failing,
            "botsChecked": n.bots_checked,
            "policyEvaluated": policy is not None,
        },
        "bots": outcome.bots,
        "fleets": list(outcome.fleets),
        "environments": list(outcome.environments),
        "openclawVersions": list(outcome.openclaw_versions),
        "problems": [_problem(p) for p in c.problems(outcome)],
        "findings": [_finding(f, waived=False) for f in c.findings(outcome)],
        "waived": [_finding(f, waived=True) for f in c.waived(outcome)],
        "rules": [_rule(r) for r in sorted(policy.rules, key=lambda r: r.rule)] if policy else [],
        "diff": _diff(outcome.diff) if outcome.diff is not None else None,
    }


def render_json(outcome: Outcome) -> str:
    """The JSON document, indented, UTF-8 text, newline-terminated."""
    return json.dumps(report_document(outcome), indent=2, ensure_ascii=False, default=str) + "\n"
