"""The rule reference: every built-in pack and rule, and every rule type with its parameters.

:func:`rule_reference_markdown` is ``docs/policy-rules.md`` (``molthub policy rules -o markdown``
prints it; a test fails when the file is stale); :func:`rule_reference_json` is the same content
for ``-o json``. Both are deterministic: packs in :data:`BUILTIN_PACKS` order, rules in pack
order, rule types by category then name.
"""

from __future__ import annotations

import json
from typing import Any

import molthub_gitops.policy.generic
import molthub_gitops.policy.openclaw_checks  # noqa: F401 - registers the openclaw.* types
from molthub_gitops.model.documents import AppliesTo, PolicyPack, Rule
from molthub_gitops.policy.builtin import BUILTIN_PACKS
from molthub_gitops.policy.rules import RULE_TYPES, RuleType

__all__ = ["REGENERATE", "markdown_text", "rule_reference_json", "rule_reference_markdown"]

REGENERATE = "molthub policy rules -o markdown > docs/policy-rules.md"
"""The command that regenerates ``docs/policy-rules.md``."""

_CATEGORIES = (
    ("generic", "Generic path rules",
     "Check the value at `path` in every bot (inside the subject the rule names)."),
    ("cross-bot", "Cross-bot rules", "Compare a value across every bot the pack applies to."),
    ("openclaw", "OpenClaw security checks",
     "Know where to look (no `path`); the offline twin of `openclaw security audit`, whose "
     "checkIds they name."),
)


def _applies(applies_to: AppliesTo) -> str:
    parts = []
    if applies_to.environments:
        parts.append("environments " + ", ".join(applies_to.environments))
    if applies_to.fleets:
        parts.append("fleets " + ", ".join(applies_to.fleets))
    if applies_to.match_labels:
        parts.append("labels " + ", ".join(f"{k}={v}" for k, v in
                                           sorted(applies_to.match_labels.items())))
    return "; ".join(parts) if parts else "every bot"


def _types_sorted() -> list[RuleType]:
    order = {name: i for i, (name, _, _) in enumerate(_CATEGORIES)}
    return sorted(RULE_TYPES.values(), key=lambda t: (order.get(t.category, 99), t.name))


def _rule_json(pack: str, rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "qualifiedId": f"{pack}/{rule.id}",
        "type": rule.type,
        "severity": rule.severity,
        "path": rule.path,
        "subject": rule.subject,
        "waivable": rule.waivable,
        "params": rule.params,
        "description": rule.description,
        "rationale": rule.rationale,
        "fix": rule.fix,
    }


def _pack_json(name: str, pack: PolicyPack) -> dict[str, Any]:
    return {
        "name": name,
        "description": pack.spec.description,
        "appliesTo": pack.spec.applies_to.model_dump(by_alias=True),
        "rules": [_rule_json(name, r) for r in pack.spec.rules],
    }


def rule_reference_json() -> dict[str, Any]:
    """The reference as JSON-ready data: ``packs`` (each with its rules) and ``ruleTypes``."""
    return {
        "packs": [_pack_json(name, pack) for name, pack in BUILTIN_PACKS.items()],
        "ruleTypes": [
            {"name": t.name, "category": t.category, "summary": t.summary,
             "params": dict(t.params), "needsPath": t.needs_path}
            for t in _types_sorted()
        ],
    }


def markdown_text(text: str) -> str:
    """``text`` as Markdown prose: outside `code spans`, ``\\``, ``<`` and ``*`` are escaped, so
    placeholders such as ``channels.<id>`` and wildcards show as written (not as HTML or
    emphasis); ``|`` is escaped everywhere (table cells) and newlines become spaces."""
    def prose(part: str) -> str:
        return part.replace("\\", "\\\\").replace("<", "\\<").replace("*", "\\*")

    flat = text.replace("\n", " ")
    parts = flat.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: no code spans
        return prose(flat).replace("`", "\\`").replace("|", "\\|")
    for i in range(0, len(parts), 2):
        parts[i] = prose(parts[i])
    return "`".join(parts).replace("|", "\\|")


def _anchor(text: str) -> str:
    return "".join(c for c in text.lower().replace(" ", "-") if c.isalnum() or c in "-_")


def _pack_markdown(name: str, pack: PolicyPack) -> list[str]:
    lines = [f"### {name}", "", markdown_text(pack.spec.description), "",
             f"Applies to: {_applies(pack.spec.applies_to)}.", "",
             "| Rule | Severity | Type |", "|---|---|---|"]
    for rule in pack.spec.rules:
        lines.append(f"| [{rule.id}](#{_anchor(f'{name}/{rule.id}')}) | {rule.severity} | "
                     f"`{rule.type}` |")
    lines.append("")
    for rule in pack.spec.rules:
        lines += [f"#### {name}/{rule.id}", ""]
        facts = [f"type `{rule.type}`", f"severity **{rule.severity}**"]
        if rule.path:
            where = f"{rule.subject} " if rule.subject != "config" else ""
            facts.append(f"path `{where}{rule.path}`")
        if rule.params:
            facts.append("params `" + json.dumps(rule.params, sort_keys=True) + "`")
        facts.append("waivable" if rule.waivable else "**not waivable**")
        lines += ["- " + ", ".join(facts), f"- **What:** {markdown_text(rule.description)}",
                  f"- **Why:** {markdown_text(rule.rationale)}",
                  f"- **Fix:** {markdown_text(rule.fix)}", ""]
    return lines


def _type_markdown(rule_type: RuleType) -> list[str]:
    lines = [f"#### `{rule_type.name}`", "", markdown_text(rule_type.summary), ""]
    if rule_type.needs_path:
        lines += ["Needs `path`.", ""]
    if rule_type.params:
        lines += ["| Param | Meaning |", "|---|---|"]
        lines += [f"| `{k}` | {markdown_text(v)} |" for k, v in rule_type.params.items()]
    else:
        lines.append("No params.")
    lines.append("")
    return lines


def rule_reference_markdown() -> str:
    """The reference page (``docs/policy-rules.md``)."""
    lines = [
        "# Policy rules",
        "",
        f"<!-- Generated by `{REGENERATE}`; do not edit by hand. -->",
        "",
        "Every rule molthub ships, and every rule type a repository's own `PolicyPack` can use.",
        "A finding names the qualified rule id (`<pack>/<rule>`), the bots, the config path and",
        "the file:line of the layer that set the value. `security-baseline` is always in force;",
        "a `PolicyException` may waive a waivable rule for some bots until it expires.",
        "",
        "## Built-in packs",
        "",
    ]
    for name, pack in BUILTIN_PACKS.items():
        lines += _pack_markdown(name, pack)
    lines += ["## Rule types", ""]
    types = _types_sorted()
    for category, title, blurb in _CATEGORIES:
        members = [t for t in types if t.category == category]
        if not members:
            continue
        lines += [f"### {title}", "", blurb, ""]
        for rule_type in members:
            lines += _type_markdown(rule_type)
    return "\n".join(lines).rstrip("\n") + "\n"
