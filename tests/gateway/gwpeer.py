"""A scripted WebSocket peer on loopback for client edge cases the simulator does not cover
(silence, garbage frames, out-of-order answers). Frames are the real gateway's shapes, taken
from the recorded session in shared/data."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve

Handler = Callable[[ServerConnection], Awaitable[None]]


def challenge() -> str:
    return json.dumps({"type": "event", "event": "connect.challenge",
                       "payload": {"nonce": str(uuid.uuid4()), "ts": 1795689092337}})


def hello_ok(req_id: str, *, protocol: int = 4, tick_ms: int = 30000,
             boot_id: str = "boot-1", device_token: str | None = None) -> str:
    auth: dict[str, Any] = {"method": "token", "role": "operator", "scopes": ["operator.admin"]}
    if device_token:
        auth["deviceToken"] = device_token
    return json.dumps({"type": "res", "id": req_id, "ok": True, "payload": {
        "type": "hello-ok", "protocol": protocol,
        "server": {"version": "2026.9.6", "bootId": boot_id, "connId": str(uuid.uuid4())},
        "features": {"methods": ["health", "config.get"], "events": ["tick", "shutdown"]},
        "snapshot": {"presence": [], "health": {"ok": True}, "stateVersion":
                     {"presence": 1, "health": 1}, "uptimeMs": 1},
        "auth": auth,
        "policy": {"maxPayload": 26214400, "maxBufferedBytes": 52428800,
                   "tickIntervalMs": tick_ms},
    }})


def res(req_id: str, payload: Any = None, *, error: dict[str, Any] | None = None) -> str:
    if error is not None:
        return json.dumps({"type": "res", "id": req_id, "ok": False, "error": error})
    return json.dumps({"type": "res", "id": req_id, "ok": True, "payload": payload})


async def handshake(ws: ServerConnection, **hello: Any) -> dict[str, Any]:
    """Send the challenge, read ``connect``, answer hello-ok; return the connect frame."""
    await ws.send(challenge())
    frame: dict[str, Any] = json.loads(await ws.recv())
    await ws.send(hello_ok(frame["id"], **hello))
    return frame


async def wait_until(condition: Callable[[], bool], limit: float = 5.0) -> None:
    """Poll ``condition`` until it holds; TimeoutError after ``limit`` seconds."""
    async with asyncio.timeout(limit):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


class ScriptedPeer:
    """Runs ``handler`` for each connection; ``connections`` counts them."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.frames: list[dict[str, Any]] = []
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.url = ""

    async def _serve(self, ws: ServerConnection) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self.handler(ws)
        except Exception:  # the client went away mid-script
            return

    async def __aenter__(self) -> ScriptedPeer:
        self._server = await serve(self._serve, "127.0.0.1", 0, compression=None)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        for task in self._tasks:
            task.cancel()
        self._server.close()
        async with asyncio.timeout(5):
            await self._server.wait_closed()
