"""The built-in packs: complete, documented, compilable, scoped, and the example repository and
the broken-policy base pass them."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

import molthub_gitops.policy.generic
import molthub_gitops.policy.openclaw_checks  # noqa: F401 - registers the openclaw.* types
from molthub_gitops.policy.builtin import BUILTIN_PACKS
from molthub_gitops.policy.engine import evaluate_policies
from molthub_gitops.policy.rules import RULE_TYPES

from .policyhelpers import base_files, describe, evaluate, read_tree, render, repo_from_files

EXAMPLE = Path(__file__).resolve().parents[2] / "example-repo"

# Molthub's OpenClaw rule types and boolean checks (molthub-baseline.md) -> our counterpart
MOLTHUB_COUNTERPARTS = {
    "require gateway auth": "security-baseline/gateway-auth-required",
    "gateway not bound to 0.0.0.0": "security-baseline/gateway-bind-all-interfaces",
    "dmPolicy not open": "security-baseline/dm-policy-open",
    "groupPolicy not open": "security-baseline/group-policy-open",
    "channel allowlists": "security-baseline/channel-allowlist",
    "config file mode 600 / state dir 700": "security-baseline/file-modes",
    "forbid dangerous tools": "security-baseline/dangerous-tools",
    "elevated tools need allowFrom": "security-baseline/elevated-needs-allow-from",
    "forbid tool profile full": "security-baseline/tool-profile-full",
    "require sandbox": "security-baseline/sandbox-required",
    "sandbox hardening": "security-baseline/sandbox-hardening",
    "model guardrails: temperature": "production-guardrails/model-temperature",
    "model guardrails: max tokens": "production-guardrails/model-max-tokens",
    "unique workspace per bot": "security-baseline/workspace-unique",
    "gateway ports 20 apart on one host": "security-baseline/gateway-port-spacing",
    "token rotation <= 90 days": "production-guardrails/gateway-token-rotation",
    "skills need an integrity pin": "security-baseline/unpinned-skills",
    "forbid plaintext secrets": "security-baseline/plaintext-secrets",
    "require image pinning": "production-guardrails/image-pinned",
    "resource limits": "production-guardrails/resource-limits",
    "secure default: sandbox all in prod": "production-guardrails/sandbox-all",
    "secure default: redactSensitive": "production-guardrails/redaction-on",
}


def all_rules() -> list[tuple[str, str]]:
    return [(name, rule.id) for name, pack in BUILTIN_PACKS.items() for rule in pack.spec.rules]


def test_the_two_packs_and_their_scope() -> None:
    assert list(BUILTIN_PACKS) == ["security-baseline", "production-guardrails"]
    assert BUILTIN_PACKS["security-baseline"].spec.applies_to.environments == []
    assert BUILTIN_PACKS["production-guardrails"].spec.applies_to.environments == ["prod"]
    for name, pack in BUILTIN_PACKS.items():
        assert pack.metadata.name == name
        ids = [r.id for r in pack.spec.rules]
        assert len(ids) == len(set(ids)), f"{name}: duplicate rule ids"


@pytest.mark.parametrize(("pack", "rule_id"), all_rules())
def test_every_rule_is_documented_and_compiles(pack: str, rule_id: str) -> None:
    (rule,) = [r for r in BUILTIN_PACKS[pack].spec.rules if r.id == rule_id]
    for text in (rule.description, rule.rationale, rule.fix):
        assert len(text) > 20, (rule_id, text)
        assert text.endswith("."), (rule_id, text)
    assert rule.type in RULE_TYPES
    RULE_TYPES[rule.type].compile(rule)


def test_every_molthub_rule_has_a_counterpart() -> None:
    qualified = {f"{pack}/{rule}" for pack, rule in all_rules()}
    assert set(MOLTHUB_COUNTERPARTS.values()) <= qualified


def test_baseline_holds_the_critical_audit_checks_as_errors() -> None:
    severities = {r.type: r.severity for r in BUILTIN_PACKS["security-baseline"].spec.rules}
    for rule_type in ("openclaw.gatewayBindNoAuth", "openclaw.dmPolicyOpen",
                      "openclaw.elevatedAllowFromWildcard", "openclaw.openGroupsWithElevated",
                      "openclaw.tailscaleFunnel", "openclaw.controlUiAllowedOrigins",
                      "openclaw.hooksTokenReuse", "openclaw.plaintextSecrets"):
        assert severities[rule_type] == "error", rule_type


def test_secrets_in_git_cannot_be_waived() -> None:
    (rule,) = [r for r in BUILTIN_PACKS["security-baseline"].spec.rules
               if r.id == "plaintext-secrets"]
    assert rule.waivable is False


def test_the_packs_are_immutable() -> None:
    with pytest.raises(TypeError):
        BUILTIN_PACKS["x"] = BUILTIN_PACKS["security-baseline"]  # type: ignore[index]


def test_the_base_repository_passes() -> None:
    result = evaluate(base_files())
    assert result.findings == (), describe(result.findings)


def test_the_example_repository_has_no_error_findings() -> None:
    repo = repo_from_files(read_tree(EXAMPLE), source="example-repo")
    assert repo.repository.doc.spec.policy.packs == [
        "security-baseline", "production-guardrails", "acme-channel-safety"]
    result = evaluate_policies(repo, render(repo), today=datetime.date(2026, 6, 1))
    errors = [f for f in result.findings if f.severity == "error"]
    assert errors == [], describe(errors)
    evaluated = {r.rule for r in result.rules}
    assert {f"{p}/{r}" for p, r in all_rules()} <= evaluated
