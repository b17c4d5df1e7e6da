"""Generic rule types: each type's verdicts, messages and locations, absent values, wildcards,
subjects, cross-bot rules, and rule definitions that are wrong (InputError at the line)."""

from __future__ import annotations

from typing import Any

import pytest

from molthub_gitops.errors import InputError
from molthub_gitops.policy.findings import Finding
from molthub_gitops.policy.generic import host_of, same_value
from molthub_gitops.policy.rules import RULE_TYPES

from .policyhelpers import evaluate, only, replaced, with_rules

BOTS = ("dev-one", "dev-two", "prod-one", "prod-two")
TEMPLATE = "templates/telegram.yaml"


def found(rule: dict[str, Any], changes: dict[str, str] | None = None,
          **kwargs: Any) -> tuple[Finding, ...]:
    """Findings of a pack holding one rule (id ``r``) over the base repository."""
    return only(evaluate(with_rules([{"id": "r", **rule}], changes, **kwargs)))


def one(rule: dict[str, Any], changes: dict[str, str] | None = None, **kwargs: Any) -> Finding:
    findings = found(rule, changes, **kwargs)
    assert len(findings) == 1, findings
    return findings[0]


def problems(rule: dict[str, Any]) -> list[str]:
    with pytest.raises(InputError) as info:
        evaluate(with_rules([{"id": "r", **rule}]))
    return [p.format() for p in info.value.problems]


def line_of(text: str, path: str = TEMPLATE) -> int:
    """1-based line of the first line of the base file ``path`` containing ``text``."""
    from .policyhelpers import BASE_REPO

    lines = (BASE_REPO / path).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


# --------------------------------------------------------------------------- registry


def test_every_generic_type_is_registered_with_docs() -> None:
    generic = {"required", "forbidden", "equals", "oneOf", "noneOf", "pattern", "format",
               "range", "maxItems", "minItems", "jsonSchema"}
    for name in generic:
        rt = RULE_TYPES[name]
        assert rt.category == "generic"
        assert rt.needs_path
        assert rt.summary
    for name in ("unique", "portSpacing"):
        assert RULE_TYPES[name].category == "cross-bot"
    assert RULE_TYPES["portSpacing"].needs_path is False
    assert set(RULE_TYPES["range"].params) == {"min", "max", "exclusiveMin", "exclusiveMax"}


# --------------------------------------------------------------------------- path rules


def test_required_reports_the_missing_path_at_the_nearest_layer() -> None:
    fs = found({"type": "required", "path": "channels.telegram.allowFrom"})
    assert [f.message for f in fs] == ["channels.telegram.allowFrom is not set; it is required"] * 2
    # the mapping it belongs in was last written by the dev overlay (dev) or the template
    dev, prod = sorted(fs, key=lambda f: f.bots)
    assert dev.bots == ("dev-one", "dev-two")
    assert dev.location is not None
    assert dev.location.file == "overlays/dev-history.yaml"
    assert dev.layer == "overlay Overlay/dev-history"
    assert prod.bots == ("prod-one", "prod-two")
    assert prod.path == "channels.telegram.allowFrom"
    assert prod.location is not None
    assert prod.location.file == TEMPLATE
    assert prod.location.line == line_of("telegram:")
    assert prod.layer == "template Template/telegram"


def test_required_under_a_wildcard_checks_each_existing_item_only() -> None:
    assert found({"type": "required", "path": "channels.*.dmPolicy"}) == ()
    assert found({"type": "required", "path": "plugins.*.enabled"}) == ()  # no plugins: vacuous
    fs = found({"type": "required", "path": "channels.*.allowFrom"})
    assert {f.path for f in fs} == {"channels.telegram.allowFrom"}
    assert sorted(b for f in fs for b in f.bots) == list(BOTS)


def test_required_counts_null_as_missing() -> None:
    f = one({"type": "required", "path": "tools.profile", "subject": "config"},
            replaced(TEMPLATE, "profile: messaging", "profile: null"))
    assert "is not set" in f.message


def test_forbidden() -> None:
    assert found({"type": "forbidden", "path": "tools.alsoAllow"}) == ()
    f = one({"type": "forbidden", "path": "gateway.bind"})
    assert f.message == 'gateway.bind is set to "loopback"; it must not be set'
    assert f.location is not None
    assert f.location.line == line_of("bind: loopback")


def test_equals_compares_json_values() -> None:
    assert found({"type": "equals", "path": "gateway.port", "params": {"value": 18789.0}}) == ()
    f = one({"type": "equals", "path": "tools.elevated.enabled", "params": {"value": 0}})
    assert f.message == "tools.elevated.enabled is false; expected 0"
    assert f.location is not None
    assert f.location.file == "profiles/hardening.yaml"
    assert f.layer == "profile Profile/hardening"
    assert same_value(True, True)
    assert not same_value(True, 1)
    assert same_value(1, 1.0)
    assert same_value({"a": [1, "x"]}, {"a": [1.0, "x"]})
    assert not same_value([1], [1, 2])


def test_one_of_and_none_of() -> None:
    assert found({"type": "oneOf", "path": "tools.profile",
                  "params": {"values": ["messaging"]}}) == ()
    f = one({"type": "oneOf", "path": "channels.*.dmPolicy",
             "params": {"values": ["allowlist", "disabled"]}})
    assert f.message == ('channels.telegram.dmPolicy is "pairing"; expected one of '
                         '"allowlist", "disabled"')
    f = one({"type": "noneOf", "path": "channels.*.dmPolicy",
             "params": {"values": ["open", "pairing"]}})
    assert f.message == ('channels.telegram.dmPolicy is "pairing"; expected none of "open", '
                         '"pairing"')


def test_pattern() -> None:
    assert found({"type": "pattern", "path": "agents.defaults.workspace",
                  "params": {"regex": "^/srv/"}}) == ()
    f = one({"type": "pattern", "path": "gateway.mode", "params": {"regex": "^remote$"}})
    assert f.message == 'gateway.mode is "local"; expected a match for /^remote$/'
    f = one({"type": "pattern", "path": "gateway.port", "params": {"regex": "^1"}})
    assert f.message == "gateway.port is a number; expected a string matching /^1/"


@pytest.mark.parametrize(("fmt", "good", "bad"), [
    ("email", "ops@example.com", "ops@example"),
    ("url", "https://example.com/x", "example.com/x"),
    ("semver", "1.2.3-rc.1+build.5", "1.2"),
    ("hostname", "bot-1.example.com", "bot_1.example.com"),
    ("duration", "1h30m", "90 minutes"),
    ("envReference", "${TELEGRAM_TOKEN}", "TELEGRAM_TOKEN"),
])
def test_format(fmt: str, good: str, bad: str) -> None:
    rule = {"type": "format", "path": "agents.defaults.heartbeat.every",
            "params": {"format": fmt}}
    assert found(rule, replaced(TEMPLATE, "every: 30m", f'every: "{good}"')) == ()
    f = one(rule, replaced(TEMPLATE, "every: 30m", f'every: "{bad}"'))
    assert f.message.startswith(f'agents.defaults.heartbeat.every is "{bad}"; expected ')


def test_range_bounds_and_non_numbers() -> None:
    assert found({"type": "range", "path": "gateway.port",
                  "params": {"min": 1024, "max": 65535}}) == ()
    f = one({"type": "range", "path": "gateway.port", "params": {"exclusiveMax": 18789}})
    assert f.message == "gateway.port is 18789; expected less than 18789"
    f = one({"type": "range", "path": "gateway.port", "params": {"exclusiveMin": 18789}})
    assert f.message == "gateway.port is 18789; expected more than 18789"
    # dev bots get 100 from an overlay, prod bots 50 from the template: two findings
    fs = found({"type": "range", "path": "channels.*.historyLimit", "params": {"max": 40}})
    assert [(f.bots, f.location.file if f.location else "") for f in fs] == [
        (("dev-one", "dev-two"), "overlays/dev-history.yaml"),
        (("prod-one", "prod-two"), TEMPLATE)]
    f = one({"type": "range", "path": "gateway.mode", "params": {"min": 1}})
    assert f.message == "gateway.mode is a string; expected a number at least 1"


def test_max_and_min_items() -> None:
    assert found({"type": "maxItems", "path": "agents.defaults.model.fallbacks",
                  "params": {"max": 1}}) == ()
    f = one({"type": "minItems", "path": "agents.defaults.model.fallbacks",
             "params": {"min": 2}})
    assert f.message == "agents.defaults.model.fallbacks has 1 items; expected at least 2"
    fs = found({"type": "maxItems", "path": "channels", "params": {"max": 0}})  # a mapping
    assert {f.message for f in fs} == {"channels has 1 items; expected at most 0"}
    f = one({"type": "maxItems", "path": "gateway.port", "params": {"max": 3}})
    assert "is a number; expected a list" in f.message


def test_json_schema_reports_each_error_at_its_own_path() -> None:
    schema = {"type": "object", "properties": {"port": {"maximum": 1000},
                                              "mode": {"enum": ["remote"]}}}
    fs = found({"type": "jsonSchema", "path": "gateway", "params": {"schema": schema}})
    assert [f.path for f in fs] == ["gateway.mode", "gateway.port"]
    assert "18789 is greater than the maximum of 1000" in fs[1].message
    assert fs[1].location is not None
    assert fs[1].location.line == line_of("port: 18789")


def test_path_rules_skip_absent_values() -> None:
    for rule in (
        {"type": "equals", "path": "gateway.customBindHost", "params": {"value": "x"}},
        {"type": "oneOf", "path": "nothing.here", "params": {"values": [1]}},
        {"type": "pattern", "path": "channels.*.webhookUrl", "params": {"regex": "^https:"}},
        {"type": "range", "path": "gateway.nothing", "params": {"max": 1}},
        {"type": "jsonSchema", "path": "hooks", "params": {"schema": False}},
    ):
        assert found(rule) == (), rule


# --------------------------------------------------------------------------- subjects


def test_target_gateway_and_bot_subjects_point_at_the_fleet() -> None:
    f = one({"type": "equals", "subject": "target", "path": "provider",
             "params": {"value": "docker"}}, applies_to={"fleets": ["prod"]})
    assert f.path == "target:provider"
    assert f.message == 'target provider is "existing"; ' \
        'expected "docker"'
    assert f.location is not None
    assert f.location.file == "fleets/prod.yaml"
    assert f.layer == "fleet Fleet/prod"

    fs = found({"type": "pattern", "subject": "gateway", "path": "url",
                "params": {"regex": "^wss://dev-"}})
    assert [f.bots for f in fs] == [("prod-one",), ("prod-two",)]
    assert all(f.location is not None and f.location.file == "fleets/prod.yaml" for f in fs)

    f = one({"type": "equals", "subject": "bot", "path": "labels.team",
             "params": {"value": "other"}}, applies_to={"environments": ["dev"]})
    assert f.path == "bot:labels.team"
    assert f.bots == ("dev-one", "dev-two")
    assert f.location is not None
    assert f.location.file == "fleets/dev.yaml"
    assert f.location.line == line_of("team: support", "fleets/dev.yaml")


def test_a_bot_gateway_url_override_is_located_at_the_bot() -> None:
    text = (
        "  bots:\n    - name: prod-one\n    - name: prod-two\n"
        '      gatewayUrl: "ws://10.0.0.9:18789"\n')
    changes = replaced("fleets/prod.yaml",
                       "  bots:\n    - name: prod-one\n    - name: prod-two\n", text)
    f = one({"type": "pattern", "subject": "gateway", "path": "url",
             "params": {"regex": "^wss:"}}, changes)
    assert f.bots == ("prod-two",)
    assert f.location is not None
    assert f.location.line == changes["fleets/prod.yaml"].split(
        "\n").index('      gatewayUrl: "ws://10.0.0.9:18789"') + 1


# --------------------------------------------------------------------------- cross-bot


def test_unique_per_scope() -> None:
    rule = {"type": "unique", "path": "agents.defaults.model.primary"}
    f = one(rule)
    assert f.bots == BOTS
    assert f.message == ('agents.defaults.model.primary is "anthropic/claude-sonnet-4-5" for '
                         "4 bots; expected a value unique across the repository")
    fs = found({**rule, "params": {"scope": "fleet"}})
    assert [f.bots for f in fs] == [("dev-one", "dev-two"), ("prod-one", "prod-two")]
    assert "in fleet dev" in fs[0].message
    fs = found({**rule, "params": {"scope": "environment"}})
    assert "in environment dev; expected a value unique per environment" in fs[0].message
    assert found({"type": "unique", "path": "agents.defaults.workspace"}) == ()


def test_unique_relates_the_other_places() -> None:
    changes = replaced("fleets/dev.yaml", "    - name: dev-two\n",
                       "    - name: dev-two\n      config:\n        agents:\n          defaults:\n"
                       "            workspace: /srv/openclaw/dev-one/workspace\n")
    fs = found({"type": "unique", "path": "agents.defaults.workspace"}, changes)
    assert [f.bots for f in fs] == [("dev-two",), ("dev-one",)] or [
        f.bots for f in fs] == [("dev-one",), ("dev-two",)]
    by_bot = {f.bots[0]: f for f in fs}
    assert by_bot["dev-one"].location in by_bot["dev-two"].related
    assert by_bot["dev-two"].location in by_bot["dev-one"].related


def _prod_urls(one_url: str, two_url: str, two_config: str = "") -> dict[str, str]:
    return replaced(
        "fleets/prod.yaml", "  bots:\n    - name: prod-one\n    - name: prod-two\n",
        f'  bots:\n    - name: prod-one\n      gatewayUrl: "{one_url}"\n'
        f'    - name: prod-two\n      gatewayUrl: "{two_url}"\n{two_config}')


def test_port_spacing_on_one_host() -> None:
    rule = {"type": "portSpacing", "params": {"minGap": 20}}
    assert found(rule) == ()  # every bot on its own host
    f = one(rule, _prod_urls("ws://127.0.0.1:1", "ws://localhost:2"))  # loopback is one host
    assert f.bots == ("prod-one", "prod-two")
    assert f.message.startswith("gateway.port is 18789 on host localhost, less than 20")
    port = "      config:\n        gateway:\n          port: 18809\n"
    assert found(rule, _prod_urls("ws://[::1]:1", "ws://127.0.0.1:2", port)) == ()
    near = "      config:\n        gateway:\n          port: 18800\n"
    fs = found(rule, _prod_urls("ws://h:1", "ws://H:2", near))
    assert sorted(f.bots for f in fs) == [("prod-one",), ("prod-two",)]
    by_bot = {f.bots[0]: f for f in fs}
    assert by_bot["prod-two"].location is not None
    assert by_bot["prod-two"].location.file == "fleets/prod.yaml"
    assert by_bot["prod-one"].location in by_bot["prod-two"].related
    assert found({"type": "portSpacing", "params": {"minGap": 11}},
                 _prod_urls("ws://h:1", "ws://h:2", near)) == ()


def test_port_spacing_uses_the_default_port_when_unset() -> None:
    changes = {**_prod_urls("ws://h:1", "ws://h:2"),
               **replaced(TEMPLATE, "      port: 18789\n", "")}
    f = one({"type": "portSpacing"}, changes)
    assert "gateway.port is not set (default 18789) on host h" in f.message


def test_host_of() -> None:
    assert host_of("wss://User:pw@Bot.Example:443/x") == "bot.example"
    assert host_of("ws://[::1]:18789") == "localhost"
    assert host_of("ws://127.0.0.1") == "localhost"


# --------------------------------------------------------------------------- secrets


def test_values_at_secret_paths_are_redacted() -> None:
    secret = "sk-live-0123456789abcdef0123456789"
    changes = replaced(TEMPLATE, 'token: "${OPENCLAW_GATEWAY_TOKEN}"', f'token: "{secret}"')
    result = evaluate(with_rules([
        {"id": "eq", "type": "equals", "path": "gateway.auth.token", "params": {"value": "x"}},
        {"id": "forbid", "type": "forbidden", "path": "gateway.auth"},
        {"id": "pat", "type": "pattern", "path": "gateway.auth.token",
         "params": {"regex": "^\\$\\{"}},
        {"id": "schema", "type": "jsonSchema", "path": "gateway.auth",
         "params": {"schema": {"properties": {"token": {"maxLength": 3}}}}},
        {"id": "uniq", "type": "unique", "path": "gateway.auth.token"},
    ], changes))
    mine = only(result)
    assert {f.rule for f in mine} == {"test/eq", "test/forbid", "test/pat", "test/schema",
                                      "test/uniq"}
    everything = repr(result.findings) + repr(result.waived)
    assert secret not in everything
    assert "<redacted>" in everything


# --------------------------------------------------------------------------- definitions


def test_unknown_type_suggests_the_closest() -> None:
    (text,) = problems({"type": "oneof", "path": "tools.profile"})
    assert "policies/test.yaml:" in text
    assert "unknown rule type 'oneof'; did you mean 'oneOf'?" in text
    assert "known types:" in text


@pytest.mark.parametrize(("rule", "param", "message"), [
    ({"type": "equals", "path": "a.b", "params": {"vlaue": 1}}, "vlaue",
     "type equals has no parameter 'vlaue'; did you mean 'value'?"),
    ({"type": "oneOf", "path": "a.b", "params": {"values": []}}, "values",
     "params.values must be a non-empty list"),
    ({"type": "pattern", "path": "a.b", "params": {"regex": "([a-z"}}, "regex",
     "params.regex is not a valid regular expression"),
    ({"type": "format", "path": "a.b", "params": {"format": "emial"}}, "format",
     "did you mean 'email'?"),
    ({"type": "range", "path": "a.b", "params": {"min": "1"}}, "min",
     "params.min must be a number"),
    ({"type": "range", "path": "a.b", "params": {"min": 5, "max": 1}}, "max",
     "the range is empty"),
    ({"type": "maxItems", "path": "a.b", "params": {"max": -1}}, "max",
     "params.max must be a whole number >= 0"),
    ({"type": "jsonSchema", "path": "a.b", "params": {"schema": {"type": "strin"}}}, "schema",
     "params.schema is not a valid draft-07 JSON Schema"),
    ({"type": "jsonSchema", "path": "a.b",
      "params": {"schema": {"$ref": "https://example.com/s.json"}}}, "schema",
     "only local references"),
    ({"type": "jsonSchema", "path": "a.b", "params": {"schema": {"$ref": "#/definitions/x"}}},
     "schema", "which it does not contain"),
    ({"type": "unique", "path": "a.b", "params": {"scope": "flet"}}, "scope",
     "did you mean 'fleet'?"),
    ({"type": "portSpacing", "params": {"minGap": 0}}, "minGap",
     "params.minGap must be a whole number >= 1"),
])
def test_bad_params_are_located_at_the_param(rule: dict[str, Any], param: str,
                                             message: str) -> None:
    files = with_rules([{"id": "r", **rule}])
    text = files["policies/test.yaml"].decode().splitlines()
    want = next(i for i, line in enumerate(text, 1) if line.strip().startswith(f"{param}:"))
    with pytest.raises(InputError) as info:
        evaluate(files)
    (problem,) = info.value.problems
    assert problem.code == "policy-rule-definition"
    assert message in problem.message
    assert problem.location is not None
    assert (problem.location.file, problem.location.line) == ("policies/test.yaml", want)


def test_missing_param_and_missing_path() -> None:
    (text,) = problems({"type": "equals", "path": "a.b"})
    assert "type equals needs params.value" in text
    assert "hint:" in text
    (text,) = problems({"type": "required"})
    assert "type required needs a path" in text
    (text,) = problems({"type": "range", "path": "a.b"})
    assert "needs at least one of params.min" in text


def test_every_broken_rule_is_reported_at_once() -> None:
    files = with_rules([
        {"id": "a", "type": "oneOf", "path": "x", "params": {"values": "no"}},
        {"id": "b", "type": "nope", "path": "x"},
        {"id": "a", "type": "required", "path": "x"},
    ])
    with pytest.raises(InputError) as info:
        evaluate(files)
    codes = sorted(p.code for p in info.value.problems)
    assert codes == ["duplicate-rule-id", "policy-rule-definition", "policy-unknown-rule-type"]
    assert all(p.location is not None and p.location.file == "policies/test.yaml"
               for p in info.value.problems)


# --------------------------------------------------------------------------- paths


def test_rule_paths_over_lists_and_wildcards() -> None:
    from molthub_gitops.policy._paths import MISSING, lookup, matches, missing

    data = {"a": {"list": [{"id": "x"}, {"id": None}, {}], "map": {"k": 1, "j": 2}}}
    assert list(matches(data, ("a", "list", "*", "id"))) == [
        (("a", "list", 0, "id"), "x"), (("a", "list", 1, "id"), None)]
    assert list(matches(data, ("a", "list", "0", "id"))) == [(("a", "list", 0, "id"), "x")]
    assert list(matches(data, ("a", "map", "*"))) == [(("a", "map", "j"), 2),
                                                     (("a", "map", "k"), 1)]
    assert list(missing(data, ("a", "list", "*", "id"))) == [("a", "list", 1, "id"),
                                                            ("a", "list", 2, "id")]
    assert list(missing(data, ("b", "*", "id"))) == []  # nothing to check below a wildcard
    assert list(missing(data, ("b", "c"))) == [("b", "c")]
    assert lookup(data, ("a", "list", "5")) == (("a", "list", 5), MISSING)
    assert lookup(data, ("a", "map", "k")) == (("a", "map", "k"), 1)


def test_a_wildcard_rule_reports_each_offending_item() -> None:
    changes = replaced(TEMPLATE, "fallbacks: [anthropic/claude-haiku-4-5]",
                       "fallbacks: [anthropic/claude-haiku-4-5, openai/gpt-4]")
    f = one({"type": "pattern", "path": "agents.defaults.model.fallbacks.*",
             "params": {"regex": "^anthropic/"}}, changes)
    assert f.path == "agents.defaults.model.fallbacks[1]"
    assert f.message == ('agents.defaults.model.fallbacks[1] is "openai/gpt-4"; expected a '
                         "match for /^anthropic//")
