"""A raw protocol client for the simulator tests, on the ``websockets`` library only.

The simulator must stand on its own: these tests do not use our gateway client."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.asyncio.client import ClientConnection

from molthub_gitops.gateway.sim import SimulatedGateway

TOKEN = "sim-test-token-0123456789abcdef"
WAIT = 5.0
REPO = Path(__file__).resolve().parents[2]


@cache
def openclaw_schema() -> dict[str, Any]:
    """The vendored OpenClaw 2026.9.6 config schema (one object for every test)."""
    data: dict[str, Any] = json.loads((REPO / "schemas" / "openclaw" / "2026.9.6.json").read_text())
    return data


def connect_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "minProtocol": 3,
        "maxProtocol": 4,
        "client": {
            "id": "gateway-client",
            "version": "0.1.0",
            "platform": "linux",
            "mode": "backend",
        },
        "role": "operator",
        "scopes": ["operator.admin"],
        "auth": {"token": TOKEN},
    }
    params.update(overrides)
    return params


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Device:
    """An Ed25519 device identity as a client holds it."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public_raw(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def device_id(self) -> str:
        return hashlib.sha256(self.public_raw).hexdigest()

    def block(
        self,
        params: dict[str, Any],
        nonce: str,
        *,
        version: str = "v3",
        signed_at: int | None = None,
        token: str | None = None,
        device_id: str | None = None,
    ) -> dict[str, Any]:
        signed = int(time.time() * 1000) if signed_at is None else signed_at
        auth = params.get("auth") or {}
        tok = token if token is not None else auth.get("token") or auth.get("deviceToken") or ""
        client = params["client"]
        fields = [
            version,
            device_id or self.device_id,
            client["id"],
            client["mode"],
            params.get("role", "operator"),
            ",".join(params.get("scopes", [])),
            str(signed),
            tok,
            nonce,
        ]
        if version == "v3":
            fields += [
                client["platform"].strip().lower(),
                str(client.get("deviceFamily", "")).strip().lower(),
            ]
        signature = self.key.sign("|".join(fields).encode())
        return {
            "id": device_id or self.device_id,
            "publicKey": b64url(self.public_raw),
            "signature": b64url(signature),
            "signedAt": signed,
            "nonce": nonce,
        }


class Closed(Exception):
    """The server closed the connection; code and reason as received."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code} {reason}")
        self.code = code
        self.reason = reason


class RawClient:
    """Speaks the gateway protocol with plain ``websockets``: frames in, frames out."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.challenge: dict[str, Any] = {}
        self.hello: dict[str, Any] = {}
        self._counter = 0

    @classmethod
    async def open(cls, url: str) -> RawClient:
        ws = await websockets.connect(url, proxy=None, open_timeout=WAIT, max_size=None)
        client = cls(ws)
        client.challenge = await client.recv()
        return client

    @property
    def nonce(self) -> str:
        nonce: str = self.challenge["payload"]["nonce"]
        return nonce

    async def recv(self, wait: float = WAIT) -> dict[str, Any]:
        try:
            text = await asyncio.wait_for(self.ws.recv(), wait)
        except websockets.ConnectionClosed as exc:
            frame = exc.rcvd
            raise Closed(frame.code if frame else None, frame.reason if frame else "") from exc
        data: dict[str, Any] = json.loads(text)
        return data

    async def send(self, frame: Any) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def request(
        self, method: str, params: Any = None, *, rid: str | None = None
    ) -> dict[str, Any]:
        self._counter += 1
        rid = rid or f"r{self._counter}-{uuid.uuid4().hex[:6]}"
        frame: dict[str, Any] = {"type": "req", "id": rid, "method": method}
        if params is not None:
            frame["params"] = params
        await self.send(frame)
        return await self.response(rid)

    async def response(self, rid: str, wait: float = WAIT) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no response to {rid}")
            frame = await self.recv(left)
            if frame.get("type") == "event":
                self.events.append(frame)
                continue
            if frame.get("id") == rid:
                return frame

    async def connect(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.request(
            "connect", params if params is not None else connect_params(), rid="connect"
        )
        if response.get("ok"):
            self.hello = response["payload"]
        return response

    async def event(self, name: str, wait: float = WAIT) -> dict[str, Any]:
        for index, frame in enumerate(self.events):
            if frame["event"] == name:
                return self.events.pop(index)
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no {name} event")
            frame = await self.recv(left)
            if frame.get("type") == "event" and frame.get("event") == name:
                return frame
            if frame.get("type") == "event":
                self.events.append(frame)

    async def closed(self, wait: float = WAIT) -> Closed:
        """Read until the server closes; return the close."""
        try:
            while True:
                frame = await self.recv(wait)
                if frame.get("type") == "event":
                    self.events.append(frame)
        except Closed as closed:
            return closed

    async def close(self) -> None:
        await self.ws.close()


async def connected(gw: SimulatedGateway, params: dict[str, Any] | None = None) -> RawClient:
    client = await RawClient.open(gw.url)
    response = await client.connect(params)
    assert response["ok"], response
    return client


async def get(client: RawClient) -> dict[str, Any]:
    response = await client.request("config.get", {})
    assert response["ok"], response
    payload: dict[str, Any] = response["payload"]
    return payload
