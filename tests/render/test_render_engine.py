"""The engine as a whole: rendered bot fields, ordering, filters, all problems at once,
caching that never leaks between bots, and canonical JSON / hashes."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from molthub_gitops.errors import InputError
from molthub_gitops.render.canonical import canonical_json, canonical_text, config_hash
from molthub_gitops.render.engine import Renderer, render_repository

from .helpers import fleet, load, overlay, problems, profile, template

ROOT = Path(__file__).resolve().parents[2]


def _two_fleets() -> dict[str, Any]:
    return {
        "t.yaml": template(config={"gateway": {"port": "{{ params.port }}"}},
                           parameters={"port": {"type": "integer", "default": 1}}),
        "p.yaml": profile("p", {"logging": {"level": "info"}}),
        "o.yaml": overlay("prod", {"tier": "prod"}, selector={"environments": ["prod"]}),
        "f1.yaml": fleet("zz-prod", environment="prod", labels={"team": "a"},
                         target={"provider": "simulated", "settings": {"x": 1}},
                         rollout={"strategy": "percentage", "batch": "50%"},
                         profiles=["p"],
                         bots=[{"name": "p-2", "labels": {"k": "v"}}, {"name": "p-1"}]),
        "f2.yaml": fleet("aa-dev", bots=[{"name": "d-1", "parameters": {"port": 7}}]),
    }


def test_rendered_bot_fields_and_order() -> None:
    result = render_repository(load(_two_fleets()))
    assert [(b.fleet, b.name) for b in result.bots] == [
        ("aa-dev", "d-1"), ("zz-prod", "p-1"), ("zz-prod", "p-2")]
    bot = result.by_name()["p-2"]
    assert bot.environment == "prod"
    assert bot.labels == {"team": "a", "k": "v"}
    assert bot.template == "base"
    assert bot.profiles == ("p",)
    assert bot.overlays == ("prod",)
    assert bot.openclaw_version == "2026.9.6"
    assert bot.target.provider == "simulated"
    assert bot.rollout.strategy == "percentage"
    assert bot.gateway_url == "ws://127.0.0.1:18789"
    assert bot.config == {"gateway": {"port": 1}, "logging": {"level": "info"}, "tier": "prod"}
    assert bot.config_hash == hashlib.sha256(canonical_json(bot.config)).hexdigest()
    assert bot.location.file == "f1.yaml"
    assert bot.location.line > 0
    assert bot.openclaw_version_location is not None
    assert bot.section_json == {k: canonical_text(v) for k, v in bot.config.items()}
    assert list(bot.config) == sorted(bot.config)
    assert result.by_name()["d-1"].config == {"gateway": {"port": 7}}


def test_filters() -> None:
    repo = load(_two_fleets())
    assert [b.name for b in render_repository(repo, fleets=["zz-prod"]).bots] == ["p-1", "p-2"]
    assert [b.name for b in render_repository(repo, bots=["p-2", "d-1"]).bots] == ["d-1", "p-2"]
    with pytest.raises(InputError) as info:
        render_repository(repo, fleets=["zz-prd"], bots=["p-3"])
    codes = [(p.code, p.hint) for p in info.value.problems]
    assert ("unknown-fleet", "did you mean 'zz-prod'?") in codes
    assert any(code == "unknown-bot" and "'p-2'" in hint for code, hint in codes)


def test_the_config_is_the_callers_copy() -> None:
    repo = load(_two_fleets())
    first = render_repository(repo).by_name()
    first["p-1"].config["gateway"]["port"] = 999
    first["p-2"].config.clear()
    again = render_repository(repo).by_name()
    assert again["p-1"].config["gateway"]["port"] == 1
    assert again["p-2"].config_hash == first["p-2"].config_hash


def test_every_problem_of_every_bot_at_once() -> None:
    files = {
        "t.yaml": template(config={"a": "{{ bot.nope }}"}),
        "p.yaml": profile("p", {"x": 1}, lockedPaths=["x"]),
        "f1.yaml": fleet("one", profiles=["p"], bots=[{"name": "b1", "config": {"x": 2}}]),
        "f2.yaml": fleet("two", bots=[{"name": "b2", "parameters": {"zzz": 1}},
                                      {"name": "b3", "config": {"v": ".nan"}}]),
    }
    found = problems(files)
    codes = sorted(p.code for p in found)
    assert codes == ["render-jinja-undefined", "render-locked-path", "render-param-unknown"]
    jinja = next(p for p in found if p.code == "render-jinja-undefined")
    assert jinja.message.startswith("bots b1, b3:")


def test_non_json_values_are_problems() -> None:
    text = """\
    apiVersion: molthub/v1
    kind: Template
    metadata: {name: base}
    spec:
      config:
        a: .nan
        b: [1, .inf]
    """
    found = problems({"t.yaml": text, "f.yaml": fleet()})
    assert [p.code for p in found] == ["render-bad-value", "render-bad-value"]
    assert [p.location.line for p in found if p.location] == [6, 7]


def _random_repo(seed: int) -> dict[str, Any]:
    rnd = random.Random(seed)
    keys = ["a", "b", "c", "d"]

    def value(depth: int) -> Any:
        roll = rnd.random()
        if depth > 2 or roll < 0.3:
            return rnd.choice([1, "s", True, None, [1, 2], "{{ bot.name }}", "{{ params.p }}",
                               "{{ fleet.name }}-x", [{"id": rnd.choice("xyz"), "v": 1}],
                               "{{ params.l }}", ["{{ bot.name }}", "{{ params.p }}"],
                               "{{ none if params.p else 1 }}", "p={{ params.p }}"])
        return {rnd.choice(keys): value(depth + 1) for _ in range(rnd.randint(1, 3))}

    def config() -> dict[str, Any]:
        return {k: value(1) for k in rnd.sample(keys, rnd.randint(0, 3))}

    strategies = {"a.a": "append", "b": {"mergeBy": "id"}, "c.*": "union", "d.d": "prepend"}
    files: dict[str, Any] = {
        "t.yaml": template(config=config(), mergeStrategies=dict(
            rnd.sample(sorted(strategies.items()), 2)),
            parameters={"p": {"type": "integer", "default": 0},
                        "l": {"type": "array", "default": ["d"]}}),
    }
    for i in range(4):
        locks = [rnd.choice(["a", "b.*", "c.c", "d"])] if rnd.random() < 0.2 else []
        files[f"p{i}.yaml"] = profile(f"p{i}", config(), lockedPaths=locks)
    for i in range(4):
        files[f"o{i}.yaml"] = overlay(f"o{i}", config(), priority=rnd.randint(0, 2),
                                      selector={"bots": [rnd.choice(["*", "b-1*", "b-?"])]})
    for f in range(2):
        bots = [{"name": f"b-{f}{i}", "profiles": rnd.sample(["p2", "p3"], rnd.randint(0, 2)),
                 "parameters": {"p": rnd.randint(0, 1), "l": [rnd.choice("ab")]},
                 "config": config()} for i in range(6)]
        files[f"f{f}.yaml"] = fleet(f"f{f}", profiles=rnd.sample(["p0", "p1"], rnd.randint(0, 2)),
                                    bots=bots)
    return files


def _unbotted(problem: Any) -> tuple[str, str, str]:
    """A problem without the bot names its message starts with."""
    return problem.code, str(problem.location), problem.message.split(": ", 1)[1]


def _render_or_problems(repo: Any, **kwargs: Any) -> tuple[dict[str, Any], tuple[Any, ...]]:
    try:
        return render_repository(repo, **kwargs).by_name(), ()
    except InputError as exc:
        return {}, exc.problems


@pytest.mark.parametrize("seed", range(30))
def test_shared_merges_equal_exact_merges(seed: int) -> None:
    """Per bot, the shared way (placeholders, caches shared across the fleet's bots) gives the
    same config and the same problems as the exact way (every layer templated first)."""
    repo = load(_random_repo(seed))
    for sd in repo.fleets.values():
        shared = Renderer(repo)
        exact = Renderer(repo, trace=lambda *_: None)
        for plan, exact_plan in zip(shared.plan_fleet(sd, None), exact.plan_fleet(sd, None),
                                    strict=True):
            got = shared.merge_bot(plan)
            want = exact.merge_bot(exact_plan)
            assert canonical_text(got.value) == canonical_text(want.value), plan.name
            assert set(got.issues) == set(want.issues), plan.name


@pytest.mark.parametrize("seed", range(30))
def test_caching_never_leaks_between_bots(seed: int) -> None:
    """Rendering everything at once (shared caches) equals rendering each bot on its own."""
    repo = load(_random_repo(seed))
    together, found = _render_or_problems(repo)
    names = sorted(b.name for f in repo.fleets.values() for b in f.doc.spec.bots)
    for name in names:
        alone, alone_found = _render_or_problems(repo, bots=[name])
        assert {_unbotted(p) for p in alone_found} <= {_unbotted(p) for p in found}
        if name in together:
            bot = together[name]
            assert alone[name].config == bot.config
            assert alone[name].config_hash == bot.config_hash
            assert dict(alone[name].provenance) == dict(bot.provenance)
    assert found or len(together) == len(names)


def test_canonical_json() -> None:
    value = {"b": [1, 2.5, True, None], "a": {"é": "ü", "z": -0}, "c": 10**20}
    expected = '{"a":{"z":0,"é":"ü"},"b":[1,2.5,true,null],"c":100000000000000000000}'
    assert canonical_json(value) == expected.encode()
    assert canonical_json({"x": 1}) != canonical_json({"x": 1.0})
    assert config_hash(value) == hashlib.sha256(canonical_json(value)).hexdigest()
    for bad in (float("nan"), float("inf"), {1: "a"}, {"a": object()}, "\ud800"):
        with pytest.raises(ValueError):  # noqa: PT011 -- any non-JSON value
            canonical_json(bad)


_SCRIPT = """
import sys, json
sys.path.insert(0, {tests!r})
from render.helpers import render
from render.test_render_engine import _random_repo, _two_fleets
out = {{}}
for seed in range(3):
    try:
        bots = render(_random_repo(seed))
        out.update({{f"{{seed}}/{{n}}": b.config_hash for n, b in bots.items()}})
    except Exception as exc:
        out[str(seed)] = type(exc).__name__ + str(exc)
out.update({{n: b.config_hash for n, b in render(_two_fleets()).items()}})
print(json.dumps(out, sort_keys=True))
"""


def test_renders_are_identical_across_hash_seeds() -> None:
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT.format(tests=str(ROOT / "tests"))],
            env=env, capture_output=True, text=True, timeout=120, check=True, cwd=ROOT,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert len(json.loads(outputs.pop())) >= 6
