"""The rollout executor: one fleet's staged rollout of a commit, wave by wave, with health gates.

A :class:`RolloutRunner` drives a :class:`~molthub_gitops.sync.state.Rollout` (made by
:func:`new_rollout` from the fleet's ``RolloutSpec``) to a terminal phase:

* **Each bot** is observed first. When it already holds the desired config it is recorded
  ``applied`` without a write (so a daemon killed mid-rollout and started again never applies
  a bot twice); otherwise the config is written with ``baseHash`` = the observed hash and the
  apply waits for the new hash and health within ``healthTimeout`` (the health gate). A
  ``ConfigConflict`` (the bot was edited by hand since it was read) is audited as ``drift``,
  re-read and retried once; a second conflict fails the bot. Unhealthy, timed out, invalid or
  unreachable bots fail.
* **After each wave**, more failures than ``failureThreshold`` halt the rollout: every bot it
  wrote is put back on its previous config (each with its own health wait) and the phase
  becomes ``Failed`` (bots never written: rejected, conflicted or unreachable, stay
  ``failed``; a bot put back but still unhealthy is ``rolled-back`` with a note; one that could
  not be put back is ``rollback-failed``). A canary wave then bakes (``Baking``) for its bake
  time, its bots re-checked for health; ``pauseBetweenBatches`` waits between batches.
* **Control** (:class:`RolloutControl`) asks, the runner acts at safe points: ``pause`` stops
  at the next wave boundary (``run()`` returns ``Paused``; ``resume`` then ``run()`` again
  continues), ``promote`` skips the bake and every remaining pause (``full=True`` also merges
  the remaining waves into one), ``abort`` lets in-flight bots finish, starts no new ones and
  rolls back (``Aborted``), ``supersede`` finishes the current wave and stops (``Superseded``,
  no rollback).

Bake and pause waits use the injected :class:`~molthub_gitops.sync.clock.Clock` (scaled by
``time_scale``); waits on a gateway (apply, health) are real time, bounded by
``healthTimeout``. Audit drafts carry deterministic ids, so an event derived again after a
restart is not written twice. Errors stored in results and audit entries are scrubbed and
short. ``on_change`` is called after every bot result and phase change (the daemon persists).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from molthub_gitops.errors import ConfigConflict, GatewayError, SyncError
from molthub_gitops.gateway.operations import (
    ApplyNotHealthy,
    ApplyOutcome,
    Observation,
    config_contains,
)
from molthub_gitops.gateway.secrets import Redactor
from molthub_gitops.model.documents import RolloutSpec, parse_duration
from molthub_gitops.plan.drift import effective_config
from molthub_gitops.plan.waves import plan_waves
from molthub_gitops.providers.base import BotEndpoint
from molthub_gitops.sync.audit import AuditAction, AuditDraft, AuditResult, AuditSink, event_id
from molthub_gitops.sync.clock import Clock, iso
from molthub_gitops.sync.observer import observed_drift
from molthub_gitops.sync.state import (
    BotResult,
    BotResultKind,
    Rollout,
    RolloutKind,
    RolloutPhase,
    WaveStatus,
)

__all__ = [
    "BotTarget",
    "PoolLike",
    "RolloutControl",
    "RolloutRunner",
    "holds_config",
    "new_rollout",
    "rollout_id",
]

log = logging.getLogger("molthub.sync.rollout")

ERROR_LIMIT = 300
"""Longest error text stored in a result or an audit reason."""
BACKSTOP_S = 30.0
"""A pool call gets twice its own timeout plus this (it may first wait for a free slot in the
pool) before the runner gives up on it: only a guard against a hang, never the normal path."""
_HEALTH_POLL_S = (0.25, 1.0)


class PoolLike(Protocol):
    """What the runner needs of :class:`~molthub_gitops.sync.pool.GatewayPool`."""

    async def observe(self, endpoint: BotEndpoint, *,
                      timeout: float = 10.0) -> Observation:  # noqa: ASYNC109
        """Never raises a gateway error: ``Observation(reachable=False, error=...)``."""
        ...

    async def apply(self, endpoint: BotEndpoint, desired: Mapping[str, Any],
                    base_hash: str | None, *, timeout: float,  # noqa: ASYNC109
                    note: str | None = None) -> ApplyOutcome:
        """Raises :class:`~molthub_gitops.errors.GatewayError` subclasses."""
        ...


@dataclass(frozen=True)
class BotTarget:
    """One bot of a rollout: where it is, what to apply, and what to put back on failure."""

    bot: str
    endpoint: BotEndpoint
    desired: Mapping[str, Any]
    """The rendered config to apply."""
    desired_hash: str
    previous: Mapping[str, Any] | None = None
    """What to put back on failure (the previous commit's render); ``None``: the config observed
    before our write (``meta`` stripped), when known."""
    previous_hash: str | None = None
    ignore: tuple[str, ...] = ()
    """Paths the gateway filled in after our last write (the bot status' ``ignored_paths``):
    not drift when deciding whether the bot already holds ``desired``."""


def rollout_id(fleet: str, commit: str, seq: int = 1) -> str:
    """``<fleet>@<commit[:12]>#<seq>``."""
    return f"{fleet}@{commit[:12]}#{seq}"


def new_rollout(*, fleet: str, commit: str, previous_commit: str | None, spec: RolloutSpec,
                bots: Sequence[str], kind: RolloutKind = "sync", seq: int = 1, now: str = "",
                actor: str = "molthub-sync") -> Rollout:
    """A rollout of ``commit`` to ``bots`` of ``fleet``, its waves planned from ``spec``."""
    planned = plan_waves(fleet, spec, bots)
    waves = [WaveStatus(index=w.index, kind=w.kind, bots=list(w.bots),
                        bake_seconds=w.bake_seconds, pause_seconds=w.pause_seconds)
             for w in planned.waves]
    names = [b for w in waves for b in w.bots]
    return Rollout(
        id=rollout_id(fleet, commit, seq), fleet=fleet, kind=kind, commit=commit,
        previous_commit=previous_commit, strategy=spec.strategy, waves=waves,
        results={b: BotResult(bot=b) for b in names},
        failure_threshold=spec.failure_threshold,
        health_timeout_seconds=parse_duration(spec.health_timeout),
        actor=actor, started_at=now, updated_at=now,
    )


# --------------------------------------------------------------------------- config checks


def _removed_paths(old: Mapping[str, Any], new: Mapping[str, Any], prefix: tuple[str, ...] = ()
                   ) -> list[tuple[tuple[str, ...], Any]]:
    """(path, old value) of every key of ``old`` that ``new`` lacks (``meta`` at the top aside)."""
    out: list[tuple[tuple[str, ...], Any]] = []
    for key, value in old.items():
        if not prefix and key == "meta":
            continue
        if key not in new:
            out.append(((*prefix, key), value))
        elif isinstance(value, Mapping) and isinstance(new[key], Mapping):
            out.extend(_removed_paths(value, new[key], (*prefix, key)))
    return out


def _lookup(config: Mapping[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    node: Any = config
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return False, None
        node = node[key]
    return True, node


def holds_config(observed: Mapping[str, Any], desired: Mapping[str, Any],
                 other: Mapping[str, Any] | None = None) -> bool:
    """Whether a gateway's file holds ``desired``: every leaf of it is there
    (:func:`config_contains`: ``meta``, redacted values and gateway defaults ignored) and,
    when ``other`` (the config it replaces) is known, no key ``other`` has and ``desired``
    dropped is still there with ``other``'s value."""
    if not config_contains(observed, desired):
        return False
    if other is None:
        return True
    for path, value in _removed_paths(other, desired):
        present, found = _lookup(observed, path)
        if present and config_contains(found, value, top=False):
            return False  # the dropped part is still there (perhaps beside gateway additions)
    return True


def _held(obs: Observation) -> Mapping[str, Any]:
    """The config a gateway holds: its file plus what 2026.9 keeps beside it (the agent
    roster, reported in ``sourceConfig`` only); see :func:`plan.drift.effective_config`."""
    return effective_config(obs.parsed, obs.source_config)


def _strip_meta(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "meta"}


def _parse_iso(text: str) -> float | None:
    try:
        stamp = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.UTC)
    return stamp.timestamp()


# --------------------------------------------------------------------------- control


class RolloutControl:
    """Requests to a running rollout; the runner acts on them at safe points.

    Every method only records the request (and wakes a bake or pause wait), so it may be
    called from any task of the event loop, also while ``run()`` is not running (a paused
    rollout): the request takes effect on the next ``run()``.
    """

    def __init__(self) -> None:
        self.pause_actor: str | None = None
        self.resume_actor: str | None = None
        self.promote_actor: str | None = None
        self.promote_full: bool = False
        self.abort_actor: str | None = None
        self.abort_reason: str = ""
        self.superseded_by: str | None = None
        self._event = asyncio.Event()

    def _poke(self) -> None:
        self._event.set()

    def pause(self, actor: str) -> None:
        """Stop at the next wave boundary (``Paused``)."""
        self.pause_actor = actor
        self.resume_actor = None
        self._poke()

    def resume(self, actor: str) -> None:
        """Continue a paused rollout on the next ``run()`` (or cancel a pause not reached yet)."""
        self.resume_actor = actor
        self.pause_actor = None
        self._poke()

    def promote(self, actor: str, full: bool = False) -> None:
        """Skip the canary bake and every remaining pause; ``full``: also merge the remaining
        waves into one."""
        self.promote_actor = actor
        self.promote_full = self.promote_full or full
        self._poke()

    def abort(self, actor: str, reason: str = "") -> None:
        """Start no new bot, let in-flight ones finish, put the changed bots back (``Aborted``)."""
        if self.abort_actor is None:
            self.abort_actor = actor
            self.abort_reason = reason
        self._poke()

    def supersede(self, commit: str) -> None:
        """Finish the current wave, then stop (``Superseded``, no rollback)."""
        self.superseded_by = commit
        self._poke()

    async def wait(self, clock: Clock, seconds: float) -> None:
        """Sleep ``seconds`` on ``clock``, returning early when a request arrives."""
        if self._event.is_set():
            self._event.clear()
            return
        if seconds <= 0:
            return
        sleeper = asyncio.ensure_future(clock.sleep(seconds))
        poked = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({sleeper, poked}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, poked):
                if not task.done():
                    task.cancel()
            await asyncio.gather(sleeper, poked, return_exceptions=True)
        self._event.clear()
        failure = None if sleeper.cancelled() else sleeper.exception()
        if failure is not None:
            raise failure


# --------------------------------------------------------------------------- runner


class _Halt(Exception):
    """Internal: the rollout must stop (phase and reason given)."""

    def __init__(self, phase: RolloutPhase, reason: str, *, rollback: bool) -> None:
        self.phase = phase
        self.reason = reason
        self.rollback = rollback
        super().__init__(reason)


@dataclass
class _Memory:
    """What the runner knows only in memory (lost on a crash, not needed for correctness)."""

    before: dict[str, str] = field(default_factory=dict)
    """Each written bot's config as observed before the write (JSON text: a rollout over
    thousands of bots keeps one per bot until it ends), for rollback without a previous
    render."""
    written: set[str] = field(default_factory=set)
    marks: int = 0


_TERMINAL_AUDIT: dict[str, AuditAction] = {
    "Succeeded": "rollout-succeeded",
    "Failed": "rollout-failed",
    "Aborted": "rollout-aborted",
    "Superseded": "rollout-superseded",
}


class RolloutRunner:
    """Drives one rollout to a terminal phase (or to ``Paused``). See the module docstring.

    ``run()`` on a ``Paused`` rollout returns at once, unchanged, unless ``control.resume()``
    (continue), ``control.abort()`` (roll back) or ``control.supersede()`` (stop) was called
    first; a daemon restored from the status branch can therefore call ``run()`` on whatever
    it finds. ``run()`` is not re-entrant (a second concurrent call raises ``SyncError``).
    ``concurrency`` bounds the bots of one wave in flight at once (apply, rollback and bake
    checks alike); ``time_scale`` shortens bakes and pauses (the demo uses 0.01);
    ``observe_timeout`` bounds each observation; ``bake_check_interval`` is how often (clock
    seconds) canaries are re-checked for health during a bake.
    """

    def __init__(self, rollout: Rollout, targets: Mapping[str, BotTarget], *, pool: PoolLike,
                 audit: AuditSink, clock: Clock, on_change: Callable[[Rollout], None],
                 concurrency: int = 64, time_scale: float = 1.0,
                 observe_timeout: float = 10.0, bake_check_interval: float = 15.0,
                 before_write: Callable[[], Awaitable[None]] | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.rollout = rollout
        self.targets = dict(targets)
        self.control = RolloutControl()
        self._pool = pool
        self._audit = audit
        self._clock = clock
        self._on_change = on_change
        self._limit = asyncio.Semaphore(concurrency)
        self._scale = max(time_scale, 0.0)
        self._observe_timeout = observe_timeout
        self._bake_check = max(bake_check_interval, 0.001)
        self._mem = _Memory()
        self._running = False
        self.before_write = before_write
        """Awaited before the first gateway write of this runner (the daemon: the rollout is
        on the status branch first, so a restart resumes it instead of planning anew)."""
        self._bot_action: AuditAction = "heal" if rollout.kind == "heal" else "apply"
        secrets = [t.endpoint.secret for t in self.targets.values()]
        self._redactor = Redactor(secrets)

    # -- small helpers ------------------------------------------------------------------
    def _now(self) -> str:
        return iso(self._clock.now())

    def _changed(self) -> None:
        self.rollout.updated_at = self._now()
        try:
            self._on_change(self.rollout)
        except Exception:  # the daemon's bookkeeping must not break a rollout half-way
            log.exception("on_change failed for rollout %s", self.rollout.id)

    def _short(self, text: str) -> str:
        text = self._redactor.scrub(" ".join(text.split()))
        return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 3] + "..."

    def _error_text(self, exc: BaseException) -> str:
        text = str(exc) or type(exc).__name__
        return self._short(f"{type(exc).__name__}: {text}")

    def _record(self, action: AuditAction, *, result: AuditResult = "ok", bot: str | None = None,
                hash_before: str | None = None, hash_after: str | None = None,
                reason: str = "", actor: str | None = None, unique: bool = False) -> None:
        draft = AuditDraft(
            actor=actor or self.rollout.actor, action=action, result=result,
            commit=self.rollout.commit, fleet=self.rollout.fleet, bot=bot,
            hash_before=hash_before, hash_after=hash_after, rollout_id=self.rollout.id,
            reason=self._short(reason), time=self._now(),
        )
        key = event_id(draft)
        if unique:  # an event that may happen more than once (pause, resume, promote)
            self._mem.marks += 1
            seed = f"{key}|{self.rollout.current_wave}|{draft.time}|{self._mem.marks}"
            key = hashlib.sha256(seed.encode()).hexdigest()[:32]
        if self._audit.has(key):
            return
        self._audit.record(draft.model_copy(update={"id": key}))

    def _set(self, bot: str, kind: BotResultKind, **fields: Any) -> BotResult:
        result = self.rollout.results.get(bot)
        if result is None:
            result = BotResult(bot=bot)
            self.rollout.results[bot] = result
        result.result = kind
        for name, value in fields.items():
            setattr(result, name, value)
        result.at = self._now()
        self._changed()
        return result

    def _fail(self, bot: str, error: str, **fields: Any) -> None:
        self._set(bot, "failed", error=self._short(error), **fields)
        self.rollout.failures += 1

    def _over_threshold(self) -> bool:
        return self.rollout.failures > self.rollout.failure_threshold

    def _failure_reason(self) -> str:
        failed = [r for r in self.rollout.results.values()
                  if r.result in ("failed", "rolled-back", "rollback-failed") and r.error]
        detail = "; ".join(f"{r.bot}: {r.error}" for r in failed[:3])
        more = f" (+{len(failed) - 3} more)" if len(failed) > 3 else ""
        return self._short(
            f"{self.rollout.failures} bot(s) failed, more than the failure threshold "
            f"{self.rollout.failure_threshold}" + (f": {detail}{more}" if detail else ""))

    # -- pool calls, each with a backstop -------------------------------------------------
    async def _observe(self, target: BotTarget) -> Observation:
        timeout = self._observe_timeout
        try:
            async with asyncio.timeout(2 * timeout + BACKSTOP_S):
                return await self._pool.observe(target.endpoint, timeout=timeout)
        except TimeoutError:
            return Observation(url=target.endpoint.url, reachable=False,
                               error=f"no observation within {timeout:g}s",
                               error_kind="GatewayTimeout")

    async def _write(self, target: BotTarget, config: Mapping[str, Any],
                     base_hash: str | None, note: str) -> ApplyOutcome:
        timeout = self.rollout.health_timeout_seconds
        try:
            async with asyncio.timeout(2 * timeout + BACKSTOP_S):
                return await self._pool.apply(target.endpoint, config, base_hash,
                                              timeout=timeout, note=note)
        except TimeoutError:
            raise GatewayError(f"no answer to config.apply within {timeout:g}s") from None

    async def _wait_healthy(self, target: BotTarget, first: Observation) -> Observation:
        """Poll until healthy (real time, bounded by ``healthTimeout``); the last observation."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.rollout.health_timeout_seconds
        obs = first
        delay = _HEALTH_POLL_S[0]
        while not obs.healthy and loop.time() < deadline:
            await asyncio.sleep(min(delay, max(deadline - loop.time(), 0.0)))
            delay = min(delay * 2, _HEALTH_POLL_S[1])
            obs = await self._observe(target)
        return obs

    # -- one bot forward ----------------------------------------------------------------
    async def _apply_bot(self, bot: str) -> None:
        async with self._limit:
            if self.control.abort_actor is not None:
                self._set(bot, "skipped", error="dropped: the rollout was aborted")
                return
            target = self.targets.get(bot)
            if target is None:
                self._set(bot, "skipped", error="not in the rendered commit")
                return
            try:
                await self._apply_target(target)
            except GatewayError as exc:
                self._fail(bot, self._error_text(exc))
                self._record(self._bot_action, result="failed", bot=bot,
                             hash_before=self.rollout.results[bot].hash_before,
                             reason=self.rollout.results[bot].error or "")
            except Exception as exc:  # a bug must not leave the wave half-recorded
                log.exception("rollout %s: bot %s failed unexpectedly", self.rollout.id, bot)
                self._fail(bot, self._error_text(exc))
                self._record(self._bot_action, result="failed", bot=bot,
                             reason=self.rollout.results[bot].error or "")

    async def _apply_target(self, target: BotTarget) -> None:
        bot = target.bot
        obs = await self._observe(target)
        if not obs.reachable:
            error = self._short(obs.error or "unreachable")
            self._fail(bot, f"unreachable: {error}", desired_hash=target.desired_hash)
            self._record(self._bot_action, result="failed", bot=bot, reason=f"unreachable: {error}")
            return
        if self._holds(target, obs):
            await self._already_held(target, obs)
            return
        if self.before_write is not None:
            await self.before_write()
        note = f"molthub rollout {self.rollout.id}"
        for attempt in (1, 2):
            if obs.config_exists and target.previous is None:
                self._mem.before[bot] = json.dumps(_strip_meta(_held(obs)))
            self._set(bot, "applying", hash_before=obs.config_hash,
                      desired_hash=target.desired_hash, error=None)
            try:
                outcome = await self._write(target, target.desired, obs.config_hash, note)
            except ConfigConflict as exc:
                stale = obs.config_hash
                obs = await self._observe(target)
                self._record("drift", result="info", bot=bot, hash_before=stale,
                             hash_after=obs.config_hash,
                             reason="the config changed on the gateway since it was read "
                                    "(edited outside Git)")
                if attempt == 2:
                    self._fail(bot, "the config changed again on the gateway while applying: "
                               + self._error_text(exc), hash_after=None)
                    self._record(self._bot_action, result="failed", bot=bot, hash_before=stale,
                                 reason=self.rollout.results[bot].error or "")
                    return
                if not obs.reachable:
                    error = self._short(obs.error or "unreachable")
                    self._fail(bot, f"unreachable: {error}")
                    self._record(self._bot_action, result="failed", bot=bot, reason=error)
                    return
                if self._holds(target, obs):
                    await self._already_held(target, obs)
                    return
                continue
            except ApplyNotHealthy as exc:
                self._mem.written.add(bot)
                self._fail(bot, self._error_text(exc), hash_after=exc.hash)
                self._record(self._bot_action, result="failed", bot=bot,
                             hash_before=obs.config_hash, hash_after=exc.hash,
                             reason=self.rollout.results[bot].error or "")
                return
            self._mem.written.add(bot)
            self._set(bot, "applied", hash_after=outcome.hash, error=None)
            self._record(self._bot_action, bot=bot, hash_before=obs.config_hash,
                         hash_after=outcome.hash)
            return

    @staticmethod
    def _holds(target: BotTarget, obs: Observation) -> bool:
        """The bot holds exactly the desired config: every leaf of it, nothing kept from the
        config it replaces, and no path the observer would call drift (a key added by hand,
        or one left by a superseded commit), so it needs no write."""
        return holds_config(_held(obs), target.desired, target.previous) and not \
            observed_drift(target.desired, obs, ignore=target.ignore)

    async def _already_held(self, target: BotTarget, obs: Observation) -> None:
        """The bot holds the desired config already (a restart after our write, or a hand
        edit): no write; only the health gate."""
        bot = target.bot
        result = self.rollout.results.get(bot)
        before = result.hash_before if result is not None else None
        obs = await self._wait_healthy(target, obs)
        if not obs.healthy:
            why = obs.error if not obs.reachable else "not healthy"
            self._fail(bot, f"holds the config but {why} within "
                       f"{self.rollout.health_timeout_seconds:g}s",
                       desired_hash=target.desired_hash, hash_after=obs.config_hash)
            self._record(self._bot_action, result="failed", bot=bot, hash_before=before,
                         hash_after=obs.config_hash,
                         reason=self.rollout.results[bot].error or "")
            return
        self._set(bot, "applied", desired_hash=target.desired_hash,
                  hash_after=obs.config_hash, error=None)
        self._record(self._bot_action, bot=bot, hash_before=before, hash_after=obs.config_hash,
                     reason="the gateway already held this config (not written again)")

    async def _settle(self, bot: str) -> None:
        """A bot left ``applying`` by a stopped daemon: ``applied`` (and audited) when it holds
        the desired config, else left for ``_finish`` to drop."""
        target = self.targets.get(bot)
        if target is None:
            return
        async with self._limit:
            obs = await self._observe(target)
        if not (obs.reachable and self._holds(target, obs)):
            return
        before = self.rollout.results[bot].hash_before
        self._mem.written.add(bot)
        self._set(bot, "applied", desired_hash=target.desired_hash,
                  hash_after=obs.config_hash, error=None)
        self._record(self._bot_action, bot=bot, hash_before=before, hash_after=obs.config_hash,
                     reason="written before the daemon stopped; found holding the config")

    # -- rollback -------------------------------------------------------------------------
    def _to_roll_back(self) -> list[str]:
        out = []
        for name, result in self.rollout.results.items():
            if result.result == "applied" or (result.result == "failed" and (
                    result.hash_after is not None or name in self._mem.written)):
                out.append(name)
        return sorted(out)

    async def _roll_back(self) -> None:
        bots = self._to_roll_back()
        if bots:
            await asyncio.gather(*(self._roll_back_bot(b) for b in bots))

    async def _roll_back_bot(self, bot: str) -> None:
        async with self._limit:
            target = self.targets.get(bot)
            restore: dict[str, Any] | None = None
            if target is not None:
                before = self._mem.before.get(bot)
                restore = (dict(target.previous) if target.previous is not None
                           else json.loads(before) if before is not None else None)
            if target is None or restore is None:
                self._set(bot, "rollback-failed",
                          error="no previous config known to put back")
                self._record("rollback", result="failed", bot=bot,
                             reason="no previous config known to put back")
                return
            try:
                await self._restore(target, restore)
            except GatewayError as exc:
                error = self._error_text(exc)
                self._set(bot, "rollback-failed", error=error)
                self._record("rollback", result="failed", bot=bot, reason=error)
            except Exception as exc:
                log.exception("rollout %s: rollback of %s failed unexpectedly",
                              self.rollout.id, bot)
                self._set(bot, "rollback-failed", error=self._error_text(exc))

    async def _restore(self, target: BotTarget, restore: Mapping[str, Any]) -> None:
        bot = target.bot
        previous_error = self.rollout.results[bot].error
        note = f"molthub rollback {self.rollout.id}"
        for attempt in (1, 2):
            obs = await self._observe(target)
            if not obs.reachable:
                raise GatewayError(f"unreachable: {obs.error or 'no answer'}")
            unhealthy = (f"put back on the previous config, but not healthy within "
                         f"{self.rollout.health_timeout_seconds:g}s")
            if previous_error:
                unhealthy = f"{previous_error}; then {unhealthy}"
            note_error = previous_error
            reason = "put back on the previous config"
            if holds_config(_held(obs), restore, target.desired):
                obs = await self._wait_healthy(target, obs)
                hash_before = hash_after = obs.config_hash
                if not obs.healthy:
                    note_error = reason = unhealthy
            else:
                try:
                    outcome = await self._write(target, restore, obs.config_hash, note)
                    hash_after = outcome.hash
                except ConfigConflict:
                    if attempt == 2:
                        raise
                    continue
                except ApplyNotHealthy as exc:
                    # the previous config is back; its health is the bot's own business now
                    hash_after = exc.hash
                    note_error = reason = unhealthy
                hash_before = obs.config_hash
            self._set(bot, "rolled-back", hash_after=hash_after,
                      error=self._short(note_error) if note_error else None)
            self._record("rollback", bot=bot, hash_before=hash_before, hash_after=hash_after,
                         reason=reason)
            return

    # -- waits ----------------------------------------------------------------------------
    def _check_between_waves(self) -> None:
        """Requests that end the rollout at a boundary (raise :class:`_Halt`)."""
        if self._over_threshold():
            raise _Halt("Failed", self._failure_reason(), rollback=True)
        ctl = self.control
        if ctl.abort_actor is not None:
            why = f": {ctl.abort_reason}" if ctl.abort_reason else ""
            raise _Halt("Aborted", self._short(f"aborted by {ctl.abort_actor}{why}"),
                        rollback=True)
        if ctl.superseded_by is not None:
            raise _Halt("Superseded", f"superseded by commit {ctl.superseded_by[:12]}",
                        rollback=False)

    def _take_promote(self) -> None:
        ctl = self.control
        if ctl.promote_actor is None:
            return
        actor, full = ctl.promote_actor, ctl.promote_full
        ctl.promote_actor = None
        self.rollout.promoted = True
        self.rollout.promote_full = self.rollout.promote_full or full
        self._record("rollout-promoted", actor=actor, unique=True,
                     reason="promoted: every remaining bot in one wave" if full
                     else "promoted: bake and pauses skipped")
        self._changed()

    async def _bake(self, wave: WaveStatus) -> None:
        """Keep the canaries under watch until the bake ends (or a request ends it early)."""
        ro = self.rollout
        until = _parse_iso(ro.bake_until) if ro.bake_until else None
        if until is None:
            until = self._clock.now() + wave.bake_seconds * self._scale
            ro.bake_until = iso(until)
        ro.phase = "Baking"
        self._changed()
        interval = min(self._bake_check, max(wave.bake_seconds * self._scale / 5, 0.001))
        while True:
            self._take_promote()
            self._check_between_waves()
            if ro.promoted:
                break
            left = until - self._clock.now()
            if left <= 0:
                break
            await self.control.wait(self._clock, min(interval, left))
            if self.control.promote_actor is None and self.control.abort_actor is None:
                await self._check_canaries(wave)
        await self._check_canaries(wave)
        self._check_between_waves()
        ro.bake_until = None
        ro.phase = "Progressing"
        self._changed()

    async def _check_canaries(self, wave: WaveStatus) -> None:
        bots = [b for b in wave.bots if self.rollout.results[b].result == "applied"
                and b in self.targets]

        async def check(bot: str) -> None:
            async with self._limit:
                obs = await self._observe(self.targets[bot])
            if obs.healthy:
                return
            why = "unreachable" if not obs.reachable else "not healthy"
            self._fail(bot, f"{why} during the canary bake")
            self._record(self._bot_action, result="failed", bot=bot,
                         hash_before=self.rollout.results[bot].hash_before,
                         hash_after=self.rollout.results[bot].hash_after,
                         reason=f"{why} during the canary bake")

        await asyncio.gather(*(check(b) for b in bots))

    async def _pause_between(self, wave: WaveStatus) -> None:
        if wave.pause_seconds <= 0:
            return
        until = self._clock.now() + wave.pause_seconds * self._scale
        while True:
            self._take_promote()
            self._check_between_waves()
            if self.rollout.promoted or self.control.pause_actor is not None:
                return
            left = until - self._clock.now()
            if left <= 0:
                return
            await self.control.wait(self._clock, left)

    def _merge_remaining(self, start: int) -> None:
        waves = self.rollout.waves
        if len(waves) - start <= 1:
            return
        bots = sorted({b for w in waves[start:] for b in w.bots})
        merged = WaveStatus(index=start + 1, kind="batch", bots=bots)
        self.rollout.waves = [*waves[:start], merged]
        self._changed()

    # -- the rollout ----------------------------------------------------------------------
    async def run(self) -> Rollout:
        """Drive the rollout until it ends or pauses; returns it (also ``self.rollout``)."""
        if self._running:
            raise SyncError(f"rollout {self.rollout.id} is already running", code="bad-phase")
        self._running = True
        try:
            return await self._run()
        finally:
            self._running = False

    async def _run(self) -> Rollout:
        ro = self.rollout
        if ro.terminal:
            return ro
        if ro.phase == "Paused":
            ctl = self.control
            if ctl.resume_actor is not None:
                actor, ctl.resume_actor = ctl.resume_actor, None
                ro.phase = "Progressing"
                self._record("rollout-resumed", actor=actor, unique=True,
                             reason=f"resumed at wave {ro.current_wave + 1} of {len(ro.waves)}")
                self._changed()
            elif ctl.abort_actor is None and ctl.superseded_by is None:
                return ro
        self._record("rollout-started",
                     reason=f"{ro.kind} rollout of {len(ro.results)} bot(s) in "
                            f"{len(ro.waves)} wave(s), strategy {ro.strategy}")
        try:
            await self._run_waves()
        except _Halt as halt:
            await self._finish(halt.phase, halt.reason, rollback=halt.rollback)
        return ro

    async def _run_waves(self) -> None:
        ro = self.rollout
        while ro.current_wave < len(ro.waves):
            self._take_promote()
            self._check_between_waves()
            ctl = self.control
            if ctl.pause_actor is not None:
                actor, ctl.pause_actor = ctl.pause_actor, None
                ro.phase = "Paused"
                self._record("rollout-paused", actor=actor, unique=True,
                             reason=f"paused before wave {ro.current_wave + 1} of "
                                    f"{len(ro.waves)}")
                self._changed()
                return
            if ro.promote_full:
                self._merge_remaining(ro.current_wave)
            wave = ro.waves[ro.current_wave]
            if ro.phase != "Baking":
                ro.phase = "Progressing"
                await self._run_wave(wave)
                self._check_between_waves()
            if wave.kind == "canary" and wave.bake_seconds > 0 and not ro.promoted:
                await self._bake(wave)
            ro.phase = "Progressing"
            ro.bake_until = None
            ro.current_wave += 1
            self._changed()
            if ro.current_wave < len(ro.waves) and wave.kind == "batch":
                await self._pause_between(wave)
        if self._over_threshold() or self.control.abort_actor is not None:
            self._check_between_waves()
        await self._finish("Succeeded", "", rollback=False)

    async def _run_wave(self, wave: WaveStatus) -> None:
        if wave.started_at is None:
            wave.started_at = self._now()
        self._changed()
        todo = [b for b in wave.bots
                if self.rollout.results.get(b, BotResult(bot=b)).result in ("pending",
                                                                          "applying")]
        if todo:
            await asyncio.gather(*(self._apply_bot(b) for b in todo))
        wave.finished_at = self._now()
        self._changed()

    async def _finish(self, phase: RolloutPhase, reason: str, *, rollback: bool) -> None:
        ro = self.rollout
        # a bot still "applying" here comes from a daemon that stopped mid-write: find out
        # whether the write landed before it is rolled back or dropped
        applying = sorted(b for b, r in ro.results.items() if r.result == "applying")
        if applying:
            await asyncio.gather(*(self._settle(b) for b in applying))
        if rollback:
            await self._roll_back()
        dropped: BotResultKind = "skipped"
        for result in ro.results.values():
            if result.result in ("pending", "applying"):
                result.result = dropped
                result.at = self._now()
                if result.error is None:
                    result.error = f"not reached: rollout {phase.lower()}"
        ro.phase = phase
        ro.reason = reason
        ro.bake_until = None
        ro.finished_at = self._now()
        self._record(_TERMINAL_AUDIT[phase], result="failed" if phase == "Failed" else "ok",
                     actor=self.control.abort_actor if phase == "Aborted" else None,
                     reason=reason or f"{len(ro.results)} bot(s) in {len(ro.waves)} wave(s)")
        self._changed()
        log.info("rollout %s %s%s", ro.id, phase, f": {reason}" if reason else "")

