"""Device identity for gateways that are not on loopback: an Ed25519 key and its signatures.

A remote gateway only lets a client in with a ``device`` block in ``connect``: the raw
public key (base64url, no padding), ``id`` = sha256 hex of that raw key, and a signature over
the challenge nonce. Two payload formats exist (read from the real gateway's
``packages/gateway-client/src/device-auth.ts``); the gateway tries v3, then v2:

* v2: ``v2|deviceId|clientId|clientMode|role|scopesCSV|signedAtMs|token|nonce``
* v3: ``v3|deviceId|clientId|clientMode|role|scopesCSV|signedAtMs|token|nonce|platform|
  deviceFamily``
  where platform and deviceFamily are trimmed and ASCII-lowercased (``""`` when absent).

``token`` is the token the gateway checks the signature against: ``auth.token``, else
``auth.deviceToken``, else ``""`` (a password is never part of the payload).

The key is created once and kept in a directory (``device-key.pem``, mode 0600); the
``deviceToken`` a gateway hands out in ``hello-ok`` after pairing is kept beside it
(``device-tokens.json``, 0600), one per gateway URL.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InternalError, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from molthub_gitops.errors import InputError, Location

__all__ = [
    "DeviceIdentity",
    "build_payload_v2",
    "build_payload_v3",
    "normalize_device_metadata",
]

KEY_FILE = "device-key.pem"
TOKEN_FILE = "device-tokens.json"  # noqa: S105 - a file name, not a secret


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def normalize_device_metadata(value: str | None) -> str:
    """Trim and lowercase ASCII letters only, as the gateway does before signing."""
    if not value:
        return ""
    trimmed = value.strip()
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in trimmed)


def build_payload_v2(
    *, device_id: str, client_id: str, client_mode: str, role: str, scopes: Sequence[str],
    signed_at_ms: int, token: str | None, nonce: str,
) -> str:
    return "|".join(
        ["v2", device_id, client_id, client_mode, role, ",".join(scopes),
         str(signed_at_ms), token or "", nonce]
    )


def build_payload_v3(
    *, device_id: str, client_id: str, client_mode: str, role: str, scopes: Sequence[str],
    signed_at_ms: int, token: str | None, nonce: str, platform: str | None,
    device_family: str | None,
) -> str:
    return "|".join(
        ["v3", device_id, client_id, client_mode, role, ",".join(scopes),
         str(signed_at_ms), token or "", nonce, normalize_device_metadata(platform),
         normalize_device_metadata(device_family)]
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


class DeviceIdentity:
    """An Ed25519 device key, optionally backed by a directory that also keeps device tokens."""

    def __init__(self, private_key: Ed25519PrivateKey, *, directory: Path | None = None) -> None:
        self._key = private_key
        self.directory = directory
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key_raw: bytes = raw
        self.public_key: str = _b64url(raw)
        self.device_id: str = hashlib.sha256(raw).hexdigest()

    def __repr__(self) -> str:
        where = f", directory={str(self.directory)!r}" if self.directory else ""
        return f"DeviceIdentity(device_id={self.device_id[:16]}...{where})"

    # ---------------------------------------------------------------- creation / storage

    @classmethod
    def generate(cls) -> DeviceIdentity:
        """A fresh in-memory identity (nothing stored)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, directory: str | os.PathLike[str]) -> DeviceIdentity:
        """Load the key from ``directory``, creating it (and the directory, 0700) the first time.

        A key file readable by others, or one that is not an unencrypted Ed25519 PEM key
        (garbage, encrypted, another algorithm), is an :class:`InputError` naming the file.
        """
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_path = path / KEY_FILE
        if key_path.exists():
            mode = key_path.stat().st_mode & 0o777
            if mode & 0o077:
                raise InputError.single(
                    "device-key-permissions",
                    f"device key is accessible by other users (mode {mode:o})",
                    Location(str(key_path)),
                    hint=f"chmod 600 {key_path}",
                )
            what = "not an Ed25519 key"
            try:
                key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            except TypeError:  # cryptography's answer to an encrypted key without a password
                key, what = None, "encrypted with a password"
            except UnsupportedAlgorithm:
                key, what = None, "a key of an unsupported algorithm"
            except (ValueError, InternalError):  # not PEM, or PEM that holds no valid key
                key, what = None, "not a valid PEM private key"
            if not isinstance(key, Ed25519PrivateKey):
                raise InputError.single(
                    "device-key-invalid",
                    f"device key file is {what}; molthub needs an unencrypted Ed25519 PEM "
                    "private key",
                    Location(str(key_path)),
                    hint=f"move {key_path} away; a new key is created on the next run "
                    "(and must be paired again)",
                )
            return cls(key, directory=path)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(key_path, pem)
        return cls(key, directory=path)

    # ---------------------------------------------------------------- signing

    def sign(self, payload: str) -> str:
        """Ed25519 signature of the UTF-8 payload, base64url without padding."""
        return _b64url(self._key.sign(payload.encode("utf-8")))

    def device_block(
        self, *, client_id: str, client_mode: str, role: str, scopes: Sequence[str],
        token: str | None, nonce: str, signed_at_ms: int, platform: str | None = None,
        device_family: str | None = None, version: str = "v3",
    ) -> dict[str, Any]:
        """The ``device`` block of ``connect``: id, publicKey, signature, signedAt, nonce."""
        common: dict[str, Any] = {
            "device_id": self.device_id, "client_id": client_id, "client_mode": client_mode,
            "role": role, "scopes": scopes, "signed_at_ms": signed_at_ms, "token": token,
            "nonce": nonce,
        }
        if version == "v3":
            payload = build_payload_v3(**common, platform=platform, device_family=device_family)
        elif version == "v2":
            payload = build_payload_v2(**common)
        else:
            raise ValueError(f"unknown device signature version {version!r}")
        return {
            "id": self.device_id,
            "publicKey": self.public_key,
            "signature": self.sign(payload),
            "signedAt": signed_at_ms,
            "nonce": nonce,
        }

    # ---------------------------------------------------------------- device tokens

    def _tokens(self) -> dict[str, Any]:
        if self.directory is None:
            return {}
        path = self.directory / TOKEN_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def device_token(self, gateway: str, role: str = "operator") -> str | None:
        """The device token a gateway issued to us earlier, if one is stored."""
        entry = self._tokens().get(f"{role} {gateway}")
        if isinstance(entry, dict) and isinstance(entry.get("token"), str):
            token: str = entry["token"]
            return token
        return None

    def store_device_token(
        self, gateway: str, token: str, *, role: str = "operator", scopes: Sequence[str] = (),
    ) -> None:
        """Keep a token from ``hello-ok.auth.deviceToken`` (no-op for in-memory identities)."""
        if self.directory is None:
            return
        tokens = self._tokens()
        tokens[f"{role} {gateway}"] = {"token": token, "role": role, "scopes": list(scopes)}
        _write_private(self.directory / TOKEN_FILE, json.dumps(tokens, indent=2).encode())

    def forget_device_token(self, gateway: str, role: str = "operator") -> None:
        if self.directory is None:
            return
        tokens = self._tokens()
        if tokens.pop(f"{role} {gateway}", None) is not None:
            _write_private(self.directory / TOKEN_FILE, json.dumps(tokens, indent=2).encode())
