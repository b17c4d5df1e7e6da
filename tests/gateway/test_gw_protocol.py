"""Frames, connect params and error translation, checked against the recorded real session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from molthub_gitops.errors import (
    AuthenticationFailed,
    ConfigConflict,
    GatewayUnavailable,
    InvalidConfig,
    PairingRequired,
    ProtocolError,
    ProtocolMismatch,
    RequestFailed,
)
from molthub_gitops.gateway.protocol import (
    ErrorShape,
    EventFrame,
    ResponseFrame,
    build_connect_params,
    encode_request,
    error_from_close,
    error_from_response,
    parse_frame,
    parse_hello,
)

SESSION = Path(__file__).resolve().parent.parent / "data" / "openclaw-2026.9.6-session.jsonl"


def _session() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SESSION.read_text().splitlines() if line.strip()]


def _responses() -> dict[str, dict[str, Any]]:
    """Each recorded request's method -> its recorded response frame (first occurrence)."""
    rows = _session()
    by_id = {r["frame"]["id"]: r["frame"] for r in rows
             if r["dir"] == "recv" and r["frame"].get("type") == "res"}
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        f = r["frame"]
        if r["dir"] == "send" and f.get("type") == "req":
            key = f["method"]
            if key == "connect":
                key = f"connect:{f['params']['auth']['token']}"
            out.setdefault(key, by_id[f["id"]])
    return out


def test_connect_params_have_exactly_the_recorded_shape() -> None:
    sent = next(r["frame"]["params"] for r in _session()
                if r["dir"] == "send" and r["frame"].get("method") == "connect")
    ours = build_connect_params(
        min_protocol=3, max_protocol=4, client_id="gateway-client", client_version="0.1.0",
        platform="linux", client_mode="backend", role="operator", scopes=["operator.admin"],
        token=sent["auth"]["token"],
    )
    assert ours == sent


def test_connect_params_add_only_schema_keys() -> None:
    params = build_connect_params(
        min_protocol=3, max_protocol=4, client_id="gateway-client", client_version="1",
        platform="linux", client_mode="backend", role="operator", scopes=["operator.admin"],
        password="pw-secret", device_token="dt", device={"id": "x"},
    )
    assert set(params) == {"minProtocol", "maxProtocol", "client", "role", "scopes", "auth",
                           "device"}
    assert params["auth"] == {"password": "pw-secret", "deviceToken": "dt"}
    bare = build_connect_params(
        min_protocol=3, max_protocol=4, client_id="gateway-client", client_version="1",
        platform="linux", client_mode="backend", role="operator", scopes=[],
    )
    assert "auth" not in bare
    assert "device" not in bare


def test_recorded_hello_ok_parses() -> None:
    frame = _responses()["connect:testtoken123"]
    parsed = parse_frame(json.dumps(frame))
    assert isinstance(parsed, ResponseFrame)
    assert parsed.ok
    hello = parse_hello(parsed.payload)
    assert hello.protocol == 4
    assert hello.server_version == "2026.9.6"
    assert hello.boot_id == "7f2b983d-e51b-4733-a0d8-cc21bc53c326"
    assert "config.apply" in hello.methods
    assert "shutdown" in hello.events
    assert hello.policy.tick_interval_ms == 30000
    assert hello.policy.max_payload == 26214400
    assert hello.auth.role == "operator"
    assert hello.auth.scopes == ("operator.admin",)
    assert hello.auth.device_token is None
    assert hello.applied_config_hash
    assert hello.applied_config_hash.startswith("hmac-sha256:")
    assert hello.health["ok"] is True


def test_hello_without_boot_id_like_protocol_3() -> None:
    hello = parse_hello({"type": "hello-ok", "protocol": 3,
                         "server": {"version": "2026.3.31", "connId": "c"},
                         "features": {"methods": [], "events": []}, "snapshot": {},
                         "policy": {"maxPayload": 1, "maxBufferedBytes": 1,
                                    "tickIntervalMs": 30000}})
    assert hello.boot_id is None
    assert hello.protocol == 3
    assert hello.auth.role == ""


@pytest.mark.parametrize("payload", [None, {"type": "nope"}, {"type": "hello-ok"},
                                     {"type": "hello-ok", "protocol": "4", "server": {}}])
def test_malformed_hello_is_a_protocol_error(payload: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_hello(payload)


def test_recorded_errors_translate() -> None:
    responses = _responses()
    cases = {
        "connect:wrong-token": AuthenticationFailed,
        "config.patch": ConfigConflict,  # stale-hash
        "no.such.method": RequestFailed,
    }
    for key, cls in cases.items():
        frame = parse_frame(json.dumps(responses[key]))
        assert isinstance(frame, ResponseFrame)
        assert frame.error is not None
        err = error_from_response(frame.error, url="ws://gw", method=key.split(":")[0])
        assert type(err) is cls, key
        assert str(err).startswith("ws://gw: ")
    frame = parse_frame(json.dumps(responses["no.such.method"]))
    assert isinstance(frame, ResponseFrame)
    assert frame.error is not None
    err = error_from_response(frame.error, method="no.such.method")
    assert isinstance(err, RequestFailed)
    assert err.code == "INVALID_REQUEST"
    assert "unknown method: no.such.method" in str(err)


def test_real_error_shapes_translate() -> None:
    mismatch = ErrorShape("INVALID_REQUEST", "protocol mismatch",
                          {"code": "PROTOCOL_MISMATCH", "expectedProtocol": 4})
    assert isinstance(error_from_response(mismatch), ProtocolMismatch)
    old_mismatch = ErrorShape("INVALID_REQUEST", "protocol mismatch", {"expectedProtocol": 3})
    assert isinstance(error_from_response(old_mismatch), ProtocolMismatch)  # 2026.3.31

    pairing = ErrorShape("NOT_PAIRED", "pairing required: device is not approved yet",
                         {"code": "PAIRING_REQUIRED", "reason": "not-paired",
                          "requestId": "req-42", "deviceId": "d"})
    err = error_from_response(pairing)
    assert isinstance(err, PairingRequired)
    assert err.request_id == "req-42"
    assert "openclaw devices approve req-42" in str(err)

    identity = ErrorShape("NOT_PAIRED", "device identity required",
                          {"code": "DEVICE_IDENTITY_REQUIRED"})
    err = error_from_response(identity)
    assert isinstance(err, PairingRequired)
    assert err.request_id is None

    starting = ErrorShape("UNAVAILABLE", "gateway starting; retry shortly", {"reason":
                          "startup-sidecars"}, retryable=True, retry_after_ms=500)
    err = error_from_response(starting)
    assert isinstance(err, GatewayUnavailable)
    assert err.retry_after == 0.5
    assert err.retryable

    invalid = ErrorShape("INVALID_REQUEST", 'invalid config: <root>: Unrecognized key: "bogusKey"',
                         {"issues": [{"path": "", "message": 'Unrecognized key: "bogusKey"'}]})
    err = error_from_response(invalid, method="config.apply")
    assert isinstance(err, InvalidConfig)
    assert err.issues == ({"path": "", "message": 'Unrecognized key: "bogusKey"'},)

    required = ErrorShape("INVALID_REQUEST",
                          "config base hash required; re-run config.get and retry")
    assert isinstance(error_from_response(required), ConfigConflict)

    signature = ErrorShape("INVALID_REQUEST", "device signature invalid",
                           {"code": "DEVICE_AUTH_SIGNATURE_INVALID"})
    assert isinstance(error_from_response(signature), AuthenticationFailed)

    scope = ErrorShape("INVALID_REQUEST", "missing scope: operator.admin")
    err = error_from_response(scope, method="config.get")
    assert isinstance(err, RequestFailed)
    assert "missing scope" in str(err)


def test_error_text_is_scrubbed() -> None:
    shape = ErrorShape("INVALID_REQUEST", "bad token sekrit-value-123",
                       {"code": "AUTH_TOKEN_MISMATCH", "echo": "sekrit-value-123"})
    err = error_from_response(shape, scrub=lambda t: t.replace("sekrit-value-123", "***"))
    assert "sekrit-value-123" not in str(err)
    assert "sekrit-value-123" not in repr(err.details)


def test_close_codes_translate() -> None:
    assert isinstance(error_from_close(1013, "gateway starting"), GatewayUnavailable)
    assert isinstance(error_from_close(1012, "service restart"), GatewayUnavailable)
    assert isinstance(error_from_close(None, ""), GatewayUnavailable)
    assert isinstance(error_from_close(1002, "protocol mismatch"), ProtocolMismatch)
    assert isinstance(error_from_close(1002, "bad frame"), ProtocolError)
    assert isinstance(error_from_close(1008, "unauthorized: gateway token mismatch"),
                      AuthenticationFailed)
    err = error_from_close(1008, "pairing required: device is not approved yet "
                                 "(requestId: abc-1)")
    assert isinstance(err, PairingRequired)
    assert err.request_id == "abc-1"


def test_parse_frame_shapes() -> None:
    ev = parse_frame('{"type":"event","event":"tick","payload":{"ts":1},"seq":3}')
    assert ev == EventFrame("tick", {"ts": 1}, 3, None)
    assert parse_frame('{"type":"req","id":"x","method":"m"}') is None
    for bad in ("nope", "[1]", '{"type":"zzz"}', '{"type":"res","ok":true}',
                '{"type":"event"}'):
        with pytest.raises(ProtocolError):
            parse_frame(bad)
    err_frame = parse_frame('{"type":"res","id":"1","ok":false,"error":"weird"}')
    assert isinstance(err_frame, ResponseFrame)
    assert err_frame.error is not None
    assert err_frame.error.code == "UNKNOWN"


def test_encode_request_round_trips() -> None:
    text = encode_request("id-1", "config.get", None)
    assert json.loads(text) == {"type": "req", "id": "id-1", "method": "config.get",
                                "params": {}}
