"""The simulator's handshake: challenge, strict connect validation, auth, protocols, devices."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from simclient import TOKEN, Closed, Device, RawClient, connect_params, connected, get

from molthub_gitops.gateway.sim import SimFaults, SimulatedGateway


async def _reject(gw: SimulatedGateway, frame: Any) -> tuple[dict[str, Any] | None, Closed]:
    """Send one first frame; return the response (if any) and the close."""
    client = await RawClient.open(gw.url)
    await client.send(frame)
    response: dict[str, Any] | None = None
    try:
        response = await client.recv()
    except Closed as closed:
        return None, closed
    return response, await client.closed()


async def test_challenge_comes_first_with_nonce_ts_and_capabilities(gw: SimulatedGateway) -> None:
    client = await RawClient.open(gw.url)
    challenge = client.challenge
    assert challenge["type"] == "event"
    assert challenge["event"] == "connect.challenge"
    payload = challenge["payload"]
    assert set(payload) == {"nonce", "ts", "capabilities"}
    assert len(payload["nonce"]) == 36
    assert isinstance(payload["ts"], int)
    assert payload["capabilities"] == ["model-catalog-snapshot"]
    await client.close()


async def test_legacy_challenge_has_no_capabilities(legacy: SimulatedGateway) -> None:
    client = await RawClient.open(legacy.url)
    assert set(client.challenge["payload"]) == {"nonce", "ts"}
    await client.close()


async def test_hello_ok_has_the_real_structure(gw: SimulatedGateway) -> None:
    client = await connected(gw)
    hello = client.hello
    assert hello["type"] == "hello-ok"
    assert hello["protocol"] == 4
    assert set(hello["server"]) == {
        "version",
        "buildId",
        "bootId",
        "controlUiBuildSource",
        "connId",
    }
    assert hello["server"]["version"] == "2026.9.6"
    assert hello["server"]["bootId"] == gw.boot_id
    assert {"methods", "events"} <= set(hello["features"])
    assert {"health", "config.get", "config.apply", "config.patch"} <= set(
        hello["features"]["methods"]
    )
    assert {"maxPayload", "maxBufferedBytes", "tickIntervalMs"} <= set(hello["policy"])
    assert hello["policy"]["tickIntervalMs"] == 30000
    assert hello["auth"]["method"] == "token"
    assert hello["auth"]["scopes"] == ["operator.admin"]
    assert hello["snapshot"]["health"]["ok"] is True
    assert TOKEN not in json.dumps(hello)
    await client.close()


async def test_each_connection_gets_its_own_conn_id(gw: SimulatedGateway) -> None:
    first, second = await connected(gw), await connected(gw)
    assert first.hello["server"]["connId"] != second.hello["server"]["connId"]
    assert first.hello["server"]["bootId"] == second.hello["server"]["bootId"]
    assert gw.connections == 2
    await first.close()
    await second.close()


async def test_legacy_hello_has_no_boot_id_and_token_only_loses_scopes(
    legacy: SimulatedGateway,
) -> None:
    client = await connected(legacy)
    assert client.hello["protocol"] == 3
    assert set(client.hello["server"]) == {"version", "connId"}
    assert "auth" not in client.hello
    response = await client.request("config.get", {})
    assert response["error"] == {
        "code": "INVALID_REQUEST",
        "message": "missing scope: operator.read",
    }
    assert (await client.request("health", {}))["ok"]
    await client.close()


async def test_legacy_device_gets_admin_and_a_reusable_device_token(
    legacy: SimulatedGateway, device: Device
) -> None:
    client = await RawClient.open(legacy.url)
    params = connect_params(maxProtocol=3)
    params["device"] = device.block(params, client.nonce, version="v2")
    response = await client.connect(params)
    assert response["ok"], response
    auth = response["payload"]["auth"]
    assert set(auth) == {"deviceToken", "role", "scopes", "issuedAtMs"}
    assert "operator.admin" in auth["scopes"]
    assert (await client.request("config.get", {}))["ok"]
    await client.close()

    again = await RawClient.open(legacy.url)
    params = connect_params(maxProtocol=3, auth={"deviceToken": auth["deviceToken"]})
    params["device"] = device.block(params, again.nonce)
    assert (await again.connect(params))["ok"]
    await again.close()


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            {"type": "req", "id": "1", "method": "health", "params": {}},
            "invalid handshake: first request must be connect",
        ),
        (
            {"type": "req", "id": "1", "method": "connect", "params": connect_params(bogus=1)},
            "invalid connect params: at root: unexpected property 'bogus'",
        ),
        (
            {
                "type": "req",
                "id": "1",
                "method": "connect",
                "params": connect_params(minProtocol="3"),
            },
            "invalid connect params: at /minProtocol: must be integer",
        ),
        (
            {"type": "req", "id": "1", "method": "connect", "params": connect_params(role="bogus")},
            "invalid role",
        ),
    ],
)
async def test_bad_first_requests_are_answered_then_closed_1008(
    gw: SimulatedGateway, frame: dict[str, Any], message: str
) -> None:
    response, closed = await _reject(gw, frame)
    assert response == {
        "type": "res",
        "id": "1",
        "ok": False,
        "error": {"code": "INVALID_REQUEST", "message": message},
    }
    assert (closed.code, closed.reason) == (1008, message)


async def test_connect_params_client_block_is_strict(gw: SimulatedGateway) -> None:
    params = connect_params()
    params["client"] = dict(params["client"], id="nope", extra=1)
    del params["client"]["version"]
    response, closed = await _reject(
        gw, {"type": "req", "id": "x", "method": "connect", "params": params}
    )
    assert response is not None
    assert response["error"]["message"] == (
        "invalid connect params: at /client: must have required property 'version'; "
        "at /client: unexpected property 'extra'; "
        "at /client/id: must be equal to one of the allowed values"
    )
    assert closed.code == 1008
    missing = connect_params()
    del missing["client"]
    response, _ = await _reject(
        gw, {"type": "req", "id": "x", "method": "connect", "params": missing}
    )
    assert response is not None
    assert (
        response["error"]["message"]
        == "invalid connect params: must have required property 'client'"
    )


async def test_legacy_enum_errors_use_the_anyof_wording(legacy: SimulatedGateway) -> None:
    params = connect_params(maxProtocol=3)
    params["client"] = dict(params["client"], id="nope")
    response, _ = await _reject(
        legacy, {"type": "req", "id": "x", "method": "connect", "params": params}
    )
    assert response is not None
    assert response["error"]["message"] == (
        "invalid connect params: at /client/id: must be equal to constant; "
        "at /client/id: must match a schema in anyOf"
    )


@pytest.mark.parametrize(
    "frame", ["not json", {"foo": 1}, {"type": "req", "id": "1", "method": "connect", "extra": 1}]
)
async def test_non_request_first_frames_close_without_answer(
    gw: SimulatedGateway, frame: Any
) -> None:
    response, closed = await _reject(gw, frame)
    assert response is None
    assert (closed.code, closed.reason) == (1008, "invalid request frame")


async def test_wrong_token_is_rejected_like_the_real_gateway(gw: SimulatedGateway) -> None:
    frame = {
        "type": "req",
        "id": "c",
        "method": "connect",
        "params": connect_params(auth={"token": "wrong-token"}),
    }
    response, closed = await _reject(gw, frame)
    message = "unauthorized: gateway token mismatch (provide gateway auth token)"
    assert response == {
        "type": "res",
        "id": "c",
        "ok": False,
        "error": {
            "code": "INVALID_REQUEST",
            "message": message,
            "details": {
                "code": "AUTH_TOKEN_MISMATCH",
                "authReason": "token_mismatch",
                "canRetryWithDeviceToken": False,
                "recommendedNextStep": "update_auth_credentials",
            },
        },
    }
    assert (closed.code, closed.reason) == (1008, message)
    assert TOKEN not in json.dumps(response)
    assert "wrong-token" not in json.dumps(response)


async def test_missing_auth_without_device_needs_a_device(gw: SimulatedGateway) -> None:
    params = connect_params()
    del params["auth"]
    response, closed = await _reject(
        gw, {"type": "req", "id": "c", "method": "connect", "params": params}
    )
    assert response is not None
    assert response["error"] == {
        "code": "NOT_PAIRED",
        "message": "device identity required",
        "details": {"code": "DEVICE_IDENTITY_REQUIRED"},
    }
    assert closed.code == 1008


async def test_password_on_a_token_gateway(gw: SimulatedGateway, legacy: SimulatedGateway) -> None:
    frame = {
        "type": "req",
        "id": "c",
        "method": "connect",
        "params": connect_params(auth={"password": "pw"}),
    }
    response, _ = await _reject(gw, frame)
    assert response is not None
    assert response["error"]["details"]["code"] == "AUTH_TOKEN_MISMATCH"
    legacy_frame = {
        "type": "req",
        "id": "c",
        "method": "connect",
        "params": connect_params(maxProtocol=3, auth={"password": "pw"}),
    }
    response, _ = await _reject(legacy, legacy_frame)
    assert response is not None
    assert (
        response["error"]["message"]
        == "unauthorized: gateway token missing (provide gateway auth token)"
    )
    assert response["error"]["details"]["recommendedNextStep"] == "update_auth_configuration"


async def test_password_gateway_accepts_the_password_only() -> None:
    async with SimulatedGateway(password="s3cret-pass") as sim:
        client = await connected(sim, connect_params(auth={"password": "s3cret-pass"}))
        assert client.hello["auth"]["method"] == "password"
        assert client.hello["snapshot"]["authMode"] == "password"
        await client.close()
        frame = {
            "type": "req",
            "id": "c",
            "method": "connect",
            "params": connect_params(auth={"password": "nope"}),
        }
        response, closed = await _reject(sim, frame)
        assert response is not None
        assert (
            response["error"]["message"]
            == "unauthorized: gateway password mismatch (provide gateway auth password)"
        )
        assert response["error"]["details"]["code"] == "AUTH_PASSWORD_MISMATCH"
        assert closed.code == 1008


async def test_gateway_without_auth_accepts_anyone() -> None:
    async with SimulatedGateway() as sim:
        client = await connected(sim, connect_params(auth={}))
        assert client.hello["snapshot"]["authMode"] == "none"
        await client.close()


async def test_protocol_mismatch_modern(gw: SimulatedGateway) -> None:
    frame = {
        "type": "req",
        "id": "c",
        "method": "connect",
        "params": connect_params(minProtocol=5, maxProtocol=6),
    }
    response, closed = await _reject(gw, frame)
    assert response is not None
    assert response["error"] == {
        "code": "INVALID_REQUEST",
        "message": "protocol mismatch",
        "details": {
            "code": "PROTOCOL_MISMATCH",
            "clientMinProtocol": 5,
            "clientMaxProtocol": 6,
            "expectedProtocol": 4,
            "minimumProbeProtocol": 3,
        },
    }
    assert (closed.code, closed.reason) == (1002, "protocol mismatch")


async def test_protocol_3_only_backend_is_refused_by_a_protocol_4_gateway_but_a_probe_is_not(
    gw: SimulatedGateway,
) -> None:
    frame = {"type": "req", "id": "c", "method": "connect", "params": connect_params(maxProtocol=3)}
    response, closed = await _reject(gw, frame)
    assert response is not None
    assert response["error"]["details"]["code"] == "PROTOCOL_MISMATCH"
    assert closed.code == 1002
    probe = connect_params(
        maxProtocol=3,
        client={"id": "openclaw-probe", "version": "1", "platform": "linux", "mode": "probe"},
    )
    client = await connected(gw, probe)
    assert client.hello["protocol"] == 3
    await client.close()


async def test_legacy_gateway_answers_protocol_3_and_refuses_4_only(
    legacy: SimulatedGateway,
) -> None:
    client = await connected(legacy)
    assert client.hello["protocol"] == 3
    await client.close()
    frame = {
        "type": "req",
        "id": "c",
        "method": "connect",
        "params": connect_params(minProtocol=4, maxProtocol=4),
    }
    response, closed = await _reject(legacy, frame)
    assert response is not None
    assert response["error"] == {
        "code": "INVALID_REQUEST",
        "message": "protocol mismatch",
        "details": {"expectedProtocol": 3},
    }
    assert closed.code == 1002


@pytest.mark.parametrize("version", ["v3", "v2"])
async def test_valid_device_signatures_are_accepted(
    gw: SimulatedGateway, device: Device, version: str
) -> None:
    client = await RawClient.open(gw.url)
    params = connect_params(
        client={
            "id": "gateway-client",
            "version": "1",
            "platform": " Linux ",
            "mode": "backend",
            "deviceFamily": "Server",
        }
    )
    params["device"] = device.block(params, client.nonce, version=version)
    assert (await client.connect(params))["ok"]
    assert (await get(client))["exists"]
    await client.close()


@pytest.mark.parametrize(
    ("tamper", "message", "code"),
    [
        ({"device_id": "0" * 64}, "device identity mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH"),
        ({"signed_at": 1_000}, "device signature expired", "DEVICE_AUTH_SIGNATURE_EXPIRED"),
        ({"nonce": "another-nonce"}, "device nonce mismatch", "DEVICE_AUTH_NONCE_MISMATCH"),
        (
            {"token": "signed-with-another-token"},
            "device signature invalid",
            "DEVICE_AUTH_SIGNATURE_INVALID",
        ),
    ],
)
async def test_bad_device_proofs_are_refused(
    gw: SimulatedGateway, device: Device, tamper: dict[str, Any], message: str, code: str
) -> None:
    client = await RawClient.open(gw.url)
    params = connect_params()
    nonce = tamper.pop("nonce", client.nonce)
    params["device"] = device.block(params, nonce, **tamper)
    response = await client.connect(params)
    assert response["error"]["message"] == message
    assert response["error"]["details"]["code"] == code
    closed = await client.closed()
    assert (closed.code, closed.reason) == (1008, message)


async def test_signature_must_cover_the_requested_scopes(
    gw: SimulatedGateway, device: Device
) -> None:
    client = await RawClient.open(gw.url)
    params = connect_params(scopes=["operator.read"])
    params["device"] = device.block(params, client.nonce)
    params["scopes"] = ["operator.admin"]
    response = await client.connect(params)
    assert response["error"]["message"] == "device signature invalid"


async def test_pairing_required_until_approved(device: Device) -> None:
    async with SimulatedGateway(token=TOKEN, faults=SimFaults(require_pairing=True)) as sim:
        params = connect_params()
        response, closed = await _reject(
            sim, {"type": "req", "id": "c", "method": "connect", "params": params}
        )
        assert response is not None
        assert response["error"]["code"] == "NOT_PAIRED"
        assert response["error"]["details"] == {"code": "DEVICE_IDENTITY_REQUIRED"}

        client = await RawClient.open(sim.url)
        params["device"] = device.block(params, client.nonce)
        response = await client.connect(params)
        error = response["error"]
        assert error["code"] == "NOT_PAIRED"
        assert error["message"] == "pairing required: device is not approved yet"
        details = error["details"]
        assert details["code"] == "PAIRING_REQUIRED"
        assert details["reason"] == "not-paired"
        assert details["deviceId"] == device.device_id
        assert details["requestedScopes"] == ["operator.admin"]
        request_id = details["requestId"]
        closed = await client.closed()
        assert closed.code == 1008
        assert request_id in closed.reason
        assert sim.pending_pairing == {request_id: device.device_id}

        sim.approve_device(request_id)
        client = await RawClient.open(sim.url)
        params["device"] = device.block(params, client.nonce)
        assert (await client.connect(params))["ok"]
        assert sim.pending_pairing == {}
        await client.close()


async def test_handshake_times_out_into_1008(
    monkeypatch: pytest.MonkeyPatch, gw: SimulatedGateway
) -> None:
    monkeypatch.setattr("molthub_gitops.gateway.sim.server.HANDSHAKE_TIMEOUT_S", 0.2)
    client = await RawClient.open(gw.url)
    closed = await client.closed()
    assert (closed.code, closed.reason) == (1008, "handshake timeout")


async def test_device_signed_at_is_checked_against_the_clock(
    gw: SimulatedGateway, device: Device
) -> None:
    client = await RawClient.open(gw.url)
    params = connect_params()
    params["device"] = device.block(
        params, client.nonce, signed_at=int(time.time() * 1000) - 60_000
    )
    assert (await client.connect(params))["ok"]
    await client.close()
