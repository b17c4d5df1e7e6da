"""Layer precedence, deep merge, null deletion and list merge strategies."""

from __future__ import annotations

from .helpers import fleet, line_of, overlay, problems, profile, render_one, template, where


def test_precedence_template_profiles_overlays_bot() -> None:
    files = {
        "t.yaml": template(config={"v": {"t": "template", "p1": "template", "p2": "template",
                                         "bp": "template", "o": "template", "bot": "template"}}),
        "p1.yaml": profile("p1", {"v": {"p1": "p1", "p2": "p1", "bp": "p1", "o": "p1",
                                        "bot": "p1"}}),
        "p2.yaml": profile("p2", {"v": {"p2": "p2", "bp": "p2", "o": "p2", "bot": "p2"}}),
        "bp.yaml": profile("bp", {"v": {"bp": "bp", "o": "bp", "bot": "bp"}}),
        "o.yaml": overlay("o", {"v": {"o": "overlay", "bot": "overlay"}}),
        "f.yaml": fleet(profiles=["p1", "p2"], bots=[
            {"name": "bot-a", "profiles": ["bp"], "config": {"v": {"bot": "bot"}}}]),
    }
    bot = render_one(files)
    assert bot.config["v"] == {"t": "template", "p1": "p1", "p2": "p2", "bp": "bp",
                               "o": "overlay", "bot": "bot"}
    assert bot.profiles == ("p1", "p2", "bp")
    assert bot.overlays == ("o",)
    assert bot.provenance[("v", "p2")].document == "Profile/p2"
    assert bot.provenance[("v", "bot")].document == "Fleet/dev"
    assert bot.provenance[("v", "bot")].layer == "bot"
    assert bot.provenance[("v", "o")].layer == "overlay"


def test_overlays_apply_by_priority_then_name() -> None:
    files = {
        "t.yaml": template(),
        "o1.yaml": overlay("zeta", {"x": "zeta-prio-0", "y": "zeta"}, priority=0),
        "o2.yaml": overlay("alpha", {"x": "alpha-prio-0", "y": "alpha"}, priority=0),
        "o3.yaml": overlay("beta", {"x": "beta-prio-10"}, priority=10),
        "o4.yaml": overlay("off", {"x": "disabled"}, priority=99, enabled=False),
        "f.yaml": fleet(),
    }
    bot = render_one(files)
    assert bot.overlays == ("alpha", "zeta", "beta")
    assert bot.config == {"x": "beta-prio-10", "y": "zeta"}


def test_deep_merge_and_null_deletes() -> None:
    files = {
        "t.yaml": template(config={"a": {"b": 1, "c": {"d": 2, "e": 3}}, "gone": {"x": 1}}),
        "p.yaml": profile("p", {"a": {"c": {"e": None, "f": 4}}, "gone": None}),
        "f.yaml": fleet(profiles=["p"]),
    }
    assert render_one(files).config == {"a": {"b": 1, "c": {"d": 2, "f": 4}}}


def test_deleted_key_stays_deleted_until_set_again() -> None:
    files = {
        "t.yaml": template(config={"k": {"x": 1, "y": 2}}),
        "p1.yaml": profile("p1", {"k": None}),
        "p2.yaml": profile("p2", {"other": 1}),
        "p3.yaml": profile("p3", {"k": {"y": 5}}),
        "f.yaml": fleet(profiles=["p1", "p2"], bots=[
            {"name": "bot-a"}, {"name": "bot-b", "profiles": ["p3"]}]),
    }
    from .helpers import render

    bots = render(files)
    assert bots["bot-a"].config == {"other": 1}
    assert bots["bot-b"].config == {"other": 1, "k": {"y": 5}}
    assert bots["bot-b"].provenance[("k", "y")].document == "Profile/p3"


def test_nulls_inside_added_values_are_dropped() -> None:
    files = {
        "t.yaml": template(config={}),
        "p.yaml": profile("p", {"new": {"keep": 1, "drop": None, "deep": {"z": None}}}),
        "f.yaml": fleet(profiles=["p"]),
    }
    assert render_one(files).config == {"new": {"keep": 1, "deep": {}}}


def test_type_changes_replace() -> None:
    files = {
        "t.yaml": template(config={"a": {"x": 1}, "b": [1, 2], "c": "s"}),
        "p.yaml": profile("p", {"a": "now a string", "b": {"now": "map"}, "c": [1]}),
        "f.yaml": fleet(profiles=["p"]),
    }
    assert render_one(files).config == {"a": "now a string", "b": {"now": "map"}, "c": [1]}


def test_lists_replace_by_default() -> None:
    files = {
        "t.yaml": template(config={"l": [1, 2, 3]}),
        "p.yaml": profile("p", {"l": [9]}),
        "f.yaml": fleet(profiles=["p"]),
    }
    bot = render_one(files)
    assert bot.config == {"l": [9]}
    assert bot.provenance[("l", 0)].document == "Profile/p"
    assert ("l", 1) not in bot.provenance


def _strategy_files(strategy: object, base: list[object], add: list[object]) -> dict[str, object]:
    return {
        "t.yaml": template(config={"tools": {"deny": base}},
                           mergeStrategies={"tools.deny": strategy}),
        "p.yaml": profile("p", {"tools": {"deny": add}}),
        "f.yaml": fleet(profiles=["p"]),
    }


def test_append_prepend_union() -> None:
    assert render_one(_strategy_files("append", ["a", "b"], ["b", "c"])).config["tools"] == {
        "deny": ["a", "b", "b", "c"]}
    assert render_one(_strategy_files("prepend", ["a", "b"], ["b", "c"])).config["tools"] == {
        "deny": ["b", "c", "a", "b"]}
    union = render_one(_strategy_files("union", ["a", "b", "a"], ["b", {"k": 1}, "c", {"k": 1}]))
    assert union.config["tools"] == {"deny": ["a", "b", {"k": 1}, "c"]}
    assert union.provenance[("tools", "deny", 0)].document == "Template/base"
    assert union.provenance[("tools", "deny", 2, "k")].document == "Profile/p"


def test_union_compares_by_canonical_value_not_python_equality() -> None:
    files = _strategy_files("union", [1, True, 1.0], [1, {"b": 1, "a": 2}, {"a": 2, "b": 1}])
    bot = render_one(files)
    assert bot.config["tools"]["deny"] == [1, True, 1.0, {"a": 2, "b": 1}]


def test_merge_by_key() -> None:
    files = {
        "t.yaml": template(
            config={"agents": {"list": [
                {"id": "main", "model": "a", "tools": {"allow": ["x"]}},
                {"id": "helper", "model": "b"},
            ]}},
            mergeStrategies={"agents.list": {"mergeBy": "id"}, "agents.list.tools.allow": "append"},
        ),
        "p.yaml": profile("p", {"agents": {"list": [
            {"id": "helper", "model": None, "name": "Helper"},
            {"id": "main", "tools": {"allow": ["y"]}},
            {"id": "new", "model": "c"},
        ]}}),
        "f.yaml": fleet(profiles=["p"]),
    }
    bot = render_one(files)
    assert bot.config["agents"]["list"] == [
        {"id": "main", "model": "a", "tools": {"allow": ["x", "y"]}},
        {"id": "helper", "name": "Helper"},
        {"id": "new", "model": "c"},
    ]
    assert bot.provenance[("agents", "list", 0, "model")].document == "Template/base"
    assert bot.provenance[("agents", "list", 0, "tools", "allow", 1)].document == "Profile/p"
    assert bot.provenance[("agents", "list", 2, "id")].document == "Profile/p"


def test_merge_by_item_without_key_is_an_error_at_the_item() -> None:
    prof = """\
    apiVersion: molthub/v1
    kind: Profile
    metadata: {name: p}
    spec:
      config:
        agents:
          list:
            - id: main
              model: x
            - model: no-id-here
    """
    files = {
        "t.yaml": template(config={"agents": {"list": [{"id": "main"}]}},
                           mergeStrategies={"agents.list": {"mergeBy": "id"}}),
        "p.yaml": prof,
        "f.yaml": fleet(profiles=["p"]),
    }
    found = problems(files)
    assert [p.code for p in found] == ["render-merge-by-key"]
    assert where(found[0]) == f"p.yaml:{line_of(prof, 'model: no-id-here')}"
    assert "bot bot-a" in found[0].message
    assert "'id'" in found[0].message


def test_strategy_applies_from_the_declaring_layer_on() -> None:
    files = {
        "t.yaml": template(config={"l": ["t"]}),
        "p1.yaml": profile("p1", {"l": ["p1"]}),
        "p2.yaml": profile("p2", {"l": ["p2"]}, mergeStrategies={"l": "append"}),
        "p3.yaml": profile("p3", {"l": ["p3"]}),
        "f.yaml": fleet(profiles=["p1", "p2", "p3"]),
    }
    # p1 replaces (no strategy yet); p2 declares append and appends; p3 appends too.
    assert render_one(files).config == {"l": ["p1", "p2", "p3"]}


def test_wildcard_strategy_and_specificity() -> None:
    files = {
        "t.yaml": template(
            config={"channels": {"tg": {"allowFrom": ["1"]}, "wa": {"allowFrom": ["a"]}}},
            mergeStrategies={"channels.*.allowFrom": "append", "channels.wa.allowFrom": "replace"},
        ),
        "p.yaml": profile("p", {"channels": {"tg": {"allowFrom": ["2"]},
                                             "wa": {"allowFrom": ["b"]}}}),
        "f.yaml": fleet(profiles=["p"]),
    }
    assert render_one(files).config == {
        "channels": {"tg": {"allowFrom": ["1", "2"]}, "wa": {"allowFrom": ["b"]}}}


def test_later_declaration_of_same_pattern_wins() -> None:
    files = {
        "t.yaml": template(config={"l": ["t"]}, mergeStrategies={"l": "append"}),
        "p.yaml": profile("p", {"l": ["p"]}, mergeStrategies={"l": "prepend"}),
        "f.yaml": fleet(profiles=["p"]),
    }
    assert render_one(files).config == {"l": ["p", "t"]}


def test_strategy_on_non_list_values_replaces() -> None:
    files = {
        "t.yaml": template(config={"l": "scalar"}, mergeStrategies={"l": "append"}),
        "p.yaml": profile("p", {"l": ["x"]}),
        "f.yaml": fleet(profiles=["p"]),
    }
    assert render_one(files).config == {"l": ["x"]}


def test_empty_containers_are_leaves_in_provenance() -> None:
    files = {
        "t.yaml": template(config={"a": {}, "b": [], "c": {"d": {}}}),
        "f.yaml": fleet(bots=[{"name": "bot-a", "config": {"b": []}}]),
    }
    bot = render_one(files)
    assert set(bot.provenance) == {("a",), ("b",), ("c", "d")}
    assert bot.provenance[("b",)].layer == "bot"
    assert bot.provenance[("a",)].layer == "template"


def test_non_json_values_in_merged_lists_are_problems_not_crashes() -> None:
    text = """\
    apiVersion: molthub/v1
    kind: Profile
    metadata: {name: p}
    spec:
      config:
        u: [.nan, 1]
        m: [{id: .nan}]
    """
    files = {
        "t.yaml": template(config={"u": [1], "m": [{"id": 1}]},
                           mergeStrategies={"u": "union", "m": {"mergeBy": "id"}}),
        "p.yaml": text,
        "f.yaml": fleet(profiles=["p"]),
    }
    found = problems(files)
    assert {p.code for p in found} == {"render-bad-value"}
    assert {where(p) for p in found} == {f"p.yaml:{line_of(text, 'u:')}",
                                         f"p.yaml:{line_of(text, 'id:')}"}
