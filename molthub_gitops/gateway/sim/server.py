"""A simulated OpenClaw Gateway over real WebSockets on loopback.

It speaks the protocol as captured from real gateways (openclaw 2026.9.6, protocol 4, and
2026.3.31, protocol 3; see /work/notes/gateway-findings.md): the ``connect.challenge``,
strict ``connect`` validation with the real error texts and close codes, token/password and
Ed25519 device authentication, ``hello-ok``, the ``config.*`` methods with ``baseHash``
concurrency, ``meta`` stamping, schema validation, redaction, rate limits, hot reload versus
restart (``shutdown`` event, close 1012, 1013 "gateway starting", new ``bootId``), ``tick``,
``health`` and ``config.changed`` events. Which generation it imitates follows the highest
protocol it speaks: 4 behaves like 2026.9.6, 3 like 2026.3.31.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hmac
import json
import os
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Final

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from molthub_gitops.gateway.sim.configstore import (
    ConfigStore,
    Profile,
    apply_merge_patch,
    destructive_array_paths,
    dump_config,
    leaf_changes,
)
from molthub_gitops.gateway.sim.device import DeviceProofError, verify_device
from molthub_gitops.gateway.sim.faults import SimFaults
from molthub_gitops.gateway.sim.frames import (
    CONNECT_PARAMS,
    METHOD_PARAMS,
    REQUEST_FRAME,
    format_errors,
    validate,
)
from molthub_gitops.gateway.sim.json5 import Json5Error, loads
from molthub_gitops.gateway.sim.payloads import (
    MAX_PAYLOAD,
    STATE_DIR,
    HealthInputs,
    HelloInputs,
    HelloTemplate,
    health_payload,
    random_token,
    status_payload,
    uuid4_str,
)
from molthub_gitops.gateway.sim.redact import RedactionError
from molthub_gitops.gateway.sim.reload import changed_paths, plan_kind
from molthub_gitops.gateway.sim.schema import compile_schema, summarize_issues

__all__ = ["SimWrite", "SimulatedGateway"]

CONFIG_PATH: Final = "/home/bot/.openclaw/openclaw.json"
HANDSHAKE_TIMEOUT_S: Final = 10.0
RATE_WINDOW_S: Final = 60.0
_WRITE_METHODS: Final = frozenset({"config.apply", "config.patch", "config.set"})
_RATE_LIMITED: Final = frozenset({"config.apply", "config.patch"})
_READ_SCOPE: Final = "operator.read"
_ADMIN_SCOPE: Final = "operator.admin"
_WRITE_SCOPE: Final = "operator.write"
_METHOD_SCOPES: Final[Mapping[str, str | None]] = {
    "health": None,
    "status": _READ_SCOPE,
    "config.get": _READ_SCOPE,
    "config.schema": _READ_SCOPE,
    "config.set": _ADMIN_SCOPE,
    "config.apply": _ADMIN_SCOPE,
    "config.patch": _ADMIN_SCOPE,
}
_DOCTOR_HINT: Final = (
    "Recommended follow-up: run openclaw doctor --non-interactive in a terminal or "
    "approvals-capable OpenClaw surface."
)
_RESTART_EXPECTED_MS: Final = 1500


_ENCODE: Final = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(value, ensure_ascii=False)`` without building an encoder per frame."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def _truncate_reason(reason: str, limit: int = 120) -> str:
    data = reason.encode("utf-8")
    if len(data) <= limit:
        return reason
    return data[: limit - 3].decode("utf-8", errors="ignore") + "..."


@dataclass
class SimWrite:
    """One config write the gateway accepted (for tests)."""

    method: str
    hash: str
    raw: str
    changed_paths: list[str]
    reload: str
    ts_ms: int


@dataclass
class _Reply:
    ok: bool
    payload: Any = None
    error: dict[str, Any] | None = None
    payload_json: str | None = None
    before: Callable[[], None] | None = None
    after: Callable[[], None] | None = None


class _Conn:
    """One authenticated client connection and its ordered outbound frames."""

    __slots__ = (
        "client_ip",
        "conn_id",
        "device_id",
        "flusher",
        "queue",
        "role",
        "scopes",
        "seq",
        "ws",
    )

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.conn_id = uuid4_str()
        self.seq = 0
        self.queue: deque[str] = deque()
        self.flusher: asyncio.Task[None] | None = None
        self.role = "operator"
        self.scopes: list[str] = []
        self.device_id: str | None = None
        remote = ws.remote_address
        self.client_ip = str(remote[0]) if isinstance(remote, tuple) and remote else "127.0.0.1"

    def post(self, frame: Mapping[str, Any]) -> None:
        """Queue a frame; frames leave in the order they were posted."""
        self.post_text(_ENCODE(frame))

    def post_text(self, text: str) -> None:
        """Queue an already serialized frame."""
        self.queue.append(text)
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.get_running_loop().create_task(self._flush())

    def event(self, name: str, payload: Any) -> None:
        self.seq += 1
        self.post({"type": "event", "event": name, "payload": payload, "seq": self.seq})

    async def _flush(self) -> None:
        try:
            while self.queue:
                await self.ws.send(self.queue.popleft())
        except ConnectionClosed:
            self.queue.clear()


class SimulatedGateway:
    """One simulated gateway: a WebSocket server on 127.0.0.1 holding one bot's config."""

    def __init__(
        self,
        *,
        token: str | None = None,
        password: str | None = None,
        version: str = "2026.9.6",
        protocol_range: tuple[int, int] = (3, 4),
        config: Mapping[str, Any] | None = None,
        schema: Mapping[str, Any] | None = None,
        tick_interval_ms: int = 30000,
        faults: SimFaults | None = None,
        name: str = "",
        env: Mapping[str, str] | None = None,
    ) -> None:
        if faults is None:
            faults = SimFaults(protocol_range=protocol_range)
        elif protocol_range != (3, 4):
            faults.protocol_range = protocol_range
        self.faults = faults
        self.name = name
        self.version = version
        self.tick_interval_ms = tick_interval_ms
        self._token = token
        self._password = password
        self._modern = faults.protocol_range[1] >= 4
        self._store = ConfigStore(
            profile=Profile(modern=self._modern, version=version),
            schema=compile_schema(schema),
            path=CONFIG_PATH,
            install_key=os.urandom(32),
            env=env,
            initial=config,
        )
        self.boot_id = uuid4_str()
        self.apply_count = 0
        self.writes: list[SimWrite] = []
        self.restart_count = 0
        self.healthy = True
        self.port = 0
        self.host = "127.0.0.1"
        self._state = "stopped"
        self._server: Server | None = None
        self._conns: set[_Conn] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tick_handle: asyncio.TimerHandle | None = None
        self._write_lock: asyncio.Lock | None = None
        self._restart_task: asyncio.Task[None] | None = None
        self._restart_pending = False
        self._buckets: dict[str, tuple[float, int]] = {}
        self._device_tokens: dict[str, str] = {}
        self._paired: set[str] = set()
        self.pending_pairing: dict[str, str] = {}
        self._started_at = time.monotonic()
        self._health_version = 1
        self._health_cache: tuple[tuple[int, bool], str] | None = None
        self._hello_cache: tuple[tuple[Any, ...], HelloTemplate] | None = None
        self._instance_id = uuid4_str()

    # -- public API ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT`` once started."""
        return f"ws://{self.host}:{self.port}"

    @property
    def config(self) -> dict[str, Any]:
        """The config file as written (``parsed``), including what the gateway stamped."""
        return copy.deepcopy(self._store.parsed)

    @property
    def raw(self) -> str | None:
        """The config file's text, ``None`` when there is no file."""
        return self._store.raw

    @property
    def config_hash(self) -> str:
        """The revision token ``config.get`` reports (what ``baseHash`` must match)."""
        return self._store.hash

    @property
    def store(self) -> ConfigStore:
        """The config file and its views (read-only use, for tests)."""
        return self._store

    def config_payload(self) -> dict[str, Any]:
        """What ``config.get`` answers right now (redacted like the real one)."""
        return copy.deepcopy(self._store.get_payload())

    @property
    def protocol(self) -> int:
        """The protocol this gateway answers with (its highest)."""
        return self.faults.protocol_range[1]

    @property
    def connections(self) -> int:
        """Number of authenticated clients."""
        return len(self._conns)

    @property
    def restarting(self) -> bool:
        return self._state == "starting"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (0 = a free port); returns when connections are accepted."""
        if self._server is not None:
            return
        self._write_lock = asyncio.Lock()
        self._server = await self._listen(host, port)
        sockname = self._server.sockets[0].getsockname()
        self.host, self.port = host, int(sockname[1])
        self._state = "ready"
        self._started_at = time.monotonic()

    async def _listen(self, host: str, port: int) -> Server:
        return await serve(
            self._handle,
            host,
            port,
            max_size=MAX_PAYLOAD,
            compression=None,
            ping_interval=None,
            close_timeout=1.0,
        )

    async def stop(self) -> None:
        """Send ``shutdown``, close every connection and stop listening."""
        if self._server is None:
            return
        conns = list(self._conns)
        for conn in conns:
            conn.event("shutdown", {"reason": "gateway stopping"})
        self._state = "stopped"
        self._cancel_tick()
        server, self._server = self._server, None
        server.close(close_connections=False)
        await asyncio.gather(*(self._close_conn(c, 1001, "gateway stopping") for c in conns))
        server.close(close_connections=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5.0)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5.0)
        self._conns.clear()

    async def __aenter__(self) -> SimulatedGateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def set_healthy(self, healthy: bool) -> None:
        """Turn health on or off; a change is announced with a ``health`` event."""
        if healthy != self.healthy:
            self.healthy = healthy
            self._broadcast_health()

    def approve_device(self, device_or_request_id: str) -> None:
        """Approve a pending pairing request (by request id or device id)."""
        device_id = self.pending_pairing.pop(device_or_request_id, device_or_request_id)
        for request, device in list(self.pending_pairing.items()):
            if device == device_id:
                del self.pending_pairing[request]
        self._paired.add(device_id)

    def edit_out_of_band(self, config: Mapping[str, Any] | str) -> None:
        """Someone edits the file by hand: new text and hash, announced like a watcher would.

        A mapping is written as the gateway writes JSON; a string is written verbatim (so a
        test can break the file). Restart-requiring changes restart the gateway.
        """
        raw = config if isinstance(config, str) else dump_config(config)
        before = self._runtime_view()
        self._store.load_text(raw)
        if not self._store.valid:
            return
        self._after_commit("edit", before)

    async def restart(self) -> None:
        """Restart: ``shutdown`` event, close 1012, 1013 "gateway starting", new ``bootId``."""
        running = self._restart_task
        if running is not None and not running.done():
            await asyncio.shield(running)
            return
        task = asyncio.get_running_loop().create_task(self._restart())
        self._restart_task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.shield(task)

    # -- restart and events -------------------------------------------------------------
    async def _restart(self) -> None:
        for conn in list(self._conns):
            conn.event(
                "shutdown",
                {"reason": "gateway restarting", "restartExpectedMs": _RESTART_EXPECTED_MS},
            )
        self._state = "starting"
        self._cancel_tick()
        conns = list(self._conns)
        self._conns.clear()
        await asyncio.gather(*(self._close_conn(c, 1012, "service restart") for c in conns))
        if self.faults.restart_refuse_s > 0 and self._server is not None:
            await self._refuse_for(self.faults.restart_refuse_s)
        await asyncio.sleep(max(0.0, self.faults.restart_duration_s))
        if self._server is None:
            return
        self.boot_id = uuid4_str()
        self.restart_count += 1
        self._started_at = time.monotonic()
        self._store.applied = self._store.source_config()
        self._state = "ready"

    async def _refuse_for(self, seconds: float) -> None:
        """Stop listening (connections are refused) for a while, then listen on the same port."""
        server = self._server
        assert server is not None
        server.close(close_connections=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5.0)
        await asyncio.sleep(seconds)
        if self._server is not server:  # stopped meanwhile
            return
        for attempt in range(50):
            try:
                fresh = await self._listen(self.host, self.port)
            except OSError:
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)
                continue
            if self._state == "stopped":
                fresh.close()
            else:
                self._server = fresh
            return

    async def _close_conn(self, conn: _Conn, code: int, reason: str) -> None:
        """Close after the frames already queued for this client (the shutdown notice) left."""
        flusher = conn.flusher
        if flusher is not None and not flusher.done():
            await asyncio.wait({flusher}, timeout=2.0)
        await self._close(conn.ws, code, reason)

    async def _close(self, ws: ServerConnection, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):  # no extra task, unlike wait_for
                await ws.close(code, _truncate_reason(reason))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _broadcast(self, name: str, payload: Any) -> None:
        for conn in list(self._conns):
            conn.event(name, payload)

    def _broadcast_health(self) -> None:
        self._health_version += 1
        if self._conns:
            self._broadcast("health", self._health())

    def _arm_tick(self) -> None:
        if self._tick_handle is None and self.tick_interval_ms > 0:
            loop = asyncio.get_running_loop()
            self._tick_handle = loop.call_later(self.tick_interval_ms / 1000, self._tick)

    def _tick(self) -> None:
        self._tick_handle = None
        if not self._conns or self._state != "ready":
            return
        self._broadcast("tick", {"ts": _now_ms()})
        self._arm_tick()

    def _cancel_tick(self) -> None:
        if self._tick_handle is not None:
            self._tick_handle.cancel()
            self._tick_handle = None

    def _health(self) -> dict[str, Any]:
        runtime = self._store.runtime_view()
        return health_payload(HealthInputs(self._modern, self.healthy, _now_ms(), runtime))

    def _health_json(self) -> str:
        """The ``health`` answer serialized; all but ``ts`` is cached while nothing changes."""
        key = (self._store.revision, self.healthy)
        cached = self._health_cache
        if cached is None or cached[0] != key:
            payload = self._health()
            rest = {k: v for k, v in payload.items() if k not in ("ok", "ts")}
            cached = (key, _ENCODE(rest)[1:])
            self._health_cache = cached
        ok = "true" if self.healthy else "false"
        tail = cached[1]
        return (
            f'{{"ok": {ok}, "ts": {_now_ms()}, {tail}'
            if tail != "}"
            else f'{{"ok": {ok}, "ts": {_now_ms()}}}'
        )

    def _runtime_view(self) -> dict[str, Any]:
        """The run-time config of the running gateway (what a reload diffs against)."""
        return self._store.runtime_config(self._store.applied, resolve=False)

    # -- connection handling ------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        conn: _Conn | None = None
        try:
            nonce = uuid4_str()
            challenge: dict[str, Any] = {"nonce": nonce, "ts": _now_ms()}
            if self._modern:
                challenge["capabilities"] = ["model-catalog-snapshot"]
            await ws.send(
                json.dumps({"type": "event", "event": "connect.challenge", "payload": challenge})
            )
            try:
                async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                    text = await ws.recv()
            except TimeoutError:
                await self._close(ws, 1008, "handshake timeout")
                return
            conn = await self._handshake(ws, text, nonce)
            if conn is None:
                return
            await self._serve(conn)
        except ConnectionClosed:
            pass
        finally:
            if conn is not None:
                self._conns.discard(conn)

    async def _reject(
        self, ws: ServerConnection, req_id: str, error: dict[str, Any], code: int, reason: str
    ) -> None:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps({"type": "res", "id": req_id, "ok": False, "error": error}))
        await self._close(ws, code, reason)

    async def _handshake(self, ws: ServerConnection, text: str | bytes, nonce: str) -> _Conn | None:
        try:
            frame = json.loads(text)
        except (ValueError, TypeError):
            await self._close(ws, 1008, "invalid request frame")
            return None
        if not isinstance(frame, dict) or validate(frame, REQUEST_FRAME):
            await self._close(ws, 1008, "invalid request frame")
            return None
        req_id = frame["id"]
        if frame["method"] != "connect":
            message = "invalid handshake: first request must be connect"
            await self._reject(ws, req_id, _error("INVALID_REQUEST", message), 1008, message)
            return None
        params = frame.get("params")
        errors = validate(params, CONNECT_PARAMS)
        if errors:
            if not self._modern:
                errors = [
                    e
                    if e[0] != "enum"
                    else (
                        "const",
                        e[1],
                        "must be equal to constant; at " + e[1] + ": must match a schema in anyOf",
                    )
                    for e in errors
                ]
            message = f"invalid connect params: {format_errors(errors)}"
            await self._reject(ws, req_id, _error("INVALID_REQUEST", message), 1008, message)
            return None
        assert isinstance(params, dict)
        if self._state == "starting":
            error = _error(
                "UNAVAILABLE",
                "gateway starting; retry shortly",
                retryable=True,
                retryAfterMs=500,
                details={"reason": "startup-sidecars"},
            )
            await self._reject(ws, req_id, error, 1013, "gateway starting")
            return None
        protocol = self._negotiate(params)
        if protocol is None:
            lo, hi = self.faults.protocol_range
            if self._modern:
                details: dict[str, Any] = {
                    "code": "PROTOCOL_MISMATCH",
                    "clientMinProtocol": params["minProtocol"],
                    "clientMaxProtocol": params["maxProtocol"],
                    "expectedProtocol": hi,
                    "minimumProbeProtocol": lo,
                }
            else:
                details = {"expectedProtocol": hi}
            error = _error("INVALID_REQUEST", "protocol mismatch", details=details)
            await self._reject(ws, req_id, error, 1002, "protocol mismatch")
            return None
        role = params.get("role") or "operator"
        if role not in ("operator", "node"):
            await self._reject(
                ws, req_id, _error("INVALID_REQUEST", "invalid role"), 1008, "invalid role"
            )
            return None
        scopes = list(params.get("scopes") or [])
        device = params.get("device")
        auth = params.get("auth") or {}
        auth_method = self._authenticate(auth, device)
        if isinstance(auth_method, dict):
            error = auth_method
            await self._reject(ws, req_id, error, 1008, error["message"])
            return None
        device_token: str | None = None
        if isinstance(device, dict):
            try:
                verify_device(
                    device,
                    client=params["client"],
                    role=role,
                    scopes=scopes,
                    auth=auth,
                    expected_nonce=nonce,
                    now_ms=_now_ms(),
                )
            except DeviceProofError as exc:
                error = _error("INVALID_REQUEST", exc.message, details=exc.details)
                await self._reject(ws, req_id, error, 1008, exc.message)
                return None
            device_id = str(device["id"])
            if self.faults.require_pairing and device_id not in self._paired:
                request_id = next(
                    (r for r, d in self.pending_pairing.items() if d == device_id),
                    uuid4_str(),
                )
                self.pending_pairing[request_id] = device_id
                message = "pairing required: device is not approved yet"
                details = {
                    "code": "PAIRING_REQUIRED",
                    "reason": "not-paired",
                    "requestId": request_id,
                    "remediationHint": "Approve this device from the pending pairing requests.",
                    "deviceId": device_id,
                    "requestedRole": role,
                    "requestedScopes": scopes,
                }
                await self._reject(
                    ws,
                    req_id,
                    _error("NOT_PAIRED", message, details=details),
                    1008,
                    f"{message} (requestId: {request_id})",
                )
                return None
            if not self._modern:
                device_token = self._device_tokens.setdefault(device_id, random_token())
                if _ADMIN_SCOPE in scopes:
                    scopes = sorted(set(scopes) | {_READ_SCOPE, _WRITE_SCOPE})
        elif self.faults.require_pairing:
            error = _error(
                "NOT_PAIRED",
                "device identity required",
                details={"code": "DEVICE_IDENTITY_REQUIRED"},
            )
            await self._reject(ws, req_id, error, 1008, "device identity required")
            return None
        elif not self._modern:
            scopes = []
        conn = _Conn(ws)
        conn.role = role
        conn.scopes = scopes
        conn.device_id = str(device["id"]) if isinstance(device, dict) else None
        hello = self._hello_template(protocol, auth_method, role, scopes, device_token).render(
            conn.conn_id, _now_ms(), int((time.monotonic() - self._started_at) * 1000)
        )
        if self._state != "ready":
            await self._close(ws, 1012, "service restart")
            return None
        self._conns.add(conn)
        conn.post_text(
            f'{{"type": "res", "id": {_ENCODE(req_id)}, "ok": true, "payload": {hello}}}'
        )
        if not self._modern:
            conn.event("health", self._health())
        self._arm_tick()
        return conn

    def _hello_template(
        self,
        protocol: int,
        auth_method: str,
        role: str,
        scopes: list[str],
        device_token: str | None,
    ) -> HelloTemplate:
        """The ``hello-ok`` for this state of the gateway (rebuilt when anything it shows
        changed; what differs per connection is filled in by :meth:`HelloTemplate.render`)."""
        applied = self._store.applied_hash() if self._modern else None
        key = (
            protocol,
            auth_method,
            role,
            tuple(scopes),
            device_token,
            self.boot_id,
            self._health_version,
            self.healthy,
            self._store.revision,
            applied,
            self.port,
            self.tick_interval_ms,
        )
        cached = self._hello_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        template = HelloTemplate(
            HelloInputs(
                modern=self._modern,
                protocol=protocol,
                version=self.version,
                boot_id=self.boot_id,
                conn_id="",
                health=self._health(),
                uptime_ms=0,
                now_ms=0,
                config_path=CONFIG_PATH,
                auth_mode=self._auth_mode(),
                auth_method=auth_method,
                role=role,
                scopes=scopes,
                device_token=device_token,
                applied_hash=applied,
                tick_interval_ms=self.tick_interval_ms,
                port=self.port,
                health_version=self._health_version,
                instance_id=self._instance_id,
            )
        )
        self._hello_cache = (key, template)
        return template

    def _auth_mode(self) -> str:
        if self._token is not None:
            return "token"
        if self._password is not None:
            return "password"
        return "none"

    def _negotiate(self, params: Mapping[str, Any]) -> int | None:
        lo, hi = self.faults.protocol_range
        cmin, cmax = int(params["minProtocol"]), int(params["maxProtocol"])
        if cmin <= hi <= cmax:
            return hi
        mode = params["client"].get("mode")
        if self._modern and mode in ("probe", "node"):
            common = min(cmax, hi)
            if common >= max(cmin, lo):
                return common
        return None

    def _auth_failure(self, reason: str, provided: str, has_device: bool) -> dict[str, Any]:
        kind, what = reason.split("_", 1)
        hint = f"provide gateway auth {kind}"
        message = f"unauthorized: gateway {kind} {what} ({hint})"
        can_retry = reason == "token_mismatch" and has_device and provided == "token"
        if can_retry:
            step = "retry_with_device_token"
        elif what == "missing":
            step = "update_auth_configuration"
        else:
            step = "update_auth_credentials"
        details = {
            "code": f"AUTH_{kind.upper()}_{what.upper()}",
            "authReason": reason,
            "canRetryWithDeviceToken": can_retry,
            "recommendedNextStep": step,
        }
        return _error("INVALID_REQUEST", message, details=details)

    def _authenticate(self, auth: Mapping[str, Any], device: Any) -> str | dict[str, Any]:
        """The auth method that succeeded, or the error to send."""
        mode = self._auth_mode()
        has_device = isinstance(device, dict)
        token, password = auth.get("token"), auth.get("password")
        provided = (
            "password"
            if password
            else "token"
            if token
            else "device-token"
            if auth.get("deviceToken")
            else "none"
        )
        if mode == "none":
            return "none"
        kind = mode
        if self.faults.refuse_auth:
            return self._auth_failure(f"{kind}_mismatch", provided, has_device)
        secret = self._token if mode == "token" else self._password
        assert secret is not None
        offered = token if mode == "token" else password
        if isinstance(offered, str) and offered:
            if hmac.compare_digest(offered.encode("utf-8"), secret.encode("utf-8")):
                return mode
            return self._auth_failure(f"{kind}_mismatch", provided, has_device)
        device_token = auth.get("deviceToken")
        if has_device and isinstance(device_token, str) and device_token:
            expected = self._device_tokens.get(str(device.get("id")))
            if expected is not None and hmac.compare_digest(
                device_token.encode(), expected.encode()
            ):
                return "device-token"
            return _error(
                "INVALID_REQUEST",
                "unauthorized: device token mismatch (rotate/reissue device token)",
                details={
                    "code": "AUTH_DEVICE_TOKEN_MISMATCH",
                    "authReason": "device_token_mismatch",
                    "canRetryWithDeviceToken": False,
                    "recommendedNextStep": "update_auth_credentials",
                },
            )
        if provided == "none" and not has_device:
            return _error(
                "NOT_PAIRED",
                "device identity required",
                details={"code": "DEVICE_IDENTITY_REQUIRED"},
            )
        if self._modern and mode == "token" and provided == "password":
            return self._auth_failure("token_mismatch", provided, has_device)
        return self._auth_failure(f"{kind}_missing", provided, has_device)

    async def _serve(self, conn: _Conn) -> None:
        async for message in conn.ws:
            try:
                frame = json.loads(message)
            except (ValueError, TypeError):
                continue
            errors = (
                validate(frame, REQUEST_FRAME)
                if isinstance(frame, dict)
                else [("type", "", "must be object")]
            )
            if errors:
                raw_id = frame.get("id") if isinstance(frame, dict) else None
                rid = raw_id if isinstance(raw_id, str) and raw_id else "invalid"
                error = _error("INVALID_REQUEST", f"invalid request frame: {format_errors(errors)}")
                conn.post({"type": "res", "id": rid, "ok": False, "error": error})
                continue
            if frame["method"] == "connect":
                error = _error("INVALID_REQUEST", "connect is only valid as the first request")
                conn.post({"type": "res", "id": frame["id"], "ok": False, "error": error})
                continue
            if self.faults.drop_connection_on == frame["method"]:
                self.faults.drop_connection_on = None
                self._conns.discard(conn)
                conn.ws.transport.abort()
                return
            self._spawn(self._dispatch(conn, frame))

    async def _dispatch(self, conn: _Conn, frame: Mapping[str, Any]) -> None:
        method: str = frame["method"]
        params = frame.get("params")
        try:
            reply = await self._call(conn, method, params)
        except Exception as exc:  # a simulator bug must not kill the connection silently
            reply = _Reply(
                False, error=_error("UNAVAILABLE", f"simulator error: {type(exc).__name__}")
            )
        delay = self.faults.response_delay_s
        if delay > 0:
            await asyncio.sleep(delay)
        if reply.before is not None:
            reply.before()
        if reply.ok and reply.payload_json is not None:
            rid = _ENCODE(frame["id"])
            conn.post_text(
                f'{{"type": "res", "id": {rid}, "ok": true, "payload": {reply.payload_json}}}'
            )
        elif reply.ok:
            conn.post({"type": "res", "id": frame["id"], "ok": True, "payload": reply.payload})
        else:
            conn.post({"type": "res", "id": frame["id"], "ok": False, "error": reply.error})
        if reply.after is not None:
            reply.after()

    def _scope_error(self, conn: _Conn, method: str) -> dict[str, Any] | None:
        required = _METHOD_SCOPES.get(method, _ADMIN_SCOPE)
        if required is None or _ADMIN_SCOPE in conn.scopes:
            return None
        if required == _READ_SCOPE and (_READ_SCOPE in conn.scopes or _WRITE_SCOPE in conn.scopes):
            return None
        if required in conn.scopes:
            return None
        message = f"missing scope: {required}"
        if not self._modern:
            return _error("INVALID_REQUEST", message)
        details = {"code": "MISSING_SCOPE", "missingScope": required, "requiredScopes": [required]}
        return _error("FORBIDDEN", message, details=details)

    def _rate_error(self, conn: _Conn, method: str) -> dict[str, Any] | None:
        if method not in _RATE_LIMITED:
            return None
        limit = self.faults.write_rate_limit
        if limit is None:
            limit = 30 if self._modern else 3
        if limit <= 0:
            return None
        bucket_method = method if self._modern else "config.write"
        key = f"{bucket_method}|{conn.device_id or 'unknown-device'}|{conn.client_ip}"
        now = time.monotonic()
        start, count = self._buckets.get(key, (now, 0))
        if now - start >= RATE_WINDOW_S:
            start, count = now, 0
        if count >= limit:
            retry_ms = max(0, int((start + RATE_WINDOW_S - now) * 1000))
            return _error(
                "UNAVAILABLE",
                f"rate limit exceeded for {method}; retry after {-(-retry_ms // 1000)}s",
                retryable=True,
                retryAfterMs=retry_ms,
                details={"method": method, "limit": f"{limit} per 60s"},
            )
        self._buckets[key] = (start, count + 1)
        return None

    async def _call(self, conn: _Conn, method: str, params: Any) -> _Reply:
        scope_error = self._scope_error(conn, method)
        if scope_error is not None:
            return _Reply(False, error=scope_error)
        rate_error = self._rate_error(conn, method)
        if rate_error is not None:
            return _Reply(False, error=rate_error)
        schema = METHOD_PARAMS.get(method)
        if schema is not None:
            errors = validate(params, schema)
            if errors:
                return _Reply(
                    False,
                    error=_error(
                        "INVALID_REQUEST", f"invalid {method} params: {format_errors(errors)}"
                    ),
                )
        if method == "health":
            return _Reply(True, payload_json=self._health_json())
        if method == "status":
            return _Reply(
                True,
                status_payload(
                    modern=self._modern,
                    version=self.version,
                    healthy=self.healthy,
                    now_ms=_now_ms(),
                ),
            )
        if method == "config.get":
            return _Reply(True, payload_json=self._store.get_payload_json())
        if method == "config.schema":
            return _Reply(True, self._store.schema.response(self.version))
        if method in _WRITE_METHODS:
            assert self._write_lock is not None
            async with self._write_lock:
                return self._write(method, params)
        return _Reply(False, error=_error("INVALID_REQUEST", f"unknown method: {method}"))

    # -- writes ---------------------------------------------------------------------------
    def _base_hash_error(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        if not self._store.exists:
            return None
        base = params.get("baseHash")
        base = base.strip() if isinstance(base, str) else ""
        if not base:
            return _error(
                "INVALID_REQUEST", "config base hash required; re-run config.get and retry"
            )
        if base != self._store.hash:
            return _error(
                "INVALID_REQUEST", "config changed since last load; re-run config.get and retry"
            )
        return None

    def _parse_raw(self, raw: str) -> tuple[Any, dict[str, Any] | None]:
        try:
            return loads(raw), None
        except Json5Error as exc:
            return None, _error("INVALID_REQUEST", f"SyntaxError: {exc}")

    def _invalid(self, config: Any) -> dict[str, Any] | None:
        issues = self._store.check(config)
        if not issues:
            return None
        return _error("INVALID_REQUEST", summarize_issues(issues), details={"issues": issues})

    def _write(self, method: str, params: Mapping[str, Any]) -> _Reply:
        store = self._store
        hashless_patch = (
            method == "config.patch"
            and self._modern
            and not (isinstance(params.get("baseHash"), str) and params["baseHash"].strip())
        )
        if not hashless_patch:
            error = self._base_hash_error(params)
            if error is not None:
                return _Reply(False, error=error)
        if method == "config.patch" and not store.valid:
            message = f"{summarize_issues(store.issues)}; fix (openclaw doctor) before patching"
            return _Reply(
                False, error=_error("INVALID_REQUEST", message, details={"issues": store.issues})
            )
        submitted, error = self._parse_raw(params["raw"])
        if error is not None:
            return _Reply(False, error=error)
        if method == "config.patch":
            return self._patch(params, submitted, hashless_patch)
        try:
            restored = store.redactor.restore(submitted, store.source_config())
        except RedactionError as exc:
            return _Reply(False, error=_error("INVALID_REQUEST", str(exc)))
        candidate = store.project_onto_source(restored) if isinstance(restored, dict) else restored
        error = self._invalid(candidate)
        if error is not None:
            return _Reply(False, error=error)
        assert isinstance(candidate, dict)
        return self._commit(method, params, candidate)

    def _patch(self, params: Mapping[str, Any], patch: Any, hashless: bool) -> _Reply:
        store = self._store
        if not isinstance(patch, dict):
            return _Reply(
                False, error=_error("INVALID_REQUEST", "config.patch raw must be an object")
            )
        replace = frozenset(
            p.strip()[:-2] if p.strip().endswith("[]") else p.strip()
            for p in params.get("replacePaths") or []
        )
        source = store.source_config()
        merged = apply_merge_patch(source, patch, replace)
        try:
            restored = store.redactor.restore(merged, source)
        except RedactionError as exc:
            return _Reply(False, error=_error("INVALID_REQUEST", str(exc)))
        runtime = self._runtime_view()
        destructive = [
            p
            for p in destructive_array_paths(
                runtime, patch, apply_merge_patch(runtime, patch, replace)
            )
            if p not in replace
        ]
        if destructive:
            message = (
                f"config.patch would remove entries from array path(s): {', '.join(destructive)}. "
                "Pass replacePaths with the exact path(s) when this is intentional, "
                "or use config.apply for full-config replacement."
            )
            return _Reply(False, error=_error("INVALID_REQUEST", message))
        leaf = leaf_changes(source, restored)
        if hashless:
            guarded = [p for p in leaf if not (p == "ui.prefs" or p.startswith("ui.prefs."))]
            if guarded or not leaf:
                if guarded:
                    message = (
                        f"config base hash required for {', '.join(guarded)}; "
                        "re-run config.get and retry with baseHash"
                    )
                else:
                    message = "config base hash required; re-run config.get and retry"
                return _Reply(False, error=_error("INVALID_REQUEST", message))
        if not leaf and self._modern:
            redacted, _ = store.redactor.redact(store.runtime_config(source))
            return _Reply(
                True,
                {
                    "ok": True,
                    "noop": True,
                    "changedPaths": [],
                    "path": store.path,
                    "config": redacted,
                },
            )
        error = self._invalid(restored)
        if error is not None:
            return _Reply(False, error=error)
        return self._commit("config.patch", params, restored)

    def _commit(self, method: str, params: Mapping[str, Any], candidate: dict[str, Any]) -> _Reply:
        store = self._store
        failure = self.faults.fail_next_apply
        if failure is not None:
            self.faults.fail_next_apply = None
            return _Reply(False, error=_error("UNAVAILABLE", failure))
        before = self._runtime_view()
        after = store.runtime_config(candidate, resolve=False)
        paths = changed_paths(before, after, modern=self._modern)
        raw = dump_config(store.stamp(store.split_roster(candidate)))
        store.load_text(raw)
        kind = plan_kind(paths, modern=self._modern) if paths else "none"
        self.apply_count += 1
        self.writes.append(SimWrite(method, store.hash, raw, paths, kind, _now_ms()))
        if self.faults.unhealthy_after_apply:
            self.faults.unhealthy_after_apply = False
            self.healthy = False
            self._health_version += 1
        redacted, _ = store.redactor.redact(store.source_config())
        payload: dict[str, Any] = {"ok": True, "path": store.path}
        if method != "config.set" or self._modern:
            payload["hash"] = store.hash
        payload["config"] = redacted
        changed = {"path": store.path, "hash": store.hash, "ts": _now_ms()}
        if method == "config.set":
            # config.set only writes the file; the watcher announces and reloads afterwards.
            return _Reply(True, payload, after=lambda: self._react(changed, kind, None))
        delay = params.get("restartDelayMs")
        delay_s = delay / 1000 if isinstance(delay, int) else None
        if not self._modern:
            return self._legacy_commit_reply(method, params, payload, delay_s)
        if method == "config.patch":
            payload["changedPaths"] = paths
        note = params.get("note")
        payload["sentinel"] = {
            "persisted": True,
            "payload": {
                "kind": "config-patch" if method == "config.patch" else "config-apply",
                "status": "ok",
                "ts": _now_ms(),
                "message": note if isinstance(note, str) else None,
                "doctorHint": _DOCTOR_HINT,
                "stats": {"mode": method, "root": store.path, "requiresRestart": kind == "restart"},
            },
        }
        if kind != "restart":
            # A hot reload is applied before the answer: config.changed arrives first.
            return _Reply(True, payload, before=lambda: self._react(changed, kind, None))
        return _Reply(True, payload, after=lambda: self._react(changed, kind, delay_s))

    def _legacy_commit_reply(
        self, method: str, params: Mapping[str, Any], payload: dict[str, Any], delay_s: float | None
    ) -> _Reply:
        """2026.3 answers apply/patch without a hash and always restarts (SIGUSR1)."""
        store = self._store
        delay = self.faults.restart_delay_s if delay_s is None else delay_s
        note = params.get("note")
        payload.pop("hash", None)
        payload["restart"] = {
            "ok": True,
            "pid": os.getpid(),
            "signal": "SIGUSR1",
            "delayMs": int(delay * 1000),
            "reason": method,
            "mode": "emit",
            "coalesced": self._restart_pending,
            "cooldownMsApplied": 0,
        }
        payload["sentinel"] = {
            "path": f"{STATE_DIR}/restart-sentinel.json",
            "payload": {
                "kind": "config-patch" if method == "config.patch" else "config-apply",
                "status": "ok",
                "ts": _now_ms(),
                "message": note if isinstance(note, str) else None,
                "doctorHint": _DOCTOR_HINT,
                "stats": {"mode": method, "root": store.path},
            },
        }
        changed = {"path": store.path, "hash": store.hash, "ts": _now_ms()}
        return _Reply(True, payload, after=lambda: self._react(changed, "restart", delay))

    def _react(self, changed: dict[str, Any], kind: str, restart_delay_s: float | None) -> None:
        """Announce a committed change (``config.changed``, health) and reload or restart.

        2026.3 has no ``config.changed`` event; it only reloads or restarts.
        """
        if self._modern:
            self._broadcast("config.changed", changed)
        if not self.healthy:
            self._broadcast_health()
        if kind == "restart":
            if self._restart_pending:
                return
            delay = self.faults.restart_delay_s if restart_delay_s is None else restart_delay_s
            self._restart_pending = True
            self._spawn(self._restart_after(delay))
        else:
            self._store.applied = self._store.source_config()

    async def _restart_after(self, delay: float) -> None:
        try:
            await asyncio.sleep(max(0.0, delay))
        finally:
            self._restart_pending = False
        await self.restart()

    def _after_commit(self, method: str, before: Mapping[str, Any]) -> None:
        """What the file watcher does after a write it did not make: announce, reload."""
        store = self._store
        after = store.runtime_unresolved()
        paths = changed_paths(before, after, modern=self._modern)
        kind = plan_kind(paths, modern=self._modern) if paths else "none"
        self.writes.append(SimWrite(method, store.hash, store.raw or "", paths, kind, _now_ms()))
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if kind != "restart":
                store.applied = store.source_config()
            return
        self._react({"path": store.path, "hash": store.hash, "ts": _now_ms()}, kind, None)
