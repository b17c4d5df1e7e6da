"""OpenClaw Gateway wire protocol: frame types, constants, and error-to-exception translation.

Everything here is pure: it turns JSON text into typed frames, builds the ``connect`` params
the real gateway accepts (its schema is closed: unknown keys are rejected), and maps the
gateway's error shapes and WebSocket close codes onto :mod:`molthub_gitops.errors`.
Facts come from the real ``openclaw@2026.9.6`` sources (``packages/gateway-protocol``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from molthub_gitops.errors import (
    AuthenticationFailed,
    ConfigConflict,
    GatewayError,
    GatewayUnavailable,
    InvalidConfig,
    PairingRequired,
    ProtocolError,
    ProtocolMismatch,
    RequestFailed,
)

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_POLICY_VIOLATION",
    "CLOSE_PROTOCOL_ERROR",
    "CLOSE_SERVICE_RESTART",
    "CLOSE_TICK_TIMEOUT",
    "CLOSE_TRY_AGAIN_LATER",
    "DEFAULT_TICK_INTERVAL_MS",
    "PROTOCOL_MAX",
    "PROTOCOL_MIN",
    "ErrorShape",
    "EventFrame",
    "Frame",
    "Hello",
    "HelloAuth",
    "Policy",
    "ResponseFrame",
    "build_connect_params",
    "encode_request",
    "error_from_close",
    "error_from_response",
    "parse_frame",
    "parse_hello",
]

PROTOCOL_MIN = 3
PROTOCOL_MAX = 4
DEFAULT_TICK_INTERVAL_MS = 30_000

# WebSocket close codes the gateway uses.
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002  # "protocol mismatch"
CLOSE_POLICY_VIOLATION = 1008  # auth failures, pairing, bad connect params
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN_LATER = 1013  # "gateway starting", work admission while restarting
CLOSE_TICK_TIMEOUT = 4000  # what the reference client uses when ticks stop

# Error codes in ``error.code``.
INVALID_REQUEST = "INVALID_REQUEST"
UNAVAILABLE = "UNAVAILABLE"
NOT_PAIRED = "NOT_PAIRED"
FORBIDDEN = "FORBIDDEN"

# Connect failure detail codes in ``error.details.code``.
DETAIL_PROTOCOL_MISMATCH = "PROTOCOL_MISMATCH"
DETAIL_PAIRING_REQUIRED = "PAIRING_REQUIRED"
DETAIL_DEVICE_IDENTITY_REQUIRED = "DEVICE_IDENTITY_REQUIRED"

CONFIG_CONFLICT_MARKERS = (
    "config changed since last load",
    "config base hash required",
    "config base hash unavailable",
)
INVALID_CONFIG_MARKER = "invalid config"

_PAIRING_REQUEST_ID = re.compile(r"\(requestId:\s*([A-Za-z0-9][A-Za-z0-9._:-]{0,127})\)")

Scrub = Callable[[str], str]


def _no_scrub(text: str) -> str:
    return text


# --------------------------------------------------------------------------- frames


@dataclass(frozen=True)
class ErrorShape:
    """``{code, message, details?, retryable?, retryAfterMs?}`` of a failed response."""

    code: str
    message: str
    details: Any = None
    retryable: bool = False
    retry_after_ms: int | None = None


@dataclass(frozen=True)
class ResponseFrame:
    """``{type:"res", id, ok, payload | error}``."""

    id: str
    ok: bool
    payload: Any = None
    error: ErrorShape | None = None


@dataclass(frozen=True)
class EventFrame:
    """``{type:"event", event, payload?, seq?, stateVersion?}``."""

    event: str
    payload: Any = None
    seq: int | None = None
    state_version: Mapping[str, Any] | None = None


Frame = ResponseFrame | EventFrame


def _parse_error(raw: Any) -> ErrorShape:
    if not isinstance(raw, dict):
        return ErrorShape(code="UNKNOWN", message="gateway sent an error without details")
    retry_after = raw.get("retryAfterMs")
    return ErrorShape(
        code=str(raw.get("code") or "UNKNOWN"),
        message=str(raw.get("message") or ""),
        details=raw.get("details"),
        retryable=raw.get("retryable") is True,
        retry_after_ms=int(retry_after) if isinstance(retry_after, int | float) else None,
    )


def parse_frame(text: str | bytes) -> Frame | None:
    """Parse one server frame; ``None`` for frames a client ignores (e.g. a server ``req``).

    Raises :class:`ProtocolError` for text that is not a JSON object with a known shape.
    """
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(
            f"gateway sent a frame that is not JSON ({exc.__class__.__name__})"
        ) from None
    if not isinstance(obj, dict):
        raise ProtocolError("gateway sent a frame that is not a JSON object")
    kind = obj.get("type")
    if kind == "res":
        frame_id = obj.get("id")
        ok = obj.get("ok")
        if not isinstance(frame_id, str) or not isinstance(ok, bool):
            raise ProtocolError("gateway sent a response frame without id/ok")
        error = None if ok else _parse_error(obj.get("error"))
        return ResponseFrame(id=frame_id, ok=ok, payload=obj.get("payload"), error=error)
    if kind == "event":
        name = obj.get("event")
        if not isinstance(name, str) or not name:
            raise ProtocolError("gateway sent an event frame without a name")
        seq = obj.get("seq")
        sv = obj.get("stateVersion")
        return EventFrame(
            event=name,
            payload=obj.get("payload"),
            seq=seq if isinstance(seq, int) else None,
            state_version=sv if isinstance(sv, dict) else None,
        )
    if kind == "req":
        return None
    raise ProtocolError(f"gateway sent a frame of unknown type {str(kind)[:40]!r}")


_ENCODE_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode_request(request_id: str, method: str, params: Mapping[str, Any] | None) -> str:
    """The text of a ``req`` frame (compact JSON; one shared encoder, not one per frame)."""
    return _ENCODE_COMPACT(
        {"type": "req", "id": request_id, "method": method, "params": dict(params or {})}
    )


def build_connect_params(
    *,
    min_protocol: int,
    max_protocol: int,
    client_id: str,
    client_version: str,
    platform: str,
    client_mode: str,
    role: str,
    scopes: Sequence[str],
    token: str | None = None,
    password: str | None = None,
    device_token: str | None = None,
    device: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``connect`` params with exactly the keys the gateway's closed schema accepts."""
    params: dict[str, Any] = {
        "minProtocol": min_protocol,
        "maxProtocol": max_protocol,
        "client": {
            "id": client_id,
            "version": client_version,
            "platform": platform,
            "mode": client_mode,
        },
        "role": role,
        "scopes": list(scopes),
    }
    auth: dict[str, str] = {}
    if token:
        auth["token"] = token
    if password:
        auth["password"] = password
    if device_token:
        auth["deviceToken"] = device_token
    if auth:
        params["auth"] = auth
    if device is not None:
        params["device"] = dict(device)
    return params


# --------------------------------------------------------------------------- hello-ok


@dataclass(frozen=True)
class Policy:
    """``hello-ok.policy``: limits the server announced."""

    tick_interval_ms: int = DEFAULT_TICK_INTERVAL_MS
    max_payload: int = 0
    max_buffered_bytes: int = 0


@dataclass(frozen=True)
class HelloAuth:
    """``hello-ok.auth``: what we were granted. ``device_token`` is a secret (not in repr)."""

    method: str | None = None
    role: str = ""
    scopes: tuple[str, ...] = ()
    device_token: str | None = field(default=None, repr=False)
    issued_at_ms: int | None = None


@dataclass(frozen=True)
class Hello:
    """The gateway's ``hello-ok`` answer to ``connect``."""

    protocol: int
    server_version: str
    boot_id: str | None
    conn_id: str
    build_id: str | None
    methods: frozenset[str]
    events: frozenset[str]
    capabilities: frozenset[str]
    policy: Policy
    auth: HelloAuth
    snapshot: Mapping[str, Any] = field(repr=False)

    @property
    def applied_config_hash(self) -> str | None:
        value = self.snapshot.get("appliedConfigHash")
        return value if isinstance(value, str) else None

    @property
    def health(self) -> Mapping[str, Any]:
        value = self.snapshot.get("health")
        return value if isinstance(value, dict) else {}


def _strings(value: Any) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(v for v in value if isinstance(v, str))


def parse_hello(payload: Any) -> Hello:
    """Turn a ``hello-ok`` payload into :class:`Hello`; :class:`ProtocolError` if malformed."""
    if not isinstance(payload, dict) or payload.get("type") != "hello-ok":
        raise ProtocolError("gateway answered connect without hello-ok")
    protocol = payload.get("protocol")
    server = payload.get("server")
    if not isinstance(protocol, int) or not isinstance(server, dict):
        raise ProtocolError("gateway hello-ok lacks protocol or server")
    features = payload.get("features") if isinstance(payload.get("features"), dict) else {}
    assert isinstance(features, dict)
    policy_raw = payload.get("policy") if isinstance(payload.get("policy"), dict) else {}
    assert isinstance(policy_raw, dict)
    tick = policy_raw.get("tickIntervalMs")
    policy = Policy(
        tick_interval_ms=tick if isinstance(tick, int) and tick > 0 else DEFAULT_TICK_INTERVAL_MS,
        max_payload=int(policy_raw.get("maxPayload") or 0),
        max_buffered_bytes=int(policy_raw.get("maxBufferedBytes") or 0),
    )
    auth_raw = payload.get("auth") if isinstance(payload.get("auth"), dict) else {}
    assert isinstance(auth_raw, dict)
    device_token = auth_raw.get("deviceToken")
    issued = auth_raw.get("issuedAtMs")
    auth = HelloAuth(
        method=auth_raw.get("method") if isinstance(auth_raw.get("method"), str) else None,
        role=str(auth_raw.get("role") or ""),
        scopes=tuple(sorted(_strings(auth_raw.get("scopes")))),
        device_token=device_token if isinstance(device_token, str) and device_token else None,
        issued_at_ms=issued if isinstance(issued, int) else None,
    )
    snapshot = payload.get("snapshot")
    boot_id = server.get("bootId")
    build_id = server.get("buildId")
    return Hello(
        protocol=protocol,
        server_version=str(server.get("version") or ""),
        boot_id=boot_id if isinstance(boot_id, str) else None,
        conn_id=str(server.get("connId") or ""),
        build_id=build_id if isinstance(build_id, str) else None,
        methods=_strings(features.get("methods")),
        events=_strings(features.get("events")),
        capabilities=_strings(features.get("capabilities")),
        policy=policy,
        auth=auth,
        snapshot=snapshot if isinstance(snapshot, dict) else {},
    )


# --------------------------------------------------------------------------- errors


def _detail_code(details: Any) -> str | None:
    if isinstance(details, dict):
        code = details.get("code")
        if isinstance(code, str) and code.strip():
            return code.strip()
    return None


def _scrub_obj(value: Any, scrub: Scrub) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {str(k): _scrub_obj(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_obj(v, scrub) for v in value]
    return value


def pairing_instructions(request_id: str | None) -> str:
    """What the operator must do to let this client in."""
    if request_id:
        return (
            f"approve pairing request {request_id} on the gateway host "
            f"(`openclaw devices approve {request_id}`, or the device.pair.approve method "
            "from an admin client), then retry"
        )
    return (
        "approve this device on the gateway host (`openclaw devices list`, then "
        "`openclaw devices approve <requestId>`), then retry"
    )


def error_from_response(
    error: ErrorShape,
    *,
    url: str = "",
    method: str = "",
    scrub: Scrub = _no_scrub,
) -> GatewayError:
    """Translate a response error into the matching :mod:`molthub_gitops.errors` class."""
    message = scrub(error.message) or error.code
    details: dict[str, Any] = {"code": error.code}
    if error.details is not None:
        details["details"] = _scrub_obj(error.details, scrub)
    if method:
        details["method"] = method
    detail_code = _detail_code(error.details)
    lowered = message.lower()
    where = f"{method}: " if method and method != "connect" else ""

    if detail_code == DETAIL_PROTOCOL_MISMATCH or (
        error.code == INVALID_REQUEST and lowered.startswith("protocol mismatch")
    ):  # protocol-3 gateways send no details.code
        return ProtocolMismatch(f"protocol mismatch: {message}", url=url, details=details)
    if (
        error.code == NOT_PAIRED
        or detail_code in (DETAIL_PAIRING_REQUIRED, DETAIL_DEVICE_IDENTITY_REQUIRED)
        or "pairing required" in lowered
    ):
        raw_details = error.details if isinstance(error.details, dict) else {}
        request_id = raw_details.get("requestId")
        if not isinstance(request_id, str) or not request_id:
            match = _PAIRING_REQUEST_ID.search(error.message)
            request_id = match.group(1) if match else None
        return PairingRequired(
            f"{message}; {pairing_instructions(request_id)}",
            request_id=request_id,
            url=url,
            details=details,
        )
    if detail_code is not None and (
        detail_code.startswith("AUTH_") or detail_code.startswith("DEVICE_AUTH_")
    ):
        return AuthenticationFailed(f"authentication failed: {message}", url=url, details=details)
    if error.code == INVALID_REQUEST and lowered.startswith("unauthorized"):
        return AuthenticationFailed(f"authentication failed: {message}", url=url, details=details)
    if error.code == UNAVAILABLE:
        retry_after = error.retry_after_ms / 1000.0 if error.retry_after_ms is not None else None
        return GatewayUnavailable(
            f"{where}gateway unavailable: {message}", retry_after=retry_after, url=url,
            details=details,
        )
    if error.code == INVALID_REQUEST and any(m in lowered for m in CONFIG_CONFLICT_MARKERS):
        return ConfigConflict(f"{where}{message}", url=url, details=details)
    issues: list[dict[str, Any]] = []
    if isinstance(error.details, dict) and isinstance(error.details.get("issues"), list):
        issues = [
            _scrub_obj(i, scrub) for i in error.details["issues"] if isinstance(i, dict)
        ]
    if error.code == INVALID_REQUEST and (lowered.startswith(INVALID_CONFIG_MARKER) or issues):
        return InvalidConfig(f"{where}{message}", issues=issues, url=url, details=details)
    return RequestFailed(
        f"{where}{error.code}: {message}",
        code=error.code,
        url=url,
        details=details,
        retryable=error.retryable,
    )


def error_from_close(
    code: int | None, reason: str, *, url: str = "", scrub: Scrub = _no_scrub
) -> GatewayError:
    """Translate a close of the socket (without an error response) into an exception."""
    reason = scrub(reason or "")
    text = f"connection closed ({code if code is not None else 'no close frame'}"
    text += f": {reason})" if reason else ")"
    details: dict[str, Any] = {"close_code": code, "close_reason": reason}
    lowered = reason.lower()
    if code == CLOSE_TRY_AGAIN_LATER:
        return GatewayUnavailable(f"gateway starting, {text}", url=url, details=details)
    if code == CLOSE_PROTOCOL_ERROR:
        if "protocol mismatch" in lowered:
            return ProtocolMismatch(f"protocol mismatch, {text}", url=url, details=details)
        return ProtocolError(text, url=url, details=details)
    if code == CLOSE_POLICY_VIOLATION:
        if "pairing required" in lowered:
            match = _PAIRING_REQUEST_ID.search(reason)
            request_id = match.group(1) if match else None
            return PairingRequired(
                f"{text}; {pairing_instructions(request_id)}",
                request_id=request_id, url=url, details=details,
            )
        if "unauthorized" in lowered or "auth" in lowered or "device" in lowered:
            return AuthenticationFailed(f"authentication failed, {text}", url=url, details=details)
        return ProtocolError(f"gateway refused the connection, {text}", url=url, details=details)
    return GatewayUnavailable(text, url=url, details=details)
