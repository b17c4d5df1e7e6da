"""Typed template parameters: defaults, fleet and bot values, and their problems."""

from __future__ import annotations

from typing import Any

import pytest

from molthub_gitops.model.documents import Parameter
from molthub_gitops.render.parameters import value_error

from .helpers import fleet, line_of, problems, render, where

TEMPLATE = """\
apiVersion: molthub/v1
kind: Template
metadata: {name: base}
spec:
  parameters:
    port: {type: integer, default: 18789}
    model: {type: string, enum: [small, large], default: small}
    owner: {type: string, required: true}
    allow: {type: array, default: []}
    ratio: {type: number}
  config:
    gateway: {port: "{{ params.port }}"}
    agents: {defaults: {model: "{{ params.model }}", owner: "{{ params.owner }}"}}
    tools: {allow: "{{ params.allow }}"}
"""


def test_defaults_fleet_then_bot() -> None:
    files = {"t.yaml": TEMPLATE, "f.yaml": fleet(parameters={"owner": "team", "port": 1}, bots=[
        {"name": "bot-a"},
        {"name": "bot-b", "parameters": {"port": 2, "model": "large", "allow": ["x"]}},
    ])}
    bots = render(files)
    assert bots["bot-a"].config == {"gateway": {"port": 1}, "tools": {"allow": []},
                                    "agents": {"defaults": {"model": "small", "owner": "team"}}}
    assert bots["bot-b"].config["gateway"] == {"port": 2}
    assert bots["bot-b"].config["tools"] == {"allow": ["x"]}
    assert bots["bot-b"].config["agents"]["defaults"]["model"] == "large"


FLEET = """\
apiVersion: molthub/v1
kind: Fleet
metadata: {name: dev}
spec:
  environment: dev
  template: base
  openclawVersion: "2026.9.6"
  gateway: {url: "ws://127.0.0.1:18789", auth: token, secret: {env: GW_TOKEN}}
  parameters:
    owner: team
    prot: 5
  bots:
    - name: bot-a
      parameters:
        port: "18789"
        model: huge
        ratio: true
    - name: bot-b
"""


def test_problems_point_at_the_value_that_gave_them() -> None:
    found = problems({"t.yaml": TEMPLATE, "fleets/dev.yaml": FLEET})
    by_code: dict[str, list[Any]] = {}
    for p in found:
        by_code.setdefault(p.code, []).append(p)
    unknown = by_code["render-param-unknown"]
    assert [where(p) for p in unknown] == [f"fleets/dev.yaml:{line_of(FLEET, 'prot: 5')}"]
    assert unknown[0].hint == "did you mean 'port'?"
    types = {where(p): p.message for p in by_code["render-param-type"]}
    assert set(types) == {
        f"fleets/dev.yaml:{line_of(FLEET, 'port: ')}",
        f"fleets/dev.yaml:{line_of(FLEET, 'model: huge')}",
        f"fleets/dev.yaml:{line_of(FLEET, 'ratio: true')}",
    }
    assert any("must be of type integer, got string" in m for m in types.values())
    assert any('"huge" is not one of ["small","large"]' in m for m in types.values())
    assert any("must be of type number, got boolean" in m for m in types.values())
    assert all(m.startswith("bot bot-a:") for m in types.values())


def test_missing_required_parameter() -> None:
    files = {"t.yaml": TEMPLATE, "f.yaml": fleet(bots=[{"name": "bot-a"}, {"name": "bot-b"}])}
    found = problems(files)
    assert [p.code for p in found] == ["render-param-required"]
    assert found[0].message.startswith("bots bot-a, bot-b: no value for required parameter 'owner'")
    assert found[0].related[0].file == "t.yaml"


def test_bad_template_default() -> None:
    text = TEMPLATE.replace("default: 18789", "default: eighteen")
    found = problems({"t.yaml": text, "f.yaml": fleet(parameters={"owner": "x"})})
    assert [p.code for p in found] == ["render-param-type"]
    assert where(found[0]) == f"t.yaml:{line_of(text, 'eighteen')}"


@pytest.mark.parametrize(("kind", "good", "bad"), [
    ("string", ["", "x"], [1, True, None, [], {}]),
    ("integer", [0, -5, 10**20], [1.0, True, "1", None]),
    ("number", [0, 1.5, -2], [True, "1", None]),
    ("boolean", [True, False], [0, 1, "true", None]),
    ("array", [[], [1, "a"]], [{}, "a", None]),
    ("object", [{}, {"a": 1}], [[], "a", None]),
])
def test_value_types(kind: str, good: list[Any], bad: list[Any]) -> None:
    param = Parameter(type=kind)  # type: ignore[arg-type]
    assert all(value_error(param, v) is None for v in good)
    assert all(value_error(param, v) is not None for v in bad)


def test_enum_compares_json_values() -> None:
    param = Parameter(type="number", enum=[1, 2.5])
    assert value_error(param, 1) is None
    assert value_error(param, 2.5) is None
    assert value_error(param, 1.0) is not None


def test_secret_looking_parameters_are_not_echoed() -> None:
    text = TEMPLATE.replace("    ratio: {type: number}", "    apiToken: {type: integer}")
    files = {"t.yaml": text,
             "f.yaml": fleet(parameters={"owner": "x", "apiToken": "hunter2-secret"})}
    found = problems(files)
    assert [p.code for p in found] == ["render-param-type"]
    assert "hunter2" not in found[0].format()
    assert "<redacted>" in found[0].message


def test_non_finite_numbers_are_parameter_problems() -> None:
    text = TEMPLATE.replace("    ratio: {type: number}", "    ratio: {type: number, default: .nan}")
    found = problems({"t.yaml": text, "f.yaml": fleet(parameters={"owner": "x"})})
    assert [p.code for p in found] == ["render-param-type"]
    assert "NaN or infinity" in found[0].message
    fleet_text = FLEET.replace('port: "18789"', "allow: [1, .inf]").replace(
        "model: huge", "model: small").replace("ratio: true", "ratio: -.inf").replace(
        "prot: 5", "port: 5")
    found = problems({"t.yaml": TEMPLATE, "f.yaml": fleet_text})
    assert [(p.code, where(p)) for p in found] == [
        ("render-param-type", f"f.yaml:{line_of(fleet_text, 'allow:')}"),
        ("render-param-type", f"f.yaml:{line_of(fleet_text, 'ratio:')}"),
    ]
    assert all("NaN or infinity" in p.message for p in found)
