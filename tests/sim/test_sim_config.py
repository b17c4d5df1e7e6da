"""The simulator's config methods: get, apply, patch, set, schema, redaction, rate limits."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from simclient import TOKEN, Device, RawClient, connect_params, connected, get, openclaw_schema

from molthub_gitops.gateway.sim import SENTINEL, SimFaults, SimulatedGateway

MODERN_GET_KEYS = [
    "path",
    "includedPaths",
    "includeProvenance",
    "agentRosterIncludeOwned",
    "bindingsIncludeOwned",
    "exists",
    "raw",
    "parsed",
    "sourceConfig",
    "resolved",
    "valid",
    "runtimeConfig",
    "config",
    "hash",
    "issues",
    "warnings",
    "legacyIssues",
    "configRevisionHash",
    "appliedConfigHash",
]
LEGACY_GET_KEYS = [
    "path",
    "exists",
    "raw",
    "parsed",
    "sourceConfig",
    "resolved",
    "valid",
    "runtimeConfig",
    "config",
    "hash",
    "issues",
    "warnings",
    "legacyIssues",
]


async def apply(
    client: RawClient,
    config: Any,
    base_hash: str | None,
    method: str = "config.apply",
    **extra: Any,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "raw": config if isinstance(config, str) else json.dumps(config),
        **extra,
    }
    if base_hash is not None:
        params["baseHash"] = base_hash
    return await client.request(method, params)


async def test_config_get_has_the_real_keys_in_order(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    payload = await get(client)
    assert list(payload) == MODERN_GET_KEYS
    assert payload["exists"] is True
    assert payload["valid"] is True
    assert payload["parsed"] == {
        "gateway": {"mode": "local"},
        "messages": {"ackReactionScope": "all"},
    }
    assert payload["sourceConfig"]["agents"] == {"entries": {"main": {}}}
    assert payload["config"]["agents"]["defaults"]["maxConcurrent"] == 8
    assert payload["raw"] == json.dumps(payload["parsed"], indent=2) + "\n"
    assert payload["hash"].startswith("hmac-sha256:v1:")
    assert payload["hash"] == gw.config_hash
    assert payload["configRevisionHash"].startswith("hmac-sha256:v1:")
    await client.close()


async def test_legacy_config_get_keys_and_plain_sha256(
    legacy: SimulatedGateway, device: Device
) -> None:
    client = await RawClient.open(legacy.url)
    params = connect_params(maxProtocol=3)
    params["device"] = device.block(params, client.nonce)
    assert (await client.connect(params))["ok"]
    payload = await get(client)
    assert list(payload) == LEGACY_GET_KEYS
    assert payload["hash"] == hashlib.sha256(payload["raw"].encode()).hexdigest()
    await client.close()


async def test_fresh_gateway_has_no_file_and_takes_a_first_write_without_base_hash() -> None:
    async with SimulatedGateway(token=TOKEN, schema=openclaw_schema()) as sim:
        client = await connected(sim)
        payload = await get(client)
        assert payload["exists"] is False
        assert payload["raw"] is None
        assert payload["parsed"] == {}
        assert "includeProvenance" not in payload
        response = await apply(client, {"gateway": {"mode": "local"}}, base_hash="anything")
        assert response["ok"], response
        parsed = (await get(client))["parsed"]
        assert parsed["gateway"] == {"mode": "local"}
        assert parsed["plugins"]["entries"]["anthropic"]["config"]["sessionCatalog"] == {
            "enabled": False
        }
        await client.close()


async def test_apply_stamps_meta_and_returns_the_real_shape(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    base = (await get(client))["hash"]
    desired = {
        "gateway": {"mode": "local"},
        "messages": {"ackReactionScope": "direct"},
        "agents": {"entries": {"main": {}}},
    }
    response = await apply(client, desired, base, note="from git")
    assert response["ok"], response
    payload = response["payload"]
    assert list(payload) == ["ok", "path", "hash", "config", "sentinel"]
    assert payload["sentinel"]["payload"]["kind"] == "config-apply"
    assert payload["sentinel"]["payload"]["message"] == "from git"
    assert payload["sentinel"]["payload"]["stats"] == {
        "mode": "config.apply",
        "root": "/home/bot/.openclaw/openclaw.json",
        "requiresRestart": False,
    }
    after = await get(client)
    assert payload["hash"] == after["hash"] == gw.config_hash != base
    assert after["parsed"] == {
        "gateway": {"mode": "local"},
        "messages": {"ackReactionScope": "direct"},
        "meta": {
            "migrations": {"modelPolicyAllowlist": True, "utilityModelSeparation": True},
            "lastTouchedVersion": "2026.9.6",
        },
    }
    assert gw.apply_count == 1
    assert gw.writes[-1].method == "config.apply"
    # the same document again gives the same file, hence the same hash (no timestamp in 2026.9)
    again = await apply(client, desired, after["hash"])
    assert again["payload"]["hash"] == after["hash"]
    await client.close()


async def test_legacy_apply_stamps_a_timestamp_answers_without_hash_and_restarts(
    legacy: SimulatedGateway, device: Device
) -> None:
    client = await RawClient.open(legacy.url)
    params = connect_params(maxProtocol=3)
    params["device"] = device.block(params, client.nonce)
    assert (await client.connect(params))["ok"]
    base = (await get(client))["hash"]
    response = await apply(client, {"gateway": {"mode": "local"}, "cron": {"enabled": True}}, base)
    payload = response["payload"]
    assert list(payload) == ["ok", "path", "config", "restart", "sentinel"]
    assert payload["restart"]["signal"] == "SIGUSR1"
    assert payload["restart"]["reason"] == "config.apply"
    assert set(payload["sentinel"]) == {"path", "payload"}
    assert "requiresRestart" not in payload["sentinel"]["payload"]["stats"]
    meta = legacy.config["meta"]
    assert set(meta) == {"lastTouchedVersion", "lastTouchedAt"}
    assert meta["lastTouchedVersion"] == "2026.3.31"
    assert meta["lastTouchedAt"].endswith("Z")
    assert (await client.event("shutdown"))["payload"]["restartExpectedMs"] == 1500
    assert (await client.closed()).code == 1012
    assert not [e for e in client.events if e["event"] == "config.changed"]


async def test_base_hash_rules(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    missing = await apply(client, {"gateway": {"mode": "local"}}, None)
    assert missing["error"] == {
        "code": "INVALID_REQUEST",
        "message": "config base hash required; re-run config.get and retry",
    }
    stale = await apply(client, {"gateway": {"mode": "local"}, "bogusKey": 1}, "stale-hash")
    assert stale["error"] == {
        "code": "INVALID_REQUEST",
        "message": "config changed since last load; re-run config.get and retry",
    }
    patch_stale = await apply(
        client, {"messages": {"ackReactionScope": "group-mentions"}}, "x", method="config.patch"
    )
    assert (
        patch_stale["error"]["message"]
        == "config changed since last load; re-run config.get and retry"
    )
    set_missing = await apply(client, {}, None, method="config.set")
    assert (
        set_missing["error"]["message"] == "config base hash required; re-run config.get and retry"
    )
    assert gw.apply_count == 0
    await client.close()


async def test_hand_edit_makes_the_read_hash_stale(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    base = (await get(client))["hash"]
    gw.edit_out_of_band({"gateway": {"mode": "local"}, "messages": {"ackReactionScope": "off"}})
    assert gw.config_hash != base
    response = await apply(client, {"gateway": {"mode": "local"}}, base)
    assert (
        response["error"]["message"]
        == "config changed since last load; re-run config.get and retry"
    )
    assert gw.config["messages"] == {"ackReactionScope": "off"}
    await client.close()


async def test_invalid_config_reports_issues_like_zod(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    base = (await get(client))["hash"]
    response = await apply(client, {"gateway": {"mode": "local"}, "bogusKey": 1}, base)
    assert response["error"] == {
        "code": "INVALID_REQUEST",
        "message": 'invalid config: <root>: Unrecognized key: "bogusKey"',
        "details": {"issues": [{"path": "", "message": 'Unrecognized key: "bogusKey"'}]},
    }
    response = await apply(
        client,
        {
            "messages": {"ackReactionScope": 5},
            "gateway": {"port": "x", "bind": "nope"},
            "a": 1,
            "b": 2,
        },
        base,
    )
    issues = response["error"]["details"]["issues"]
    assert {
        "path": "gateway.port",
        "message": "Invalid input: expected number, received string",
    } in issues
    assert issues[-1] == {"path": "", "message": 'Unrecognized keys: "a", "b"'}
    enum = next(i for i in issues if i["path"] == "messages.ackReactionScope")
    assert enum["message"].startswith('Invalid option: expected one of "group-mentions"|')
    assert enum["allowedValuesHiddenCount"] == 0
    assert "all" in enum["allowedValues"]
    assert response["error"]["message"].endswith("(+1 more issue)")
    response = await apply(client, {"gateway": {"port": 1.5}}, base)
    assert response["error"]["details"]["issues"] == [
        {"path": "gateway.port", "message": "Invalid input: expected int, received number"}
    ]
    response = await apply(client, "[1]", base)
    assert response["error"]["details"]["issues"] == [
        {"path": "", "message": "Invalid input: expected object, received array"}
    ]
    assert gw.apply_count == 0
    await client.close()


async def test_json5_raw_is_accepted_and_syntax_errors_use_the_json5_text(
    gw: SimulatedGateway,
) -> None:
    client = await connected(gw)
    base = (await get(client))["hash"]
    response = await apply(client, "{not json", base)
    assert response["error"] == {
        "code": "INVALID_REQUEST",
        "message": "SyntaxError: JSON5: invalid character 'j' at 1:6",
    }
    json5_text = (
        "{\n  // comment\n  gateway: {mode: 'local',},\n  messages: {ackReactionScope: \"off\"},\n}"
    )
    assert (await apply(client, json5_text, base))["ok"]
    assert gw.config["messages"] == {"ackReactionScope": "off"}
    await client.close()


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("config.get", {"x": 1}, "invalid config.get params: at root: unexpected property 'x'"),
        ("config.get", [1], "invalid config.get params: must be object"),
        (
            "config.schema",
            {"x": 1},
            "invalid config.schema params: at root: unexpected property 'x'",
        ),
        (
            "config.apply",
            {"raw": 5, "baseHash": "h"},
            "invalid config.apply params: at /raw: must be string",
        ),
        (
            "config.apply",
            {"raw": "", "baseHash": "h"},
            "invalid config.apply params: at /raw: must NOT have fewer than 1 characters",
        ),
        (
            "config.apply",
            {"raw": "{}", "bogus": 1},
            "invalid config.apply params: at root: unexpected property 'bogus'",
        ),
        (
            "config.set",
            {"raw": "{}", "note": "n"},
            "invalid config.set params: at root: unexpected property 'note'",
        ),
        (
            "config.patch",
            {"baseHash": "h"},
            "invalid config.patch params: must have required property 'raw'",
        ),
    ],
)
async def test_method_params_are_strict(
    gw: SimulatedGateway, method: str, params: Any, message: str
) -> None:
    client = await connected(gw)
    response = await client.request(method, params)
    assert response["error"] == {"code": "INVALID_REQUEST", "message": message}
    await client.close()


async def test_patch_is_a_merge_patch_with_id_keyed_arrays(gw: SimulatedGateway) -> None:
    gw.edit_out_of_band(
        {
            "gateway": {"mode": "local"},
            "messages": {"ackReactionScope": "all"},
            "cron": {"enabled": False},
            "bindings": [{"agentId": "main", "match": {"channel": "telegram"}}],
        }
    )
    client = await connected(gw)
    base = (await get(client))["hash"]
    response = await apply(
        client, {"cron": {"enabled": True}, "messages": None}, base, method="config.patch"
    )
    assert response["ok"], response
    assert set(response["payload"]["changedPaths"]) == {"messages.ackReactionScope", "cron.enabled"}
    parsed = gw.config
    assert parsed["cron"] == {"enabled": True}
    assert "messages" not in parsed
    assert parsed["gateway"] == {"mode": "local"}

    base = gw.config_hash
    shrink = await apply(client, {"bindings": []}, base, method="config.patch")
    assert shrink["error"]["message"].startswith(
        "config.patch would remove entries from array path(s): bindings."
    )
    replaced = await apply(
        client, {"bindings": []}, base, method="config.patch", replacePaths=["bindings"]
    )
    assert replaced["ok"], replaced
    assert gw.config["bindings"] == []
    await client.close()


async def test_patch_without_change_is_a_noop(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    base = (await get(client))["hash"]
    response = await apply(
        client, {"messages": {"ackReactionScope": "all"}}, base, method="config.patch"
    )
    payload = response["payload"]
    assert payload["noop"] is True
    assert payload["changedPaths"] == []
    assert gw.config_hash == base
    assert gw.apply_count == 0
    await client.close()


async def test_patch_without_base_hash_names_the_guarded_paths(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    response = await apply(
        client, {"messages": {"ackReactionScope": "off"}}, None, method="config.patch"
    )
    assert response["error"]["message"] == (
        "config base hash required for messages.ackReactionScope; "
        "re-run config.get and retry with baseHash"
    )
    response = await apply(client, [1], None, method="config.patch")
    assert response["error"]["message"] == "config.patch raw must be an object"
    await client.close()


async def test_config_set_writes_and_the_watcher_announces(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    base = (await get(client))["hash"]
    response = await apply(
        client, {"gateway": {"mode": "local"}, "cron": {"enabled": True}}, base, method="config.set"
    )
    assert response["ok"]
    assert list(response["payload"]) == ["ok", "path", "hash", "config"]
    event = await client.event("config.changed")
    assert event["payload"]["hash"] == gw.config_hash == response["payload"]["hash"]
    assert set(event["payload"]) == {"path", "hash", "ts"}
    await client.close()


async def test_secrets_are_redacted_and_restored_on_write() -> None:
    config = {
        "gateway": {"mode": "local", "auth": {"mode": "token", "token": "very-secret-value-123"}},
        "models": {
            "providers": {
                "openai": {
                    "apiKey": "${OPENAI_API_KEY}",
                    "baseUrl": "https://api.openai.com/v1",
                    "models": [],
                }
            }
        },
    }
    async with SimulatedGateway(token=TOKEN, config=config, schema=openclaw_schema()) as sim:
        client = await connected(sim)
        payload = await get(client)
        text = json.dumps(payload)
        assert "very-secret-value-123" not in text
        assert payload["parsed"]["gateway"]["auth"]["token"] == SENTINEL
        assert payload["config"]["gateway"]["auth"]["token"] == SENTINEL
        assert f'"token": "{SENTINEL}"' in payload["raw"]
        assert payload["parsed"]["models"]["providers"]["openai"]["apiKey"] == "${OPENAI_API_KEY}"
        # writing back the redacted document keeps the secret
        desired = json.loads(json.dumps(payload["parsed"]))
        desired["gateway"]["mode"] = "local"
        desired.pop("meta", None)
        response = await apply(client, desired, payload["hash"])
        assert response["ok"], response
        assert sim.config["gateway"]["auth"]["token"] == "very-secret-value-123"
        assert "very-secret-value-123" not in json.dumps(response)
        # a sentinel with nothing to restore is refused
        base = sim.config_hash
        bad = await apply(
            client, {"gateway": {"mode": "local", "remote": {"token": SENTINEL}}}, base
        )
        assert bad["error"] == {
            "code": "INVALID_REQUEST",
            "message": f'Sentinel value "{SENTINEL}" in key gateway.remote.token '
            "is not valid as real data",
        }
        await client.close()


async def test_env_references_must_resolve_when_an_environment_is_given() -> None:
    async with SimulatedGateway(token=TOKEN, env={"KNOWN": "x"}) as sim:
        client = await connected(sim)
        response = await apply(client, {"hooks": {"token": "${UNKNOWN_VAR}"}}, None)
        assert response["error"]["details"]["issues"] == [
            {
                "path": "hooks.token",
                "message": 'Missing env var "UNKNOWN_VAR" referenced at config path: hooks.token',
            }
        ]
        assert (await apply(client, {"hooks": {"token": "${KNOWN}"}}, None))["ok"]
        assert sim.config["hooks"]["token"] == "${KNOWN}"
        await client.close()


async def test_config_schema_returns_the_vendored_schema(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    response = await client.request("config.schema", {})
    payload = response["payload"]
    assert set(payload) == {"schema", "uiHints", "version", "generatedAt"}
    assert payload["schema"] == openclaw_schema()
    assert payload["version"] == "2026.9.6"
    await client.close()


async def test_scopes_are_enforced(gw: SimulatedGateway) -> None:
    reader = await connected(gw, connect_params(scopes=["operator.read"]))
    assert (await reader.request("config.get", {}))["ok"]
    denied = await reader.request("config.apply", {"raw": "{}", "baseHash": "x"})
    assert denied["error"] == {
        "code": "FORBIDDEN",
        "message": "missing scope: operator.admin",
        "details": {
            "code": "MISSING_SCOPE",
            "missingScope": "operator.admin",
            "requiredScopes": ["operator.admin"],
        },
    }
    unknown = await reader.request("no.such.method", {})
    assert unknown["error"]["code"] == "FORBIDDEN"
    nothing = await connected(gw, connect_params(scopes=[]))
    assert (await nothing.request("health", {}))["ok"]
    assert (await nothing.request("config.get", {}))["error"][
        "message"
    ] == "missing scope: operator.read"
    await reader.close()
    await nothing.close()


async def test_unknown_method(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    response = await client.request("no.such.method", {})
    assert response == {
        "type": "res",
        "id": response["id"],
        "ok": False,
        "error": {"code": "INVALID_REQUEST", "message": "unknown method: no.such.method"},
    }
    await client.close()


async def test_write_rate_limit_per_method_and_client() -> None:
    faults = SimFaults(write_rate_limit=2)
    async with SimulatedGateway(
        token=TOKEN, faults=faults, config={"gateway": {"mode": "local"}}
    ) as sim:
        client = await connected(sim)
        for _ in range(2):
            assert (await apply(client, {"x": 1}, "stale"))["error"]["message"].startswith("config")
        limited = await apply(client, {"x": 1}, "stale")
        error = limited["error"]
        assert error["code"] == "UNAVAILABLE"
        assert error["retryable"] is True
        assert error["message"] == "rate limit exceeded for config.apply; retry after 60s"
        assert error["details"] == {"method": "config.apply", "limit": "2 per 60s"}
        assert 0 < error["retryAfterMs"] <= 60_000
        assert (await apply(client, {"x": 1}, "stale", method="config.patch"))["error"][
            "code"
        ] == "INVALID_REQUEST"
        await client.close()


async def test_legacy_rate_limit_is_three_shared_by_apply_and_patch(
    legacy: SimulatedGateway, device: Device
) -> None:
    client = await RawClient.open(legacy.url)
    params = connect_params(maxProtocol=3)
    params["device"] = device.block(params, client.nonce)
    assert (await client.connect(params))["ok"]
    codes = [
        (await apply(client, {}, "stale", method=m))["error"]["code"]
        for m in ("config.apply", "config.patch", "config.apply", "config.patch")
    ]
    assert codes == ["INVALID_REQUEST", "INVALID_REQUEST", "INVALID_REQUEST", "UNAVAILABLE"]
    await client.close()


async def test_invalid_hand_edit_shows_invalid_and_blocks_patches(gw: SimulatedGateway) -> None:
    gw.edit_out_of_band('{"gateway": {"mode": "local"}, "bogus": 1}')
    client = await connected(gw)
    payload = await get(client)
    assert payload["valid"] is False
    assert payload["raw"] is None
    assert payload["parsed"] is None
    assert payload["issues"] == [{"path": "", "message": 'Unrecognized key: "bogus"'}]
    response = await apply(
        client, {"cron": {"enabled": True}}, payload["hash"], method="config.patch"
    )
    assert (
        response["error"]["message"] == 'invalid config: <root>: Unrecognized key: "bogus"; '
        "fix (openclaw doctor) before patching"
    )
    fixed = await apply(client, {"gateway": {"mode": "local"}}, payload["hash"])
    assert fixed["ok"], fixed
    assert (await get(client))["valid"] is True
    await client.close()
