"""The PR diff over rendered bots: added, removed, changed paths, identity, redaction, waves."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import yaml

from molthub_gitops.model.loader import load_files
from molthub_gitops.model.sensitive import REDACTED
from molthub_gitops.plan.diff import diff_revisions
from molthub_gitops.plan.types import PathChange, RevisionDiff
from molthub_gitops.render.engine import render_repository
from molthub_gitops.render.types import RenderedBot

REPOSITORY = {"apiVersion": "molthub/v1", "kind": "Repository", "metadata": {"name": "t"}}
GATEWAY = {"url": "ws://{{ bot.name }}.internal:18789", "auth": "token",
           "secret": {"env": "GW_TOKEN"}}
SECRET_OLD = "old-plaintext-telegram-token-123456"
SECRET_NEW = "new-plaintext-telegram-token-654321"


def doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "molthub/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def base_files() -> dict[str, Any]:
    return {
        "templates/t.yaml": doc("Template", "t", {"config": {
            "channels": {"telegram": {"enabled": True, "dmPolicy": "pairing",
                                      "botToken": "${TG_TOKEN}", "allowFrom": ["1", "2"]}},
            "agents": {"list": [{"id": "main", "model": "a"}, {"id": "aux", "model": "b"}]},
            "logging": {"level": "info"},
        }}),
        "fleets/a.yaml": doc("Fleet", "alpha", {
            "environment": "dev", "template": "t", "openclawVersion": "2026.9.6",
            "gateway": GATEWAY,
            "rollout": {"strategy": "canary", "canary": {"bots": ["a-2"], "bake": "5m"},
                        "batch": 1},
            "bots": [{"name": "a-1"}, {"name": "a-2"}, {"name": "a-3"}],
        }),
        "fleets/b.yaml": doc("Fleet", "beta", {
            "environment": "prod", "template": "t", "openclawVersion": "2026.9.6",
            "gateway": GATEWAY, "bots": [{"name": "b-1"}, {"name": "b-2"}],
        }),
    }


def render(files: Mapping[str, Any]) -> tuple[RenderedBot, ...]:
    data = {"molthub.yaml": yaml.safe_dump(REPOSITORY).encode()}
    data.update({p: yaml.safe_dump(v, sort_keys=False).encode() for p, v in files.items()})
    return render_repository(load_files(data, source="t")).bots


def diff(base: Mapping[str, Any], head: Mapping[str, Any]) -> RevisionDiff:
    return diff_revisions(render(base), render(head), base="main", head="pr")


def fleet_spec(files: dict[str, Any], path: str) -> dict[str, Any]:
    spec: dict[str, Any] = files[path]["spec"]
    return spec


def by_path(changes: tuple[PathChange, ...]) -> dict[str, PathChange]:
    return {c.path: c for c in changes}


def test_unchanged_repository_is_an_empty_diff() -> None:
    result = diff(base_files(), base_files())
    assert result.empty
    assert result.bots == ()
    assert result.unchanged == 5
    assert result.blast_radius.bots == 0
    assert result.blast_radius.fleets == ()
    assert result.blast_radius.bots_total == 5
    assert result.waves == ()
    assert (result.base, result.head) == ("main", "pr")


def test_added_and_removed_bots() -> None:
    head = base_files()
    bots = fleet_spec(head, "fleets/a.yaml")["bots"]
    bots.remove({"name": "a-3"})
    bots.append({"name": "a-4"})
    result = diff(base_files(), head)
    kinds = {(b.name, b.kind) for b in result.bots}
    assert kinds == {("a-3", "removed"), ("a-4", "added")}
    removed = next(b for b in result.bots if b.kind == "removed")
    added = next(b for b in result.bots if b.kind == "added")
    assert removed.hash_before
    assert removed.hash_after is None
    assert removed.changes == ()
    assert added.hash_after
    assert added.hash_before is None
    assert added.changes == ()
    assert result.count("added") == 1
    assert result.count("removed") == 1
    assert result.unchanged == 4
    # removed bots are not rolled out: only a-4 in alpha's waves (the named canary a-2
    # did not change, so the first changed bot is the canary)
    assert [(w.fleet, [(x.kind, x.bots) for x in w.waves]) for w in result.waves] == [
        ("alpha", [("canary", ("a-4",))])]


def test_changed_paths_with_before_after_and_location() -> None:
    head = base_files()
    config = head["templates/t.yaml"]["spec"]["config"]
    config["channels"]["telegram"]["dmPolicy"] = "open"
    config["channels"]["telegram"]["allowFrom"] = ["2", "1", "3"]
    config["agents"]["list"][1]["model"] = "c"
    config["agents"]["list"].append({"id": "third", "model": "d"})
    del config["logging"]
    config["tools"] = {"profile": "messaging", "web": {"search": {"enabled": False}}}
    result = diff(base_files(), head)
    assert len(result.bots) == 5
    assert result.unchanged == 0
    bot = next(b for b in result.bots if b.name == "a-1")
    assert bot.kind == "changed"
    assert bot.other_changes == ()
    assert bot.hash_before != bot.hash_after
    assert bot.hash_before
    assert bot.hash_after
    changes = by_path(bot.changes)
    assert list(changes) == sorted(changes)
    assert set(changes) == {"agents.list[1].model", "agents.list[2]",
                            "channels.telegram.allowFrom", "channels.telegram.dmPolicy",
                            "logging", "tools"}
    dm = changes["channels.telegram.dmPolicy"]
    assert (dm.kind, dm.before, dm.after) == ("changed", "pairing", "open")
    assert dm.location is not None
    assert dm.location.file == "templates/t.yaml"
    assert dm.location.line > 0
    allow = changes["channels.telegram.allowFrom"]
    assert (allow.kind, allow.before, allow.after) == ("changed", ["1", "2"], ["2", "1", "3"])
    item = changes["agents.list[2]"]
    assert (item.kind, item.before, item.after) == ("added", None, {"id": "third", "model": "d"})
    assert item.present_after
    assert not item.present_before
    gone = changes["logging"]
    assert (gone.kind, gone.before, gone.after, gone.location) == (
        "removed", {"level": "info"}, None, None)
    assert not gone.present_after
    new = changes["tools"]
    assert new.kind == "added"
    assert new.after == {"profile": "messaging",
                                                 "web": {"search": {"enabled": False}}}
    assert result.blast_radius.bots == 5
    assert result.blast_radius.fleets == ("alpha", "beta")
    assert result.blast_radius.environments == ("dev", "prod")


def test_json_types_are_compared_strictly() -> None:
    base = base_files()
    base["templates/t.yaml"]["spec"]["config"]["logging"]["level"] = 1
    head = copy.deepcopy(base)
    head["templates/t.yaml"]["spec"]["config"]["logging"]["level"] = True
    result = diff(base, head)
    change = by_path(result.bots[0].changes)["logging.level"]
    assert (change.before, change.after) == (1, True)


def test_identity_changes_without_config_change() -> None:
    head = base_files()
    alpha = fleet_spec(head, "fleets/a.yaml")
    alpha["bots"][0]["labels"] = {"tier": "canary"}
    alpha["gateway"] = {**GATEWAY, "url": "ws://{{ bot.name }}.elsewhere:18789"}
    alpha["target"] = {"provider": "docker"}
    result = diff(base_files(), head)
    bot = next(b for b in result.bots if b.name == "a-1")
    assert bot.kind == "changed"
    assert bot.hash_before == bot.hash_after
    assert bot.changes == ()
    text = " | ".join(bot.other_changes)
    assert "labels {} -> {tier=canary}" in text
    assert "gateway URL ws://a-1.internal:18789 -> ws://a-1.elsewhere:18789" in text
    assert "target existing -> docker" in text
    assert {b.name for b in result.bots} == {"a-1", "a-2", "a-3"}


def test_bot_moving_fleet_and_version_change() -> None:
    base = base_files()
    head = copy.deepcopy(base)
    fleet_spec(head, "fleets/a.yaml")["bots"].remove({"name": "a-3"})
    fleet_spec(head, "fleets/b.yaml")["bots"].append({"name": "a-3"})
    result = diff(base, head)
    [moved] = result.bots
    assert moved.kind == "changed"
    assert moved.fleet == "beta"
    assert "fleet alpha -> beta" in moved.other_changes
    assert "environment dev -> prod" in moved.other_changes
    assert result.blast_radius.fleets == ("alpha", "beta")
    assert [w.fleet for w in result.waves] == ["beta"]
    assert result.waves[0].strategy == "all"


def test_changed_literal_secret_is_redacted_everywhere() -> None:
    base = base_files()
    base["templates/t.yaml"]["spec"]["config"]["channels"]["telegram"]["botToken"] = SECRET_OLD
    head = copy.deepcopy(base)
    head["templates/t.yaml"]["spec"]["config"]["channels"]["telegram"]["botToken"] = SECRET_NEW
    head["templates/t.yaml"]["spec"]["config"]["channels"]["slack"] = {
        "botToken": SECRET_NEW, "enabled": True}
    result = diff(base, head)
    bot = result.bots[0]
    changes = by_path(bot.changes)
    token = changes["channels.telegram.botToken"]
    assert (token.before, token.after) == (REDACTED, REDACTED)
    assert changes["channels.slack"].after == {"botToken": REDACTED, "enabled": True}
    dumped = repr(result) + json.dumps([[c.before, c.after] for b in result.bots
                                        for c in b.changes])
    assert SECRET_OLD not in dumped
    assert SECRET_NEW not in dumped


def test_waves_use_head_rollout_and_only_touched_fleets() -> None:
    head = base_files()
    fleet_spec(head, "fleets/a.yaml")["bots"][0]["config"] = {"logging": {"level": "debug"}}
    fleet_spec(head, "fleets/a.yaml")["bots"][1]["config"] = {"logging": {"level": "debug"}}
    fleet_spec(head, "fleets/a.yaml")["bots"][2]["config"] = {"logging": {"level": "debug"}}
    result = diff(base_files(), head)
    [alpha] = result.waves
    assert alpha.fleet == "alpha"
    assert alpha.strategy == "canary"
    assert [(w.kind, w.bots, w.bake_seconds) for w in alpha.waves] == [
        ("canary", ("a-2",), 300.0), ("batch", ("a-1",), 0.0), ("batch", ("a-3",), 0.0)]
    assert result.blast_radius.fleets == ("alpha",)
    # the bot's own config layer is where the value was set
    change = by_path(result.bots[0].changes)["logging.level"]
    assert change.location is not None
    assert change.location.file == "fleets/a.yaml"


def test_deterministic() -> None:
    head = base_files()
    head["templates/t.yaml"]["spec"]["config"]["logging"]["level"] = "warn"
    assert diff(base_files(), head) == diff(base_files(), head)
    reordered = diff_revisions(tuple(reversed(render(base_files()))),
                               tuple(reversed(render(head))), base="main", head="pr")
    assert reordered == diff(base_files(), head)
