"""GatewayPool against real simulated gateways on loopback: connection reuse, recreation of
broken clients, LRU eviction, the concurrency bound, failures as observations (refused,
wrong token, bad URL) without secrets, and apply through the pooled client."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator

import pytest

from molthub_gitops.errors import ConfigConflict, InputError
from molthub_gitops.gateway.identity import DeviceIdentity
from molthub_gitops.gateway.sim import SimulatedFleet, SimulatedGateway
from molthub_gitops.providers.base import BotEndpoint
from molthub_gitops.sync.pool import GatewayPool, collector_paused

from ._observe_support import eventually, free_port

TOKEN = "tok-H3-pool-very-distinctive-9931"
CONFIG = {"gateway": {"mode": "local"}, "messages": {"ackReactionScope": "all"}}


@pytest.fixture
async def fleet() -> AsyncIterator[SimulatedFleet]:
    sims = SimulatedFleet(4, token=TOKEN, config=CONFIG)
    await sims.start()
    try:
        yield sims
    finally:
        await sims.stop()


@pytest.fixture
async def pool() -> AsyncIterator[GatewayPool]:
    p = GatewayPool(concurrency=8, connect_timeout=5, request_timeout=5)
    try:
        yield p
    finally:
        await p.close()


def endpoint(fleet: SimulatedFleet, name: str, secret: str = TOKEN) -> BotEndpoint:
    return BotEndpoint(bot=name, fleet="f", url=fleet.url_for(name), auth="token",
                       secret=secret)


def gateways(fleet: SimulatedFleet) -> list[SimulatedGateway]:
    return list(fleet.gateways.values())


async def test_observe_reuses_one_connection_per_endpoint(
    fleet: SimulatedFleet, pool: GatewayPool
) -> None:
    ep = endpoint(fleet, "bot-0001")
    gw = fleet.gateways["bot-0001"]
    first = await pool.observe(ep, timeout=5)
    second = await pool.observe(ep, timeout=5)
    assert first.reachable
    assert second.reachable
    assert first.config_hash == second.config_hash == gw.config_hash
    assert first.boot_id == second.boot_id == gw.boot_id
    assert pool.clients_created == 1
    assert gw.connections == 1  # the gateway saw one client, kept open
    assert len(pool) == 1


async def test_observe_many_is_keyed_by_bot(fleet: SimulatedFleet, pool: GatewayPool) -> None:
    eps = [endpoint(fleet, name) for name in fleet.gateways]
    seen = await pool.observe_many(eps, timeout=5)
    assert sorted(seen) == sorted(fleet.gateways)
    for name, obs in seen.items():
        assert obs.reachable
        assert obs.healthy
        assert obs.url == fleet.url_for(name)
        assert obs.config_hash == fleet.gateways[name].config_hash
        assert obs.parsed["messages"] == {"ackReactionScope": "all"}
    again = await pool.observe_many(eps, timeout=5)
    assert all(o.reachable for o in again.values())
    assert pool.clients_created == len(eps)
    assert [gw.connections for gw in gateways(fleet)] == [1, 1, 1, 1]


async def test_a_dropped_connection_is_replaced_on_the_next_call(
    fleet: SimulatedFleet, pool: GatewayPool
) -> None:
    ep = endpoint(fleet, "bot-0002")
    gw = fleet.gateways["bot-0002"]
    gw.faults.restart_duration_s = 0.05
    before = await pool.observe(ep, timeout=5)
    await gw.restart()  # closes every connection (1012), new bootId
    await eventually(lambda: gw.connections == 0 and not gw.restarting, what="restart over")
    after = await pool.observe(ep, timeout=5)
    assert after.reachable
    assert after.boot_id != before.boot_id
    assert pool.clients_created == 2
    assert gw.connections == 1


async def test_a_rotated_secret_gets_a_new_client(
    fleet: SimulatedFleet, pool: GatewayPool
) -> None:
    good = endpoint(fleet, "bot-0003")
    assert (await pool.observe(good, timeout=5)).reachable
    rotated = endpoint(fleet, "bot-0003", secret="tok-rotated-elsewhere-1234")
    obs = await pool.observe(rotated, timeout=5)
    assert not obs.reachable
    assert obs.error_kind == "AuthenticationFailed"
    assert pool.clients_created == 2
    assert (await pool.observe(good, timeout=5)).reachable
    assert pool.clients_created == 3


async def test_lru_eviction_closes_the_least_recently_used_idle_client(
    fleet: SimulatedFleet,
) -> None:
    pool = GatewayPool(max_idle=2, connect_timeout=5, request_timeout=5)
    gw1, gw2, gw3, _ = gateways(fleet)
    try:
        for name in ("bot-0001", "bot-0002", "bot-0003"):
            assert (await pool.observe(endpoint(fleet, name), timeout=5)).reachable
        assert len(pool) == 2
        await eventually(lambda: gw1.connections == 0, what="bot-0001 closed")
        assert (gw2.connections, gw3.connections) == (1, 1)

        # touch bot-0002, then bring bot-0001 back: bot-0003 is now the oldest
        await pool.observe(endpoint(fleet, "bot-0002"), timeout=5)
        await pool.observe(endpoint(fleet, "bot-0001"), timeout=5)
        await eventually(lambda: gw3.connections == 0, what="bot-0003 closed")
        assert (gw1.connections, gw2.connections) == (1, 1)
        assert pool.clients_created == 4
    finally:
        await pool.close()
    await eventually(lambda: gw1.connections == gw2.connections == 0, what="pool closed")


async def test_concurrency_is_bounded(fleet: SimulatedFleet) -> None:
    for gw in gateways(fleet):
        gw.faults.response_delay_s = 0.1  # every request takes a while
    pool = GatewayPool(concurrency=2, connect_timeout=5, request_timeout=5)
    try:
        eps = [endpoint(fleet, name) for name in fleet.gateways]
        seen = await pool.observe_many(eps, timeout=10)
        assert all(o.reachable for o in seen.values())
        assert pool.peak_active == 2
        assert pool.active == 0
    finally:
        await pool.close()
    unbounded = GatewayPool(concurrency=64, connect_timeout=5, request_timeout=5)
    try:
        await unbounded.observe_many(eps, timeout=10)
        assert unbounded.peak_active == len(eps)  # the bound above was the semaphore
    finally:
        await unbounded.close()


async def test_connection_refused_is_an_unreachable_observation(pool: GatewayPool) -> None:
    ep = BotEndpoint(bot="gone", fleet="f", url=f"ws://127.0.0.1:{free_port()}",
                     auth="token", secret=TOKEN)
    obs = await pool.observe(ep, timeout=30)
    assert not obs.reachable
    assert obs.error_kind == "GatewayUnavailable"
    assert obs.error is not None
    assert "refused" in obs.error
    assert TOKEN not in repr(obs)
    assert TOKEN not in str(obs.as_dict())
    assert len(pool) == 0  # the failed client is not kept


async def test_wrong_token_is_unreachable_and_never_shows_the_token(
    fleet: SimulatedFleet, pool: GatewayPool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "tok-wrong-H3-distinctive-0042"
    obs = await pool.observe(endpoint(fleet, "bot-0004", secret=wrong), timeout=5)
    assert not obs.reachable
    assert obs.error_kind == "AuthenticationFailed"
    assert obs.error is not None
    assert "token mismatch" in obs.error
    for text in (obs.error, repr(obs), str(obs.as_dict()), caplog.text, repr(pool)):
        assert wrong not in text
        assert TOKEN not in text


async def test_a_bad_url_is_an_unreachable_observation(pool: GatewayPool) -> None:
    ep = BotEndpoint(bot="odd", fleet="f", url="http://user:pw-H3-secret@host:1/x",
                     auth="token", secret=TOKEN)
    obs = await pool.observe(ep, timeout=5)
    assert not obs.reachable
    assert obs.error_kind == "InputError"
    assert "pw-H3-secret" not in (obs.error or "")
    assert "pw-H3-secret" not in obs.url
    with pytest.raises(InputError):
        await pool.apply(ep, CONFIG, None, timeout=5)


async def test_apply_goes_through_the_pooled_client(
    fleet: SimulatedFleet, pool: GatewayPool
) -> None:
    ep = endpoint(fleet, "bot-0001")
    gw = fleet.gateways["bot-0001"]
    obs = await pool.observe(ep, timeout=5)
    desired = {"gateway": {"mode": "local"}, "messages": {"ackReactionScope": "direct"}}
    outcome = await pool.apply(ep, desired, obs.config_hash, timeout=10, note="h3 test")
    assert outcome.hash == gw.config_hash != obs.config_hash
    assert outcome.health.healthy
    assert gw.config["messages"] == {"ackReactionScope": "direct"}
    assert gw.apply_count == 1
    after = await pool.observe(ep, timeout=5)
    assert after.config_hash == outcome.hash
    assert pool.clients_created == 1  # observe, apply, observe: one connection

    with pytest.raises(ConfigConflict):  # a stale baseHash is passed on, never overwritten
        await pool.apply(ep, CONFIG, obs.config_hash, timeout=10)
    assert gw.config["messages"] == {"ackReactionScope": "direct"}


async def test_close_closes_every_client_and_the_pool_stays_usable(
    fleet: SimulatedFleet,
) -> None:
    pool = GatewayPool(connect_timeout=5, request_timeout=5)
    eps = [endpoint(fleet, name) for name in fleet.gateways]
    await pool.observe_many(eps, timeout=5)
    await pool.close()
    assert len(pool) == 0
    await eventually(lambda: all(gw.connections == 0 for gw in gateways(fleet)),
                     what="connections closed")
    assert (await pool.observe(eps[0], timeout=5)).reachable
    await pool.close()


async def test_a_protocol_3_gateway_needs_the_pool_identity() -> None:
    sim = SimulatedGateway(token=TOKEN, version="2026.3.31", protocol_range=(3, 3),
                           config=CONFIG)
    await sim.start()
    ep = BotEndpoint(bot="old", fleet="f", url=sim.url, auth="token", secret=TOKEN)
    bare = GatewayPool(connect_timeout=5, request_timeout=5)
    paired = GatewayPool(connect_timeout=5, request_timeout=5,
                         identity=DeviceIdentity.generate())
    try:
        denied = await bare.observe(ep, timeout=5)
        assert not denied.reachable
        assert "missing scope" in (denied.error or "")
        seen = await paired.observe(ep, timeout=5)
        assert seen.reachable
        assert seen.protocol == 3
        assert seen.parsed["messages"] == {"ackReactionScope": "all"}
    finally:
        await bare.close()
        await paired.close()
        await sim.stop()


def test_collector_pauses_nest_and_restore_the_previous_setting() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pass still runs
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


async def test_observe_many_restores_the_collector(
    fleet: SimulatedFleet, pool: GatewayPool
) -> None:
    assert gc.isenabled()
    await pool.observe_many([endpoint(fleet, n) for n in fleet.gateways], timeout=5)
    assert gc.isenabled()


async def test_a_client_in_use_is_not_closed_under_its_operation(
    fleet: SimulatedFleet, pool: GatewayPool
) -> None:
    ep = endpoint(fleet, "bot-0002")
    gw = fleet.gateways["bot-0002"]
    obs = await pool.observe(ep, timeout=5)
    gw.faults.response_delay_s = 0.3  # the apply is in flight for a while
    desired = {"gateway": {"mode": "local"}, "messages": {"ackReactionScope": "direct"}}
    applying = asyncio.create_task(pool.apply(ep, desired, obs.config_hash, timeout=10))
    await eventually(lambda: pool.active == 1, what="apply started")
    rotated = await pool.observe(endpoint(fleet, "bot-0002", secret="tok-rotated-5678"),
                                 timeout=5)
    assert rotated.error_kind == "AuthenticationFailed"
    outcome = await asyncio.wait_for(applying, 15)
    assert outcome.hash == gw.config_hash
    await eventually(lambda: gw.connections == 0, what="the replaced client closed after use")
    assert len(pool) == 0
