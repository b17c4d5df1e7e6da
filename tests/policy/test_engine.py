"""The policy engine: packs in force, appliesTo scoping, grouping, provenance of findings,
memoised evaluation, rule metadata, and the failure paths of pack compilation."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest

from molthub_gitops.errors import InputError
from molthub_gitops.model.documents import PolicyPack, Rule
from molthub_gitops.policy import engine
from molthub_gitops.policy.engine import compile_packs, evaluate_policies
from molthub_gitops.policy.exceptions import EXCEPTION_RULES
from molthub_gitops.policy.rules import (
    BotCheck,
    CrossViolation,
    FleetwideCheck,
    RuleType,
    Violation,
    register,
)
from molthub_gitops.render.types import RenderedBot

from .policyhelpers import (
    TODAY,
    evaluate,
    only,
    pack_yaml,
    render,
    replaced,
    repo_from_files,
    repository_yaml,
    with_base,
    with_rules,
)

TOOL_RULE = {"id": "profile", "type": "oneOf", "path": "tools.profile",
             "params": {"values": ["minimal"]}}


def strip_sections(bots: Sequence[RenderedBot]) -> list[RenderedBot]:
    """The same bots without the renderer's section caches (every check runs per bot)."""
    return [dataclasses.replace(b, section_json={}, section_values={}) for b in bots]


# --------------------------------------------------------------------------- packs in force


def test_security_baseline_is_always_in_force() -> None:
    secret = "0123456789abcdef0123456789abcdef"
    files = with_base({
        "molthub.yaml": repository_yaml(["generic"]),
        **replaced("templates/telegram.yaml", 'token: "${OPENCLAW_GATEWAY_TOKEN}"',
                   f'token: "{secret}"'),
    })
    result = evaluate(files)
    packs = {info.rule.split("/")[0] for info in result.rules}
    assert packs == {"security-baseline", "generic", "policy"}
    plaintext = [f for f in result.findings if f.rule == "security-baseline/plaintext-secrets"]
    assert len(plaintext) == 1
    assert plaintext[0].severity == "error"
    assert plaintext[0].location is not None
    assert plaintext[0].location.file == "templates/telegram.yaml"
    assert secret not in repr(result)


def test_production_guardrails_check_prod_bots_only() -> None:
    changes = replaced("templates/telegram.yaml", "          maxTokens: 4096\n", "")
    findings = evaluate(with_base(changes)).findings
    guard = [f for f in findings if f.pack == "production-guardrails"]
    assert guard
    assert all(set(f.bots) <= {"prod-one", "prod-two"} for f in guard)


def test_applies_to_environments_fleets_and_labels() -> None:
    def bots(applies_to: dict[str, Any]) -> set[str]:
        return {b for f in only(evaluate(with_rules([TOOL_RULE], applies_to=applies_to)))
                for b in f.bots}

    assert bots({}) == {"dev-one", "dev-two", "prod-one", "prod-two"}
    assert bots({"environments": ["prod"]}) == {"prod-one", "prod-two"}
    assert bots({"fleets": ["d*"]}) == {"dev-one", "dev-two"}
    assert bots({"matchLabels": {"team": "support"}}) == {"dev-one", "dev-two", "prod-one",
                                                          "prod-two"}
    assert bots({"matchLabels": {"team": "other"}}) == set()
    assert bots({"environments": ["prod"], "fleets": ["dev"]}) == set()


def test_an_unknown_pack_is_an_input_error() -> None:
    repo = repo_from_files(with_rules([TOOL_RULE]))
    broken = dataclasses.replace(repo, policy_packs={})
    with pytest.raises(InputError) as info:
        evaluate_policies(broken, render(repo), today=TODAY)
    (problem,) = info.value.problems
    assert problem.code == "unknown-policy-pack"
    assert problem.location is not None
    assert problem.location.file == "molthub.yaml"


def test_a_broken_builtin_pack_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    pack = PolicyPack.model_validate(pack_yaml_dict("security-baseline", [
        {"id": "x", "type": "oneOf", "path": "a", "params": {"values": []}}]))
    monkeypatch.setattr(engine, "BUILTIN_PACKS", {"security-baseline": pack})
    repo = repo_from_files(with_base({"molthub.yaml": repository_yaml([])}))
    with pytest.raises(RuntimeError, match="built-in policy pack is broken"):
        compile_packs(repo)


def pack_yaml_dict(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    import yaml

    loaded: dict[str, Any] = yaml.safe_load(pack_yaml(name, rules))
    return loaded


# --------------------------------------------------------------------------- findings


def test_one_source_line_many_bots_is_one_finding() -> None:
    (finding,) = only(evaluate(with_rules([TOOL_RULE])))
    assert finding.rule == "test/profile"
    assert finding.bots == ("dev-one", "dev-two", "prod-one", "prod-two")
    assert finding.fleets == ("dev", "prod")
    assert finding.message == 'tools.profile is "messaging"; expected one of "minimal"'
    assert finding.location is not None
    assert finding.location.file == "templates/telegram.yaml"
    assert finding.layer == "template Template/telegram"


@pytest.mark.parametrize(("changes", "file", "layer", "bots"), [
    (replaced("profiles/hardening.yaml", "    tools:\n", "    tools:\n      profile: coding\n"),
     "profiles/hardening.yaml", "profile Profile/hardening", 4),
    ({"overlays/o.yaml": "apiVersion: molthub/v1\nkind: Overlay\nmetadata: {name: o}\nspec:\n"
                         "  selector: {fleets: [prod]}\n  config:\n    tools:\n"
                         "      profile: coding\n"},
     "overlays/o.yaml", "overlay Overlay/o", 2),
    (replaced("fleets/dev.yaml", "    - name: dev-two\n",
              "    - name: dev-two\n      config:\n        tools:\n          profile: coding\n"),
     "fleets/dev.yaml", "bot Fleet/dev", 1),
])
def test_the_location_is_the_layer_that_set_the_value(
    changes: dict[str, str], file: str, layer: str, bots: int,
) -> None:
    findings = only(evaluate(with_rules([TOOL_RULE], changes)))
    mine = [f for f in findings if f.location is not None and f.location.file == file]
    assert len(mine) == 1, findings
    (f,) = mine
    assert f.layer == layer
    assert len(f.bots) == bots
    assert f.message == 'tools.profile is "coding"; expected one of "minimal"'
    text = (changes[file]).splitlines()[f.location.line - 1] if f.location else ""
    assert text.strip() == "profile: coding"
    # the rest still come from the template
    assert sum(len(g.bots) for g in findings) == 4


def test_rule_fix_is_the_hint_and_the_definition_is_related() -> None:
    rule = {**TOOL_RULE, "fix": "Use the minimal profile.", "severity": "warning",
            "description": "Minimal tools.", "rationale": "Least privilege."}
    result = evaluate(with_rules([rule]))
    (finding,) = only(result)
    assert finding.hint == "Use the minimal profile."
    assert finding.severity == "warning"
    (info,) = [i for i in result.rules if i.rule == "test/profile"]
    assert info.type == "oneOf"
    assert info.path == "tools.profile"
    assert (info.description, info.rationale, info.fix) == (
        "Minimal tools.", "Least privilege.", "Use the minimal profile.")
    assert info.location is not None
    assert info.location.file == "policies/test.yaml"
    assert info.location in finding.related


def test_rules_lists_every_rule_sorted_with_builtin_locations_none() -> None:
    result = evaluate(with_rules([TOOL_RULE]))
    names = [i.rule for i in result.rules]
    assert names == sorted(names)
    assert {i.rule for i in EXCEPTION_RULES} <= set(names)
    assert all(i.location is None for i in result.rules if not i.rule.startswith("test/"))
    assert result.bots_checked == 4


def test_results_are_sorted_worst_first() -> None:
    rules = [{"id": "a-info", "type": "forbidden", "path": "gateway.mode", "severity": "info"},
             {"id": "b-error", "type": "forbidden", "path": "gateway.bind"},
             {"id": "c-warning", "type": "forbidden", "path": "tools.profile",
              "severity": "warning"}]
    severities = [f.severity for f in only(evaluate(with_rules(rules)))]
    assert severities == ["error", "warning", "info"]


# --------------------------------------------------------------------------- memo


class _Counting(BotCheck):
    calls = 0

    def __init__(self, rule: Rule) -> None:
        self.key = rule.params.get("section", "gateway")
        self.sections = frozenset({self.key}) if rule.params.get("memo", True) else None

    def check(self, bot: RenderedBot) -> Sequence[Violation]:
        type(self).calls += 1
        value = bot.section_values.get(self.key) if bot.section_values else bot.config.get(
            self.key)
        return [Violation((self.key,), f"{self.key} has {len(value or {})} keys")]


def test_checks_run_once_per_distinct_section_content(
    extra_rule_type: list[RuleType],
) -> None:
    extra_rule_type.append(register(RuleType("test.counting", "Counts calls.", _Counting)))
    files = with_rules([{"id": "count", "type": "test.counting"}])
    _Counting.calls = 0
    (finding,) = only(evaluate(files))
    assert _Counting.calls == 1  # four bots, one gateway section
    assert len(finding.bots) == 4

    changed = with_rules([{"id": "count", "type": "test.counting"}], replaced(
        "fleets/dev.yaml", "    - name: dev-two\n",
        "    - name: dev-two\n      config:\n        gateway:\n          port: 19000\n"))
    _Counting.calls = 0
    findings = only(evaluate(changed))
    assert _Counting.calls == 2
    assert sorted(len(f.bots) for f in findings) == [1, 3]

    _Counting.calls = 0
    evaluate(with_rules([{"id": "count", "type": "test.counting", "params": {"memo": False}}]))
    assert _Counting.calls == 4


class _Sandbox(BotCheck):
    calls = 0
    sections = frozenset({"agents.defaults.sandbox"})

    def __init__(self, rule: Rule) -> None:
        pass

    def check(self, bot: RenderedBot) -> Sequence[Violation]:
        type(self).calls += 1
        agents = bot.section_values.get("agents") if bot.section_values else bot.config.get(
            "agents")
        mode = (agents or {}).get("defaults", {}).get("sandbox", {}).get("mode")
        return [Violation(("agents", "defaults", "sandbox", "mode"), f"mode is {mode}")]


def test_a_dotted_section_shares_verdicts_of_bots_whose_section_differs(
    extra_rule_type: list[RuleType],
) -> None:
    """``agents`` differs per bot (the workspace holds the bot name), but the sandbox comes
    from one profile: bots share the verdict."""
    extra_rule_type.append(register(RuleType("test.sandbox", "Sandbox.", _Sandbox)))
    rules = [{"id": "sandbox", "type": "test.sandbox"}]
    _Sandbox.calls = 0
    (finding,) = only(evaluate(with_rules(rules)))
    assert _Sandbox.calls == 1
    assert finding.message == "mode is all"
    assert len(finding.bots) == 4

    changes = replaced("fleets/dev.yaml", "    - name: dev-two\n",
                       "    - name: dev-two\n      config:\n        agents:\n          defaults:\n"
                       "            sandbox:\n              mode: non-main\n")
    repo = repo_from_files(with_rules(rules, changes))
    bots = render(repo)
    _Sandbox.calls = 0
    memo = evaluate_policies(repo, bots, today=TODAY)
    assert _Sandbox.calls == 2
    assert sorted((f.message, f.bots) for f in only(memo)) == [
        ("mode is all", ("dev-one", "prod-one", "prod-two")), ("mode is non-main", ("dev-two",))]
    assert memo == evaluate_policies(repo, strip_sections(bots), today=TODAY)


def test_memoised_verdicts_equal_per_bot_verdicts() -> None:
    """Bots with and without the renderer's section caches get identical results."""
    packs = ["security-baseline", "production-guardrails", "generic", "prod-only"]
    files = with_base({
        "molthub.yaml": repository_yaml(packs),
        "overlays/mix.yaml": "apiVersion: molthub/v1\nkind: Overlay\nmetadata: {name: mix}\n"
                             "spec:\n  selector: {bots: [dev-one, prod-two]}\n  config:\n"
                             "    tools: {profile: full}\n    gateway: {bind: lan}\n"
                             "    channels: {telegram: {dmPolicy: open, historyLimit: 900}}\n",
    })
    repo = repo_from_files(files)
    bots = render(repo)
    memo = evaluate_policies(repo, bots, today=TODAY)
    plain = evaluate_policies(repo, strip_sections(bots), today=TODAY)
    assert memo.findings
    assert memo == plain


# --------------------------------------------------------------------------- fleetwide


class _Ghost(FleetwideCheck):
    def __init__(self, rule: Rule) -> None:
        pass

    def check_all(self, bots: Sequence[RenderedBot]) -> Sequence[CrossViolation]:
        return [CrossViolation("no-such-bot", (), "boo")]


class _Scoped(FleetwideCheck):
    seen: list[str] = []

    def __init__(self, rule: Rule) -> None:
        pass

    def check_all(self, bots: Sequence[RenderedBot]) -> Sequence[CrossViolation]:
        type(self).seen = [b.name for b in bots]
        return [CrossViolation(b.name, ("gateway", "port"), "too close", others=("dev-one",))
                for b in bots if b.name != "dev-one"]


def test_fleetwide_checks_see_the_bots_in_scope(extra_rule_type: list[RuleType]) -> None:
    extra_rule_type.append(register(RuleType("test.scoped", "Scoped.", _Scoped,
                                             category="cross-bot")))
    findings = only(evaluate(with_rules([{"id": "s", "type": "test.scoped"}],
                                        applies_to={"fleets": ["dev"]})))
    assert _Scoped.seen == ["dev-one", "dev-two"]
    (f,) = findings
    assert f.bots == ("dev-two",)
    assert f.path == "gateway.port"


def test_a_fleetwide_check_naming_an_unknown_bot_is_a_bug(
    extra_rule_type: list[RuleType],
) -> None:
    extra_rule_type.append(register(RuleType("test.ghost", "Ghost.", _Ghost,
                                             category="cross-bot")))
    with pytest.raises(RuntimeError, match="unknown bot"):
        evaluate(with_rules([{"id": "g", "type": "test.ghost"}]))
