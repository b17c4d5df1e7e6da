"""Locked paths and overlay selectors."""

from __future__ import annotations

from .helpers import fleet, line_of, overlay, problems, profile, render, template, where

HARDENING = """\
apiVersion: molthub/v1
kind: Profile
metadata: {name: hardening}
spec:
  lockedPaths:
    - gateway.auth.mode
    - channels.*.dmPolicy
  config:
    gateway:
      auth:
        mode: token
"""


def _files(bot_config: dict[str, object], **extra: object) -> dict[str, object]:
    return {
        "t.yaml": template(config={"gateway": {"bind": "loopback"},
                                   "channels": {"tg": {"dmPolicy": "pairing"}}}),
        "profiles/hardening.yaml": HARDENING,
        "fleets/dev.yaml": fleet(profiles=["hardening"],
                                 bots=[{"name": "bot-a", "config": bot_config}]),
        **extra,
    }


def test_change_to_locked_path_names_all_three_places() -> None:
    found = problems(_files({"gateway": {"auth": {"mode": "none"}}}))
    assert [p.code for p in found] == ["render-locked-path"]
    p = found[0]
    assert p.location is not None
    assert p.location.file == "fleets/dev.yaml"
    assert "gateway.auth.mode" in p.message
    assert "bot bot-a" in p.message
    lock_line = line_of(HARDENING, "gateway.auth.mode")
    set_line = line_of(HARDENING, "mode: token")
    assert f"profiles/hardening.yaml:{lock_line}" in p.message
    assert [f"{r.file}:{r.line}" for r in p.related] == [
        f"profiles/hardening.yaml:{lock_line}", f"profiles/hardening.yaml:{set_line}"]


def test_identical_value_is_allowed() -> None:
    bots = render(_files({"gateway": {"auth": {"mode": "token"}}}))
    assert bots["bot-a"].config["gateway"]["auth"] == {"mode": "token"}


def test_deleting_and_replacing_an_ancestor_are_changes() -> None:
    deleted = problems(_files({"gateway": {"auth": None}}))
    assert [p.code for p in deleted] == ["render-locked-path"]
    assert "deletes" in deleted[0].message
    replaced = problems(_files({"gateway": "a string"}))
    assert [p.code for p in replaced] == ["render-locked-path"]


def test_adding_keys_under_a_locked_map_is_a_change() -> None:
    prof = profile("lock-map", {"tools": {"deny": ["x"]}}, lockedPaths=["tools"])
    files = {
        "t.yaml": template(),
        "p.yaml": prof,
        "f.yaml": fleet(profiles=["lock-map"],
                        bots=[{"name": "bot-a", "config": {"tools": {"allow": ["y"]}}}]),
    }
    found = problems(files)
    assert [p.code for p in found] == ["render-locked-path"]
    assert "changes the locked path tools" in found[0].message


def test_setting_a_locked_path_that_was_unset_is_a_change() -> None:
    prof = profile("lock-unset", {}, lockedPaths=["gateway.bind"])
    files = {
        "t.yaml": template(),
        "p.yaml": prof,
        "f.yaml": fleet(profiles=["lock-unset"],
                        bots=[{"name": "bot-a", "config": {"gateway": {"bind": "lan"}}}]),
    }
    found = problems(files)
    assert "sets the locked path gateway.bind" in found[0].message
    assert "not set before" in found[0].message


def test_wildcard_lock_and_lock_from_a_layer_before_its_own_is_fine() -> None:
    found = problems(_files({"channels": {"tg": {"dmPolicy": "open"}, "wa": {"x": 1}}}))
    assert len(found) == 1
    assert "channels.tg.dmPolicy" in found[0].message
    # The template set the value before the lock: that is where the value came from.
    assert any(r.file == "t.yaml" for r in found[0].related)
    assert render(_files({"channels": {"wa": {"other": "x"}, "tg": {"other": 1}}}))
    added = problems(_files({"channels": {"wa": {"dmPolicy": "pairing"}}}))
    assert "sets the locked path channels.wa.dmPolicy" in added[0].message


def test_locks_bind_profiles_and_overlays_too() -> None:
    files = _files({}, **{
        "o.yaml": overlay("region", {"gateway": {"auth": {"mode": "password"}}},
                          selector={"environments": ["dev"]}),
    })
    found = problems(files)
    assert [where(p) for p in found] == [f"o.yaml:{line_of(open_yaml(files['o.yaml']), 'mode')}"]
    assert "Overlay/region changes" in found[0].message


def open_yaml(value: object) -> str:
    from .helpers import to_yaml

    return to_yaml(value)


def test_a_lock_error_shared_by_many_bots_is_one_problem() -> None:
    files = {
        "t.yaml": template(),
        "profiles/hardening.yaml": HARDENING,
        "o.yaml": overlay("bad", {"gateway": {"auth": {"mode": "none"}}}),
        "fleets/dev.yaml": fleet(profiles=["hardening"],
                                 bots=[{"name": f"bot-{i}"} for i in range(6)]),
    }
    found = problems(files)
    assert len(found) == 1
    assert found[0].message.startswith("bots bot-0, bot-1, bot-2 and 3 more:")


# ------------------------------------------------------------------------------- selectors


def _selector_files() -> dict[str, object]:
    return {
        "t.yaml": template(),
        "o-fleet.yaml": overlay("by-fleet", {"fleet": True}, selector={"fleets": ["prod-*"]}),
        "o-env.yaml": overlay("by-env", {"env": True}, selector={"environments": ["prod"]}),
        "o-bot.yaml": overlay("by-bot", {"bot": True}, selector={"bots": ["*-canary", "x?"]}),
        "o-lab.yaml": overlay("by-labels", {"labels": True},
                              selector={"matchLabels": {"team": "core", "tier": "canary"}}),
        "o-and.yaml": overlay("both", {"both": True},
                              selector={"fleets": ["prod-*"], "bots": ["eu-*"]}),
        "o-all.yaml": overlay("all", {"all": True}),
        "f1.yaml": fleet("prod-eu", environment="prod", labels={"team": "core"}, bots=[
            {"name": "eu-canary", "labels": {"tier": "canary"}},
            {"name": "eu-1"},
            {"name": "xy"},
        ]),
        "f2.yaml": fleet("staging", environment="staging", labels={"tier": "canary"}, bots=[
            {"name": "st-canary", "labels": {"team": "core"}},
            {"name": "st-1", "labels": {"team": "other"}},
        ]),
    }


def test_selectors() -> None:
    bots = render(_selector_files())
    chosen = {name: sorted(b.config) for name, b in bots.items()}
    assert chosen == {
        "eu-canary": ["all", "bot", "both", "env", "fleet", "labels"],
        "eu-1": ["all", "both", "env", "fleet"],
        "xy": ["all", "bot", "env", "fleet"],
        "st-canary": ["all", "bot", "labels"],
        "st-1": ["all"],
    }
    assert bots["eu-canary"].labels == {"team": "core", "tier": "canary"}
    assert bots["st-1"].labels == {"tier": "canary", "team": "other"}


def test_bot_labels_override_fleet_labels_for_selection() -> None:
    files = {
        "t.yaml": template(),
        "o.yaml": overlay("core", {"core": True}, selector={"matchLabels": {"team": "core"}}),
        "f.yaml": fleet(labels={"team": "core"},
                        bots=[{"name": "bot-a"}, {"name": "bot-b", "labels": {"team": "edge"}}]),
    }
    bots = render(files)
    assert bots["bot-a"].config == {"core": True}
    assert bots["bot-b"].config == {}
