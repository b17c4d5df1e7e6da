"""Providers: the registry's choice per bot, the existing provider's endpoint and secret
resolution (env, file, store, none; failures without values), and the simulated provider
against the real simulated gateways it starts."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from molthub_gitops.errors import InputError, InvalidConfig, ProviderError
from molthub_gitops.gateway.identity import DeviceIdentity
from molthub_gitops.gateway.sim.provider import SimulatedProvider, env_references
from molthub_gitops.model.documents import SecretRef
from molthub_gitops.providers.base import BotEndpoint, Provider, ProviderStatus
from molthub_gitops.providers.existing import ExistingProvider
from molthub_gitops.sync.pool import GatewayPool
from molthub_gitops.sync.providers import ProviderRegistry, known_providers

from ._observe_support import eventually, example_bots, make_bot, schema_9

TOKEN = "tok-H3-providers-distinctive-8812"
SMALL = {"gateway": {"mode": "local"}, "messages": {"ackReactionScope": "all"}}


# --------------------------------------------------------------------------- existing


async def test_existing_resolves_the_token_from_the_environment() -> None:
    registry = ProviderRegistry(environ={"GW_TOKEN_A": f"  {TOKEN}\n"})
    b = make_bot(url="ws://bot-a.internal:18789", secret=SecretRef(env="GW_TOKEN_A"))
    provider = registry.for_bot(b)
    assert isinstance(provider, ExistingProvider)
    assert provider.name == "existing"
    ep = await provider.endpoint(b)
    assert ep == BotEndpoint(bot="bot-a", fleet="fleet-a", url="ws://bot-a.internal:18789",
                             auth="token", secret=TOKEN)
    assert await provider.ensure(b) == ep
    assert TOKEN not in repr(ep)
    assert TOKEN not in str(ep)
    assert TOKEN not in repr(provider)
    assert registry.for_bot(b) is provider  # made once


async def test_existing_reads_a_password_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "gw-password"
    secret_file.write_text(f"{TOKEN}\nsecond line is ignored\n")
    b = make_bot(auth="password", secret=SecretRef(file=str(secret_file)))
    ep = await ProviderRegistry(environ={}).for_bot(b).endpoint(b)
    assert (ep.auth, ep.secret) == ("password", TOKEN)


async def test_a_missing_variable_names_the_variable_never_a_value() -> None:
    environ = {"OTHER_TOKEN": TOKEN, "GW_TOKEN_B": "   "}
    registry = ProviderRegistry(environ=environ)
    for var in ("GW_TOKEN_MISSING", "GW_TOKEN_B"):  # unset, and set but empty
        b = make_bot("bot-b", secret=SecretRef(env=var))
        with pytest.raises(InputError) as err:
            await registry.for_bot(b).endpoint(b)
        text = err.value.format()
        assert var in text
        assert "bot-b" in text
        assert err.value.problems[0].code == "secret-env-missing"
        assert TOKEN not in text


async def test_an_unreadable_secret_file_is_an_input_error(tmp_path: Path) -> None:
    b = make_bot(secret=SecretRef(file=str(tmp_path / "absent")))
    with pytest.raises(InputError) as err:
        await ProviderRegistry(environ={}).for_bot(b).endpoint(b)
    assert err.value.problems[0].code == "secret-file-unreadable"


async def test_a_secret_store_reference_needs_a_store() -> None:
    b = make_bot(secret=SecretRef(store="prod/gateway-token"))
    with pytest.raises(ProviderError) as err:
        await ProviderRegistry(environ={}).for_bot(b).endpoint(b)
    assert "needs a provider with a secret store" in str(err.value)
    assert err.value.retryable is False
    assert err.value.bot == b.name


async def test_auth_none_has_no_secret() -> None:
    b = make_bot(auth="none")
    ep = await ProviderRegistry(environ={}).for_bot(b).endpoint(b)
    assert (ep.auth, ep.secret) == ("none", None)


async def test_existing_does_not_manage_the_runtime() -> None:
    b = make_bot()
    provider = ProviderRegistry(environ={}).get("existing")
    status = await provider.describe(b)
    assert isinstance(status, ProviderStatus)
    assert "runs elsewhere" in status.detail
    with pytest.raises(ProviderError) as err:
        await provider.destroy(b.fleet, b.name)
    assert err.value.retryable is False
    assert await provider.logs(b) == ""
    await provider.close()


# --------------------------------------------------------------------------- the registry


def test_providers_that_have_not_arrived_are_refused() -> None:
    registry = ProviderRegistry(environ={})
    for name in ("docker", "aws-ecs", "azure-aci", "gcp-cloud-run", "digitalocean", "local"):
        b = make_bot(provider=name)
        with pytest.raises(ProviderError) as err:
            registry.for_bot(b)
        assert str(err.value) == (
            f"{name}/{b.name}: provider {name} arrives with the cloud providers; use "
            "existing or simulated")
        assert err.value.retryable is False
    assert set(known_providers()) >= {"existing", "simulated", "docker", "local"}
    with pytest.raises(ProviderError, match="arrives with the cloud providers"):
        ProviderRegistry(override="docker")
    with pytest.raises(ProviderError, match="unknown provider"):
        ProviderRegistry(override="kubernetes")


async def test_override_and_register() -> None:
    sim = SimulatedProvider()
    registry = ProviderRegistry(override="simulated", simulated=sim)
    for b in example_bots()[:5]:  # fleets naming docker, aws-ecs, existing...
        assert registry.for_bot(b) is sim
        assert registry.name_for(b) == "simulated"

    plugged = ProviderRegistry(environ={})
    local: Provider = SimulatedProvider()
    plugged.register("local", local)
    assert plugged.for_bot(make_bot(provider="local")) is local
    await plugged.close()
    await registry.close()


async def test_closing_the_registry_stops_the_simulated_gateways() -> None:
    registry = ProviderRegistry(override="simulated")
    b = make_bot(config=SMALL)
    provider = registry.for_bot(b)
    assert isinstance(provider, SimulatedProvider)
    ep = await provider.ensure(b)
    gw = provider.gateway(b.name)
    assert gw.port > 0
    assert ep.url == gw.url
    await registry.close()
    assert not (await provider.describe(b)).exists
    pool = GatewayPool(connect_timeout=2, request_timeout=2)
    try:
        assert not (await pool.observe(ep, timeout=2)).reachable
    finally:
        await pool.close()


# --------------------------------------------------------------------------- simulated


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedProvider]:
    provider = SimulatedProvider(schema=schema_9())
    try:
        yield provider
    finally:
        await provider.close()


@pytest.fixture
async def pool() -> AsyncIterator[GatewayPool]:
    p = GatewayPool(connect_timeout=5, request_timeout=5)
    try:
        yield p
    finally:
        await p.close()


async def test_ensure_starts_one_gateway_per_bot_with_its_own_token(
    sim: SimulatedProvider, pool: GatewayPool
) -> None:
    a, b = make_bot("bot-a", config=SMALL), make_bot("bot-b", config=SMALL)
    ep_a, ep_b = await sim.ensure(a), await sim.ensure(b)
    assert ep_a.url != ep_b.url
    assert ep_a.secret
    assert ep_b.secret
    assert ep_a.secret != ep_b.secret
    assert await sim.ensure(a) == ep_a  # kept, not restarted
    assert await sim.endpoint(a) == ep_a
    assert sim.bots == ["bot-a", "bot-b"]
    seen = await pool.observe_many([ep_a, ep_b], timeout=5)
    assert all(o.reachable and o.healthy for o in seen.values())
    assert seen["bot-a"].server_version == "2026.9.6"
    # the other bot's token does not open this gateway
    crossed = BotEndpoint(bot="bot-a", fleet="fleet-a", url=ep_a.url, secret=ep_b.secret)
    obs = await pool.observe(crossed, timeout=5)
    assert obs.error_kind == "AuthenticationFailed"
    assert ep_b.secret not in (obs.error or "")
    assert ep_a.secret not in repr(sim)
    assert ep_a.secret not in repr(ep_a)


async def test_a_rendered_bot_with_env_references_applies_and_observes(
    sim: SimulatedProvider, pool: GatewayPool
) -> None:
    b = next(x for x in example_bots() if env_references(x.config)
             and "workspace" in x.config.get("agents", {}).get("defaults", {}))
    ep = await sim.ensure(b)
    gw = sim.gateway(b.name)
    gw.faults.restart_duration_s = 0.1
    first = await pool.observe(ep, timeout=5)
    assert first.reachable
    assert first.config_exists is False
    await pool.apply(ep, b.config, first.config_hash, timeout=20)
    after = await pool.observe(ep, timeout=5)
    assert after.config_valid is True
    assert after.config_exists is True
    logs = await sim.logs(b)
    assert "config.apply" in logs
    assert ep.secret is not None
    assert ep.secret not in logs

    # a newer config references a variable the gateway was not started with
    newer = json.loads(json.dumps(b.config))
    newer["agents"]["defaults"]["workspace"] = "/srv/${H3_NEW_SCOPE_VAR}/workspace"
    with pytest.raises(InvalidConfig) as err:
        await pool.apply(ep, newer, after.config_hash, timeout=20)
    assert "H3_NEW_SCOPE_VAR" in str(err.value)
    newer_bot = make_bot(b.name, b.fleet, config=newer, base=b)
    assert await sim.ensure(newer_bot) == ep  # same gateway, the variable added
    await pool.apply(ep, newer, after.config_hash, timeout=20)
    assert gw.config["agents"]["defaults"]["workspace"] == "/srv/${H3_NEW_SCOPE_VAR}/workspace"


async def test_the_shared_schema_validates_every_gateway(
    sim: SimulatedProvider, pool: GatewayPool
) -> None:
    a, b = make_bot("bot-a", config=SMALL), make_bot("bot-b", config=SMALL)
    ep = await sim.ensure(a)
    await sim.ensure(b)
    assert sim.gateway("bot-a").store.schema is sim.gateway("bot-b").store.schema
    obs = await pool.observe(ep, timeout=5)
    with pytest.raises(InvalidConfig) as err:
        await pool.apply(ep, {"gateway": {"mode": "local"}, "bogusKey": 1}, obs.config_hash,
                         timeout=10)
    assert "bogusKey" in str(err.value)


async def test_password_and_no_auth_bots(sim: SimulatedProvider, pool: GatewayPool) -> None:
    pw = make_bot("bot-pw", auth="password", config=SMALL)
    open_bot = make_bot("bot-open", auth="none", config=SMALL)
    ep_pw, ep_open = await sim.ensure(pw), await sim.ensure(open_bot)
    assert ep_pw.auth == "password"
    assert ep_pw.secret
    assert (ep_open.auth, ep_open.secret) == ("none", None)
    seen = await pool.observe_many([ep_pw, ep_open], timeout=5)
    assert seen["bot-pw"].reachable
    assert seen["bot-open"].reachable


async def test_a_2026_3_bot_gets_a_protocol_3_gateway(sim: SimulatedProvider) -> None:
    b = make_bot("bot-old", config=SMALL, version="2026.3.31")
    ep = await sim.ensure(b)
    pool = GatewayPool(connect_timeout=5, request_timeout=5, identity=DeviceIdentity.generate())
    try:
        obs = await pool.observe(ep, timeout=5)
        assert obs.reachable
        assert obs.protocol == 3
        assert obs.server_version == "2026.3.31"
    finally:
        await pool.close()


async def test_describe_destroy_and_the_gateway_accessor(
    sim: SimulatedProvider, pool: GatewayPool
) -> None:
    b = make_bot("bot-d", config=SMALL)
    assert not (await sim.describe(b)).exists
    with pytest.raises(ProviderError):
        await sim.endpoint(b)
    with pytest.raises(ProviderError):
        sim.gateway(b.name)
    ep = await sim.ensure(b)
    status = await sim.describe(b)
    assert status.exists
    assert status.running
    assert "2026.9.6" in status.detail
    assert ep.secret is not None
    assert ep.secret not in status.detail

    gw = sim.gateway(b.name)
    await gw.stop()  # a fault: the process died
    stopped = await sim.describe(b)
    assert stopped.exists
    assert not stopped.running
    await gw.start(port=gw.port)
    assert (await sim.describe(b)).running
    assert (await pool.observe(ep, timeout=5)).reachable

    await sim.destroy(b.fleet, b.name)
    await sim.destroy(b.fleet, b.name)  # idempotent
    assert not (await sim.describe(b)).exists
    await eventually(lambda: gw.connections == 0, what="gateway gone")
    assert not (await pool.observe(ep, timeout=5)).reachable
    assert await sim.logs(b) == ""


async def test_secrets_stay_out_of_logs(
    sim: SimulatedProvider, pool: GatewayPool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    b = make_bot("bot-l", config=SMALL)
    ep = await sim.ensure(b)
    sim.gateway(b.name).faults.restart_duration_s = 0.1  # the first write restarts
    obs = await pool.observe(ep, timeout=5)
    await pool.apply(ep, {**SMALL, "messages": {"ackReactionScope": "direct"}},
                     obs.config_hash, timeout=10)
    assert ep.secret is not None
    assert ep.secret not in caplog.text
    assert ep.secret not in json.dumps(obs.as_dict())
