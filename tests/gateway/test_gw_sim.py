"""The client and operations against the simulator (real WebSockets on loopback): happy paths
and every fault the issue names - killed mid-apply, stale baseHash, restart during apply,
unhealthy after apply, bad token, closed port - each a typed error or a documented recovery."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from molthub_gitops.errors import (
    AuthenticationFailed,
    ConfigConflict,
    GatewayError,
    GatewayTimeout,
    GatewayUnavailable,
    InvalidConfig,
    PairingRequired,
    ProtocolMismatch,
)
from molthub_gitops.gateway.backoff import Backoff
from molthub_gitops.gateway.client import GatewayClient
from molthub_gitops.gateway.identity import DeviceIdentity
from molthub_gitops.gateway.operations import (
    ApplyNotHealthy,
    apply,
    config_contains,
    observe,
    observe_url,
)
from molthub_gitops.gateway.sim import SimFaults, SimulatedGateway

TOKEN = "tok-Zq8-very-distinctive-4711"
SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "openclaw" / "2026.9.6.json"
BASE = {"gateway": {"mode": "local"}}
HOT = {"gateway": {"mode": "local"}, "agents": {"defaults": {"heartbeat": {"every": "45m"}}}}
RESTART = {"gateway": {"mode": "local", "tailscale": {"mode": "off"}}}
FAST = Backoff(initial=0.02, maximum=0.2, jitter=0.0)


def _schema() -> dict[str, Any] | None:
    return json.loads(SCHEMA.read_text()) if SCHEMA.exists() else None


@pytest.fixture
async def gw() -> AsyncIterator[SimulatedGateway]:
    sim = SimulatedGateway(token=TOKEN, config=BASE, schema=_schema())
    sim.faults.restart_duration_s = 0.3
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def client_for(gw: SimulatedGateway, **kw: Any) -> GatewayClient:
    kw.setdefault("token", TOKEN)
    kw.setdefault("backoff", Backoff(initial=0.02, maximum=0.2, jitter=0.0))
    kw.setdefault("connect_timeout", 5.0)
    kw.setdefault("request_timeout", 5.0)
    return GatewayClient(gw.url, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --------------------------------------------------------------------------- happy paths


async def test_handshake_and_reads(gw: SimulatedGateway) -> None:
    async with client_for(gw) as client:
        assert client.hello is not None
        assert client.hello.protocol == 4
        assert client.hello.server_version == "2026.9.6"
        assert client.hello.boot_id == gw.boot_id
        snap = await client.config_get()
        assert snap.exists
        assert snap.hash == gw.config_hash
        assert config_contains(snap.parsed, BASE)
        assert snap.valid
        health = await client.health()
        assert health["ok"] is True
        schema = await client.config_schema()
        assert isinstance(schema.get("schema"), dict)
        obs = await observe(client)
        assert obs.reachable
        assert obs.healthy
        assert obs.config_hash == gw.config_hash
        assert obs.boot_id == gw.boot_id
        assert obs.protocol == 4


async def test_hot_reload_apply_keeps_the_boot(gw: SimulatedGateway) -> None:
    async with client_for(gw) as client:
        base = (await client.config_get()).hash
        async with client.subscribe("config.changed") as changed:
            outcome = await apply(client, HOT, base, timeout=20)
            event = await changed.next(timeout=5)
        assert event.payload["hash"] == outcome.hash == gw.config_hash
        assert not outcome.restarted
        assert outcome.boot_id_after == outcome.boot_id_before
        assert outcome.previous_hash == base
        assert outcome.health.healthy
        assert config_contains(gw.config, HOT)


async def test_restart_apply_waits_for_the_new_boot(gw: SimulatedGateway) -> None:
    async with client_for(gw) as client:
        base = (await client.config_get()).hash
        boot = gw.boot_id
        outcome = await apply(client, RESTART, base, timeout=20)
        assert outcome.restarted
        assert outcome.boot_id_before == boot
        assert outcome.boot_id_after == gw.boot_id != boot
        assert outcome.hash == gw.config_hash
        assert gw.restart_count == 1
        assert client.last_shutdown is not None


async def test_patch_merges(gw: SimulatedGateway) -> None:
    async with client_for(gw) as client:
        base = (await client.config_get()).hash
        result = await client.config_patch(
            {"agents": {"defaults": {"heartbeat": {"every": "50m"}}}}, base)
        assert result.hash == gw.config_hash
        assert result.ok
        assert config_contains(gw.config, {"gateway": {"mode": "local"},
                                           "agents": {"defaults": {"heartbeat":
                                                                   {"every": "50m"}}}})


async def test_protocol_3_gateway_without_boot_id_applies() -> None:
    async with SimulatedGateway(token=TOKEN, config=BASE, protocol_range=(3, 3),
                                version="2026.3.31") as sim:
        sim.faults.restart_duration_s = 0.3
        async with client_for(sim, identity=DeviceIdentity.generate()) as client:
            assert client.hello is not None
            assert client.hello.protocol == 3
            base = (await client.config_get()).hash
            outcome = await apply(client, HOT, base, timeout=20)
            assert config_contains(sim.config, HOT)
            assert outcome.health.healthy


# --------------------------------------------------------------------------- faults


async def test_stale_base_hash_is_a_conflict_and_nothing_is_overwritten(
    gw: SimulatedGateway,
) -> None:
    async with client_for(gw) as client:
        base = (await client.config_get()).hash
        gw.edit_out_of_band({"gateway": {"mode": "local"}, "messages":
                             {"ackReactionScope": "all"}})
        before = gw.config
        with pytest.raises(ConfigConflict, match="config changed since last load"):
            await apply(client, HOT, base, timeout=10)
        assert gw.config == before
        with pytest.raises(ConfigConflict):
            await client.config_patch({"agents": {}}, base)
        assert gw.config == before


async def test_invalid_config_carries_the_gateways_issues(gw: SimulatedGateway) -> None:
    async with client_for(gw) as client:
        base = (await client.config_get()).hash
        with pytest.raises(InvalidConfig) as info:
            await apply(client, {"gateway": {"mode": "local"}, "bogusKey": 1}, base, timeout=10)
        assert any("bogusKey" in issue.get("message", "") for issue in info.value.issues)
        assert gw.config_hash == base


async def test_killed_before_the_write_resends_once(gw: SimulatedGateway) -> None:
    """The connection dies when config.apply arrives: nothing written, so it is sent again."""
    async with client_for(gw) as client:
        base = (await client.config_get()).hash
        gw.faults.drop_connection_on = "config.apply"
        outcome = await apply(client, HOT, base, timeout=20)
        assert outcome.resent
        assert not outcome.recovered
        assert outcome.hash == gw.config_hash
        assert config_contains(gw.config, HOT)
        assert client.connection_count == 2


async def test_restart_while_the_answer_is_in_flight_recovers(gw: SimulatedGateway) -> None:
    """The write lands, then the gateway restarts before answering: read back, then wait."""
    async with client_for(gw) as client:
        base = (await client.config_get()).hash
        gw.faults.response_delay_s = 0.5
        boot = gw.boot_id
        task = asyncio.create_task(apply(client, HOT, base, timeout=20))
        await asyncio.sleep(0.2)
        await gw.restart()
        gw.faults.response_delay_s = 0.0
        outcome = await asyncio.wait_for(task, 25)
        assert outcome.recovered
        assert outcome.restarted
        assert outcome.boot_id_after == gw.boot_id != boot
        assert outcome.hash == gw.config_hash
        assert config_contains(gw.config, HOT)


async def test_gateway_killed_mid_apply_fails_typed_within_the_timeout(
    gw: SimulatedGateway,
) -> None:
    async with client_for(gw, connect_timeout=0.5) as client:
        base = (await client.config_get()).hash
        gw.faults.response_delay_s = 0.5
        task = asyncio.create_task(apply(client, HOT, base, timeout=2.0))
        await asyncio.sleep(0.2)
        await gw.stop()
        with pytest.raises(GatewayError) as info:
            await asyncio.wait_for(task, 10)
        assert isinstance(info.value, GatewayTimeout | GatewayUnavailable)


async def test_unrelated_restart_during_apply_is_waited_out(gw: SimulatedGateway) -> None:
    async with client_for(gw) as client:
        base = (await client.config_get()).hash
        gw.faults.unhealthy_after_apply = True
        task = asyncio.create_task(apply(client, HOT, base, timeout=20))
        await asyncio.sleep(0.3)
        await gw.restart()
        gw.set_healthy(True)
        outcome = await asyncio.wait_for(task, 25)
        assert outcome.health.healthy
        assert config_contains(gw.config, HOT)


async def test_unhealthy_after_apply_reports_the_new_hash(gw: SimulatedGateway) -> None:
    async with client_for(gw) as client:
        base = (await client.config_get()).hash
        gw.faults.unhealthy_after_apply = True
        with pytest.raises(ApplyNotHealthy) as info:
            await apply(client, HOT, base, timeout=1.5)
        assert info.value.hash == gw.config_hash != base
        assert info.value.health is not None
        assert not info.value.health.ok
        assert isinstance(info.value, GatewayTimeout)


async def test_health_coming_back_completes_the_apply(gw: SimulatedGateway) -> None:
    async with client_for(gw) as client:
        base = (await client.config_get()).hash
        gw.faults.unhealthy_after_apply = True
        task = asyncio.create_task(apply(client, HOT, base, timeout=20))
        await asyncio.sleep(0.6)
        assert not task.done()
        gw.set_healthy(True)
        outcome = await asyncio.wait_for(task, 25)
        assert outcome.health.healthy


async def test_failed_apply_is_unavailable(gw: SimulatedGateway) -> None:
    async with client_for(gw) as client:
        base = (await client.config_get()).hash
        gw.faults.fail_next_apply = "disk full"
        with pytest.raises(GatewayUnavailable, match="disk full"):
            await apply(client, HOT, base, timeout=10)
        assert gw.config_hash == base


async def test_bad_token_and_refused_auth(gw: SimulatedGateway) -> None:
    with pytest.raises(AuthenticationFailed, match="token mismatch"):
        async with client_for(gw, token="wrong-token-000"):
            pass
    gw.faults.refuse_auth = True
    with pytest.raises(AuthenticationFailed):
        async with client_for(gw):
            pass


async def test_closed_port_fails_fast_or_after_the_budget() -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    fast = GatewayClient(url, token=TOKEN, reconnect=False, connect_timeout=5)
    with pytest.raises(GatewayUnavailable, match="connection refused"):
        await fast.connect()
    patient = GatewayClient(url, token=TOKEN, reconnect=True, connect_timeout=0.5,
                            backoff=FAST)
    with pytest.raises(GatewayUnavailable, match="gave up after"):
        await patient.connect()
    obs = await observe_url(url, token=TOKEN, timeout=1)
    assert not obs.reachable
    assert obs.error_kind == "GatewayUnavailable"


async def test_observe_url_reports_failures_as_data(gw: SimulatedGateway) -> None:
    obs = await observe_url(gw.url, token="nope-nope-nope", timeout=2)
    assert not obs.reachable
    assert obs.error_kind == "AuthenticationFailed"
    good = await observe_url(gw.url, token=TOKEN, timeout=2)
    assert good.reachable
    assert good.healthy
    assert good.as_dict()["config_hash"] == gw.config_hash


async def test_protocol_mismatch(gw: SimulatedGateway) -> None:
    with pytest.raises(ProtocolMismatch):
        async with client_for(gw, min_protocol=5, max_protocol=6):
            pass


async def test_slow_gateway_times_out_requests(gw: SimulatedGateway) -> None:
    async with client_for(gw) as client:
        gw.faults.response_delay_s = 1.0
        with pytest.raises(GatewayTimeout, match="health: no answer"):
            await client.health(timeout=0.2)


async def test_pairing_required_then_approved(tmp_path: Path) -> None:
    faults = SimFaults(require_pairing=True)
    async with SimulatedGateway(token=TOKEN, config=BASE, faults=faults) as sim:
        with pytest.raises(PairingRequired) as info:
            async with client_for(sim):
                pass
        assert info.value.request_id is None  # no device at all
        identity = DeviceIdentity.load_or_create(tmp_path / "id")
        with pytest.raises(PairingRequired) as info:
            async with client_for(sim, identity=identity):
                pass
        request_id = info.value.request_id
        assert request_id
        assert f"openclaw devices approve {request_id}" in str(info.value)
        sim.approve_device(request_id)
        async with client_for(sim, identity=identity) as client:
            assert client.hello is not None
            assert (await client.config_get()).hash == sim.config_hash


async def test_device_token_is_kept_and_reused(tmp_path: Path) -> None:
    """Protocol-3 gateways hand a paired device a token; the next run connects with it."""
    async with SimulatedGateway(token=TOKEN, config=BASE, protocol_range=(3, 3),
                                version="2026.3.31") as sim:
        identity = DeviceIdentity.load_or_create(tmp_path / "id")
        async with client_for(sim, identity=identity) as client:
            assert client.hello is not None
            issued = client.hello.auth.device_token
        assert issued
        stored = DeviceIdentity.load_or_create(tmp_path / "id")
        assert stored.device_token(sim.url) == issued
        async with client_for(sim, token=None, identity=stored) as client:
            assert client.hello is not None
            assert client.hello.auth.method != "token"
            assert (await client.config_get()).hash == sim.config_hash
            assert issued not in repr(client)


# --------------------------------------------------------------------------- secrets


async def test_secrets_never_reach_errors_reprs_or_logs(
    gw: SimulatedGateway, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "SeCrEt-pw-8d1f-distinctive"
    errors: list[BaseException] = []
    clients: list[GatewayClient] = []

    async def attempt(client: GatewayClient, action: Any = None) -> None:
        clients.append(client)
        try:
            await client.connect()
            if action is not None:
                await action(client)
        except GatewayError as exc:
            errors.append(exc)
        finally:
            await client.close()

    await attempt(client_for(gw, token=secret))  # wrong token
    await attempt(client_for(gw, token=None, password=secret))  # password where none is set
    await attempt(GatewayClient(f"ws://127.0.0.1:{free_port()}", token=secret,
                                reconnect=False))
    await attempt(GatewayClient(f"ws://u:{secret}@127.0.0.1:{free_port()}/?token={secret}",
                                token=secret, reconnect=False))

    async def slow(client: GatewayClient) -> None:
        gw.faults.response_delay_s = 0.5
        await client.health(timeout=0.1)

    async def drop(client: GatewayClient) -> None:
        gw.faults.response_delay_s = 0.0
        gw.faults.drop_connection_on = "health"
        await client.health()

    await attempt(client_for(gw, token=TOKEN, password=None), slow)
    await attempt(client_for(gw, token=TOKEN, device_token=secret, reconnect=False), drop)
    gw.faults.refuse_auth = True
    await attempt(client_for(gw, token=secret))
    obs = await observe_url(gw.url, token=secret, timeout=1)
    assert len(errors) >= 6
    texts = [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [repr(e.details) for e in errors if isinstance(e, GatewayError)]
    texts += [repr(c) for c in clients] + [json.dumps(obs.as_dict()), caplog.text]
    for text in texts:
        assert secret not in text


async def test_subscriptions_survive_a_reconnect(gw: SimulatedGateway) -> None:
    async with client_for(gw) as client, client.subscribe("config.changed") as changed:
        gw.faults.drop_connection_on = "health"
        with pytest.raises(GatewayUnavailable):
            await client.health()
        await client.config_get()  # reconnects (background or on demand)
        assert client.connection_count == 2
        gw.edit_out_of_band({"gateway": {"mode": "local"}, "messages":
                             {"ackReactionScope": "all"}})
        event = await changed.next(timeout=5)
        assert event.payload["hash"] == gw.config_hash
