"""Hot reload versus restart, and the events: config.changed, shutdown, tick, health."""

from __future__ import annotations

import asyncio
import json

from simclient import TOKEN, RawClient, connect_params, connected, get

from molthub_gitops.gateway.sim import SimulatedGateway
from molthub_gitops.gateway.sim.reload import changed_paths, classify, plan_kind


async def _patch(client: RawClient, patch: dict[str, object]) -> dict[str, object]:
    base = (await get(client))["hash"]
    response = await client.request("config.patch", {"raw": json.dumps(patch), "baseHash": base})
    assert response["ok"], response
    payload: dict[str, object] = response["payload"]
    return payload


async def test_hot_change_announces_before_the_answer_and_keeps_the_boot(
    gw: SimulatedGateway,
) -> None:
    client = await connected(gw)
    watcher = await connected(gw)
    boot = gw.boot_id
    base = (await get(client))["hash"]
    await client.send(
        {
            "type": "req",
            "id": "hot",
            "method": "config.patch",
            "params": {"raw": json.dumps({"cron": {"enabled": True}}), "baseHash": base},
        }
    )
    first = await client.recv()
    assert first["type"] == "event"
    assert first["event"] == "config.changed"
    response = await client.recv()
    assert response["id"] == "hot"
    assert response["ok"]
    assert response["payload"]["changedPaths"] == ["cron"]
    assert response["payload"]["sentinel"]["payload"]["stats"]["requiresRestart"] is False
    assert first["payload"]["hash"] == response["payload"]["hash"] == gw.config_hash
    other = await watcher.event("config.changed")
    assert other["payload"]["hash"] == gw.config_hash
    assert gw.boot_id == boot
    assert gw.restart_count == 0
    assert (await client.request("health", {}))["ok"]
    await client.close()
    await watcher.close()


async def test_restart_change_shuts_down_answers_1013_then_comes_back_with_a_new_boot(
    gw: SimulatedGateway,
) -> None:
    gw.faults.restart_duration_s = 1.0
    client = await connected(gw)
    boot = gw.boot_id
    payload = await _patch(client, {"discovery": {"wideArea": {"domain": "example.internal"}}})
    assert payload["changedPaths"] == ["discovery.wideArea"]
    assert "restart" not in payload
    changed = await client.event("config.changed")
    assert changed["payload"]["hash"] == gw.config_hash
    shutdown = await client.event("shutdown")
    assert shutdown["payload"] == {"reason": "gateway restarting", "restartExpectedMs": 1500}
    closed = await client.closed()
    assert (closed.code, closed.reason) == (1012, "service restart")

    starting = await RawClient.open(gw.url)
    response = await starting.connect()
    assert response["error"] == {
        "code": "UNAVAILABLE",
        "message": "gateway starting; retry shortly",
        "retryable": True,
        "retryAfterMs": 500,
        "details": {"reason": "startup-sidecars"},
    }
    closed = await starting.closed()
    assert (closed.code, closed.reason) == (1013, "gateway starting")

    for _ in range(100):
        if not gw.restarting:
            break
        await asyncio.sleep(0.05)
    back = await connected(gw)
    assert back.hello["server"]["bootId"] == gw.boot_id != boot
    assert gw.restart_count == 1
    assert (await get(back))["parsed"]["discovery"] == {"wideArea": {"domain": "example.internal"}}
    await back.close()


async def test_restart_api_and_uptime(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    boot = gw.boot_id
    await gw.restart()
    assert (await client.event("shutdown"))["payload"]["reason"] == "gateway restarting"
    closed = await client.closed()
    assert closed.code == 1012
    again = await connected(gw)
    assert again.hello["server"]["bootId"] != boot
    assert again.hello["snapshot"]["uptimeMs"] < 5_000
    await again.close()


async def test_restart_delay_from_params(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    base = (await get(client))["hash"]
    raw = json.dumps({"gateway": {"mode": "local", "port": 18790}})
    response = await client.request(
        "config.apply", {"raw": raw, "baseHash": base, "restartDelayMs": 0}
    )
    assert response["payload"]["sentinel"]["payload"]["stats"]["requiresRestart"] is True
    assert (await client.event("shutdown"))["payload"]["restartExpectedMs"] == 1500
    await client.closed()


async def test_hand_edit_is_announced_and_may_restart(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    before = gw.config_hash
    gw.edit_out_of_band({"gateway": {"mode": "local"}, "messages": {"ackReactionScope": "off"}})
    event = await client.event("config.changed")
    assert event["payload"]["hash"] == gw.config_hash != before
    assert gw.writes[-1].method == "edit"
    assert gw.writes[-1].reload == "none"
    gw.edit_out_of_band(
        {"gateway": {"mode": "local", "bind": "lan"}, "messages": {"ackReactionScope": "off"}}
    )
    assert (await client.event("shutdown"))["event"] == "shutdown"
    assert gw.writes[-1].reload == "restart"
    await client.closed()


async def test_ticks_arrive_every_interval_with_sequence_numbers() -> None:
    async with SimulatedGateway(token=TOKEN, tick_interval_ms=50) as sim:
        client = await connected(sim)
        assert client.hello["policy"]["tickIntervalMs"] == 50
        ticks = [await client.event("tick") for _ in range(3)]
        assert all(set(t["payload"]) == {"ts"} for t in ticks)
        seqs = [t["seq"] for t in ticks]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == 3
        await client.close()


async def test_health_events_follow_health_changes(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    gw.set_healthy(False)
    event = await client.event("health")
    assert event["payload"]["ok"] is False
    assert (await client.request("health", {}))["payload"]["ok"] is False
    gw.set_healthy(True)
    assert (await client.event("health"))["payload"]["ok"] is True
    await client.close()


async def test_legacy_sends_health_after_connect(legacy: SimulatedGateway) -> None:
    client = await connected(legacy)
    event = await client.event("health")
    assert event["payload"]["ok"] is True
    assert "plugins" not in event["payload"]
    await client.close()


async def test_channels_show_up_in_health() -> None:
    config = {"channels": {"telegram": {"enabled": True}, "defaults": {}}}
    async with SimulatedGateway(token=TOKEN, config=config) as sim:
        client = await connected(sim)
        health = (await client.request("health", {}))["payload"]
        assert health["channelOrder"] == ["telegram"]
        assert health["channels"]["telegram"]["probe"]["ok"] is True
        await client.close()


async def test_stop_sends_shutdown_without_restart_expectation(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    await gw.stop()
    event = await client.event("shutdown")
    assert event["payload"] == {"reason": "gateway stopping"}
    await client.closed()


def test_reload_rules_of_both_generations() -> None:
    assert classify("gateway.port", modern=True) == "restart"
    assert classify("gateway.auth.rateLimit.maxAttempts", modern=True) == "hot"
    assert classify("gateway.remote.url", modern=True) == "none"
    assert classify("discovery.mdns.mode", modern=True) == "hot"
    assert classify("discovery.wideArea", modern=True) == "restart"
    assert classify("plugins.entries.x", modern=True) == "hot"
    assert classify("plugins.entries.x", modern=False) == "restart"
    assert classify("channels.telegram", modern=True) == "hot"
    assert classify("channels.telegram", modern=False) == "restart"
    assert classify("agents.entries.main.model", modern=True) == "hot"
    assert classify("agents.list", modern=True) == "none"
    assert classify("messages.ackReactionScope", modern=True) == "none"
    assert classify("commands.native", modern=False) == "restart"
    assert classify("unheard.of", modern=True) == "restart"
    assert plan_kind(["meta.lastTouchedVersion", "cron"], modern=True) == "hot"
    assert plan_kind(["cron", "gateway.bind"], modern=True) == "restart"
    assert plan_kind([], modern=True) == "none"


def test_changed_paths_recurse_into_objects_and_rule_prefixes() -> None:
    assert changed_paths({}, {"cron": {"enabled": True}}, modern=True) == ["cron"]
    assert changed_paths({}, {"discovery": {"wideArea": {"domain": "x"}}}, modern=True) == [
        "discovery.wideArea"
    ]
    assert changed_paths({"a": [1]}, {"a": [1]}, modern=True) == []
    assert changed_paths({"a": [1]}, {"a": [2]}, modern=True) == ["a"]
    assert changed_paths({"a": {"b": 1}}, {"a": {"b": 2, "c": 3}}, modern=True) == ["a.b", "a.c"]


async def test_client_events_keep_order_with_responses(gw: SimulatedGateway) -> None:
    """Requests are multiplexed: many in flight on one connection all get their answer."""
    client = await connected(gw, connect_params())
    ids = [f"m{i}" for i in range(20)]
    for rid in ids:
        await client.send({"type": "req", "id": rid, "method": "health", "params": {}})
    seen: set[str] = set()
    while len(seen) < len(ids):
        frame = await client.recv()
        if frame.get("type") == "res":
            seen.add(frame["id"])
    assert seen == set(ids)
    await client.close()
