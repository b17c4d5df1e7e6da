"""Every fault knob of the simulator, each seen from a real WebSocket client."""

from __future__ import annotations

import asyncio
import json

import pytest
from simclient import TOKEN, RawClient, connect_params, connected, get

from molthub_gitops.gateway.sim import SimFaults, SimulatedGateway


async def test_refuse_auth_rejects_even_the_right_token(gw: SimulatedGateway) -> None:
    gw.faults.refuse_auth = True
    client = await RawClient.open(gw.url)
    response = await client.connect()
    assert response["error"]["details"]["code"] == "AUTH_TOKEN_MISMATCH"
    assert (await client.closed()).code == 1008
    gw.faults.refuse_auth = False
    assert (await connected(gw)).hello["type"] == "hello-ok"


async def test_response_delay_holds_every_answer(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    gw.faults.response_delay_s = 0.5
    await client.send({"type": "req", "id": "slow", "method": "health", "params": {}})
    try:
        await client.recv(wait=0.1)
        raise AssertionError("answered before the delay")
    except TimeoutError:
        pass
    assert (await client.response("slow"))["ok"]
    await client.close()


async def test_drop_connection_on_a_method_aborts_once(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    base = (await get(client))["hash"]
    gw.faults.drop_connection_on = "config.apply"
    await client.send(
        {
            "type": "req",
            "id": "w",
            "method": "config.apply",
            "params": {"raw": "{}", "baseHash": base},
        }
    )
    closed = await client.closed()
    assert closed.code is None  # no close frame: the TCP connection was cut (1006)
    assert gw.faults.drop_connection_on is None
    assert gw.apply_count == 0
    again = await connected(gw)
    response = await again.request(
        "config.apply", {"raw": json.dumps({"gateway": {"mode": "local"}}), "baseHash": base}
    )
    assert response["ok"], response
    await again.close()


async def test_fail_next_apply_fails_once_without_writing(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    base = (await get(client))["hash"]
    gw.faults.fail_next_apply = "config write failed: disk full"
    raw = json.dumps({"gateway": {"mode": "local"}, "cron": {"enabled": True}})
    failed = await client.request("config.apply", {"raw": raw, "baseHash": base})
    assert failed["error"] == {"code": "UNAVAILABLE", "message": "config write failed: disk full"}
    assert gw.config_hash == base
    assert gw.apply_count == 0
    stale = await client.request("config.apply", {"raw": raw, "baseHash": "stale"})
    assert stale["error"]["code"] == "INVALID_REQUEST"
    ok = await client.request("config.apply", {"raw": raw, "baseHash": base})
    assert ok["ok"]
    assert gw.apply_count == 1
    await client.close()


async def test_fail_next_apply_does_not_hide_a_stale_hash(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    gw.faults.fail_next_apply = "boom"
    stale = await client.request("config.patch", {"raw": "{}", "baseHash": "stale"})
    assert stale["error"]["message"].startswith("config changed since last load")
    assert gw.faults.fail_next_apply == "boom"
    await client.close()


async def test_unhealthy_after_apply(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    gw.faults.unhealthy_after_apply = True
    assert (await client.request("health", {}))["payload"]["ok"] is True
    base = (await get(client))["hash"]
    raw = json.dumps({"gateway": {"mode": "local"}, "cron": {"enabled": True}})
    assert (await client.request("config.apply", {"raw": raw, "baseHash": base}))["ok"]
    assert (await client.event("health"))["payload"]["ok"] is False
    health = (await client.request("health", {}))["payload"]
    assert health["ok"] is False
    assert health["eventLoop"]["degraded"] is True
    assert gw.faults.unhealthy_after_apply is False
    assert gw.healthy is False
    await client.close()


async def test_restart_duration_is_the_1013_window(gw: SimulatedGateway) -> None:
    gw.faults.restart_duration_s = 0.8
    restart = asyncio.create_task(gw.restart())
    await asyncio.sleep(0.1)
    client = await RawClient.open(gw.url)
    assert (await client.connect())["error"]["code"] == "UNAVAILABLE"
    assert (await client.closed()).code == 1013
    await asyncio.wait_for(restart, 5)
    assert (await connected(gw)).hello["server"]["bootId"] == gw.boot_id


async def test_protocol_range_can_change_while_running() -> None:
    faults = SimFaults()
    async with SimulatedGateway(token=TOKEN, faults=faults) as sim:
        assert (await connected(sim)).hello["protocol"] == 4
        faults.protocol_range = (5, 6)
        client = await RawClient.open(sim.url)
        response = await client.connect()
        assert response["error"]["details"]["expectedProtocol"] == 6
        assert (await client.closed()).code == 1002
        ok = await connected(sim, connect_params(minProtocol=3, maxProtocol=6))
        assert ok.hello["protocol"] == 6


async def test_constructor_protocol_range_overrides_given_faults() -> None:
    faults = SimFaults()
    sim = SimulatedGateway(token=TOKEN, faults=faults, protocol_range=(3, 3), version="2026.3.31")
    assert sim.faults is faults
    assert faults.protocol_range == (3, 3)
    assert sim.protocol == 3


async def test_restart_refuse_window_then_1013_then_back_on_the_same_port(
    gw: SimulatedGateway,
) -> None:
    gw.faults.restart_refuse_s = 0.6
    gw.faults.restart_duration_s = 0.6
    port = gw.port
    restart = asyncio.create_task(gw.restart())
    await asyncio.sleep(0.2)
    with pytest.raises(ConnectionRefusedError):
        await RawClient.open(gw.url)
    seen_1013 = False
    for _ in range(100):
        try:
            client = await RawClient.open(gw.url)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        response = await client.connect()
        if response["ok"]:
            break
        assert response["error"]["code"] == "UNAVAILABLE"
        assert (await client.closed()).code == 1013
        seen_1013 = True
        await asyncio.sleep(0.05)
    assert seen_1013
    await asyncio.wait_for(restart, 5)
    assert gw.port == port
    assert (await connected(gw)).hello["server"]["bootId"] == gw.boot_id
