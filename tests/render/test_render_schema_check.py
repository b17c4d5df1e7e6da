"""The OpenClaw schema check: the fast validator agrees with plain Draft7Validator, and
problems point at the layer file:line that set the offending value."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from molthub_gitops.render.schema_check import FastValidator, check_openclaw_schema, redact

from .helpers import fleet, line_of, profile, render, where
from .schemagen import Generator

ROOT = Path(__file__).resolve().parents[2]
OPENCLAW = ROOT / "schemas" / "openclaw" / "2026.9.6.json"


@pytest.fixture(scope="module")
def openclaw_schema() -> dict[str, Any]:
    return dict(json.loads(OPENCLAW.read_text(encoding="utf-8")))


def plain_errors(schema: Any, instance: Any) -> list[tuple[tuple[str, ...], str]]:
    return sorted(
        (tuple(map(str, e.absolute_path)), e.message)
        for e in Draft7Validator(schema).iter_errors(instance)
    )


def fast_errors(validator: FastValidator, instance: Any) -> list[tuple[tuple[str, ...], str]]:
    return sorted((tuple(map(str, e.path)), e.message) for e in validator.iter_errors(instance))


SYNTHETIC: dict[str, Any] = {
    "type": "object",
    "definitions": {"n": {"type": "integer", "minimum": 2},
                    "obj": {"type": "object", "additionalProperties": False,
                            "properties": {"n": {"$ref": "#/definitions/n"}}}},
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 2},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "mode": {"enum": ["a", "b"]},
        "fixed": {"const": {"x": 1}},
        "either": {"anyOf": [{"type": "string"}, {"type": "object", "required": ["id"],
                                                  "properties": {"id": {"type": "integer"}},
                                                  "additionalProperties": False}]},
        "one": {"oneOf": [{"type": "integer"}, {"type": "number", "multipleOf": 0.5}]},
        "map": {"type": "object", "propertyNames": {"pattern": "^[a-z]+$"},
                "additionalProperties": {"type": "object", "additionalProperties": False,
                                         "properties": {"on": {"type": "boolean"}}}},
        "pp": {"type": "object", "additionalProperties": False,
               "patternProperties": {"^x-": {"type": "integer"}, "^x-n": {"minimum": 5}},
               "properties": {"x-known": {"type": "integer", "maximum": 3}}},
        "pp2": {"type": "object", "patternProperties": {"^x-": {"type": "string"}},
                "additionalProperties": {"type": "boolean"}},
        "list": {"type": "array", "maxItems": 3, "uniqueItems": True,
                 "items": {"type": "object", "required": ["id"], "additionalProperties": False,
                           "properties": {"id": {"type": "string"}, "n": {"type": "number"}}}},
        "tuple": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}],
                  "additionalItems": False},
        "sized": {"type": "object", "minProperties": 1, "maxProperties": 2,
                  "properties": {"a": {"type": "integer"}}},
        "withRef": {"type": "object", "additionalProperties": {"$ref": "#/definitions/n"},
                    "properties": {"v": {"$ref": "#/definitions/n", "type": "string"}}},
        "cond": {"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]},
                 "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
        "multi": {"type": ["object", "array", "null"], "properties": {"q": {"type": "string"}},
                  "items": {"type": "integer"}},
        "refObj": {"$ref": "#/definitions/obj"},
        "nested": {"type": "object", "additionalProperties": False, "properties": {
            "deep": {"type": "object", "additionalProperties": False, "required": ["leaf"],
                     "properties": {"leaf": {"type": "string"}, "n": {"type": "integer"}}}}},
    },
}


def _mutations(rnd: random.Random) -> dict[str, Any]:
    choices: dict[str, list[Any]] = {
        "name": ["ok", "x", 5, None],
        "port": [1, 0, 70000, "80", 8080, True, 80.0],
        "mode": ["a", "c", 1],
        "fixed": [{"x": 1}, {"x": 2}, {"x": 1.0}, {"x": True}],
        "either": ["s", {"id": 1}, {"id": "1"}, {}, {"id": 1, "z": 2}, 3],
        "one": [1, 1.5, 2.0, "a", 1.25],
        "map": [{"ab": {"on": True}}, {"Ab": {"on": 1}}, {"ok": {"bad": 1}}, {"x": 1}, []],
        "pp": [{"x-a": 1}, {"x-a": "s"}, {"x-known": 9}, {"y": 1}, {"x-n": 1}, {"x-n": 7}],
        "pp2": [{"x-a": "s"}, {"x-a": 1}, {"other": True}, {"other": "no"}],
        "list": [[{"id": "a"}], [{"id": "a"}, {"id": "a"}], [{"n": 1}], [{"id": 1, "z": 1}],
                 [{}, {}, {}, {}], "nope"],
        "tuple": [["a", 1], ["a", "b"], ["a", 1, 2], []],
        "sized": [{}, {"a": 1}, {"a": "x", "b": 1, "c": 2}],
        "withRef": [{"v": 1}, {"v": "x"}, {"v": 3}, {"w": 1}, {"w": 5, "v": 2}],
        "refObj": [{"n": 1}, {"n": 3}, {"m": 3}, 4],
        "cond": [{"a": 1}, {"a": 1, "b": 2}, {"b": "x"}],
        "multi": [None, {"q": 1}, [1, "a"], "s"],
        "nested": [{"deep": {"leaf": "x"}}, {"deep": {}}, {"deep": {"leaf": 1, "n": "x", "o": 1}},
                   {"other": 1}],
        "unknown": [1, {"a": 1}],
    }
    out = {}
    for key in rnd.sample(sorted(choices), rnd.randint(0, len(choices))):
        out[key] = rnd.choice(choices[key])
    return out


def test_fast_validator_equals_plain_on_a_synthetic_schema() -> None:
    rnd = random.Random(7)
    validator = FastValidator(SYNTHETIC)
    invalid = 0
    for _ in range(1500):
        instance = _mutations(rnd)
        expected = plain_errors(SYNTHETIC, instance)
        assert fast_errors(validator, instance) == expected, instance
        invalid += bool(expected)
    assert 100 < invalid < 1500  # both verdicts occur often


def test_fast_validator_equals_plain_on_the_openclaw_schema(
    openclaw_schema: dict[str, Any],
) -> None:
    validator = FastValidator(openclaw_schema)
    plain = Draft7Validator(openclaw_schema)
    verdicts = {True: 0, False: 0}
    paths: set[tuple[str, ...]] = set()
    for seed in range(400):
        gen = Generator(seed, error_rate=0.0 if seed % 4 == 0 else 0.06)
        instance = gen.object(openclaw_schema, 0)
        expected = sorted(
            (tuple(map(str, e.absolute_path)), e.message) for e in plain.iter_errors(instance)
        )
        assert fast_errors(validator, instance) == expected, seed
        verdicts[not expected] += 1
        paths.update(p for p, _ in expected)
    assert verdicts[True] > 20, verdicts
    assert verdicts[False] > 100, verdicts
    assert len(paths) > 100  # errors were found all over the schema


def test_nested_definitions_resolve_locally() -> None:
    """Plain validation from the root cannot resolve ``#/$defs`` declared below the root (the
    vendored schema does this in plugin schemas); the fast validator resolves them there."""
    schema = {"type": "object", "properties": {"plugin": {
        "$defs": {"n": {"type": "integer"}}, "type": "object",
        "properties": {"v": {"$ref": "#/$defs/n"}}}}}
    validator = FastValidator(schema)
    assert fast_errors(validator, {"plugin": {"v": 1}}) == []
    assert fast_errors(validator, {"plugin": {"v": "x"}}) == [
        (("plugin", "v"), "'x' is not of type 'integer'")]
    with pytest.raises(Exception, match="PointerToNowhere"):
        plain_errors(schema, {"plugin": {"v": 1}})


def test_memoised_results_are_stable(openclaw_schema: dict[str, Any]) -> None:
    validator = FastValidator(openclaw_schema)
    config = {"gateway": {"port": 0, "bogus": 1}, "logging": {"level": "loud"}}
    first = fast_errors(validator, config)
    assert fast_errors(validator, json.loads(json.dumps(config))) == first
    assert first == plain_errors(openclaw_schema, config)


# ------------------------------------------------------------------------------ problems

TEMPLATE = """\
apiVersion: molthub/v1
kind: Template
metadata: {name: base}
spec:
  config:
    gateway:
      mode: local
      port: 18789
      bind: loopback
      auth:
        mode: token
        token: "${GW_TOKEN}"
"""

PROFILE = """\
apiVersion: molthub/v1
kind: Profile
metadata: {name: bad}
spec:
  config:
    gateway:
      port: "eighty"
      bogusKey:
        nested: true
    logging:
      redactSensitive: "off"
"""


def _check(files: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    bots = list(render(files).values())
    return check_openclaw_schema(bots, {"2026.9.6": schema})


def test_a_valid_config_passes(openclaw_schema: dict[str, Any]) -> None:
    assert _check({"t.yaml": TEMPLATE, "f.yaml": fleet()}, openclaw_schema) == []


def test_problems_point_at_the_layer_that_set_the_value(openclaw_schema: dict[str, Any]) -> None:
    files = {"t.yaml": TEMPLATE, "p.yaml": PROFILE,
             "f.yaml": fleet(bots=[{"name": "bot-a", "profiles": ["bad"]},
                                   {"name": "bot-b", "profiles": ["bad"]}])}
    found = _check(files, openclaw_schema)
    assert {p.code for p in found} == {"openclaw-schema"}
    by_line = {where(p): p for p in found}
    wrong_type = by_line[f"p.yaml:{line_of(PROFILE, 'eighty')}"]
    assert "gateway.port" in wrong_type.message
    assert "is not of type 'integer'" in wrong_type.message
    assert "profile Profile/bad" in wrong_type.message
    assert wrong_type.message.startswith("bots bot-a, bot-b:")
    unknown = by_line[f"p.yaml:{line_of(PROFILE, 'bogusKey')}"]
    assert "'bogusKey' was unexpected" in unknown.message
    removed = by_line[f"p.yaml:{line_of(PROFILE, 'redactSensitive')}"]
    assert "redactSensitive" in removed.message
    assert len(found) == 3


def test_missing_required_points_at_the_parent(openclaw_schema: dict[str, Any]) -> None:
    required = openclaw_schema["properties"]["channels"]["properties"]["telegram"].get(
        "required", [])
    assert required, "the test needs a section with required keys"
    text = """\
    apiVersion: molthub/v1
    kind: Profile
    metadata: {name: tg}
    spec:
      config:
        channels:
          telegram:
            enabled: true
    """
    files = {"t.yaml": TEMPLATE, "p.yaml": text, "f.yaml": fleet(profiles=["tg"])}
    found = _check(files, openclaw_schema)
    assert found
    assert all(where(p) == f"p.yaml:{line_of(text, 'telegram')}" for p in found)
    assert any("is a required property" in p.message for p in found)


def test_unknown_version_is_a_problem_at_the_fleet() -> None:
    text = """\
    apiVersion: molthub/v1
    kind: Fleet
    metadata: {name: dev}
    spec:
      environment: dev
      template: base
      openclawVersion: "1999.1.1"
      gateway: {url: "ws://127.0.0.1:18789", auth: token, secret: {env: GW_TOKEN}}
      bots: [{name: bot-a}, {name: bot-b}]
    """
    repository = """\
    apiVersion: molthub/v1
    kind: Repository
    metadata: {name: test}
    spec: {openclawVersions: ["2026.9.6", "1999.1.1"]}
    """
    bots = list(render({"molthub.yaml": repository, "t.yaml": TEMPLATE,
                        "fleets/dev.yaml": text}).values())
    found = check_openclaw_schema(bots, {"2026.9.6": {"type": "object"}})
    assert [p.code for p in found] == ["openclaw-version-unknown"]
    assert where(found[0]) == f"fleets/dev.yaml:{line_of(text, 'openclawVersion')}"
    assert "1999.1.1" in found[0].message
    assert "2026.9.6" in found[0].hint


def test_origins_of_list_items_and_bot_layers(openclaw_schema: dict[str, Any]) -> None:
    files = {
        "t.yaml": TEMPLATE,
        "p.yaml": profile("p", {"tools": {"deny": ["exec"]}}, mergeStrategies={
            "tools.deny": "append"}),
        "f.yaml": fleet(profiles=["p"], bots=[{"name": "bot-a", "config": {
            "tools": {"deny": [5]}}}]),
    }
    found = _check(files, openclaw_schema)
    assert len(found) == 1
    assert "tools.deny[1]" in found[0].message
    assert "bot Fleet/dev" in found[0].message
    assert found[0].location is not None
    assert found[0].location.file == "f.yaml"


def test_literal_secrets_never_appear_in_problems(openclaw_schema: dict[str, Any]) -> None:
    files = {
        "t.yaml": TEMPLATE,
        "p.yaml": profile("p", {"gateway": {"auth": {"token": ["sk-live-SUPERSECRET"]},
                                            "port": "sk-live-PORTSECRET"}}),
        "f.yaml": fleet(profiles=["p"]),
    }
    found = _check(files, openclaw_schema)
    text = "\n".join(p.format() for p in found)
    assert "gateway.auth.token" in text
    assert "SUPERSECRET" not in text
    assert "<redacted>" in text
    # Not a secret by its key: shown, so the user sees what is wrong.
    assert "sk-live-PORTSECRET" in text


def test_redact() -> None:
    config = {"a": {"apiKey": "k-123", "ref": {"token": "${TOKEN}"}, "list": ["x"]},
              "channels": {"tg": {"botToken": "${TG}", "password": 42}}}
    assert redact("'k-123' is bad", config, ("a", "apiKey")) == "<redacted> is bad"
    whole = repr(config["a"])
    assert redact(f"{whole} is bad", config, ("a",)) == "<redacted> is bad"
    assert redact("'${TG}' is bad", config, ("channels", "tg", "botToken")) == "'${TG}' is bad"
    assert redact("42 is bad", config, ("channels", "tg", "password")) == "<redacted> is bad"
    assert redact("['x'] is bad", config, ("a", "list")) == "['x'] is bad"
    ref = repr(config["a"]["ref"])
    assert redact(f"{ref} is bad", config, ("a", "ref")) == f"{ref} is bad"
