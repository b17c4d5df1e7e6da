"""Device identity: key storage, payload formats (checked against the real gateway's own
code run by Node), signatures, device tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from molthub_gitops.errors import InputError
from molthub_gitops.gateway.identity import (
    DeviceIdentity,
    build_payload_v2,
    build_payload_v3,
    normalize_device_metadata,
)
from molthub_gitops.providers.openclaw_process import find_openclaw


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_key_is_created_once_with_private_permissions(tmp_path: Path) -> None:
    where = tmp_path / "ident"
    first = DeviceIdentity.load_or_create(where)
    key_file = where / "device-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(where.stat().st_mode) == 0o700
    again = DeviceIdentity.load_or_create(where)
    assert again.device_id == first.device_id
    assert again.public_key == first.public_key
    assert sorted(p.name for p in where.iterdir()) == ["device-key.pem"]


def test_id_and_public_key_encoding(tmp_path: Path) -> None:
    ident = DeviceIdentity.load_or_create(tmp_path)
    raw = _b64url_decode(ident.public_key)
    assert len(raw) == 32
    assert "=" not in ident.public_key
    assert len(ident.public_key) == 43
    assert ident.device_id == hashlib.sha256(raw).hexdigest()
    assert ident.device_id not in repr(ident)  # repr shows a prefix only


def test_group_readable_key_is_refused(tmp_path: Path) -> None:
    DeviceIdentity.load_or_create(tmp_path)
    os.chmod(tmp_path / "device-key.pem", 0o644)
    with pytest.raises(InputError) as info:
        DeviceIdentity.load_or_create(tmp_path)
    assert info.value.problems[0].code == "device-key-permissions"
    assert "chmod 600" in info.value.problems[0].hint


def test_garbage_key_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "device-key.pem"
    key.write_text("not a key")
    os.chmod(key, 0o600)
    with pytest.raises(InputError) as info:
        DeviceIdentity.load_or_create(tmp_path)
    assert info.value.problems[0].code == "device-key-invalid"


def test_payload_formats() -> None:
    common: dict[str, Any] = {
              "device_id": "dev", "client_id": "gateway-client", "client_mode": "backend",
              "role": "operator", "scopes": ["operator.admin", "operator.read"],
              "signed_at_ms": 1700000000123, "nonce": "n-1"}
    assert build_payload_v2(**common, token="tok") == (
        "v2|dev|gateway-client|backend|operator|operator.admin,operator.read|1700000000123|tok|n-1")
    assert build_payload_v3(**common, token=None, platform=" Linux ", device_family="MacBook") \
        == ("v3|dev|gateway-client|backend|operator|operator.admin,operator.read|"
            "1700000000123||n-1|linux|macbook")
    assert normalize_device_metadata("ÄB c") == "Äb c"  # ASCII letters only, like the gateway
    assert normalize_device_metadata(None) == ""


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_signature_verifies_over_the_payload(version: str) -> None:
    ident = DeviceIdentity.generate()
    block = ident.device_block(client_id="gateway-client", client_mode="backend",
                               role="operator", scopes=["operator.admin"], token="t0ken",
                               nonce="abc", signed_at_ms=42, platform="linux",
                               version=version)
    assert set(block) == {"id", "publicKey", "signature", "signedAt", "nonce"}
    assert block["signedAt"] == 42
    assert block["nonce"] == "abc"
    payload = (build_payload_v3 if version == "v3" else build_payload_v2)(
        device_id=ident.device_id, client_id="gateway-client", client_mode="backend",
        role="operator", scopes=["operator.admin"], signed_at_ms=42, token="t0ken",
        nonce="abc", **({"platform": "linux", "device_family": None} if version == "v3" else {}))
    key = Ed25519PublicKey.from_public_bytes(_b64url_decode(block["publicKey"]))
    key.verify(_b64url_decode(block["signature"]), payload.encode())  # raises if wrong
    with pytest.raises(ValueError, match="unknown device signature version"):
        ident.device_block(client_id="c", client_mode="m", role="r", scopes=[], token=None,
                           nonce="n", signed_at_ms=1, version="v9")


def test_device_tokens_are_kept_privately(tmp_path: Path) -> None:
    ident = DeviceIdentity.load_or_create(tmp_path)
    assert ident.device_token("ws://gw:1") is None
    ident.store_device_token("ws://gw:1", "dt-secret", scopes=["operator.admin"])
    assert stat.S_IMODE((tmp_path / "device-tokens.json").stat().st_mode) == 0o600
    reloaded = DeviceIdentity.load_or_create(tmp_path)
    assert reloaded.device_token("ws://gw:1") == "dt-secret"
    assert reloaded.device_token("ws://gw:1", role="node") is None
    reloaded.forget_device_token("ws://gw:1")
    assert DeviceIdentity.load_or_create(tmp_path).device_token("ws://gw:1") is None
    memory = DeviceIdentity.generate()
    memory.store_device_token("ws://gw:1", "x")  # no directory: nothing kept
    assert memory.device_token("ws://gw:1") is None


NODE_CHECK = r"""
import { n as v3, t as v2 } from "%(module)s";
import crypto from "node:crypto";
const input = JSON.parse(process.argv[2]);
const base = {deviceId: input.id, clientId: "gateway-client", clientMode: "backend",
  role: "operator", scopes: ["operator.admin", "operator.read"], signedAtMs: 1700000000123,
  token: "tok", nonce: "nonce-1"};
const p3 = v3({...base, platform: "Linux", deviceFamily: undefined});
const p2 = v2(base);
const key = crypto.createPublicKey({key: {kty: "OKP", crv: "Ed25519", x: input.publicKey},
  format: "jwk"});
const ok = (p, s) => crypto.verify(null, Buffer.from(p, "utf8"), key, Buffer.from(s, "base64url"));
console.log(JSON.stringify({p3, p2, ok3: ok(p3, input.sig3), ok2: ok(p2, input.sig2)}));
"""


@pytest.mark.real_gateway
def test_payloads_and_signatures_match_the_real_gateway_code(tmp_path: Path) -> None:
    install = find_openclaw("2026.9.6")
    if install is None:
        pytest.fail("openclaw@2026.9.6 is not installed: run scripts/install-openclaw.sh",
                    pytrace=False)
    dist = install.entry.parent / "dist"
    modules = [m for m in sorted(dist.glob("device-auth-*.mjs"))
               if "function buildDeviceAuthPayloadV3" in m.read_text(encoding="utf-8")]
    assert modules, "the real gateway's device-auth module moved"
    ident = DeviceIdentity.generate()
    common: dict[str, Any] = {
              "client_id": "gateway-client", "client_mode": "backend", "role": "operator",
              "scopes": ["operator.admin", "operator.read"], "token": "tok", "nonce": "nonce-1",
              "signed_at_ms": 1700000000123}
    b3 = ident.device_block(**common, platform="Linux", version="v3")
    b2 = ident.device_block(**common, version="v2")
    script = tmp_path / "check.mjs"
    script.write_text(NODE_CHECK % {"module": modules[0].as_uri()})
    out = subprocess.run(
        [str(install.node), str(script), json.dumps(
            {"id": ident.device_id, "publicKey": ident.public_key,
             "sig3": b3["signature"], "sig2": b2["signature"]})],
        capture_output=True, text=True, timeout=60, check=True,
    )
    got = json.loads(out.stdout)
    assert got["p3"] == build_payload_v3(device_id=ident.device_id, platform="Linux",
                                         device_family=None, **{
                                             k: v for k, v in common.items()})
    assert got["p2"] == build_payload_v2(device_id=ident.device_id, **common)
    assert got["ok3"] is True
    assert got["ok2"] is True


def _unknown_algorithm_pem() -> bytes:
    """An Ed25519 PKCS#8 key whose algorithm OID was changed to one no library knows."""
    der = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    ed25519_oid = b"\x06\x03\x2b\x65\x70"  # 1.3.101.112
    assert ed25519_oid in der
    der = der.replace(ed25519_oid, b"\x06\x03\x2b\x65\x7f")  # 1.3.101.127
    body = base64.encodebytes(der)
    return b"-----BEGIN PRIVATE KEY-----\n" + body + b"-----END PRIVATE KEY-----\n"


@pytest.mark.parametrize(("content", "words"), [
    (lambda: Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass-phrase")), "encrypted with a password"),
    (lambda: ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), "not an Ed25519 key"),
    (_unknown_algorithm_pem, "unsupported algorithm"),
    (lambda: b"\xff\xfe not even text", "not a valid PEM private key"),
])
def test_unusable_keys_are_input_errors_naming_the_file(
    tmp_path: Path, content: Callable[[], bytes], words: str
) -> None:
    key = tmp_path / "device-key.pem"
    key.write_bytes(content())
    os.chmod(key, 0o600)
    with pytest.raises(InputError) as info:
        DeviceIdentity.load_or_create(tmp_path)
    problem = info.value.problems[0]
    assert problem.code == "device-key-invalid"
    assert words in problem.message
    assert problem.location is not None
    assert problem.location.file == str(key)
    assert "move" in problem.hint
    assert str(key) in problem.hint
    key.rename(tmp_path / "old-key.pem")  # the hint works: a new identity is created
    assert DeviceIdentity.load_or_create(tmp_path).device_id
