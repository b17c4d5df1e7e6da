"""Drift between a rendered config and what a gateway reports: the normalisation rules one by
one, the shape the real OpenClaw 2026.9.6 returns after an apply (recorded session), and a
real simulated gateway that a rendered example bot was applied to."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from molthub_gitops.gateway.client import GatewayClient
from molthub_gitops.gateway.identity import DeviceIdentity
from molthub_gitops.gateway.operations import apply, observe
from molthub_gitops.gateway.secrets import REDACTION_SENTINEL as GATEWAY_SENTINEL
from molthub_gitops.gateway.sim import SimulatedGateway
from molthub_gitops.plan.drift import (
    DEFAULTS_2026_3,
    DEFAULTS_2026_9,
    REDACTION_SENTINEL,
    drift_paths,
    effective_config,
    filled_paths,
    gateway_defaults,
    strip_meta,
)
from molthub_gitops.render.engine import render_repository
from molthub_gitops.repo.load import load_directory

ROOT = Path(__file__).resolve().parents[2]
SESSION = ROOT / "tests" / "data" / "openclaw-2026.9.6-session.jsonl"
"""Recorded from a real OpenClaw 2026.9.6 gateway (a copy of ../shared/data's)."""
TOKEN = "tok-H3-drift-distinctive-5521"
SECRET = "xoxb-literal-secret-value-77"


# --------------------------------------------------------------------------- the rules


def test_sentinel_matches_the_gateway_layer() -> None:
    assert REDACTION_SENTINEL == GATEWAY_SENTINEL


def test_identical_configs_have_no_drift() -> None:
    cfg = {"a": {"b": 1, "c": [1, 2]}, "d": "x", "e": {}}
    assert drift_paths(cfg, json.loads(json.dumps(cfg))) == []


def test_top_level_meta_is_ignored_on_both_sides_but_not_nested_meta() -> None:
    desired = {"a": 1, "meta": {"mine": True}}
    observed = {"a": 1, "meta": {"lastTouchedVersion": "2026.9.6", "migrations": {"x": True}}}
    assert drift_paths(desired, observed) == []
    assert drift_paths({"a": {"meta": 1}}, {"a": {"meta": 2}}) == ["a.meta"]
    assert strip_meta({"meta": {}, "a": 1}) == {"a": 1}


def test_redaction_sentinel_equals_any_desired_string_only() -> None:
    desired = {"channels": {"slack": {"botToken": SECRET, "port": 5}}}
    observed = {"channels": {"slack": {"botToken": REDACTION_SENTINEL, "port": 5}}}
    assert drift_paths(desired, observed) == []
    # a number is never redacted into a string: that is a change
    assert drift_paths({"a": 5}, {"a": REDACTION_SENTINEL}) == ["a"]
    # the sentinel on the desired side is no wildcard
    assert drift_paths({"a": REDACTION_SENTINEL}, {"a": "real"}) == ["a"]
    # inside lists too
    assert drift_paths({"l": [SECRET, "b"]}, {"l": [REDACTION_SENTINEL, "b"]}) == []


def test_numbers_compare_by_value_but_booleans_are_not_numbers() -> None:
    assert drift_paths({"a": 1, "b": [2]}, {"a": 1.0, "b": [2.0]}) == []
    assert drift_paths({"a": True}, {"a": 1}) == ["a"]
    assert drift_paths({"a": 0}, {"a": False}) == ["a"]
    assert drift_paths({"a": 1}, {"a": "1"}) == ["a"]
    assert drift_paths({"a": None}, {"a": None}) == []


def test_changed_missing_and_extra_keys_are_leaf_paths_sorted() -> None:
    desired = {"z": 1, "a": {"b": {"c": 1, "d": 2}}, "gone": {"x": 1, "y": {}}}
    observed = {"z": 2, "a": {"b": {"c": 1, "d": 3, "new": {"deep": True}}}, "extra": []}
    assert drift_paths(desired, observed) == [
        "a.b.d", "a.b.new.deep", "extra", "gone.x", "gone.y", "z"]


def test_a_mapping_replaced_by_a_value_is_one_path() -> None:
    assert drift_paths({"a": {"b": 1}}, {"a": 5}) == ["a"]
    assert drift_paths({"a": 5}, {"a": {"b": 1}}) == ["a"]
    assert drift_paths({"a": {}}, {"a": {"b": 1}}) == ["a.b"]
    assert drift_paths({"a": {"b": 1}}, {"a": {}}) == ["a.b"]


def test_lists_compare_as_a_whole() -> None:
    assert drift_paths({"l": ["a", "b"]}, {"l": ["b", "a"]}) == ["l"]
    assert drift_paths({"l": [{"id": 1, "x": 1}]}, {"l": [{"id": 1, "x": 2}]}) == ["l"]
    assert drift_paths({"l": [{"id": 1}]}, {"l": [{"id": 1, "more": 1}]}) == ["l"]
    assert drift_paths({"l": []}, {"l": {}}) == ["l"]


def test_values_never_appear_in_the_paths() -> None:
    paths = drift_paths({"token": SECRET, "x": {"k": SECRET}}, {"token": "other", "y": SECRET})
    assert paths == ["token", "x.k", "y"]
    assert SECRET not in json.dumps(paths)


def test_ignore_covers_a_path_and_everything_below_it_but_not_siblings() -> None:
    desired = {"a": {"b": 1}}
    observed = {"a": {"b": 2, "bc": 1, "filled": {"x": 1, "y": 2}}}
    assert drift_paths(desired, observed) == ["a.b", "a.bc", "a.filled.x", "a.filled.y"]
    assert drift_paths(desired, observed, ignore=["a.filled"]) == ["a.b", "a.bc"]
    assert drift_paths(desired, observed, ignore=["a.filled.x", "a.b"]) == [
        "a.bc", "a.filled.y"]
    # ignoring a deeper path does not hide a change of its parent as a whole
    assert drift_paths({"a": {"b": 1}}, {"a": 7}, ignore=["a.b"]) == ["a"]


def test_defaults_on_one_side_are_no_drift_unless_the_value_differs() -> None:
    defaults = {"commands.native": "auto", "agents.entries.main": {}}
    # the gateway wrote a default the desired config does not set
    assert drift_paths({}, {"commands": {"native": "auto"}}, defaults=defaults) == []
    # a desired value equal to the default that the gateway left out of its file
    assert drift_paths({"commands": {"native": "auto"}}, {}, defaults=defaults) == []
    # not the default: drift
    assert drift_paths({}, {"commands": {"native": "off"}}, defaults=defaults) == [
        "commands.native"]
    assert drift_paths({}, {"agents": {"entries": {"main": {"x": 1}}}},
                       defaults=defaults) == ["agents.entries.main.x"]
    # both sides present and different: drift even though one equals the default
    assert drift_paths({"commands": {"native": "off"}}, {"commands": {"native": "auto"}},
                       defaults=defaults) == ["commands.native"]


def test_gateway_defaults_pick_the_generation() -> None:
    assert gateway_defaults(4) is DEFAULTS_2026_9
    assert gateway_defaults(3) is DEFAULTS_2026_3
    assert gateway_defaults(None, "2026.3.31") is DEFAULTS_2026_3
    assert gateway_defaults(None, "2026.9.6") is DEFAULTS_2026_9
    assert gateway_defaults(None, "2027.1.0") is DEFAULTS_2026_9
    assert gateway_defaults() is DEFAULTS_2026_9
    assert gateway_defaults(None, "garbage") is DEFAULTS_2026_9


def test_effective_config_adds_the_roster_the_2026_9_file_lacks() -> None:
    parsed: dict[str, Any] = {"gateway": {"mode": "local"}, "agents": {"defaults": {"x": 1}}}
    source: dict[str, Any] = {"gateway": {"mode": "local"},
                              "agents": {"entries": {"main": {"name": "A"}}}}
    merged = effective_config(parsed, source)
    assert merged == {"gateway": {"mode": "local"},
                      "agents": {"defaults": {"x": 1}, "entries": {"main": {"name": "A"}}}}
    assert "entries" not in parsed["agents"]  # inputs untouched
    assert effective_config(parsed, {}) is parsed
    assert effective_config(parsed, None) is parsed
    own: dict[str, Any] = {"agents": {"entries": {"main": {}}}}
    assert effective_config(own, source) is own  # the file's own roster wins
    assert effective_config({"agents": 5}, source) == {"agents": 5}


def test_filled_paths_lists_what_the_gateway_added() -> None:
    desired = {"a": {"b": 1}, "c": 2}
    observed = {"a": {"b": 1, "x": {"y": False}}, "c": 2, "d": {}, "meta": {"v": 1}}
    assert filled_paths(desired, observed) == ["a.x.y", "d"]
    assert filled_paths(desired, desired) == []
    assert filled_paths({"a": 1}, {"a": {"b": 1}}) == []  # a change, not an addition


# --------------------------------------------------------------------------- real shapes


def _session_frames() -> list[dict[str, Any]]:
    lines = SESSION.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["frame"] for line in lines if line.strip()]


def _session_apply_then_get() -> tuple[dict[str, Any], dict[str, Any]]:
    """The config.apply the recorded session sent, and the next config.get answer."""
    frames = _session_frames()
    sent: dict[str, dict[str, Any]] = {
        f["id"]: f for f in frames if f.get("type") == "req"}
    desired: dict[str, Any] | None = None
    for frame in frames:
        if frame.get("type") != "res" or not frame.get("ok"):
            continue
        method = sent.get(frame["id"], {}).get("method")
        if method == "config.apply":
            desired = json.loads(sent[frame["id"]]["params"]["raw"])
        elif method == "config.get" and desired is not None:
            return desired, frame["payload"]
    raise AssertionError("the session holds no config.apply followed by config.get")


def test_recorded_2026_9_6_config_get_after_apply_shows_no_drift() -> None:
    desired, payload = _session_apply_then_get()
    parsed, source = payload["parsed"], payload["sourceConfig"]
    # what the real gateway does: stamps meta, keeps the roster out of the file
    assert "meta" in parsed
    assert "agents" not in parsed
    assert desired["agents"] == {"entries": {"main": {}}}
    observed = effective_config(parsed, source)
    assert drift_paths(desired, observed, defaults=gateway_defaults(4)) == []
    assert drift_paths(desired, observed) == []  # the roster came back from sourceConfig
    assert filled_paths(desired, observed) == []  # meta is no filled path
    # comparing with the file alone misses the roster: the reason for effective_config
    assert drift_paths(desired, parsed) == ["agents.entries.main"]


def test_first_write_defaults_of_2026_9_are_tolerated() -> None:
    """gateway-findings: 2026.9.6 applied {gateway, messages} and wrote plugin defaults."""
    desired = {"gateway": {"mode": "local"}, "messages": {"ackReactionScope": "all"}}
    written: dict[str, Any] = {
        **desired,
        "plugins": {"entries": {
            "anthropic": {"config": {"sessionCatalog": {"enabled": False}}},
            "codex": {"config": {"sessionCatalog": {"enabled": False}}},
        }},
        "meta": {"migrations": {"modelPolicyAllowlist": True, "utilityModelSeparation": True},
                 "lastTouchedVersion": "2026.9.6"},
    }
    source = {**written, "agents": {"entries": {"main": {}}}}
    observed = effective_config(written, source)
    assert drift_paths(desired, observed, defaults=gateway_defaults(4)) == []
    assert filled_paths(desired, observed) == [
        "agents.entries.main",
        "plugins.entries.anthropic.config.sessionCatalog.enabled",
        "plugins.entries.codex.config.sessionCatalog.enabled",
    ]
    # recorded as ignore paths, they also do without the defaults table
    assert drift_paths(desired, observed, ignore=filled_paths(desired, observed)) == []
    # someone turns one of them on by hand: drift
    written["plugins"]["entries"]["codex"]["config"]["sessionCatalog"]["enabled"] = True
    assert drift_paths(desired, effective_config(written, source),
                       defaults=gateway_defaults(4)) == [
        "plugins.entries.codex.config.sessionCatalog.enabled"]


# --------------------------------------------------------------------------- a real simulator


def _env_for(config: dict[str, Any]) -> dict[str, str]:
    return dict.fromkeys(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", json.dumps(config)),
                         "simulated")


@pytest.fixture(scope="module")
def example_bot_config() -> dict[str, Any]:
    bots = render_repository(load_directory(ROOT / "example-repo")).bots
    # a bot with ${VAR} references, a literal-free secret section and an agent roster
    bot = next(b for b in bots if "channels" in b.config and "agents" in b.config
               and "elevated" in b.config.get("tools", {}))
    assert "entries" in bot.config["agents"]
    return bot.config


async def test_a_rendered_bot_applied_to_a_simulator_shows_no_drift(
    example_bot_config: dict[str, Any],
) -> None:
    desired = example_bot_config
    schema = json.loads((ROOT / "schemas" / "openclaw" / "2026.9.6.json").read_text())
    sim = SimulatedGateway(token=TOKEN, schema=schema, env=_env_for(desired))
    sim.faults.restart_duration_s = 0.2  # the gateway.* keys make this apply a restart
    await sim.start()
    client = GatewayClient(sim.url, token=TOKEN, reconnect=False, connect_timeout=10,
                           request_timeout=10)
    try:
        before = await observe(client, timeout=10)
        await apply(client, desired, before.config_hash, timeout=20)
        seen = await observe(client, timeout=10)
        observed = effective_config(seen.parsed, seen.source_config)
        defaults = gateway_defaults(seen.protocol, seen.server_version)
        assert "meta" in seen.parsed
        assert drift_paths(desired, observed, defaults=defaults) == []
        filled = filled_paths(desired, observed)
        assert filled == [
            "plugins.entries.anthropic.config.sessionCatalog.enabled",
            "plugins.entries.codex.config.sessionCatalog.enabled",
        ]
        assert drift_paths(desired, observed, ignore=filled) == []

        # someone edits the bot by hand: one value changed, one key added
        edited = json.loads(json.dumps(sim.config))
        channel = next(iter(edited["channels"]))
        edited["channels"][channel]["enabled"] = not desired["channels"][channel]["enabled"]
        edited["tools"]["elevated"]["enabled"] = not desired["tools"]["elevated"]["enabled"]
        assert "messages" not in desired
        edited["messages"] = {"ackReactionScope": "all"}  # not the default: drift
        sim.edit_out_of_band(edited)
        assert sim.store.valid
        seen = await observe(client, timeout=10)
        assert seen.config_hash != before.config_hash
        drift = drift_paths(desired, effective_config(seen.parsed, seen.source_config),
                            ignore=filled, defaults=defaults)
        assert drift == sorted([f"channels.{channel}.enabled", "messages.ackReactionScope",
                                "tools.elevated.enabled"])
    finally:
        await client.close()
        await sim.stop()


async def test_a_2026_3_simulator_fills_onboarding_defaults_that_are_no_drift() -> None:
    desired = {"gateway": {"mode": "local"}, "agents": {"defaults": {"timeoutSeconds": 120}}}
    sim = SimulatedGateway(token=TOKEN, version="2026.3.31", protocol_range=(3, 3))
    sim.faults.restart_duration_s = 0.2
    await sim.start()
    # protocol 3 grants operator scopes only to a device identity
    client = GatewayClient(sim.url, token=TOKEN, reconnect=False, connect_timeout=10,
                           request_timeout=10, identity=DeviceIdentity.generate())
    try:
        before = await observe(client, timeout=10)
        await apply(client, desired, before.config_hash, timeout=20)
        seen = await observe(client, timeout=10)
        observed = effective_config(seen.parsed, seen.source_config)
        assert filled_paths(desired, observed)  # the onboarding defaults landed in the file
        assert set(filled_paths(desired, observed)) <= set(DEFAULTS_2026_3)
        assert drift_paths(desired, observed,
                           defaults=gateway_defaults(seen.protocol, seen.server_version)) == []
    finally:
        await client.close()
        await sim.stop()
