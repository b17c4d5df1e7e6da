"""Shared merges with placeholders give exactly what rendering every layer before merging
gives, including the cases where the engine must fall back to the exact way."""

from __future__ import annotations

from typing import Any

from molthub_gitops.render.canonical import canonical_text
from molthub_gitops.render.engine import Renderer, render_repository
from molthub_gitops.render.explain import explain

from .helpers import fleet, load, problems, profile, template


def _exact(files: dict[str, Any]) -> dict[str, Any]:
    """Every bot's config merged the exact way (trace mode: no placeholders, no caches)."""
    repo = load(files)
    out = {}
    for sd in repo.fleets.values():
        renderer = Renderer(repo, trace=lambda *_: None)
        for plan in renderer.plan_fleet(sd, None):
            out[plan.name] = renderer.merge_bot(plan).value
    return out


def _check_same(files: dict[str, Any]) -> dict[str, Any]:
    repo = load(files)
    shared = {b.name: b.config for b in render_repository(repo).bots}
    exact = _exact(files)
    assert {k: canonical_text(v) for k, v in shared.items()} == {
        k: canonical_text(v) for k, v in exact.items()}
    return shared


BOTS = [{"name": "bot-a", "parameters": {"p": ["x"]}}, {"name": "bot-b"},
        {"name": "bot-c", "parameters": {"p": ["y", "x"]}}]
PARAMS = {"p": {"type": "array", "default": ["d"]}}


def test_native_list_from_params_then_appended() -> None:
    files = {
        "t.yaml": template(config={"l": "{{ params.p }}", "s": "{{ bot.name }}"},
                           parameters=PARAMS, mergeStrategies={"l": "append"}),
        "p.yaml": profile("p", {"l": ["z"]}),
        "f.yaml": fleet(profiles=["p"], bots=BOTS),
    }
    configs = _check_same(files)
    assert configs["bot-a"]["l"] == ["x", "z"]
    assert configs["bot-b"]["l"] == ["d", "z"]


def test_union_and_merge_by_over_bot_values() -> None:
    files = {
        "t.yaml": template(
            config={"u": ["{{ bot.name }}", "same"], "m": [{"id": "{{ bot.name }}", "v": 1}]},
            parameters=PARAMS, mergeStrategies={"u": "union", "m": {"mergeBy": "id"}}),
        "p.yaml": profile("p", {"u": ["bot-a", "same", "new"], "m": [{"id": "bot-b", "v": 2}]}),
        "f.yaml": fleet(profiles=["p"], bots=BOTS),
    }
    configs = _check_same(files)
    assert configs["bot-a"]["u"] == ["bot-a", "same", "new"]
    assert configs["bot-b"]["u"] == ["bot-b", "same", "bot-a", "new"]
    assert configs["bot-b"]["m"] == [{"id": "bot-b", "v": 2}]
    assert configs["bot-a"]["m"] == [{"id": "bot-a", "v": 1}, {"id": "bot-b", "v": 2}]


def test_locked_bot_value_set_identically_by_a_later_layer() -> None:
    files = {
        "t.yaml": template(config={"w": "/data/{{ bot.name }}"}),
        "p.yaml": profile("p", {}, lockedPaths=["w"]),
        "f.yaml": fleet(profiles=["p"], bots=[
            {"name": "bot-a", "config": {"w": "/data/bot-a"}},
            {"name": "bot-b"}]),
    }
    configs = _check_same(files)
    assert configs["bot-a"]["w"] == "/data/bot-a"
    files["f.yaml"] = fleet(profiles=["p"], bots=[{"name": "bot-a", "config": {"w": "/other"}}])
    assert [p.code for p in problems(files)] == ["render-locked-path"]


def test_native_null_and_map_from_bot_expressions() -> None:
    files = {
        "t.yaml": template(config={
            "gone": "{{ none if bot.name == 'bot-a' else 'kept' }}",
            "m": "{{ {'name': bot.name} if bot.name == 'bot-b' else 'flat' }}",
        }, parameters=PARAMS),
        "p.yaml": profile("p", {"m": {"extra": 1}}),
        "f.yaml": fleet(profiles=["p"], bots=BOTS),
    }
    configs = _check_same(files)
    assert "gone" not in configs["bot-a"]
    assert configs["bot-b"]["gone"] == "kept"
    assert configs["bot-b"]["m"] == {"name": "bot-b", "extra": 1}
    assert configs["bot-a"]["m"] == {"extra": 1}


def test_strings_that_look_like_placeholder_markers() -> None:
    files = {
        "t.yaml": template(
            config={"s": {"a": "\x000\x00", "b": "{{ bot.name }}", "c": "\x001\x00"}},
            parameters=PARAMS),
        "f.yaml": fleet(bots=BOTS),
    }
    configs = _check_same(files)
    assert configs["bot-c"]["s"] == {"a": "\x000\x00", "b": "bot-c", "c": "\x001\x00"}


def test_explain_sees_rendered_values() -> None:
    files = {"t.yaml": template(config={"w": "/data/{{ bot.name }}"}, parameters=PARAMS),
             "f.yaml": fleet(bots=BOTS)}
    result = explain(load(files), "bot-c", "w")
    assert result.final == "/data/bot-c"
    assert [s.value for s in result.steps] == ["/data/bot-c"]


def test_template_errors_in_overridden_strings_are_still_reported() -> None:
    files = {
        "t.yaml": template(config={"w": "{{ bot.nope }}"}, parameters=PARAMS),
        "p.yaml": profile("p", {"w": "fixed"}),
        "f.yaml": fleet(profiles=["p"], bots=BOTS),
    }
    found = problems(files)
    assert [p.code for p in found] == ["render-jinja-undefined"]
    assert found[0].message.startswith("bots bot-a, bot-b, bot-c:")
