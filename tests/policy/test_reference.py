"""The generated rule reference: complete, deterministic, and docs/policy-rules.md is fresh."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from molthub_gitops.policy.builtin import BUILTIN_PACKS
from molthub_gitops.policy.reference import (
    REGENERATE,
    markdown_text,
    rule_reference_json,
    rule_reference_markdown,
)
from molthub_gitops.policy.rules import RULE_TYPES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "policy-rules.md"


def test_docs_policy_rules_is_fresh() -> None:
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert current == rule_reference_markdown(), (
        f"docs/policy-rules.md is stale: regenerate it with `{REGENERATE}`")


def test_markdown_lists_every_rule_with_what_why_and_fix() -> None:
    text = rule_reference_markdown()
    for name, pack in BUILTIN_PACKS.items():
        assert f"### {name}\n" in text
        for rule in pack.spec.rules:
            section = text.split(f"#### {name}/{rule.id}\n", 1)[1].split("\n#### ", 1)[0]
            assert f"`{rule.type}`" in section
            assert f"**{rule.severity}**" in section
            for label, value in (("What", rule.description), ("Why", rule.rationale),
                                 ("Fix", rule.fix)):
                assert f"- **{label}:** {markdown_text(value)}" in section


def test_markdown_lists_every_rule_type_with_its_params() -> None:
    text = rule_reference_markdown()
    assert {t.category for t in RULE_TYPES.values()} == {"generic", "cross-bot", "openclaw"}
    for rule_type in RULE_TYPES.values():
        section = text.split(f"#### `{rule_type.name}`\n", 1)[1].split("\n#### ", 1)[0]
        assert markdown_text(rule_type.summary) in section
        for param in rule_type.params:
            assert f"| `{param}` |" in section


def test_placeholders_and_wildcards_are_escaped() -> None:
    assert markdown_text("channels.<id> holds * | x") == "channels.\\<id> holds \\* \\| x"
    assert markdown_text("below a `*` item, <b>") == "below a `*` item, \\<b>"
    assert markdown_text("odd ` tick *") == "odd \\` tick \\*"
    text = rule_reference_markdown()
    assert "channels.\\<id>.dm.open" in text
    assert "channels.<id>" not in text


def test_json_matches_the_markdown_content() -> None:
    data = rule_reference_json()
    json.dumps(data)  # JSON-ready
    assert [p["name"] for p in data["packs"]] == list(BUILTIN_PACKS)
    rule = data["packs"][0]["rules"][0]
    assert rule["qualifiedId"] == f"security-baseline/{rule['id']}"
    assert set(rule) >= {"id", "qualifiedId", "type", "severity", "path", "subject",
                         "description", "rationale", "fix"}
    assert {t["name"] for t in data["ruleTypes"]} == set(RULE_TYPES)
    port = next(t for t in data["ruleTypes"] if t["name"] == "portSpacing")
    assert port["category"] == "cross-bot"
    assert "minGap" in port["params"]


def test_cli_prints_the_same_page() -> None:
    done = subprocess.run([sys.executable, "-m", "molthub_gitops", "policy", "rules",
                           "-o", "markdown"], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == rule_reference_markdown()
