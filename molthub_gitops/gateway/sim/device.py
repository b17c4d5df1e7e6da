"""Checking a client's Ed25519 device proof the way the real gateway does.

Order and texts follow OpenClaw 2026.9.6 ``verifyGatewayConnectDeviceProof``: the id must be
the sha256 hex of the raw public key, ``signedAt`` within 120 s, the nonce the challenge's,
and the signature valid over the v3 payload (else the v2 payload).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["DeviceProofError", "signature_payloads", "verify_device"]

SKEW_MS: Final = 120_000
_CODES: Final = {
    "device-id-mismatch": "DEVICE_AUTH_DEVICE_ID_MISMATCH",
    "device-signature-stale": "DEVICE_AUTH_SIGNATURE_EXPIRED",
    "device-nonce-missing": "DEVICE_AUTH_NONCE_REQUIRED",
    "device-nonce-mismatch": "DEVICE_AUTH_NONCE_MISMATCH",
    "device-signature": "DEVICE_AUTH_SIGNATURE_INVALID",
    "device-public-key": "DEVICE_AUTH_PUBLIC_KEY_INVALID",
}


class DeviceProofError(Exception):
    """The device block is not a valid proof; ``message`` and ``details`` as the gateway sends."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.details = {"code": _CODES.get(reason, "DEVICE_AUTH_INVALID"), "reason": reason}


def _b64_decode(text: str) -> bytes | None:
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        return None


def _normalize_meta(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    trimmed = value.strip()
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in trimmed)


def signature_payloads(
    *,
    device_id: str,
    client: Mapping[str, Any],
    role: str,
    scopes: Sequence[str],
    signed_at_ms: int,
    token: str | None,
    nonce: str,
) -> tuple[str, str]:
    """The v3 and v2 texts a device signs (v3 adds platform and device family)."""
    common = [
        device_id,
        str(client.get("id", "")),
        str(client.get("mode", "")),
        role,
        ",".join(scopes),
        str(signed_at_ms),
        token or "",
        nonce,
    ]
    v3 = "|".join(
        [
            "v3",
            *common,
            _normalize_meta(client.get("platform")),
            _normalize_meta(client.get("deviceFamily")),
        ]
    )
    v2 = "|".join(["v2", *common])
    return v3, v2


def verify_device(
    device: Mapping[str, Any],
    *,
    client: Mapping[str, Any],
    role: str,
    scopes: Sequence[str],
    auth: Mapping[str, Any] | None,
    expected_nonce: str,
    now_ms: int,
) -> str:
    """Check the proof; return the payload version that verified (``v3`` or ``v2``)."""
    public_raw = _b64_decode(str(device.get("publicKey", "")))
    derived = (
        hashlib.sha256(public_raw).hexdigest()
        if public_raw is not None and len(public_raw) == 32
        else None
    )
    if derived is None or derived != device.get("id"):
        raise DeviceProofError("device-id-mismatch", "device identity mismatch")
    signed_at = device.get("signedAt")
    if not isinstance(signed_at, int) or abs(now_ms - signed_at) > SKEW_MS:
        raise DeviceProofError("device-signature-stale", "device signature expired")
    nonce = str(device.get("nonce", "")).strip()
    if not nonce:
        raise DeviceProofError("device-nonce-missing", "device nonce required")
    if nonce != expected_nonce:
        raise DeviceProofError("device-nonce-mismatch", "device nonce mismatch")
    auth = auth or {}
    token = auth.get("token") or auth.get("deviceToken") or auth.get("bootstrapToken")
    v3, v2 = signature_payloads(
        device_id=str(device["id"]),
        client=client,
        role=role,
        scopes=scopes,
        signed_at_ms=signed_at,
        token=token if isinstance(token, str) else None,
        nonce=nonce,
    )
    signature = _b64_decode(str(device.get("signature", "")))
    assert public_raw is not None
    key = Ed25519PublicKey.from_public_bytes(public_raw)
    for version, text in (("v3", v3), ("v2", v2)):
        if signature is None:
            break
        try:
            key.verify(signature, text.encode("utf-8"))
        except InvalidSignature:
            continue
        return version
    raise DeviceProofError("device-signature", "device signature invalid")
