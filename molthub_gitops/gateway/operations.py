"""What the sync daemon asks of a gateway: observe it, and apply a config to it.

``observe`` reads reachability, protocol, version, bootId, the config hash and file-level
config (``parsed``/``sourceConfig``) and a health summary. ``apply`` writes a whole config with
``config.apply`` and then waits until the gateway reports the new config and is healthy again,
across a hot reload (``config.changed``, same bootId) or a full restart (``shutdown`` event,
close, ``1013 gateway starting``, new bootId), within one timeout.

A config changed on the bot since it was read is never overwritten: the gateway's baseHash
check turns that into :class:`ConfigConflict`, which ``apply`` passes on.

Documented recovery when the connection drops while ``config.apply`` is in flight (the answer
is lost; protocol-3 gateways even restart before answering): reconnect, ``config.get``, and
* the desired config is in the file -> the apply landed; continue waiting for health;
* the file still has ``base_hash`` -> it did not land; send it once more (still guarded);
* anything else -> someone else wrote in between: :class:`ConfigConflict`.
"""

# Timeouts are part of this API (every wait is bounded; callers pass their budget).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from molthub_gitops.errors import (
    ConfigConflict,
    GatewayError,
    GatewayTimeout,
    GatewayUnavailable,
)
from molthub_gitops.gateway.backoff import Backoff
from molthub_gitops.gateway.client import (
    MIN_ATTEMPT_S,
    ApplyResult,
    ConfigSnapshot,
    GatewayClient,
)
from molthub_gitops.gateway.identity import DeviceIdentity
from molthub_gitops.gateway.protocol import Hello
from molthub_gitops.gateway.secrets import REDACTION_SENTINEL

__all__ = [
    "ApplyNotHealthy",
    "ApplyOutcome",
    "HealthSummary",
    "Observation",
    "apply",
    "config_contains",
    "observe",
    "observe_url",
    "summarize_health",
]

IGNORED_KEYS = frozenset({"meta"})


# --------------------------------------------------------------------------- health


@dataclass(frozen=True)
class HealthSummary:
    """The parts of ``health`` a fleet manager acts on.

    ``healthy`` = the gateway says ``ok`` and no channel failed its probe. ``degraded``
    (event loop, model runtime, plugin errors) is reported but does not make it unhealthy.
    """

    ok: bool
    channels_ok: tuple[str, ...] = ()
    channels_failed: tuple[str, ...] = ()
    degraded: bool = False
    degraded_reasons: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.ok and not self.channels_failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "healthy": self.healthy,
            "channels_ok": list(self.channels_ok),
            "channels_failed": list(self.channels_failed),
            "degraded": self.degraded,
            "degraded_reasons": list(self.degraded_reasons),
        }


def _channel_failed(entry: Any) -> bool:
    if not isinstance(entry, Mapping):
        return False
    if entry.get("ok") is False:
        return True
    probe = entry.get("probe")
    if isinstance(probe, Mapping) and probe.get("ok") is False:
        return True
    return bool(entry.get("lastError")) and entry.get("running") is False


def summarize_health(health: Mapping[str, Any]) -> HealthSummary:
    """Reduce a ``health`` payload to a :class:`HealthSummary`."""
    channels = health.get("channels")
    ok_names: list[str] = []
    failed: list[str] = []
    if isinstance(channels, Mapping):
        for name, entry in channels.items():
            (failed if _channel_failed(entry) else ok_names).append(str(name))
    reasons: list[str] = []
    loop = health.get("eventLoop")
    if isinstance(loop, Mapping) and loop.get("degraded") is True:
        why = loop.get("reasons")
        detail = ",".join(str(r) for r in why) if isinstance(why, list) and why else ""
        reasons.append(f"eventLoop({detail})" if detail else "eventLoop")
    runtime = health.get("modelRuntime")
    if isinstance(runtime, Mapping) and runtime.get("degraded") is True:
        reasons.append("modelRuntime")
    plugins = health.get("plugins")
    if isinstance(plugins, Mapping) and plugins.get("errors"):
        reasons.append("plugins")
    return HealthSummary(
        ok=health.get("ok") is True,
        channels_ok=tuple(sorted(ok_names)),
        channels_failed=tuple(sorted(failed)),
        degraded=bool(reasons),
        degraded_reasons=tuple(reasons),
    )


# --------------------------------------------------------------------------- observe


@dataclass(frozen=True)
class Observation:
    """What one gateway reports now. ``reachable=False`` carries ``error``/``error_kind``."""

    url: str
    reachable: bool
    protocol: int | None = None
    server_version: str | None = None
    boot_id: str | None = None
    config_hash: str | None = None
    config_path: str | None = None
    config_exists: bool | None = None
    config_valid: bool | None = None
    parsed: Mapping[str, Any] = field(default_factory=dict, repr=False)
    source_config: Mapping[str, Any] = field(default_factory=dict, repr=False)
    has_redactions: bool = False
    health: HealthSummary | None = None
    error: str | None = None
    error_kind: str | None = None
    observed_at: float = 0.0  # time.time()

    @property
    def healthy(self) -> bool:
        return self.reachable and self.health is not None and self.health.healthy

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the config bodies)."""
        return {
            "url": self.url,
            "reachable": self.reachable,
            "healthy": self.healthy,
            "protocol": self.protocol,
            "server_version": self.server_version,
            "boot_id": self.boot_id,
            "config_hash": self.config_hash,
            "config_path": self.config_path,
            "config_exists": self.config_exists,
            "config_valid": self.config_valid,
            "health": self.health.as_dict() if self.health else None,
            "error": self.error,
            "error_kind": self.error_kind,
        }


async def observe(client: GatewayClient, *, timeout: float | None = None) -> Observation:
    """Connect if needed, then read ``config.get`` and ``health`` (concurrently).

    ``timeout`` is one deadline for the whole observation: connecting gets at most what is
    left of it (and no more than ``client.connect_timeout``), the two requests what is left
    after that. When it runs out, :class:`GatewayTimeout` says so. Without ``timeout`` each
    step uses the client's own ``connect_timeout``/``request_timeout``.

    Gateway errors propagate as typed exceptions (see :func:`observe_url` for a variant that
    turns them into ``Observation(reachable=False)``).
    """
    if timeout is None:
        hello = await client.connect()
        snapshot, health = await asyncio.gather(client.config_get(), client.health())
    else:
        hello, snapshot, health = await _observe_within(client, timeout)
    hello = client.hello or hello
    return Observation(
        url=client.url,
        reachable=True,
        protocol=hello.protocol,
        server_version=hello.server_version,
        boot_id=hello.boot_id,
        config_hash=snapshot.hash,
        config_path=snapshot.path,
        config_exists=snapshot.exists,
        config_valid=snapshot.valid,
        parsed=snapshot.parsed,
        source_config=snapshot.source_config,
        has_redactions=snapshot.has_redactions,
        health=summarize_health(health),
        observed_at=time.time(),
    )


async def _observe_within(
    client: GatewayClient, timeout: float
) -> tuple[Hello, ConfigSnapshot, Mapping[str, Any]]:
    """:func:`observe`'s steps under one deadline ``timeout`` seconds from now."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    def left() -> float:
        return max(deadline - loop.time(), 0.0)

    step = "the connection"
    try:
        hello = await client.connect(timeout=min(client.connect_timeout, left()) or 0.001)
        step = "config.get and health"
        snapshot, health = await asyncio.gather(
            client.config_get(timeout=left() or 0.001), client.health(timeout=left() or 0.001)
        )
    except GatewayTimeout as exc:
        if left() > MIN_ATTEMPT_S:
            raise  # a narrower timeout of the client's own, not the deadline
        raise GatewayTimeout(
            f"no observation within {timeout:g}s (still waiting for {step})",
            url=client.url, details={**exc.details, "timeout": timeout},
        ) from None
    return hello, snapshot, health


async def observe_url(
    url: str,
    *,
    token: str | None = None,
    password: str | None = None,
    identity: DeviceIdentity | None = None,
    timeout: float = 10.0,
    **client_options: Any,
) -> Observation:
    """Open a connection, observe, close. Never raises a :class:`GatewayError`: failures come
    back as ``Observation(reachable=False, error=..., error_kind=...)`` (text without secrets)."""
    client_options.setdefault("reconnect", False)
    try:
        client = GatewayClient(
            url, token=token, password=password, identity=identity,
            connect_timeout=timeout, request_timeout=timeout, **client_options,
        )
    except GatewayError as exc:  # pragma: no cover - constructor raises InputError only
        return Observation(url=url, reachable=False, error=str(exc),
                           error_kind=type(exc).__name__, observed_at=time.time())
    try:
        return await observe(client, timeout=timeout)  # one deadline for every step
    except GatewayError as exc:
        return Observation(url=client.url, reachable=False, error=client.scrub(str(exc)),
                           error_kind=type(exc).__name__, observed_at=time.time())
    finally:
        await client.close()


# --------------------------------------------------------------------------- apply


def config_contains(observed: Any, desired: Any, *, top: bool = True) -> bool:
    """Whether every leaf of ``desired`` is in ``observed`` (``meta`` and redacted values ignored).

    The gateway adds to the file (``meta``, plugin defaults, onboarding defaults), so the file
    holding the desired config means "desired is a subset of it". Lists must be equal.
    """
    if isinstance(desired, Mapping):
        if not isinstance(observed, Mapping):
            return False
        for key, value in desired.items():
            if top and key in IGNORED_KEYS:
                continue
            if key not in observed:
                return False
            if not config_contains(observed[key], value, top=False):
                return False
        return True
    if observed == REDACTION_SENTINEL and isinstance(desired, str):
        return True
    if isinstance(desired, list):
        if not isinstance(observed, list) or len(observed) != len(desired):
            return False
        return all(config_contains(o, d, top=False) for o, d in zip(observed, desired,
                                                                     strict=True))
    return bool(observed == desired and type(observed) is type(desired)) or (
        isinstance(observed, int | float) and isinstance(desired, int | float)
        and not isinstance(observed, bool) and not isinstance(desired, bool)
        and observed == desired)


class ApplyNotHealthy(GatewayTimeout):
    """The config was written (``hash``) but the gateway did not become healthy in time.

    ``hash`` is the new baseHash (needed to put the previous config back); ``health`` the last
    summary seen (``None`` when the gateway never answered again).
    """

    def __init__(self, message: str, *, hash: str | None, health: HealthSummary | None,
                 url: str = "", details: dict[str, Any] | None = None) -> None:
        self.hash = hash
        self.health = health
        super().__init__(message, url=url, details=details)


@dataclass(frozen=True)
class ApplyOutcome:
    """A finished apply: the gateway holds the config (``hash``) and is healthy again."""

    hash: str | None
    previous_hash: str | None
    restarted: bool
    boot_id_before: str | None
    boot_id_after: str | None
    health: HealthSummary
    duration_s: float
    recovered: bool = False  # the answer was lost and the outcome read back from the gateway
    resent: bool = False  # the answer was lost, the write had not landed, it was sent again
    result: ApplyResult | None = field(default=None, repr=False)


def _same_boot(client: GatewayClient, boot_before: str | None, generation: int) -> bool:
    hello = client.hello
    if hello is None:
        return True
    if boot_before is not None and hello.boot_id is not None:
        return hello.boot_id == boot_before
    return client.connection_count == generation


async def apply(
    client: GatewayClient,
    desired: Mapping[str, Any],
    base_hash: str | None,
    *,
    timeout: float = 120.0,
    note: str | None = None,
    poll_interval: float = 0.25,
) -> ApplyOutcome:
    """Write ``desired`` with ``config.apply`` guarded by ``base_hash``, then wait for the new
    hash and health, across a hot reload or a restart, all within ``timeout`` seconds.

    Raises :class:`ConfigConflict` (stale ``base_hash``; never overwritten),
    :class:`InvalidConfig` (with the gateway's issues), :class:`ApplyNotHealthy` (written but not
    healthy in time), :class:`GatewayTimeout`/:class:`GatewayUnavailable` (gone too long), and
    authentication/pairing errors as they come.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + timeout

    def left() -> float:
        return max(deadline - loop.time(), 0.0)

    await client.connect(timeout=min(client.connect_timeout, left()) or 0.001)
    assert client.hello is not None
    boot_before = client.hello.boot_id
    generation = client.connection_count
    shutdown_before = client.last_shutdown
    backoff = Backoff(initial=poll_interval, maximum=max(poll_interval, 1.0), jitter=0.1)

    result: ApplyResult | None = None
    recovered = False
    resent = False
    try:
        result = await client.config_apply(desired, base_hash, note=note, timeout=left() or 0.001)
    except (GatewayUnavailable, GatewayTimeout) as exc:
        if exc.details.get("outcome_unknown") is not True and "persisted" not in str(exc):
            raise
        recovered = True

    if recovered:
        snapshot = await _read_back(client, deadline, backoff)
        if config_contains(snapshot.parsed, desired):
            pass  # it landed
        elif base_hash is not None and snapshot.hash == base_hash:
            recovered, resent = False, True
            result = await client.config_apply(desired, base_hash, note=note,
                                               timeout=left() or 0.001)
        else:
            raise ConfigConflict(
                "the answer to config.apply was lost and the gateway now holds a different "
                "config than the one sent; re-run config.get and decide", url=client.url,
                details={"hash": snapshot.hash, "base_hash": base_hash},
            )

    new_hash = result.hash if result is not None else None
    restart_expected = result is not None and result.requires_restart
    last_health: HealthSummary | None = None
    last_error: GatewayError | None = None
    while True:
        if left() <= 0:
            break
        shutdown = client.last_shutdown
        # a restart is awaited when the gateway said so (restart scheduled, or a shutdown
        # event since we started); a lost answer alone may be a network blip
        restarting = restart_expected or (
            shutdown is not None and shutdown is not shutdown_before)
        if client.closed:
            raise GatewayUnavailable("the client was closed while the apply was settling",
                                     url=client.url, details={"hash": new_hash})
        try:
            if not client.connected:
                await client.connect(timeout=min(client.connect_timeout, left()) or 0.001)
            if restarting and _same_boot(client, boot_before, generation):
                # the old process still answers; the restart has not happened yet
                await asyncio.sleep(min(backoff.next_delay(), left()))
                continue
            snapshot, health = await asyncio.gather(
                client.config_get(timeout=left() or 0.001),
                client.health(timeout=left() or 0.001),
            )
        except (GatewayUnavailable, GatewayTimeout) as exc:
            last_error = exc
            await asyncio.sleep(min(backoff.next_delay(), left()))
            continue
        if new_hash is not None and snapshot.hash != new_hash and not config_contains(
            snapshot.parsed, desired
        ):
            raise ConfigConflict(
                "the gateway's config changed again after our apply (someone else wrote)",
                url=client.url, details={"expected_hash": new_hash, "hash": snapshot.hash},
            )
        if new_hash is None:
            if not config_contains(snapshot.parsed, desired):
                raise ConfigConflict(
                    "the gateway does not hold the applied config after the restart",
                    url=client.url, details={"hash": snapshot.hash},
                )
            new_hash = snapshot.hash
        last_health = summarize_health(health)
        if last_health.healthy:
            hello = client.hello
            return ApplyOutcome(
                hash=snapshot.hash or new_hash,
                previous_hash=base_hash,
                restarted=not _same_boot(client, boot_before, generation),
                boot_id_before=boot_before,
                boot_id_after=hello.boot_id if hello else None,
                health=last_health,
                duration_s=loop.time() - started,
                recovered=recovered,
                resent=resent,
                result=result,
            )
        await asyncio.sleep(min(backoff.next_delay(), left()))

    if last_health is not None or (new_hash is not None and not restart_expected):
        raise ApplyNotHealthy(
            f"config applied (hash {new_hash}) but the gateway was not healthy within "
            f"{timeout:g}s", hash=new_hash, health=last_health, url=client.url,
            details={"hash": new_hash,
                     "health": last_health.as_dict() if last_health else None},
        )
    reason = f": {_message(last_error)}" if last_error else ""
    raise ApplyNotHealthy(
        f"config applied (hash {new_hash}) but the gateway did not come back within "
        f"{timeout:g}s{reason}", hash=new_hash, health=None, url=client.url,
        details={"hash": new_hash},
    )


def _message(exc: GatewayError) -> str:
    text = str(exc)
    prefix = f"{exc.url}: "
    return text[len(prefix):] if exc.url and text.startswith(prefix) else text


async def _read_back(client: GatewayClient, deadline: float, backoff: Backoff) -> ConfigSnapshot:
    loop = asyncio.get_running_loop()
    last: GatewayError | None = None
    while loop.time() < deadline:
        remaining = deadline - loop.time()
        try:
            if not client.connected:
                await client.connect(timeout=min(client.connect_timeout, remaining))
            return await client.config_get(timeout=max(deadline - loop.time(), 0.001))
        except (GatewayUnavailable, GatewayTimeout) as exc:
            last = exc
            await asyncio.sleep(min(backoff.next_delay(), max(deadline - loop.time(), 0.0)))
    raise GatewayTimeout(
        "the answer to config.apply was lost and the gateway did not answer again in time"
        + (f": {_message(last)}" if last else ""), url=client.url,
        details={"outcome_unknown": True},
    )

