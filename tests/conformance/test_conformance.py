"""One conformance suite for the gateway client, run against the simulator and real gateways.

Every test drives ``molthub_gitops.gateway`` (GatewayClient, operations) and makes the same
assertions for every backend. Where real versions differ among themselves (protocol 3 vs 4)
the expectation follows the fixture's protocol, as documented in the gateway reference and
/work/notes/gateway-findings.md -- never a separate test per backend:

* protocol 3 reports no ``bootId``, restarts after every successful config write and emits no
  ``config.changed``;
* protocol 4 has a ``bootId``, hot-reloads ``agents.defaults.heartbeat.*`` in place with a
  ``config.changed`` event, and restarts for ``gateway.tailscale.*``.

Out-of-band checks read the config without our client: OpenClaw's own CLI for real gateways
(``openclaw gateway call config.get``), the simulator's state for the simulator.
"""

from __future__ import annotations

import asyncio
import copy
import time
from typing import TYPE_CHECKING, Any

import pytest

from molthub_gitops.errors import (
    AuthenticationFailed,
    ConfigConflict,
    GatewayError,
    GatewayTimeout,
    GatewayUnavailable,
    InvalidConfig,
    ProtocolMismatch,
)
from molthub_gitops.gateway import operations
from molthub_gitops.gateway.client import ConfigSnapshot, Event, GatewayClient

if TYPE_CHECKING:
    from conftest import GatewayUnderTest

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Valid in the schemas of 2026.3.31 and 2026.9.6.
BASE: dict[str, Any] = {
    "gateway": {"mode": "local"},
    "agents": {"defaults": {"heartbeat": {
        "every": "30m", "target": "none", "prompt": "conformance base"}}},
    "tools": {"deny": ["browser"]},
}
APPLY_TIMEOUT = 120.0


def with_changes(base: dict[str, Any], **paths: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with dotted paths (``a__b__c`` keyword = ``a.b.c``) set."""
    out = copy.deepcopy(base)
    for dotted, value in paths.items():
        keys = dotted.split("__")
        node = out
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return out


def dig(config: Any, dotted: str) -> Any:
    node = config
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return KeyError(dotted)
        node = node[key]
    return node


async def reset(gw: GatewayUnderTest, desired: dict[str, Any] = BASE) -> ConfigSnapshot:
    """Put ``desired`` on the gateway (waiting for health across any restart); the snapshot.

    Uses its own client (own device), so the write does not count against the write rate
    limit of the client under test (protocol 3: 3 writes a minute per device).
    """
    async with gw.client() as admin:
        snapshot = await admin.config_get()
        await operations.apply(admin, desired, snapshot.hash, timeout=APPLY_TIMEOUT)
        after = await admin.config_get()
    assert operations.config_contains(after.parsed, desired), after.parsed
    return after


async def settle(client: GatewayClient, *, old_hash: str | None,
                 within: float = APPLY_TIMEOUT) -> ConfigSnapshot:
    """After a raw write: wait until the gateway reports a hash other than ``old_hash`` and is
    healthy (it may restart on the way); that config."""
    deadline = time.monotonic() + within
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            snapshot = await client.config_get(timeout=30.0)
            if snapshot.hash != old_hash:
                health = await client.health(timeout=30.0)
                if operations.summarize_health(health).healthy:
                    return snapshot
        except (GatewayUnavailable, GatewayTimeout) as exc:
            last = exc
        await asyncio.sleep(0.25)
    raise AssertionError(f"gateway did not settle within {within} s (last error: {last})")


async def drain(sub: Any, seconds: float) -> list[Event]:
    """Events that arrive on ``sub`` within ``seconds``."""
    events: list[Event] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            events.append(await sub.next(timeout=left))
        except GatewayTimeout:
            break
    return events


# ------------------------------------------------------------------------- handshake


async def test_handshake_reports_protocol_version_and_boot(gateway: GatewayUnderTest) -> None:
    async with gateway.client() as client:
        hello = client.hello
        assert hello is not None
        assert hello.protocol == gateway.protocol
        assert hello.server_version == gateway.version
        assert hello.conn_id
        assert hello.policy.tick_interval_ms > 0
        assert "operator.admin" in hello.auth.scopes
        if gateway.has_boot_id:
            assert isinstance(hello.boot_id, str)
            assert hello.boot_id
        else:
            assert hello.boot_id is None
        assert gateway.token not in repr(client)


async def test_boot_id_is_stable_across_connections(gateway: GatewayUnderTest) -> None:
    async with gateway.client() as first, gateway.client() as second:
        assert first.hello is not None
        assert second.hello is not None
        assert first.hello.boot_id == second.hello.boot_id
        assert first.hello.conn_id != second.hello.conn_id


async def test_bad_token_fails_authentication_and_closes(gateway: GatewayUnderTest) -> None:
    wrong = "wrong-" + gateway.token[::-1]
    client = gateway.client(token=wrong, reconnect=False)
    try:
        with pytest.raises(AuthenticationFailed) as info:
            await client.connect(timeout=30.0)
        assert not client.connected
        text = str(info.value) + repr(info.value.details)
        assert wrong not in text
        assert gateway.token not in text
        assert "mismatch" in str(info.value)
    finally:
        await client.close()
    # the gateway still serves a client with the right token
    async with gateway.client() as good:
        assert good.connected


async def test_token_without_device_identity_gets_config_access_only_from_protocol_4(
        gateway: GatewayUnderTest) -> None:
    async with gateway.client(identity=None) as client:
        assert client.connected
        if gateway.protocol >= 4:
            snapshot = await client.config_get()
            assert snapshot.hash
        else:  # protocol 3 drops the scopes of a connect without a device
            with pytest.raises(GatewayError) as info:
                await client.config_get()
            assert "missing scope: operator.read" in str(info.value)


async def test_protocol_range_outside_the_server_is_a_mismatch(
        gateway: GatewayUnderTest) -> None:
    client = gateway.client(min_protocol=5, max_protocol=6, reconnect=False)
    try:
        with pytest.raises(ProtocolMismatch):
            await client.connect(timeout=30.0)
        assert not client.connected
    finally:
        await client.close()


async def test_unknown_method_is_refused(gateway: GatewayUnderTest) -> None:
    async with gateway.client() as client:
        with pytest.raises(GatewayError) as info:
            await client.request("no.such.method", {})
        assert "unknown method: no.such.method" in str(info.value)
        assert client.connected  # a refused request does not end the connection


async def test_params_are_validated_strictly(gateway: GatewayUnderTest) -> None:
    async with gateway.client() as client:
        with pytest.raises(GatewayError) as info:
            await client.request("config.get", {"bogus": 1})
        assert "unexpected property 'bogus'" in str(info.value)


# ------------------------------------------------------------------------- config.get


async def test_config_get_matches_an_independent_reader(gateway: GatewayUnderTest) -> None:
    async with gateway.client() as client:
        snapshot = await client.config_get()
    assert snapshot.exists
    assert isinstance(snapshot.hash, str)
    assert snapshot.hash
    assert snapshot.path
    assert snapshot.path.endswith("openclaw.json")
    assert dig(snapshot.parsed, "gateway.mode") == "local"
    assert snapshot.valid
    oob = await gateway.read_config_out_of_band()
    assert oob["hash"] == snapshot.hash
    assert oob["parsed"] == dict(snapshot.parsed)


# ------------------------------------------------------------------------- apply / conflicts


async def test_apply_with_current_hash_then_stale_hash_conflicts(
        gateway: GatewayUnderTest) -> None:
    base = await reset(gateway)
    async with gateway.client() as client:
        first = with_changes(BASE, agents__defaults__heartbeat__every="40m")
        outcome = await operations.apply(client, first, base.hash, timeout=APPLY_TIMEOUT)
        assert outcome.hash
        assert outcome.hash != base.hash
        assert outcome.health.healthy

        second = with_changes(BASE, agents__defaults__heartbeat__every="50m")
        with pytest.raises(ConfigConflict):
            await client.config_apply(second, base.hash)  # stale: the hash before `first`
        # a missing baseHash is refused too once the file exists
        with pytest.raises(GatewayError) as info:
            await client.config_apply(second, None)
        assert "base hash required" in str(info.value)

    oob = await gateway.read_config_out_of_band()  # nothing was overwritten
    assert oob["hash"] == outcome.hash
    assert dig(oob["parsed"], "agents.defaults.heartbeat.every") == "40m"


async def test_invalid_config_is_rejected_with_its_issues(gateway: GatewayUnderTest) -> None:
    base = await reset(gateway)
    async with gateway.client() as client:
        with pytest.raises(InvalidConfig) as unknown:
            await client.config_apply(with_changes(BASE, bogusKey=1), base.hash)
        assert any('"bogusKey"' in str(i.get("message")) for i in unknown.value.issues), (
            unknown.value.issues)
        assert "bogusKey" in str(unknown.value)

        with pytest.raises(InvalidConfig) as bad_value:
            await client.config_apply(
                with_changes(BASE, messages__ackReactionScope=7), base.hash)
        paths = [i.get("path") for i in bad_value.value.issues]
        assert "messages.ackReactionScope" in paths
        assert client.connected
        after = await client.config_get()
    assert after.hash == base.hash
    oob = await gateway.read_config_out_of_band()
    assert oob["hash"] == base.hash
    assert "bogusKey" not in oob["parsed"]


# ------------------------------------------------------------------------- patch


async def test_patch_merges_objects_deletes_nulls_and_replaces_arrays(
        gateway: GatewayUnderTest) -> None:
    base = await reset(gateway)
    async with gateway.client() as client:
        patch = {
            "agents": {"defaults": {"heartbeat": {"every": "45m", "target": None}}},
            "tools": {"deny": ["canvas", "browser"]},
        }
        try:
            result = await client.config_patch(patch, base.hash, timeout=60.0)
            answered = True
            assert result.ok
        except (GatewayUnavailable, GatewayTimeout):
            # protocol 3 restarts right after the write and may drop the answer
            answered = False
        assert answered or gateway.restarts_on_every_write
        after = await settle(client, old_hash=base.hash)

    heartbeat = dig(after.parsed, "agents.defaults.heartbeat")
    assert heartbeat == {"every": "45m", "prompt": "conformance base"}  # merged, null deleted
    assert dig(after.parsed, "tools.deny") == ["canvas", "browser"]  # replaced, not merged
    assert dig(after.parsed, "gateway.mode") == "local"  # untouched sibling kept
    oob = await gateway.read_config_out_of_band()
    assert oob["hash"] == after.hash


# ------------------------------------------------------------------------- reload / restart


async def test_hot_reload_keeps_the_process(gateway: GatewayUnderTest) -> None:
    base = await reset(gateway)
    async with gateway.client() as client:
        boot_before = client.hello.boot_id if client.hello else None
        sub = client.subscribe("config.changed", "shutdown")
        try:
            desired = with_changes(BASE, agents__defaults__heartbeat__every="55m")
            outcome = await operations.apply(client, desired, base.hash, timeout=APPLY_TIMEOUT)
            events = await drain(sub, 3.0)
        finally:
            sub.close()
        names = [e.event for e in events]
        assert outcome.health.healthy
        if gateway.restarts_on_every_write:
            assert outcome.restarted
            assert "shutdown" in names
        else:
            assert not outcome.restarted
            assert "shutdown" not in names
            assert client.hello is not None
            assert client.hello.boot_id == boot_before
        if gateway.emits_config_changed:
            changed = [e for e in events if e.event == "config.changed"]
            assert changed, names
            assert changed[-1].payload["hash"] == outcome.hash
        else:
            assert "config.changed" not in names
    oob = await gateway.read_config_out_of_band()
    assert oob["hash"] == outcome.hash
    assert dig(oob["parsed"], "agents.defaults.heartbeat.every") == "55m"


async def test_gateway_section_change_restarts_the_gateway(gateway: GatewayUnderTest) -> None:
    base = await reset(gateway)
    async with gateway.client() as client:
        assert client.hello is not None
        boot_before = client.hello.boot_id
        connections_before = client.connection_count
        sub = client.subscribe("shutdown")
        try:
            desired = with_changes(BASE, gateway__tailscale={"mode": "off"})
            outcome = await operations.apply(client, desired, base.hash, timeout=APPLY_TIMEOUT)
            shutdowns = await drain(sub, 1.0)
        finally:
            sub.close()
        assert outcome.restarted
        assert outcome.health.healthy
        assert shutdowns, "no shutdown event before the restart"
        notice = shutdowns[0].payload
        assert isinstance(notice.get("reason"), str)
        assert notice["reason"]
        assert client.connection_count > connections_before  # the client reconnected
        if gateway.has_boot_id:
            assert outcome.boot_id_before == boot_before
            assert outcome.boot_id_after
            assert outcome.boot_id_after != boot_before
        health = operations.summarize_health(await client.health())
        assert health.healthy
        after = await client.config_get()
    assert after.hash == outcome.hash
    oob = await gateway.read_config_out_of_band()
    assert oob["hash"] == outcome.hash
    assert dig(oob["parsed"], "gateway.tailscale.mode") == "off"


# ------------------------------------------------------------------------- health / events


async def test_health_reports_ok(gateway: GatewayUnderTest) -> None:
    async with gateway.client() as client:
        health = await client.health()
        observation = await operations.observe(client)
    assert health.get("ok") is True
    assert isinstance(health.get("ts"), int)
    assert operations.summarize_health(health).healthy
    assert observation.reachable
    assert observation.healthy
    assert observation.protocol == gateway.protocol
    assert observation.server_version == gateway.version
    assert observation.config_hash


async def test_tick_events_arrive_within_the_announced_interval(
        gateway: GatewayUnderTest) -> None:
    async with gateway.client() as client:
        assert client.hello is not None
        interval = client.hello.policy.tick_interval_ms / 1000.0
        sub = client.subscribe("tick")
        try:
            tick = await sub.next(timeout=interval * 1.5 + 5.0)
        finally:
            sub.close()
        assert tick.event == "tick"
        assert isinstance(tick.payload, dict)
        assert isinstance(tick.payload.get("ts"), int)
        assert client.connected
