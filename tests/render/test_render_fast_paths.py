"""The renderer's and the schema check's shortcuts give exactly what the plain ways give:
look-up-only strings rendered without Jinja, bots rendered from shared merged states (empty
own layers, shared placeholder values, memoised documents), schema checks of sections whose
parts are recognised by identity, and ``RenderedBot.config`` built lazily from its JSON."""

from __future__ import annotations

import dataclasses
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
from molthub_gitops.render import templating
from molthub_gitops.render.canonical import canonical_json, canonical_text
from molthub_gitops.render.engine import Renderer
from molthub_gitops.render.schema_check import FastValidator, check_openclaw_schema
from molthub_gitops.render.templating import TemplateFailure, compile_string, render_compiled
from molthub_gitops.render.types import RenderedBot

from .helpers import fleet, load, overlay, profile, render, template
from .test_render_schema_check import SYNTHETIC, _mutations, plain_errors

ROOT = Path(__file__).resolve().parents[2]
OPENCLAW = ROOT / "schemas" / "openclaw" / "2026.9.6.json"

# ------------------------------------------------------------------ look-ups without Jinja

CONTEXT: dict[str, Any] = {
    "bot": {"name": "bot-1", "labels": {"tier": "canary", "items": "x"}, "fleet": "f",
            "environment": "dev"},
    "fleet": {"name": "f", "environment": "dev", "labels": {}},
    "params": {"s": "text", "n": 7, "b": True, "f": 1.5, "l": ["a"], "d": {"k": "v"},
               "none": None, "items": "shadowed", "_hidden": "h", "e": "", "u": "é✓"},
}
_NAMES = ["bot.name", "bot.labels.tier", "bot.labels.items", "bot.labels.missing", "fleet.name",
          "params.s", "params.n", "params.b", "params.f", "params.l", "params.d", "params.d.k",
          "params.none", "params.items", "params._hidden", "params.e", "params.u",
          "params.missing", "params.s.x", "nothing.here", "range", "params"]
_LITERALS = ["", "x", "/srv/", " - ", "a\nb", "a\r\nb", "{", "}", "{ {", "%", "#}", "{#",
             "${VAR}", "é", "{%", "}}", "\n", "'", '"']


def _source(rnd: random.Random) -> str:
    parts = []
    for _ in range(rnd.randint(1, 3)):
        parts.append(rnd.choice(_LITERALS))
        space = rnd.choice(["", " ", "  ", "\t", "\n"])
        dash = rnd.choice(["", "", "", "-", "+"])
        parts.append("{{" + dash + space + rnd.choice(_NAMES) + space + "}}")
    parts.append(rnd.choice(_LITERALS))
    if rnd.random() < 0.4:
        parts = parts[1:2]  # one expression alone: native
    return "".join(parts)


def _outcome(compiled: templating.CompiledString, *, jinja: bool) -> tuple[str, Any]:
    try:
        if jinja:
            return "ok", templating.render_with_jinja(compiled, CONTEXT)
        return "ok", render_compiled(compiled, CONTEXT)
    except TemplateFailure as exc:
        return exc.code, str(exc)


def test_lookup_strings_render_as_jinja_renders_them() -> None:
    rnd = random.Random(11)
    shortcut = 0
    for _ in range(3000):
        source = _source(rnd)
        fast = templating._compile(source)
        slow = templating._compile_jinja(source)
        assert (fast.native, fast.uses) == (slow.native, slow.uses), source
        got = _outcome(fast, jinja=False)
        want = _outcome(slow, jinja=True)
        assert got == want, source
        assert type(got[1]) is type(want[1]), source
        # the shortcut's own Jinja fallback (built lazily) agrees too
        assert _outcome(fast, jinja=True) == want, source
        shortcut += fast.lookups is not None
    assert shortcut > 500  # the shortcut was taken often


def test_lookup_shortcut_is_refused_where_jinja_would_differ() -> None:
    for source in ("{{ params.items }}", "{{ params._hidden }}", "a\r\n{{ bot.name }}",
                   "{{- bot.name }}", "{{ bot.name }}{% if 1 %}{% endif %}", "{{ range }}",
                   "{{ '{{' }}{{ bot.name }}", "{# c #}{{ bot.name }}"):
        assert templating._compile(source).lookups is None, source
    compiled = compile_string("ws://{{ bot.name }}.f.internal:1")
    assert compiled.lookups == ("ws://", ("bot", "name"), ".f.internal:1")
    assert compiled.template is None  # Jinja compiles it only when needed
    assert render_compiled(compiled, {**CONTEXT, "bot": {"name": 5}}) == "ws://5.f.internal:1"


# ------------------------------------------------------------------ whole bots, shared vs exact


def _repo(seed: int) -> dict[str, Any]:
    """Fleets whose bots mostly share everything (no config, no parameters of their own),
    with strings reading bot, fleet and params, strategies, locks and overlays."""
    rnd = random.Random(seed)
    keys = ["a", "b", "c", "d"]

    def value(depth: int) -> Any:
        if depth > 2 or rnd.random() < 0.35:
            return rnd.choice([1, "s", True, None, [1, 2], "{{ bot.name }}", "{{ params.p }}",
                               "{{ fleet.name }}-x", [{"id": rnd.choice("xy"), "v": 1}],
                               "{{ params.l }}", ["{{ bot.name }}", "{{ params.s }}"],
                               "w/{{ bot.name }}/{{ params.s }}", "{{ params.p + 1 }}",
                               "{{ bot.labels.tier }}", "{{ none if params.p else 1 }}"])
        return {rnd.choice(keys): value(depth + 1) for _ in range(rnd.randint(1, 3))}

    def config() -> dict[str, Any]:
        return {k: value(1) for k in rnd.sample(keys, rnd.randint(1, 3))}

    strategies = {"a.a": "append", "b": {"mergeBy": "id"}, "c.*": "union", "d.d": "prepend"}
    files: dict[str, Any] = {"t.yaml": template(
        config=config(), mergeStrategies=dict(rnd.sample(sorted(strategies.items()), 2)),
        parameters={"p": {"type": "integer", "default": 0},
                    "s": {"type": "string", "default": "d"},
                    "l": {"type": "array", "default": ["d"]}})}
    for i in range(3):
        locks = [rnd.choice(["a", "b.*", "c.c"])] if rnd.random() < 0.15 else []
        files[f"p{i}.yaml"] = profile(f"p{i}", config(), lockedPaths=locks)
    for i in range(3):
        selector = rnd.choice([{"matchLabels": {"tier": "canary"}}, {"fleets": ["f1"]},
                               {"bots": ["b-1*"]}])
        files[f"o{i}.yaml"] = overlay(f"o{i}", config(), priority=i, selector=selector)
    for f in range(3):
        bots = []
        for i in range(8):
            bot: dict[str, Any] = {"name": f"b-{f}{i}"}
            if rnd.random() < 0.3:
                bot["labels"] = {"tier": "canary"}
            if rnd.random() < 0.25:
                bot["parameters"] = {"p": rnd.randint(0, 1), "s": rnd.choice("st")}
            if rnd.random() < 0.25:
                bot["config"] = config()
            if rnd.random() < 0.1:
                bot["profiles"] = ["p2"]
            bots.append(bot)
        files[f"f{f}.yaml"] = fleet(
            f"f{f}", bots=bots, profiles=rnd.sample(["p0", "p1"], rnd.randint(0, 2)),
            parameters={"p": rnd.randint(0, 1)}, labels={"tier": rnd.choice(["a", "b"])},
            gateway={"url": f"ws://{{{{ bot.name }}}}.f{f}.internal:1", "auth": "token",
                     "secret": {"env": "GW_TOKEN"}})
    return files


def _exact_bots(files: dict[str, Any]) -> dict[str, RenderedBot]:
    """Every bot rendered the exact way: every layer templated before merging, no shared
    states, no shortcuts (trace mode)."""
    repo = load(files)
    out = {}
    renderer = Renderer(repo, trace=lambda *_: None)
    for sd in repo.fleets.values():
        for plan in renderer.plan_fleet(sd, None):
            bot = renderer.finish(plan, renderer.merge_bot(plan))
            if bot is not None:
                out[bot.name] = bot
    if renderer.issues:
        raise InputError(renderer.issues.problems())
    return out


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*path, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*path, i)))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_shared_renders_equal_exact_renders(seed: int) -> None:
    files = _repo(seed)
    try:
        exact = _exact_bots(files)
    except InputError as exc:
        expected = sorted((p.code, str(p.location), p.message) for p in exc.problems)
        with pytest.raises(InputError) as got:
            render(files)
        assert sorted((p.code, str(p.location), p.message) for p in got.value.problems) == (
            expected)
        return
    shared = render(files)
    assert shared.keys() == exact.keys()
    for name, bot in shared.items():
        want = exact[name]
        assert bot.config_hash == want.config_hash, name
        assert bot.config == want.config, name
        assert canonical_json(bot.config) == canonical_json(want.config), name
        assert bot.config_hash == hashlib.sha256(canonical_json(bot.config)).hexdigest()
        assert dict(bot.section_json) == dict(want.section_json), name
        assert {k: canonical_text(v) for k, v in bot.section_values.items()} == dict(
            bot.section_json), name
        assert (bot.gateway, bot.gateway_url) == (want.gateway, want.gateway_url), name
        assert dict(bot.provenance) == dict(want.provenance), name
        for path in [*_paths(bot.config), ("nope",), ("a", "nope", 3)]:
            assert bot.provenance.find(path) == want.provenance.find(path), (name, path)  # type: ignore[attr-defined]
        assert bot == want


def test_the_equivalence_repositories_reach_the_shortcuts() -> None:
    """The repositories above do exercise shared placeholder values, empty own layers and
    bots with their own config (else the comparison would prove little)."""
    shared_values = empty_layers = own_config = 0
    for seed in range(40):
        repo = load(_repo(seed))
        for sd in repo.fleets.values():
            renderer = Renderer(repo)
            for plan in renderer.plan_fleet(sd, None):
                renderer.merge_shared(plan)
                shared_values += plan.shared_values is not None
                own = plan.layers[-1].raw
                empty_layers += not own
                own_config += bool(own)
    assert shared_values > 100
    assert empty_layers > 500
    assert own_config > 100


def test_renders_are_the_same_bytes_in_any_order() -> None:
    checked = 0
    for seed in range(40):
        files = _repo(seed)
        try:
            everything = render(files)
        except InputError:
            continue
        for fleet_name in ("f2", "f1"):
            for name, bot in render(files, fleets=[fleet_name]).items():
                assert bot.config_hash == everything[name].config_hash
                assert bot.section_json == everything[name].section_json
                checked += 1
    assert checked > 100


_SCRIPT = """
import sys, json
sys.path.insert(0, {tests!r})
from molthub_gitops.errors import InputError
from molthub_gitops.repo.pipeline import check_schemas
from render.helpers import render
from render.test_render_fast_paths import _repo
out = {{}}
for seed in range(12):
    try:
        bots = render(_repo(seed))
    except InputError as exc:
        out[str(seed)] = [p.message for p in exc.problems]
        continue
    out.update({{f"{{seed}}/{{n}}": [b.config_hash, sorted(b.section_json.items())]
                for n, b in bots.items()}})
    out[f"{{seed}}/schema"] = [p.message for p in check_schemas(list(bots.values()))]
print(json.dumps(out, sort_keys=True))
"""


def test_shared_renders_are_identical_across_hash_seeds() -> None:
    outputs = set()
    for seed in ("0", "7", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT.format(tests=str(ROOT / "tests"))],
            env=env, capture_output=True, text=True, timeout=300, check=True, cwd=ROOT,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert len(json.loads(outputs.pop())) > 50


# ------------------------------------------------------------------ lazy config


def test_config_is_built_on_first_access_and_is_the_callers_own() -> None:
    files = {"t.yaml": template(config={"a": {"b": "{{ bot.name }}", "c": [1, 2]}, "d": 1}),
             "f.yaml": fleet(bots=[{"name": "bot-a"}, {"name": "bot-b"}])}
    bots = render(files)
    a = bots["bot-a"]
    assert "config" in vars(a)
    assert not isinstance(vars(a)["config"], dict)
    assert a.config == {"a": {"b": "bot-a", "c": [1, 2]}, "d": 1}
    assert list(a.config) == ["a", "d"]
    assert a.config is a.config  # built once, kept
    a.config["a"]["c"].append(3)
    assert a.config["a"]["c"] == [1, 2, 3]  # the caller's changes stay on their copy
    assert bots["bot-b"].config["a"]["c"] == [1, 2]
    assert render(files)["bot-a"].config["a"]["c"] == [1, 2]
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.config = {}  # type: ignore[misc]
    again = render(files)["bot-a"]
    assert again != a  # equality compares the configs
    a.config["a"]["c"].pop()
    assert again == a
    assert dataclasses.replace(a, name="x").config == a.config
    assert json.loads(json.dumps(dataclasses.asdict(a)["config"])) == a.config


def test_a_plain_config_dict_is_kept_as_given() -> None:
    bot = render({"t.yaml": template(config={"x": 1}), "f.yaml": fleet()})["bot-a"]
    fields = {f.name: getattr(bot, f.name) for f in dataclasses.fields(RenderedBot)}
    config = {"x": 1}
    made = RenderedBot(**{**fields, "config": config})
    assert made.config is config
    assert made == bot
    del fields["config"]
    with pytest.raises(TypeError):
        RenderedBot(**fields)  # config stays a required field


# ------------------------------------------------------------------ schema check by sections


def _shared(pool: dict[str, Any], value: Any) -> Any:
    """One object per distinct value (as the renderer shares merged parts), key order
    shuffled so messages built from these objects would show it."""
    key = canonical_text(value)
    found = pool.get(key)
    if found is None:
        if isinstance(value, dict):
            items = [(k, _shared(pool, v)) for k, v in value.items()]
            random.Random(key).shuffle(items)
            found = dict(items)
        elif isinstance(value, list):
            found = [_shared(pool, v) for v in value]
        else:
            found = value
        pool[key] = found
    return found


def _section_errors(validator: FastValidator, instance: dict[str, Any], pool: dict[str, Any]
                    ) -> list[tuple[tuple[str, ...], str]]:
    texts = {k: canonical_text(v) for k, v in sorted(instance.items())}
    values = {k: _shared(pool, v) for k, v in instance.items()}
    return sorted((tuple(map(str, e.path)), e.message)
                  for e in validator.iter_section_errors(texts, values))


def test_section_check_equals_plain_on_a_synthetic_schema() -> None:
    rnd = random.Random(5)
    validator = FastValidator(SYNTHETIC)
    pool: dict[str, Any] = {}
    invalid = 0
    for _ in range(1500):
        instance = _mutations(rnd)
        if rnd.random() < 0.5:  # a section that varies in one leaf, the rest shared
            instance["nested"] = {"deep": {"leaf": f"v{rnd.randint(0, 50)}", "n": 1}}
        expected = plain_errors(SYNTHETIC, json.loads(canonical_text(instance)))
        assert _section_errors(validator, instance, pool) == expected, instance
        invalid += bool(expected)
    assert 100 < invalid < 1500


def test_section_check_equals_plain_on_the_openclaw_schema() -> None:
    from jsonschema import Draft7Validator

    from .schemagen import Generator

    schema = json.loads(OPENCLAW.read_text(encoding="utf-8"))
    validator = FastValidator(schema)
    plain = Draft7Validator(schema)
    pool: dict[str, Any] = {}
    verdicts = {True: 0, False: 0}
    for seed in range(300):
        gen = Generator(seed % 60, error_rate=0.0 if seed % 3 == 0 else 0.05)
        instance = gen.object(schema, 0)
        if not isinstance(instance, dict):
            continue
        sorted_instance = json.loads(canonical_text(instance))
        expected = sorted((tuple(map(str, e.absolute_path)), e.message)
                          for e in plain.iter_errors(sorted_instance))
        assert _section_errors(validator, instance, pool) == expected, seed
        verdicts[not expected] += 1
    assert verdicts[True] > 20, verdicts
    assert verdicts[False] > 50, verdicts


def test_schema_problems_are_the_same_through_sections() -> None:
    """check_openclaw_schema on rendered bots (sections and shared values) reports what it
    reports for the same bots with plain configs only."""
    schema = json.loads(OPENCLAW.read_text(encoding="utf-8"))
    files = {
        "t.yaml": template(config={"gateway": {"port": "{{ params.port }}", "bind": "lan",
                                               "bogus": "{{ bot.name }}"},
                                   "agents": {"defaults": {"workspace": "/w/{{ bot.name }}",
                                                           "timeoutSeconds": "{{ params.t }}"}}},
                           parameters={"port": {"type": "integer", "default": 1},
                                       "t": {"type": "string", "default": "x"}}),
        "f.yaml": fleet(bots=[{"name": f"bot-{i}"} for i in range(5)]
                        + [{"name": "bot-p", "parameters": {"t": "y"}}]),
    }
    bots = list(render(files).values())
    got = check_openclaw_schema(bots, {"2026.9.6": schema})
    plain = [dataclasses.replace(b, section_json={}, section_values={}) for b in bots]
    want = check_openclaw_schema(plain, {"2026.9.6": json.loads(json.dumps(schema))})
    assert [(p.code, p.message, str(p.location)) for p in got] == [
        (p.code, p.message, str(p.location)) for p in want]
    assert len(got) == 3  # the unknown key; timeoutSeconds "x" (5 bots) and "y" (bot-p)
