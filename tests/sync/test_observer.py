"""assess(): a bot's status from one observation (pure), then the same through real simulated
gateways: synced after an apply, drift by hand, unhealthy, unreachable."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from molthub_gitops.gateway.operations import HealthSummary, Observation, config_contains
from molthub_gitops.gateway.secrets import REDACTION_SENTINEL
from molthub_gitops.gateway.sim.provider import SimulatedProvider
from molthub_gitops.render.types import RenderedBot
from molthub_gitops.sync.observer import (
    MAX_DRIFT_PATHS,
    assess,
    health_of,
    holds_config,
    observed_drift,
)
from molthub_gitops.sync.pool import GatewayPool
from molthub_gitops.sync.state import BotStatus

from ._observe_support import eventually, example_bots, make_bot, schema_9

DESIRED = {
    "gateway": {"mode": "local", "auth": {"token": "literal-H3-observer-secret"}},
    "channels": {"telegram": {"enabled": True, "botToken": "${TELEGRAM_BOT_TOKEN}"}},
    "agents": {"entries": {"main": {"name": "Support"}}},
}
HEALTHY = HealthSummary(ok=True, channels_ok=("telegram",))
URL = "ws://127.0.0.1:40001"


def bot(config: dict[str, Any] | None = None) -> RenderedBot:
    return make_bot("support-01", "support", url="ws://support-01.internal:18789",
                    config=config if config is not None else DESIRED)


def as_gateway_holds(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(parsed, sourceConfig) the way 2026.9 reports a config it holds: meta stamped,
    literal secrets redacted, the roster only in sourceConfig."""
    parsed = json.loads(json.dumps(config))
    parsed["gateway"]["auth"]["token"] = REDACTION_SENTINEL
    roster = parsed.pop("agents")
    parsed["meta"] = {"lastTouchedVersion": "2026.9.6"}
    source = {**parsed, "agents": roster}
    return parsed, source


def observation(config: dict[str, Any] | None = None, *, hash: str = "h-1",
                health: HealthSummary | None = HEALTHY, **extra: Any) -> Observation:
    parsed, source = as_gateway_holds(config if config is not None else DESIRED)
    fields: dict[str, Any] = {
        "url": URL, "reachable": True, "protocol": 4, "server_version": "2026.9.6",
        "boot_id": "boot-1", "config_hash": hash, "config_valid": True, "parsed": parsed,
        "source_config": source, "health": health,
    }
    fields.update(extra)
    return Observation(**fields)


def test_a_bot_holding_its_config_is_synced() -> None:
    b = bot()
    status = assess(b, observation(), None, now="2026-11-26T16:00:00Z")
    assert status.state == "Synced"
    assert status.health == "Healthy"
    assert status.health_detail == ""
    assert status.drift == []
    assert status.drift_count == 0
    assert status.name == "support-01"
    assert status.fleet == "support"
    assert status.environment == b.environment
    assert status.labels == dict(b.labels)
    assert status.desired_hash == b.config_hash
    assert status.observed_hash == "h-1"
    assert status.reported_version == "2026.9.6"
    assert status.desired_version == b.openclaw_version
    assert status.gateway_url == URL  # the endpoint reached, never credentials
    assert status.last_observed_at == "2026-11-26T16:00:00Z"
    assert status.last_error is None
    assert status.rollout_id is None
    assert "literal-H3-observer-secret" not in json.dumps(status.to_json_dict())


def test_drift_lists_paths_only_and_caps_at_fifty() -> None:
    changed = json.loads(json.dumps(DESIRED))
    changed["channels"]["telegram"]["enabled"] = False
    changed["extra"] = {f"k{i:03d}": i for i in range(60)}
    status = assess(bot(), observation(changed), None)
    assert status.state == "OutOfSync"
    assert status.drift_count == 61
    assert len(status.drift) == MAX_DRIFT_PATHS
    assert status.drift[0] == "channels.telegram.enabled"
    assert status.drift == sorted(status.drift)


def test_fast_path_trusts_the_hash_recorded_after_our_apply() -> None:
    b = bot()
    previous = BotStatus(name=b.name, fleet=b.fleet, applied_hash="h-applied",
                         applied_desired_hash=b.config_hash, ignored_paths=["plugins"],
                         synced_commit="c0ffee", last_applied_at="2026-11-26T15:00:00Z")
    garbage = observation({"gateway": {"mode": "other", "auth": {"token": "x"}},
                           "agents": {}}, hash="h-applied")
    status = assess(b, garbage, previous)
    assert status.state == "Synced"
    assert status.drift == []
    assert status.applied_hash == "h-applied"
    assert status.ignored_paths == ["plugins"]
    assert status.synced_commit == "c0ffee"
    assert status.last_applied_at == "2026-11-26T15:00:00Z"
    # a new rendered config is diffed even when the gateway hash did not move
    newer = bot({**DESIRED, "session": {"scope": "per-sender"}})
    status = assess(newer, garbage, previous)
    assert status.state == "OutOfSync"
    assert status.drift_count > 0


def test_an_unchanged_gateway_keeps_the_previous_drift() -> None:
    b = bot()
    previous = BotStatus(name=b.name, fleet=b.fleet, desired_hash=b.config_hash,
                         observed_hash="h-1", drift=["x.y"], drift_count=1)
    status = assess(b, observation(hash="h-1"), previous)
    assert (status.state, status.drift, status.drift_count) == ("OutOfSync", ["x.y"], 1)
    status = assess(b, observation(hash="h-2"), previous)  # it moved: diffed again
    assert (status.state, status.drift, status.drift_count) == ("Synced", [], 0)


def test_ignored_paths_of_the_previous_status_are_not_drift() -> None:
    extra = json.loads(json.dumps(DESIRED))
    extra["plugins"] = {"entries": {"slack": {"enabled": True}}}
    b = bot()
    assert assess(b, observation(extra), None).drift == ["plugins.entries.slack.enabled"]
    previous = BotStatus(name=b.name, fleet=b.fleet, ignored_paths=["plugins.entries.slack"])
    status = assess(b, observation(extra), previous)
    assert status.state == "Synced"
    assert status.ignored_paths == ["plugins.entries.slack"]


def test_unhealthy_without_drift_is_degraded() -> None:
    status = assess(bot(), observation(health=HealthSummary(ok=False)), None)
    assert (status.state, status.health) == ("Degraded", "Unhealthy")
    assert status.health_detail == "gateway reports not ok"
    failed = HealthSummary(ok=True, channels_ok=("slack",), channels_failed=("telegram",))
    status = assess(bot(), observation(health=failed), None)
    assert (status.state, status.health) == ("Degraded", "Unhealthy")
    assert status.health_detail == "channels failed: telegram"
    # drift wins over health
    changed = {**DESIRED, "session": {"scope": "x"}}
    assert assess(bot(), observation(changed, health=failed), None).state == "OutOfSync"


def test_a_degraded_flag_on_a_healthy_gateway_keeps_it_synced() -> None:
    summary = HealthSummary(ok=True, degraded=True, degraded_reasons=("eventLoop(lag)",))
    status = assess(bot(), observation(health=summary), None)
    assert (status.state, status.health) == ("Synced", "Degraded")
    assert status.health_detail == "degraded: eventLoop(lag)"


def test_health_of_unknown() -> None:
    assert health_of(None) == ("Unknown", "")
    assert assess(bot(), observation(health=None), None).state == "Degraded"


def test_a_bot_in_a_running_rollout_is_progressing() -> None:
    changed = {**DESIRED, "session": {"scope": "x"}}
    status = assess(bot(), observation(changed), None, in_rollout="support@abc#1")
    assert status.state == "Progressing"
    assert status.rollout_id == "support@abc#1"
    assert status.drift == ["session.scope"]


def test_unreachable_keeps_what_we_last_knew() -> None:
    b = bot()
    previous = assess(b, observation({**DESIRED, "session": {"scope": "x"}}), None)
    previous.applied_hash = "h-0"
    down = Observation(url=URL, reachable=False, error="ws://127.0.0.1:40001: cannot connect: "
                       "connection refused", error_kind="GatewayUnavailable")
    status = assess(b, down, previous, in_rollout="r#1")
    assert status.state == "Unreachable"
    assert status.health == "Unknown"
    assert status.last_error is not None
    assert "connection refused" in status.last_error
    assert status.observed_hash == "h-1"
    assert status.reported_version == "2026.9.6"
    assert status.drift == ["session.scope"]
    assert status.applied_hash == "h-0"
    silent = Observation(url=URL, reachable=False, error_kind="GatewayTimeout")
    assert assess(b, silent, None).last_error == "unreachable (GatewayTimeout)"
    long = Observation(url=URL, reachable=False, error="x" * 5000, error_kind="RequestFailed")
    text = assess(b, long, None).last_error
    assert text is not None
    assert len(text) == 500
    assert text.endswith("...")


def test_the_url_falls_back_to_the_rendered_one_without_credentials() -> None:
    b = make_bot(url="wss://ops:pw-H3-hidden@bot.example:443/gw?token=q")
    status = assess(b, Observation(url="", reachable=False), None)
    assert status.gateway_url == "wss://bot.example:443/gw"


def test_an_invalid_config_file_is_reported() -> None:
    obs = observation(config_valid=False)
    status = assess(bot(), obs, None)
    assert status.health_detail.startswith("config file invalid")


def test_protocol_3_defaults_apply_to_a_protocol_3_gateway() -> None:
    b = bot({"gateway": {"mode": "local"}})
    parsed = {"gateway": {"mode": "local"}, "commands": {"ownerDisplay": "raw"},
              "meta": {"lastTouchedAt": "2026-11-26T00:00:00.000Z"}}
    old = Observation(url=URL, reachable=True, protocol=3, server_version="2026.3.31",
                      config_hash="h", parsed=parsed, source_config=parsed, health=HEALTHY)
    assert assess(b, old, None).state == "Synced"
    new = Observation(url=URL, reachable=True, protocol=4, server_version="2026.9.6",
                      config_hash="h", parsed=parsed, source_config=parsed, health=HEALTHY)
    assert assess(b, new, None).drift == ["commands.ownerDisplay"]


def test_holds_config_sees_the_roster_and_keys_added_by_hand() -> None:
    assert holds_config(DESIRED, observation())
    # the file alone lacks the roster: config_contains cannot tell the bot holds its config
    assert not config_contains(observation().parsed, DESIRED)
    renamed = json.loads(json.dumps(DESIRED))
    renamed["agents"]["entries"]["main"]["name"] = "Other"
    assert observed_drift(DESIRED, observation(renamed)) == ["agents.entries.main.name"]
    assert not holds_config(DESIRED, observation(renamed))
    added = {**DESIRED, "hooks": {"enabled": True}}
    assert not holds_config(DESIRED, observation(added))
    assert holds_config(DESIRED, observation(added), ignore=["hooks"])
    assert not holds_config(DESIRED, Observation(url=URL, reachable=False))


# --------------------------------------------------------------------------- real gateways


@pytest.fixture
async def provider() -> AsyncIterator[SimulatedProvider]:
    p = SimulatedProvider(schema=schema_9())
    try:
        yield p
    finally:
        await p.close()


async def test_assess_through_real_simulated_gateways(provider: SimulatedProvider) -> None:
    b = next(x for x in example_bots() if "channels" in x.config)
    pool = GatewayPool(connect_timeout=5, request_timeout=5)
    try:
        ep = await provider.ensure(b)
        gw = provider.gateway(b.name)
        gw.faults.restart_duration_s = 0.1
        fresh = await pool.observe(ep, timeout=5)
        assert assess(b, fresh, None).state == "OutOfSync"  # nothing applied yet

        outcome = await pool.apply(ep, b.config, fresh.config_hash, timeout=20)
        synced = assess(b, await pool.observe(ep, timeout=5), None)
        assert synced.state == "Synced", synced.drift
        assert synced.observed_hash == outcome.hash
        synced.applied_hash, synced.applied_desired_hash = outcome.hash, b.config_hash

        edited = json.loads(json.dumps(gw.config))
        channel = next(iter(b.config["channels"]))
        edited["channels"][channel]["enabled"] = not b.config["channels"][channel]["enabled"]
        gw.edit_out_of_band(edited)
        drifted = assess(b, await pool.observe(ep, timeout=5), synced)
        assert drifted.state == "OutOfSync"
        assert drifted.drift == [f"channels.{channel}.enabled"]
        assert drifted.applied_hash == outcome.hash  # what we wrote is still known

        gw.edit_out_of_band(gw.config | {"channels": b.config["channels"]})
        gw.set_healthy(False)
        sick = assess(b, await pool.observe(ep, timeout=5), drifted)
        assert (sick.state, sick.health) == ("Degraded", "Unhealthy")

        await gw.stop()
        await eventually(lambda: gw.connections == 0, what="gateway stopped")
        gone = assess(b, await pool.observe(ep, timeout=5), sick)
        assert gone.state == "Unreachable"
        assert gone.last_error
        assert ep.secret is not None
        assert ep.secret not in json.dumps(gone.to_json_dict())
    finally:
        await pool.close()
