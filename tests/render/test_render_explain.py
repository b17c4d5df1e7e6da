"""``explain``: the whole layer chain of one value, with file:line, and the final value."""

from __future__ import annotations

import pytest

from molthub_gitops.errors import InputError
from molthub_gitops.render.explain import ABSENT, explain

from .helpers import fleet, line_of, load, overlay, profile, template

TEMPLATE = """\
apiVersion: molthub/v1
kind: Template
metadata: {name: base}
spec:
  mergeStrategies:
    tools.deny: append
  config:
    gateway:
      port: 18789
      bind: loopback
    tools:
      deny: [exec]
    agents:
      list:
        - id: main
"""


def _repo() -> object:
    return load({
        "t.yaml": TEMPLATE,
        "p.yaml": profile("p", {"gateway": {"port": 19000, "auth": {"mode": "token"}},
                                "tools": {"deny": ["browser"]}}),
        "p2.yaml": profile("p2", {"gateway": {"port": 19000}}),
        "o.yaml": overlay("o", {"gateway": {"bind": None}}),
        "f.yaml": fleet(profiles=["p", "p2"], bots=[
            {"name": "bot-a", "config": {"gateway": {"port": 20000, "bind": "lan"}}},
            {"name": "bot-b"}]),
    })


def test_chain_of_overrides() -> None:
    result = explain(_repo(), "bot-a", "gateway.port")  # type: ignore[arg-type]
    assert [(s.action, s.origin.document, s.value) for s in result.steps] == [
        ("set", "Template/base", 18789),
        ("override", "Profile/p", 19000),
        ("unchanged", "Profile/p2", 19000),
        ("override", "Fleet/dev", 20000),
    ]
    assert result.steps[0].origin.location.file == "t.yaml"
    assert result.steps[0].origin.location.line == line_of(TEMPLATE, "port: 18789")
    assert result.final == 20000
    assert result.present
    text = result.format()
    assert "t.yaml:9" in text
    assert "final: 20000" in text


def test_delete_then_set_again_and_merge() -> None:
    repo = _repo()
    bind = explain(repo, "bot-a", "gateway.bind")  # type: ignore[arg-type]
    assert [(s.action, s.origin.layer) for s in bind.steps] == [
        ("set", "template"), ("delete", "overlay"), ("set", "bot")]
    assert bind.steps[1].value is ABSENT
    deleted = explain(repo, "bot-b", "gateway.bind")  # type: ignore[arg-type]
    assert deleted.final is ABSENT
    assert not deleted.present
    assert "(absent)" in deleted.format()
    gateway = explain(repo, "bot-a", "gateway")  # type: ignore[arg-type]
    assert [s.action for s in gateway.steps] == ["set", "merge", "unchanged", "merge", "merge"]


def test_list_strategies_and_indices() -> None:
    repo = _repo()
    deny = explain(repo, "bot-a", "tools.deny")  # type: ignore[arg-type]
    assert [(s.action, s.value) for s in deny.steps] == [
        ("set", ["exec"]), ("append", ["exec", "browser"])]
    item = explain(repo, "bot-a", "agents.list[0].id")  # type: ignore[arg-type]
    assert item.final == "main"
    assert item.path == ("agents", "list", 0, "id")
    assert explain(repo, "bot-a", "agents.list.0.id").final == "main"  # type: ignore[arg-type]


def test_unknown_bot_and_path_suggest_close_names() -> None:
    repo = _repo()
    with pytest.raises(InputError) as info:
        explain(repo, "bot-c", "gateway.port")  # type: ignore[arg-type]
    assert info.value.problems[0].code == "unknown-bot"
    assert "'bot-a'" in info.value.problems[0].hint
    with pytest.raises(InputError) as info:
        explain(repo, "bot-a", "gateway.prot")  # type: ignore[arg-type]
    assert info.value.problems[0].code == "unknown-config-path"
    assert "gateway.port" in info.value.problems[0].hint
    with pytest.raises(InputError):
        explain(repo, "bot-a", "gateway..port")  # type: ignore[arg-type]


def test_explain_works_on_a_bot_with_a_locked_path_problem() -> None:
    repo = load({
        "t.yaml": template(config={"x": 1}),
        "p.yaml": profile("p", {}, lockedPaths=["x"]),
        "f.yaml": fleet(profiles=["p"], bots=[{"name": "bot-a", "config": {"x": 2}}]),
    })
    result = explain(repo, "bot-a", "x")
    assert [(s.action, s.origin.layer) for s in result.steps] == [
        ("set", "template"), ("override", "bot")]
