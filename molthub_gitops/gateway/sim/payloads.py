"""Shapes of the simulator's answers (``hello-ok``, ``health``, ``status``), as the real ones.

The structures follow frames captured from openclaw 2026.9.6 (protocol 4) and 2026.3.31
(protocol 3): the same keys and value types, with simulated values.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

__all__ = [
    "EVENTS_LEGACY",
    "EVENTS_MODERN",
    "METHODS",
    "HealthInputs",
    "HelloTemplate",
    "health_payload",
    "hello_payload",
    "status_payload",
    "uuid4_str",
]

METHODS: Final = (
    "health",
    "status",
    "config.get",
    "config.set",
    "config.apply",
    "config.patch",
    "config.schema",
)
EVENTS_MODERN: Final = (
    "connect.challenge",
    "presence",
    "tick",
    "shutdown",
    "health",
    "heartbeat",
    "cron",
)
EVENTS_LEGACY: Final = (
    "connect.challenge",
    "presence",
    "tick",
    "shutdown",
    "health",
    "heartbeat",
    "cron",
)
CAPABILITIES: Final = ("gateway-restart-target-safe-v1", "model-catalog-snapshot")
STATE_DIR: Final = "/home/bot/.openclaw"
PLUGINS_LOADED: Final = ("anthropic", "browser", "canvas", "device-pair", "memory-core", "openai")
MAX_PAYLOAD: Final = 26_214_400
MAX_BUFFERED: Final = 52_428_800
_HEARTBEAT_PROMPT_MODERN: Final = (
    "Follow the heartbeat monitor scratch context when provided. "
    "If nothing needs attention, reply NO_REPLY."
)
_HEARTBEAT_PROMPT_LEGACY: Final = (
    "Read HEARTBEAT.md if it exists (workspace context). Follow it strictly. "
    "If nothing needs attention, reply HEARTBEAT_OK."
)
_CHANNEL_META_KEYS: Final = frozenset({"defaults", "modelByChannel"})


def uuid4_str() -> str:
    """A random (version 4) UUID as text, like ``str(uuid.uuid4())`` without the UUID object
    (the simulator makes several per connection)."""
    data = bytearray(os.urandom(16))
    data[6] = (data[6] & 0x0F) | 0x40
    data[8] = (data[8] & 0x3F) | 0x80
    h = data.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def random_token() -> str:
    """43 url-safe characters, like the gateway's ``recoveryScope`` and device tokens."""
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode("ascii")


@dataclass
class HealthInputs:
    """What a health report depends on."""

    modern: bool
    healthy: bool
    now_ms: int
    runtime_config: Mapping[str, Any]


def _agents(modern: bool) -> list[dict[str, Any]]:
    sessions_path = (
        f"{STATE_DIR}/agents/main/agent/openclaw-agent.sqlite"
        if modern
        else (f"{STATE_DIR}/agents/main/sessions/sessions.json")
    )
    return [
        {
            "agentId": "main",
            "isDefault": True,
            "heartbeat": {
                "enabled": True,
                "every": "30m",
                "everyMs": 1_800_000,
                "prompt": _HEARTBEAT_PROMPT_MODERN if modern else _HEARTBEAT_PROMPT_LEGACY,
                "target": "owner" if modern else "none",
                "ackMaxChars": 300,
            },
            "sessions": {"path": sessions_path, "count": 0, "recent": []},
        }
    ]


def _channels(
    config: Mapping[str, Any], healthy: bool
) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    channels = config.get("channels")
    if not isinstance(channels, Mapping):
        return {}, [], {}
    ids = [k for k, v in channels.items() if k not in _CHANNEL_META_KEYS and isinstance(v, Mapping)]
    report = {
        cid: {"configured": True, "running": healthy, "probe": {"ok": healthy}} for cid in ids
    }
    return report, ids, {cid: cid.capitalize() for cid in ids}


def health_payload(inputs: HealthInputs) -> dict[str, Any]:
    """The ``health`` result (and ``health`` event payload)."""
    channels, order, labels = _channels(inputs.runtime_config, inputs.healthy)
    agents = _agents(inputs.modern)
    sessions = dict(agents[0]["sessions"])
    payload: dict[str, Any] = {"ok": inputs.healthy, "ts": inputs.now_ms, "durationMs": 1}
    if inputs.modern:
        payload["plugins"] = {
            "loaded": list(PLUGINS_LOADED),
            "errors": [] if inputs.healthy else [{"id": "simulated", "error": "simulated fault"}],
            "unavailable": [],
        }
        payload["configReload"] = {"hotReloadStatus": "active"}
    payload.update(
        channels=channels,
        channelOrder=order,
        channelLabels=labels,
        heartbeatSeconds=1800,
        defaultAgentId="main",
        agents=agents,
        sessions=sessions,
    )
    if inputs.modern:
        payload["modelRuntime"] = {"degraded": False, "pendingAgents": []}
        payload["eventLoop"] = _event_loop(inputs.healthy, inputs.now_ms)
    return payload


@dataclass
class HelloInputs:
    """What a ``hello-ok`` depends on."""

    modern: bool
    protocol: int
    version: str
    boot_id: str
    conn_id: str
    health: Mapping[str, Any]
    uptime_ms: int
    now_ms: int
    config_path: str
    auth_mode: str
    auth_method: str
    role: str
    scopes: Sequence[str]
    device_token: str | None
    applied_hash: str | None
    tick_interval_ms: int
    port: int
    health_version: int
    instance_id: str
    recovery_scope: str | None = None  # random when None
    canvas_token: str | None = None  # random when None


def hello_payload(inputs: HelloInputs) -> dict[str, Any]:
    """The ``hello-ok`` payload of a successful ``connect``."""
    presence = [
        {
            "host": "sim",
            "ip": "127.0.0.1",
            "version": inputs.version,
            "platform": "linux",
            "deviceFamily": "Linux",
            "mode": "gateway",
            "reason": "self",
            "text": f"Gateway: sim (127.0.0.1) · app {inputs.version} · mode gateway · reason self",
            "ts": inputs.now_ms,
        }
    ]
    if inputs.modern:
        presence[0] = {**presence[0], "instanceId": inputs.instance_id}
        presence[0]["text"] = presence[0].pop("text")
        presence[0]["ts"] = presence[0].pop("ts")
    else:
        presence[0] = {**presence[0], "modelIdentifier": "x64"}
    events = EVENTS_MODERN if inputs.modern else EVENTS_LEGACY
    if inputs.modern:
        canvas_token = inputs.canvas_token or random_token()
        snapshot: dict[str, Any] = {
            "suspension": {"phase": "accepting"},
            "presence": presence,
            # the snapshot holds the periodic health report, which has no modelRuntime
            "health": {k: v for k, v in inputs.health.items() if k != "modelRuntime"},
            "stateVersion": {"presence": 1, "health": inputs.health_version},
            "uptimeMs": inputs.uptime_ms,
            "appliedConfigHash": inputs.applied_hash,
            "sessionDefaults": {
                "defaultAgentId": "main",
                "modelConfigured": False,
                "ownership": "sole",
                "selectionRequired": False,
                "mainKey": "main",
                "mainSessionKey": "agent:main:main",
                "scope": "per-sender",
            },
            "updateSchedule": {
                "channel": "stable",
                "autoEnabled": False,
                "install": {"kind": "package"},
            },
            "configPath": inputs.config_path,
            "stateDir": STATE_DIR,
            "authMode": inputs.auth_mode,
        }
        return {
            "type": "hello-ok",
            "protocol": inputs.protocol,
            "server": {
                "version": inputs.version,
                "buildId": f"{inputs.version}-simulated",
                "bootId": inputs.boot_id,
                "controlUiBuildSource": "bundled",
                "connId": inputs.conn_id,
            },
            "features": {
                "methods": list(METHODS),
                "events": list(events),
                "capabilities": list(CAPABILITIES),
            },
            "snapshot": snapshot,
            "controlUiWidgetKinds": [],
            "controlUiLinkReaders": [],
            "pluginSurfaceUrls": {
                "canvas": f"http://127.0.0.1:{inputs.port}/__openclaw__/cap/{canvas_token}"
            },
            "auth": {
                "method": inputs.auth_method,
                "role": inputs.role,
                "scopes": list(inputs.scopes),
                "recoveryScope": inputs.recovery_scope or random_token(),
            },
            "policy": {
                "maxPayload": MAX_PAYLOAD,
                "maxBufferedBytes": MAX_BUFFERED,
                "tickIntervalMs": inputs.tick_interval_ms,
                "attachments": {"maxBytes": 19_464_192, "maxImageBytes": 6_291_456},
                "allowedSessionVisibilities": ["shared", "read-only", "suggest", "draft"],
                "hasMultipleSessionSharingIdentities": False,
            },
        }
    hello: dict[str, Any] = {
        "type": "hello-ok",
        "protocol": inputs.protocol,
        "server": {"version": inputs.version, "connId": inputs.conn_id},
        "features": {"methods": list(METHODS), "events": list(events)},
        "snapshot": {
            "presence": presence,
            "health": dict(inputs.health),
            "stateVersion": {"presence": 1, "health": inputs.health_version},
            "uptimeMs": inputs.uptime_ms,
            "configPath": inputs.config_path,
            "stateDir": STATE_DIR,
            "sessionDefaults": {
                "defaultAgentId": "main",
                "mainKey": "main",
                "mainSessionKey": "agent:main:main",
                "scope": "per-sender",
            },
            "authMode": inputs.auth_mode,
        },
        "canvasHostUrl": f"http://127.0.0.1:{inputs.port}",
        "policy": {
            "maxPayload": MAX_PAYLOAD,
            "maxBufferedBytes": MAX_BUFFERED,
            "tickIntervalMs": inputs.tick_interval_ms,
        },
    }
    if inputs.device_token is not None:
        hello["auth"] = {
            "deviceToken": inputs.device_token,
            "role": inputs.role,
            "scopes": list(inputs.scopes),
            "issuedAtMs": inputs.now_ms,
        }
    return hello


_ENCODE: Final = json.JSONEncoder(ensure_ascii=False).encode


def _hole(name: str) -> str:
    """A placeholder value; JSON writes it as ``"\\u0000name\\u0000"``, which no real
    value of a ``hello-ok`` contains."""
    return f"\x00{name}\x00"


def _hole_text(name: str) -> str:
    return f"\\u0000{name}\\u0000"


class HelloTemplate:
    """A serialized ``hello-ok`` with holes for what differs between connections.

    Writing the ~3 KB ``hello-ok`` is the costliest step of a simulated handshake, and a
    gateway answers every ``connect`` with the same one but for the connection id, the
    clock (``ts``, ``issuedAtMs``), the uptime and two random tokens. The template is
    rendered by text substitution; :meth:`render` gives exactly
    ``json.dumps(hello_payload(...), ensure_ascii=False)`` for those values.
    """

    __slots__ = ("_text",)

    def __init__(self, inputs: HelloInputs) -> None:
        now = cast(int, _hole("now"))
        health = dict(inputs.health)
        if "ts" in health:
            health["ts"] = now
        loop = health.get("eventLoop")
        if isinstance(loop, Mapping) and loop.get("degradedSinceMs") is not None:
            health["eventLoop"] = {**loop, "degradedSinceMs": now}
        holed = dataclasses.replace(
            inputs,
            conn_id=_hole("conn"),
            now_ms=now,
            uptime_ms=cast(int, _hole("uptime")),
            health=health,
            recovery_scope=_hole("recovery"),
            canvas_token=_hole("canvas"),
        )
        self._text = _ENCODE(hello_payload(holed))

    def render(
        self,
        conn_id: str,
        now_ms: int,
        uptime_ms: int,
        *,
        tokens: tuple[str, str] | None = None,
    ) -> str:
        """The ``hello-ok`` payload as JSON text (``tokens``: recovery scope and canvas
        capability; random when not given)."""
        recovery, canvas = tokens if tokens is not None else (random_token(), random_token())
        text = self._text.replace(f'"{_hole_text("conn")}"', _ENCODE(conn_id))
        text = text.replace(f'"{_hole_text("now")}"', str(int(now_ms)))
        text = text.replace(f'"{_hole_text("uptime")}"', str(int(uptime_ms)))
        text = text.replace(_hole_text("recovery"), json.dumps(recovery)[1:-1])
        return text.replace(_hole_text("canvas"), json.dumps(canvas)[1:-1])


def _event_loop(healthy: bool, now_ms: int) -> dict[str, Any]:
    return {
        "degraded": not healthy,
        "degradedSinceMs": None if healthy else now_ms,
        "reasons": [] if healthy else ["simulated"],
        "intervalMs": 1000.5,
        "delayP99Ms": 1.5,
        "delayMaxMs": 2.5,
        "utilization": 0.01,
        "cpuCoreRatio": 0.01,
        "cpuBreakdown": {
            "mainThreadCoreRatio": 0.01,
            "hostUtilization": 0.01,
            "hostCpuCount": 2,
            "workerCoreRatio": 0.0,
            "otherThreadsCoreRatio": 0.0,
        },
    }


def status_payload(*, modern: bool, version: str, healthy: bool, now_ms: int) -> dict[str, Any]:
    """The ``status`` result: runtime version, heartbeat, tasks, degraded plugins..."""
    statuses = ("queued", "running", "succeeded", "failed", "timed_out", "cancelled", "lost")
    audit_codes = (
        "stale_queued",
        "stale_running",
        "lost",
        "delivery_failed",
        "missing_cleanup",
        "inconsistent_timestamps",
    )
    sessions_path = f"{STATE_DIR}/agents/main/agent/openclaw-agent.sqlite"
    heartbeat_agent: dict[str, Any] = {
        "agentId": "main",
        "enabled": True,
        "every": "30m",
        "everyMs": 1_800_000,
    }
    payload: dict[str, Any] = {"runtimeVersion": version}
    if modern:
        payload["hostDesktop"] = {"enabled": False, "state": "disabled", "port": 5900}
        heartbeat_agent["waitingForRoute"] = True
    payload["heartbeat"] = {"defaultAgentId": "main", "agents": [heartbeat_agent]}
    payload["channelSummary"] = []
    payload["queuedSystemEvents"] = []
    if modern:
        payload["degradedSecretOwners"] = []
        payload["degradedPlugins"] = (
            [] if healthy else [{"id": "simulated", "reason": "simulated fault"}]
        )
    payload["tasks"] = {
        "total": 0,
        "active": 0,
        "terminal": 0,
        "failures": 0,
        "byStatus": dict.fromkeys(statuses, 0),
        "byRuntime": {"subagent": 0, "acp": 0, "cli": 0, "cron": 0},
    }
    payload["taskAudit"] = {
        "total": 0,
        "warnings": 0,
        "errors": 0,
        "byCode": dict.fromkeys(audit_codes, 0),
    }
    by_agent = {"agentId": "main", "path": sessions_path, "count": 0, "recent": []}
    payload["sessions"] = {
        "paths": [sessions_path],
        "count": 0,
        "defaults": {"model": "anthropic/claude-opus-4-6", "contextTokens": 200_000},
        "recent": [],
        "byAgent": [by_agent],
    }
    if not modern:
        return payload
    payload["modelRuntime"] = {"degraded": False, "pendingAgents": []}
    payload["eventLoop"] = _event_loop(healthy, now_ms)
    payload["processMemory"] = {
        "rssBytes": 60_000_000,
        "heapUsedBytes": 20_000_000,
        "heapTotalBytes": 30_000_000,
        "externalBytes": 1_000_000,
        "arrayBuffersBytes": 500_000,
    }
    pool = {"maxWorkers": 1, "workers": 0, "workersCreated": 0, "activeTasks": 0, "pendingTasks": 0}
    payload["workerPools"] = {"transcriptReconciliation": dict(pool), "modelCatalog": dict(pool)}
    payload["pid"] = os.getpid()
    payload["shutdownBudget"] = {
        "timeoutMs": 325_000,
        "reserveMs": 10_000,
        "nativeStopBudget": False,
        "activeWork": {
            "rootRequests": 0,
            "cronRuns": 0,
            "sessionMutations": 0,
            "terminalPersistence": 0,
            "lifecycleWrites": 0,
        },
        "writeCustody": [],
    }
    return payload
