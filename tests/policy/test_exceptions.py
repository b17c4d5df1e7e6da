"""PolicyExceptions: waiving per bot (splitting grouped findings), selectors, expiry, unused,
unknown and non-waivable rules."""

from __future__ import annotations

import datetime
from typing import Any

import yaml

from molthub_gitops.policy.findings import Finding, PolicyResult

from .policyhelpers import TODAY, describe, evaluate, with_rules

TOOL_RULE = {"id": "profile", "type": "oneOf", "path": "tools.profile",
             "params": {"values": ["minimal"]}}
ALL = ("dev-one", "dev-two", "prod-one", "prod-two")


def exception(name: str, rules: list[str], selector: dict[str, Any] | None = None,
              expires: str = "2026-12-31") -> str:
    return yaml.safe_dump({
        "apiVersion": "molthub/v1", "kind": "PolicyException", "metadata": {"name": name},
        "spec": {"rules": rules, "selector": selector or {}, "reason": "Migration.",
                 "owner": "team-a", "expires": expires},
    }, sort_keys=False)


def run(*exceptions: tuple[str, str], rules: list[dict[str, Any]] | None = None,
        today: datetime.date = TODAY) -> PolicyResult:
    files = with_rules(rules or [TOOL_RULE],
                       {f"exceptions/{name}.yaml": text for name, text in exceptions})
    return evaluate(files, today=today)


def of(result: PolicyResult, rule: str) -> list[Finding]:
    return [f for f in result.findings if f.rule == rule]


def waived_bots(result: PolicyResult) -> dict[str, tuple[str, ...]]:
    return {f.waived_by or "": f.bots for f in result.waived}


def test_a_selector_waives_its_bots_and_splits_the_finding() -> None:
    result = run(("e", exception("dev-waiver", ["test/profile"], {"fleets": ["dev"]})))
    (kept,) = of(result, "test/profile")
    assert kept.bots == ("prod-one", "prod-two")
    assert kept.fleets == ("prod",)
    (waived,) = result.waived
    assert waived.bots == ("dev-one", "dev-two")
    assert waived.fleets == ("dev",)
    assert waived.waived_by == "dev-waiver"
    assert waived.location == kept.location
    assert waived.message == kept.message
    assert result.findings == tuple(f for f in result.findings if not f.rule.startswith(
        "policy/")), describe(result.findings)


def test_a_bare_rule_id_and_an_empty_selector_waive_everything() -> None:
    result = run(("e", exception("all", ["profile"])))
    assert of(result, "test/profile") == []
    assert waived_bots(result) == {"all": ALL}
    assert not [f for f in result.findings if f.pack == "policy"]


def test_selector_fields() -> None:
    cases: list[tuple[dict[str, Any], tuple[str, ...] | None]] = [
        ({"environments": ["prod"]}, ("prod-one", "prod-two")),
        ({"bots": ["*-one"]}, ("dev-one", "prod-one")),
        ({"matchLabels": {"team": "support"}}, ALL),
        ({"fleets": ["prod"], "bots": ["dev-*"]}, None),
    ]
    for selector, bots in cases:
        result = run(("e", exception("x", ["test/profile"], selector)))
        if bots is None:
            assert result.waived == ()
            assert [f.rule for f in of(result, "policy/exception-unused")] == [
                "policy/exception-unused"]
        else:
            assert waived_bots(result) == {"x": bots}, selector


def test_first_exception_by_name_wins_and_both_are_used() -> None:
    result = run(("b", exception("b-waiver", ["profile"], {"fleets": ["dev"]})),
                 ("a", exception("a-waiver", ["test/profile"], {"bots": ["dev-one"]})))
    assert waived_bots(result) == {"a-waiver": ("dev-one",), "b-waiver": ("dev-two",)}
    assert of(result, "policy/exception-unused") == []


def test_an_expired_exception_is_an_error_and_waives_nothing() -> None:
    result = run(("old", exception("old", ["test/profile"], expires="2026-05-31")))
    (expired,) = of(result, "policy/exception-expired")
    assert expired.severity == "error"
    assert expired.bots == ()
    assert expired.location is not None
    assert expired.location.file == "exceptions/old.yaml"
    text = (exception("old", ["test/profile"], expires="2026-05-31")).splitlines()
    assert text[expired.location.line - 1].startswith("  expires:")
    assert "expired on 2026-05-31" in expired.message
    assert result.waived == ()
    assert of(result, "test/profile")[0].bots == ALL
    assert of(result, "policy/exception-unused") == []


def test_an_exception_expiring_today_still_holds() -> None:
    result = run(("e", exception("e", ["test/profile"], expires=TODAY.isoformat())))
    assert of(result, "policy/exception-expired") == []
    assert waived_bots(result) == {"e": ALL}
    later = run(("e", exception("e", ["test/profile"], expires=TODAY.isoformat())),
                today=TODAY + datetime.timedelta(days=1))
    assert len(of(later, "policy/exception-expired")) == 1


def test_an_exception_matching_nothing_is_a_warning() -> None:
    result = run(("e", exception("stale", ["test/profile"], {"environments": ["staging"]})))
    (unused,) = of(result, "policy/exception-unused")
    assert unused.severity == "warning"
    assert unused.location is not None
    assert unused.location.file == "exceptions/e.yaml"
    assert unused.location.line == 4  # metadata.name
    assert "waives nothing" in unused.message


def test_an_unknown_rule_is_an_error_with_a_suggestion() -> None:
    result = run(("e", exception("typo", ["test/profle", "test/profile"])))
    (unknown,) = of(result, "policy/exception-unknown-rule")
    assert unknown.severity == "error"
    assert "did you mean 'test/profile'?" in unknown.message
    assert unknown.location is not None
    assert unknown.location.line == 7  # the rules[0] item
    assert waived_bots(result) == {"typo": ALL}  # the valid entry still waives


def test_a_non_waivable_rule_stays_in_force() -> None:
    rule = {**TOOL_RULE, "waivable": False}
    result = run(("e", exception("try", ["test/profile"])), rules=[rule])
    (warning,) = of(result, "policy/exception-not-waivable")
    assert warning.severity == "warning"
    assert of(result, "test/profile")[0].bots == ALL
    assert result.waived == ()
    assert of(result, "policy/exception-unused") == []


def test_policy_rules_themselves_cannot_be_waived() -> None:
    result = run(("a", exception("a", ["policy/exception-expired"])),
                 ("b", exception("b", ["test/profile"], expires="2020-01-01")))
    assert len(of(result, "policy/exception-expired")) == 1
    assert len(of(result, "policy/exception-not-waivable")) == 1
