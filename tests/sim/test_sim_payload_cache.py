"""The views shared between gateways with identical files (``configstore.SharedViews``).

A fleet starts with identical files, so its gateways share the ``sourceConfig``, run-time
config and ``config.get`` body built from them. These tests pin down that sharing never
changes what a gateway answers and never lets one gateway's state reach another.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import uuid
import weakref
from typing import Any

import pytest
from simclient import TOKEN, connected, get, openclaw_schema

from molthub_gitops.gateway.sim import SENTINEL, SimulatedFleet, SimulatedGateway
from molthub_gitops.gateway.sim.configstore import (
    ConfigStore,
    Profile,
    dump_config,
    shared_views_count,
)
from molthub_gitops.gateway.sim.payloads import (
    HealthInputs,
    HelloInputs,
    HelloTemplate,
    health_payload,
    hello_payload,
    uuid4_str,
)
from molthub_gitops.gateway.sim.schema import compile_schema

BASE: dict[str, Any] = {"gateway": {"mode": "local"}}
_PER_GATEWAY = ("hash", "configRevisionHash", "appliedConfigHash")


def _store(
    config: dict[str, Any] | None,
    *,
    modern: bool = True,
    env: dict[str, str] | None = None,
    schema: dict[str, Any] | None = None,
    key: bytes = b"k" * 32,
) -> ConfigStore:
    return ConfigStore(
        profile=Profile(modern=modern, version="2026.9.6" if modern else "2026.3.31"),
        schema=compile_schema(schema),
        path="/home/bot/.openclaw/openclaw.json",
        install_key=key,
        env=env,
        initial=config,
    )


def _without_hashes(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in _PER_GATEWAY}


async def _apply(gw: SimulatedGateway, config: dict[str, Any]) -> dict[str, Any]:
    client = await connected(gw)
    try:
        base = (await get(client))["hash"]
        response = await client.request(
            "config.apply", {"raw": json.dumps(config), "baseHash": base}
        )
        assert response["ok"], response
        return await get(client)
    finally:
        await client.close()


async def test_gateways_with_identical_files_share_views_but_not_hashes() -> None:
    async with SimulatedFleet(3, token_for=lambda _n: TOKEN, config=BASE) as fleet:
        alpha, beta, gamma = fleet.gateways.values()
        assert alpha.store.views() is beta.store.views()
        assert alpha.store.source_config() is gamma.store.source_config()
        payloads = []
        for gw in (alpha, beta):
            client = await connected(gw)
            payloads.append(await get(client))
            await client.close()
        # built once, by whichever gateway answered first
        assert alpha.store.views().payload_parts is not None
        assert alpha.store.views().payload_parts is beta.store.views().payload_parts
        # the same body, but each gateway's own revision tokens (its own install key)
        assert _without_hashes(payloads[0]) == _without_hashes(payloads[1])
        assert payloads[0]["parsed"] == BASE
        for field in _PER_GATEWAY:
            assert payloads[0][field] != payloads[1][field]
            assert payloads[0][field].startswith("hmac-sha256:v1:")


async def test_a_write_on_one_gateway_never_reaches_another() -> None:
    async with SimulatedFleet(2, token_for=lambda _n: TOKEN, config=BASE) as fleet:
        alpha, beta = fleet.gateways.values()
        before = beta.config_payload()
        written = await _apply(alpha, {**BASE, "cron": {"enabled": True}})
        assert written["parsed"]["cron"] == {"enabled": True}
        client = await connected(beta)
        after = await get(client)
        await client.close()
        assert after == before
        assert "cron" not in after["parsed"]
        assert "cron" not in after["raw"]
        assert beta.config == {**BASE}
        assert alpha.store.source_config() is not beta.store.source_config()


async def test_patch_and_hand_edit_stay_on_their_gateway() -> None:
    async with SimulatedFleet(3, token_for=lambda _n: TOKEN, config=BASE) as fleet:
        alpha, beta, gamma = fleet.gateways.values()
        untouched = gamma.config_payload()
        client = await connected(alpha)
        base = (await get(client))["hash"]
        patch = {"messages": {"ackReactionScope": "all"}}
        response = await client.request(
            "config.patch", {"raw": json.dumps(patch), "baseHash": base}
        )
        assert response["ok"], response
        await client.close()
        beta.edit_out_of_band({**BASE, "agents": {"defaults": {"maxConcurrent": 2}}})
        assert alpha.config_payload()["parsed"]["messages"] == {"ackReactionScope": "all"}
        assert beta.config_payload()["parsed"]["agents"] == {"defaults": {"maxConcurrent": 2}}
        assert gamma.config_payload() == untouched


async def test_mutating_an_answer_does_not_change_another_gateways_answer() -> None:
    async with SimulatedFleet(2, token_for=lambda _n: TOKEN, config=BASE) as fleet:
        alpha, beta = fleet.gateways.values()
        mine = alpha.config_payload()
        mine["parsed"]["gateway"]["mode"] = "remote"
        mine["runtimeConfig"].clear()
        theirs = beta.config_payload()
        assert theirs["parsed"] == BASE
        assert theirs["runtimeConfig"]["gateway"] == {"mode": "local"}
        assert alpha.config_payload()["parsed"] == BASE


async def test_same_file_text_with_different_agent_rosters_is_not_shared() -> None:
    # 2026.9 keeps agents.entries out of the file: both files end up with the same text
    async with SimulatedFleet(2, token_for=lambda _n: TOKEN, config=BASE) as fleet:
        alpha, beta = fleet.gateways.values()
        one = await _apply(alpha, {**BASE, "agents": {"entries": {"one": {"name": "One"}}}})
        two = await _apply(beta, {**BASE, "agents": {"entries": {"two": {"name": "Two"}}}})
        assert alpha.raw == beta.raw
        assert one["sourceConfig"]["agents"]["entries"] == {"one": {"name": "One"}}
        assert two["sourceConfig"]["agents"]["entries"] == {"two": {"name": "Two"}}
        assert one["configRevisionHash"] != two["configRevisionHash"]


async def test_the_same_write_on_two_gateways_shares_again() -> None:
    async with SimulatedFleet(2, token_for=lambda _n: TOKEN, config=BASE) as fleet:
        alpha, beta = fleet.gateways.values()
        desired = {**BASE, "cron": {"enabled": True}}
        one = await _apply(alpha, desired)
        two = await _apply(beta, desired)
        assert alpha.raw == beta.raw
        assert alpha.store.views() is beta.store.views()
        assert alpha.store.views().payload_parts is not None
        assert alpha.store.views().payload_parts is beta.store.views().payload_parts
        assert _without_hashes(one) == _without_hashes(two)
        assert one["hash"] != two["hash"]


def test_env_and_schema_are_part_of_what_is_shared() -> None:
    config = {**BASE, "channels": {"telegram": {"botToken": "${TG}", "enabled": True}}}
    one = _store(config, env={"TG": "first"})
    two = _store(config, env={"TG": "second"})
    none = _store(config)
    assert one.runtime_view()["channels"]["telegram"]["botToken"] == "first"
    assert two.runtime_view()["channels"]["telegram"]["botToken"] == "second"
    assert none.runtime_view()["channels"]["telegram"]["botToken"] == "${TG}"
    # the resolved secret is redacted either way; the reference stays visible in parsed
    for store in (one, two):
        payload = store.get_payload()
        assert payload["runtimeConfig"]["channels"]["telegram"]["botToken"] == SENTINEL
        assert payload["parsed"]["channels"]["telegram"]["botToken"] == "${TG}"
    hinted = {"gateway.remote.url": {"sensitive": True}}
    plain = _store({"gateway": {"mode": "local", "remote": {"url": "wss://x"}}})
    hidden = _store(
        {"gateway": {"mode": "local", "remote": {"url": "wss://x"}}},
        schema={"schema": {"type": "object"}, "uiHints": hinted},
    )
    assert plain.get_payload()["parsed"]["gateway"]["remote"]["url"] == "wss://x"
    assert hidden.get_payload()["parsed"]["gateway"]["remote"]["url"] == SENTINEL


@pytest.mark.parametrize("modern", [True, False])
@pytest.mark.parametrize(
    "config",
    [
        None,
        BASE,
        {"gateway": {"mode": "local", "auth": {"token": "tok-secret-1"}}, "x": [1, 2.5, "é"]},
        "{ not json",
        "[1, 2]",
    ],
    ids=["no-file", "plain", "secrets", "broken", "not-an-object"],
)
def test_serialized_answer_is_exactly_the_answer(modern: bool, config: Any) -> None:
    store = _store(None if isinstance(config, str) else config, modern=modern)
    if isinstance(config, str):
        store.load_text(config)
    text = store.get_payload_json()
    assert text == json.dumps(store.get_payload(), ensure_ascii=False)
    assert "tok-secret-1" not in text
    if modern and store.valid:
        # the running config differs from the file: appliedConfigHash follows it
        store.applied = {"something": "else"}
        payload = store.get_payload()
        assert payload["appliedConfigHash"] != payload["configRevisionHash"]
        assert store.get_payload_json() == json.dumps(payload, ensure_ascii=False)


def test_views_no_longer_used_by_any_gateway_are_released() -> None:
    marker = {**BASE, "agents": {"defaults": {"workspace": f"/w/{uuid4_str()}"}}}
    stores = [_store(marker, key=bytes([i]) * 32) for i in range(3)]
    for store in stores:
        store.get_payload_json()
    old = weakref.ref(stores[0].views())
    assert stores[0].views() is stores[2].views()
    for index, store in enumerate(stores):
        store.load_text(dump_config({**BASE, "cron": {"enabled": True}}))
        store.applied = store.source_config()
        store.get_payload()
        gc.collect()
        # the old content's entry lives exactly as long as a store still holds that content
        assert (old() is None) == (index == len(stores) - 1)
    assert shared_views_count() >= 1
    assert stores[0].views() is stores[1].views()


def test_uuid4_str_is_a_version_4_uuid() -> None:
    seen = {uuid4_str() for _ in range(200)}
    assert len(seen) == 200
    for text in seen:
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert str(parsed) == text


async def test_vendored_schema_fleet_shares_views() -> None:
    schema = openclaw_schema()
    config = {**BASE, "messages": {"ackReactionScope": "all"}}
    fleet = SimulatedFleet(2, token_for=lambda _n: TOKEN, config=config, schema=schema)
    async with fleet:
        alpha, beta = fleet.gateways.values()
        assert alpha.store.views() is beta.store.views()
        assert alpha.config_payload()["valid"] is True


@pytest.mark.parametrize("modern", [True, False])
@pytest.mark.parametrize("healthy", [True, False])
@pytest.mark.parametrize("device_token", [None, "device-token-1"])
def test_hello_template_renders_exactly_the_hello(
    modern: bool, healthy: bool, device_token: str | None
) -> None:
    runtime = {"channels": {"telegram": {"enabled": True}}}
    inputs = HelloInputs(
        modern=modern,
        protocol=4 if modern else 3,
        version="2026.9.6" if modern else "2026.3.31",
        boot_id=uuid4_str(),
        conn_id="ignored",
        health=health_payload(HealthInputs(modern, healthy, 111, runtime)),
        uptime_ms=1,
        now_ms=111,
        config_path="/home/bot/.openclaw/openclaw.json",
        auth_mode="token",
        auth_method="token",
        role="operator",
        scopes=["operator.admin"],
        device_token=device_token,
        applied_hash="hmac-sha256:v1:abc" if modern else None,
        tick_interval_ms=30000,
        port=18789,
        health_version=7,
        instance_id=uuid4_str(),
    )
    template = HelloTemplate(inputs)
    now = 1_795_000_000_123
    expected = dataclasses.replace(
        inputs,
        conn_id="conn-ü-1",
        now_ms=now,
        uptime_ms=4567,
        health=health_payload(HealthInputs(modern, healthy, now, runtime)),
        recovery_scope="recovery-token",
        canvas_token="canvas-token",
    )
    rendered = template.render("conn-ü-1", now, 4567, tokens=("recovery-token", "canvas-token"))
    assert rendered == json.dumps(hello_payload(expected), ensure_ascii=False)
    assert "\\u0000" not in template.render("c", now, 1)


async def test_each_connection_gets_its_own_hello_and_state_changes_show() -> None:
    async with SimulatedGateway(token=TOKEN, config=BASE) as gw:
        one, two = await connected(gw), await connected(gw)
        assert one.hello["server"]["connId"] != two.hello["server"]["connId"]
        assert one.hello["server"]["bootId"] == two.hello["server"]["bootId"]
        assert one.hello["auth"]["recoveryScope"] != two.hello["auth"]["recoveryScope"]
        assert one.hello["snapshot"]["health"]["ok"] is True
        gw.set_healthy(False)
        three = await connected(gw)
        assert three.hello["snapshot"]["health"]["ok"] is False
        assert (
            three.hello["snapshot"]["stateVersion"]["health"]
            > one.hello["snapshot"]["stateVersion"]["health"]
        )
        await gw.restart()
        four = await connected(gw)
        assert four.hello["server"]["bootId"] != one.hello["server"]["bootId"]
        for client in (one, two, three, four):
            await client.close()
