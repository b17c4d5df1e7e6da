"""The sync daemon: the loop that ties source, gate, observation, rollouts and write-back.

One :class:`Daemon` watches one branch of one config repository:

1. **Source**: fetch ``branch`` (poll with jitter; webhooks and ``sync_now`` wake it up).
2. **Gate**: each new head goes through :func:`~molthub_gitops.repo.validate.validate_commit`
   (the code of ``molthub validate``). A failing commit is never applied: the gate verdict is
   in the status, a ``gate-failed`` audit entry says why, the last good commit stays in force.
3. **Observe**: every bot's Gateway over pooled connections; :func:`assess` turns each
   observation into a :class:`BotStatus`. A bot that was Synced and is now OutOfSync outside a
   rollout drifted: one ``drift`` audit entry (per bot and observed hash); ``selfHeal`` turns
   it into a ``heal`` rollout, otherwise the bot stays OutOfSync, visibly.
4. **Roll out**, per fleet, as independent tasks: the bots of a fleet that do not hold the
   desired config of the fleet's target commit (the commit in force, or the commit a manual
   rollback pinned) go through a :class:`RolloutRunner`. A newer commit supersedes a running
   rollout (it finishes its wave first). A rollout that Failed (or was aborted) on commit C is
   not retried while C is in force.
5. **Record**: the status and the audit log go to the status branch in batches (right after
   every rollout phase change too) through the :class:`StatusWriter`.

Restart: the status branch gives the status back, a rollout that was not finished is resumed
(its runner observes each bot before writing, so no bot is applied twice) unless a newer good
commit superseded it. ``dry_run`` never writes anything: neither to a gateway nor to the
status branch; the status shows the rollouts that would run (reason ``dry-run``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from molthub_gitops import __version__
from molthub_gitops.errors import InputError, MolthubError, ProviderError, SyncError
from molthub_gitops.gateway.operations import Observation
from molthub_gitops.model.documents import RolloutSpec, parse_duration
from molthub_gitops.plan.drift import effective_config, filled_paths
from molthub_gitops.providers.base import BotEndpoint
from molthub_gitops.render.canonical import canonical_json
from molthub_gitops.render.types import RenderedBot, config_from_json
from molthub_gitops.repo.validate import CommitVerdict, validate_commit
from molthub_gitops.report.outcome import Outcome
from molthub_gitops.sync.audit import AuditDraft, AuditEntry
from molthub_gitops.sync.clock import Clock, SystemClock, iso
from molthub_gitops.sync.metrics import Metrics
from molthub_gitops.sync.observer import assess
from molthub_gitops.sync.pool import GatewayPool
from molthub_gitops.sync.providers import ProviderRegistry
from molthub_gitops.sync.rollout import BotTarget, RolloutRunner, new_rollout
from molthub_gitops.sync.source import FetchTrigger, GitCredentials, GitSource, poll_delay
from molthub_gitops.sync.state import (
    BotStatus,
    DaemonInfo,
    DaemonStatus,
    FleetStatus,
    GateStatus,
    Rollout,
    RolloutKind,
    RolloutSummary,
)
from molthub_gitops.sync.statusbranch import StatusBranch, StatusWriter

__all__ = ["ACTOR", "CONTROL_ACTIONS", "Daemon", "DaemonOptions", "gate_problems"]

log = logging.getLogger("molthub.sync.daemon")

ACTOR = "molthub-sync"
DEFAULT_STATUS_BRANCH = "molthub-status"
DEFAULT_INTERVAL = 120.0
HISTORY = 20
GATE_PROBLEMS = 50
CONTROL_ACTIONS = ("pause", "resume", "promote", "abort", "rollback")
_REPLAN = "replan"
"""An internal wake-up reason: plan again, no fetch needed."""
_STOP_GRACE = 10.0
"""Seconds ``stop()`` waits for rollout tasks to end after cancelling them."""
_INTENT_ATTEMPTS = 4
"""Publishes tried (1 s, 2 s, 4 s apart) to record new rollouts before their first write."""
_ENSURE_TIMEOUT = 900.0
"""Seconds a provider may take to create or update a bot's runtime (``ensure``)."""
_ENDPOINT_TIMEOUT = 60.0
"""Seconds a provider may take to say where a bot's Gateway is (``endpoint``)."""
_AUTH_ERRORS = ("AuthenticationFailed", "PairingRequired")
"""Observation errors after which a bot's endpoint (and its token) is resolved again."""
_OBSERVE_CHUNK = 1000
"""Bots observed together in a pass (bounds the memory of a pass over a large fleet)."""
_ONCE_ROUNDS = 50
_ONCE_WAIT = 3600.0
"""``run_once`` waits at most this long for one of the rollouts to end (each is bounded by
its own health timeouts), at most ``_ONCE_ROUNDS`` times."""


@dataclass(frozen=True)
class DaemonOptions:
    """What ``molthub sync`` was asked to do. Secrets are held in memory only (never shown:
    the fields with secrets are left out of ``repr``)."""

    repo: str
    workdir: Path
    branch: str = "main"
    path: str = ""
    status_branch: str | None = None
    """None: the Repository's ``spec.statusBranch`` (``molthub-status``)."""
    interval: float | None = None
    """Poll interval in seconds; None: the Repository's ``spec.sync.interval``."""
    jitter: float = 0.1
    observe_interval: float = 30.0
    listen: str | None = "127.0.0.1:8080"
    once: bool = False
    dry_run: bool = False
    credentials: GitCredentials | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    webhook_secrets: Any = field(default=None, repr=False)
    """A ``web.webhooks.WebhookSecrets`` (typed loosely: ``sync`` does not import ``web``)."""
    provider_override: str | None = None
    time_scale: float = 1.0
    concurrency: int = 64
    observe_timeout: float = 10.0
    replica: str = ""


# --------------------------------------------------------------------------- renders


@dataclass(frozen=True)
class _FleetInfo:
    name: str
    environment: str
    provider: str
    openclaw_version: str
    rollout: RolloutSpec
    suspended: bool
    self_heal: bool
    bots: tuple[str, ...]


@dataclass(frozen=True)
class _Render:
    """One commit, rendered: its bots and fleets, and the repository-wide settings."""

    commit: str
    bots: Mapping[str, RenderedBot]
    fleets: Mapping[str, _FleetInfo]
    status_branch: str
    interval: float


def _render_of(verdict: CommitVerdict, commit: str) -> _Render | None:
    """The render a verdict carries (also for a commit that fails policy: it rendered)."""
    repo = verdict.repository
    if repo is None or verdict.outcome.stage in ("load", "render"):
        return None
    spec = repo.repository.doc.spec
    bots = {b.name: _slim(b) for b in verdict.bots}
    fleets: dict[str, _FleetInfo] = {}
    for name, sd in sorted(repo.fleets.items()):
        fs = sd.doc.spec
        heal = fs.sync.self_heal if fs.sync.self_heal is not None else spec.sync.self_heal
        fleets[name] = _FleetInfo(
            name=name, environment=fs.environment, provider=fs.target.provider,
            openclaw_version=fs.openclaw_version, rollout=fs.rollout,
            suspended=fs.sync.suspended, self_heal=heal,
            bots=tuple(sorted(b.name for b in verdict.bots if b.fleet == name)),
        )
    try:
        interval = parse_duration(spec.sync.interval)
    except ValueError:
        interval = DEFAULT_INTERVAL
    return _Render(commit=verdict.commit or commit, bots=bots, fleets=fleets,
                   status_branch=spec.status_branch, interval=interval)


def _slim(bot: RenderedBot) -> RenderedBot:
    """The bot as the daemon keeps it between passes: its config as canonical JSON text,
    decoded when read and not kept (10,000 decoded configs would be about 150 MB), without
    the renderer's caches and provenance."""
    text = canonical_json(bot.config).decode()
    return dataclasses.replace(bot, config=config_from_json(text, keep=False), provenance={},
                               section_json={}, section_values={})


def gate_problems(outcome: Outcome, limit: int = GATE_PROBLEMS) -> list[str]:
    """Why a commit failed the gate, one ``file:line: message`` line each: the problems that
    stopped validation and the policy findings at or above ``failOn``."""
    lines: list[str] = []
    for problem in outcome.problems:
        where = f"{problem.location}: " if problem.location is not None else ""
        lines.append(f"{where}{problem.message} [{problem.code}]")
    if outcome.policy is not None:
        for finding in outcome.policy.failing(outcome.fail_on):
            where = f"{finding.location}: " if finding.location is not None else ""
            bots = f" (bots: {', '.join(finding.bots[:5])}" + (
                ", ..." if len(finding.bots) > 5 else "") + ")" if finding.bots else ""
            lines.append(f"{where}{finding.severity} {finding.rule}: {finding.message}{bots}")
    if not lines:
        lines.append(f"validation stopped at stage {outcome.stage}")
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more"]
    return lines


def _replica(given: str) -> str:
    return given or f"{socket.gethostname()}:{os.getpid()}"


def _summary(rollout: Rollout) -> RolloutSummary:
    return RolloutSummary(
        id=rollout.id, kind=rollout.kind, commit=rollout.commit, phase=rollout.phase,
        reason=rollout.reason, started_at=rollout.started_at, finished_at=rollout.finished_at,
        bots=len(rollout.results), failures=rollout.failures)


def _rollout_bots(rollout: Rollout) -> list[str]:
    if rollout.results:
        return sorted(rollout.results)
    return sorted({b for wave in rollout.waves for b in wave.bots})


@dataclass
class _Driver:
    """One fleet's rollout in memory: the runner, its task, what was already reflected."""

    runner: RolloutRunner
    task: asyncio.Task[None] | None = None
    superseded_by: str | None = None
    seen: dict[str, str] = field(default_factory=dict)
    phase: str = ""


# --------------------------------------------------------------------------- the daemon


class Daemon:
    """The sync daemon (implements ``web.ports.DaemonPort`` structurally)."""

    def __init__(self, options: DaemonOptions, *, clock: Clock | None = None,
                 providers: ProviderRegistry | None = None, pool: GatewayPool | None = None,
                 metrics: Metrics | None = None) -> None:
        self.options = options
        self.clock: Clock = clock or SystemClock()
        self.providers = providers or ProviderRegistry(override=options.provider_override)
        self.pool = pool or GatewayPool(concurrency=options.concurrency)
        self.metrics = metrics or Metrics()
        self.source = GitSource(options.repo, options.workdir, branch=options.branch,
                                credentials=options.credentials)
        self._trigger = FetchTrigger()
        self._rng = random.Random()  # noqa: S311 - poll jitter, not security
        self._status = DaemonStatus(
            repo=self.source.display_url, branch=options.branch, path=options.path,
            status_branch=options.status_branch or DEFAULT_STATUS_BRANCH,
            daemon=DaemonInfo(version=__version__, replica=_replica(options.replica)))
        self._renders: dict[str, _Render] = {}
        self._endpoints: dict[str, tuple[tuple[Any, ...], BotEndpoint]] = {}
        self._endpoint_errors: dict[str, str] = {}
        self._drivers: dict[str, _Driver] = {}
        self._epoch: dict[str, int] = {}
        self._writer: StatusWriter | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._flush_again = False
        self._launched: list[tuple[str, _Driver]] = []
        self._intents: set[asyncio.Future[None]] = set()
        self._started = False
        self._ready = False
        self._running = False
        self._stopping = False
        self._stopped = False
        self._plan_lock = asyncio.Lock()
        self._interval = options.interval

    # ------------------------------------------------------------------ DaemonPort

    def status(self) -> DaemonStatus:
        """The live status (do not modify it)."""
        self._status.updated_at = iso(self.clock.now())
        return self._status

    def recent_audit(self, limit: int = 100) -> list[AuditEntry]:
        if self._writer is None:
            return []
        return self._writer.recent(limit)

    def live(self) -> bool:
        return not self._stopped

    def ready(self) -> bool:
        return self._ready and not self._stopped

    def on_webhook(self, event: object) -> None:
        provider = getattr(event, "provider", "webhook")
        self._trigger.request(f"webhook:{provider}")

    async def sync_now(self, reason: str) -> None:
        """Wake the source loop: fetch now."""
        self._trigger.request(reason or "sync-now")

    @property
    def status_branch_name(self) -> str:
        return self._status.status_branch

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Clone or open the repository, gate its head, load the status branch, restore the
        rollouts that were running, observe every bot once and plan."""
        if self._started:
            return
        self._started = True
        self._status.daemon.started_at = iso(self.clock.now())
        await asyncio.to_thread(self.source.open)
        log.info("following %s (%s)%s", self.source.display_url, self.options.branch,
                 " in dry-run mode: nothing is written" if self.options.dry_run else "")
        try:  # the first fetch must work (a wrong branch, bad credentials: say so and stop)
            head = await asyncio.to_thread(self.source.fetch)
        except MolthubError:
            self.metrics.fetch("failed")
            raise
        self.metrics.fetch("ok")
        verdict = await self._validate(head)
        first = await asyncio.to_thread(_render_of, verdict, head)
        if first is not None:
            self._renders[head] = first
        branch = self.options.status_branch or (
            first.status_branch if first is not None else DEFAULT_STATUS_BRANCH)
        self._status.status_branch = branch
        if self._interval is None:
            self._interval = first.interval if first is not None else DEFAULT_INTERVAL
        status_branch = StatusBranch(self.source.repo_path, branch=branch,
                                     callbacks=self.source.callbacks)
        loaded = await asyncio.to_thread(status_branch.load)
        self._writer = StatusWriter(status_branch, self.clock, status=self._branch_status)
        if loaded.status is not None:
            self._restore(loaded.status)
        self._status.head_commit = head
        await self._gate(head, verdict)
        await self._restore_rollouts()
        await self._observe_pass()
        self._ready = True
        await self._plan()
        self._request_flush()

    async def run(self) -> None:
        """Loop until :meth:`stop`: fetch on poll and webhooks, observe every
        ``observe_interval``, plan, and write the status in the background."""
        if not self._started:
            await self.start()
        assert self._writer is not None
        self._running = True
        if not self.options.dry_run:
            self._writer_task = asyncio.get_running_loop().create_task(self._write_loop())
        loop_clock = self.clock
        interval = self._interval or DEFAULT_INTERVAL
        next_fetch = loop_clock.monotonic() + poll_delay(interval, self.options.jitter,
                                                         self._rng)
        next_observe = loop_clock.monotonic() + self.options.observe_interval
        try:
            while not self._stopping:
                now = loop_clock.monotonic()
                wait = max(0.0, min(next_fetch, next_observe) - now)
                reasons = await self._trigger.wait(wait)
                if self._stopping:
                    break
                now = loop_clock.monotonic()
                fetch = now >= next_fetch or any(r != _REPLAN for r in reasons)
                try:
                    changed = False
                    if fetch:
                        next_fetch = loop_clock.monotonic() + poll_delay(
                            self._interval or interval, self.options.jitter, self._rng)
                        changed = await self._poll()
                    if loop_clock.monotonic() >= next_observe:
                        next_observe = loop_clock.monotonic() + self.options.observe_interval
                        await self._observe_pass()
                        changed = True
                    if changed or reasons:
                        await self._plan()
                except asyncio.CancelledError:
                    raise
                except Exception:  # keep the daemon alive; the next round tries again
                    log.exception("reconcile round failed; retrying on the next round")
                    await self.clock.sleep(1.0)
        finally:
            self._running = False

    async def run_once(self) -> DaemonStatus:
        """Fetch, gate, observe, roll out to the end (or to a pause), write the status."""
        if not self._started:
            await self.start()
        else:
            await self._poll()
            await self._observe_pass()
            await self._plan()
        for _ in range(_ONCE_ROUNDS):
            tasks = [d.task for d in self._drivers.values()
                     if d.task is not None and not d.task.done()]
            if not tasks:
                break
            await asyncio.wait(tasks, timeout=_ONCE_WAIT, return_when=asyncio.FIRST_COMPLETED)
            await self._plan()
        await self._observe_pass()
        if not self.options.dry_run:
            await self._flush()
        return self.status()

    async def stop(self) -> None:
        """Stop: cancel rollout tasks (a bot written mid-wave is found holding its config on
        the next start and not written again), flush the status, close connections."""
        if self._stopped:
            return
        self._stopping = True
        self._trigger.request("stop")
        tasks = [d.task for d in self._drivers.values() if d.task is not None
                 and not d.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_STOP_GRACE)
        for t in (self._writer_task, self._flush_task, *self._intents):
            if t is not None and not t.done():
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(t, _STOP_GRACE)
        if self._writer is not None and not self.options.dry_run and self._started:
            try:
                await asyncio.wait_for(self._flush(), 60.0)
            except TimeoutError:
                log.warning("the final status flush did not finish within 60 s")
        self._stopped = True
        with contextlib.suppress(Exception):
            await self.pool.close()
        with contextlib.suppress(Exception):
            await self.providers.close()

    # ------------------------------------------------------------------ source and gate

    async def _fetch(self) -> str | None:
        try:
            head = await asyncio.to_thread(self.source.fetch)
        except MolthubError as exc:
            self.metrics.fetch("failed")
            log.warning("fetch failed: %s", exc)
            return None
        self.metrics.fetch("ok")
        return head

    async def _poll(self) -> bool:
        """Fetch; gate a new head. True when the commit in force changed."""
        head = await self._fetch()
        if head is None:
            return False
        before = self._status.applied_commit
        self._status.head_commit = head
        gate = self._status.gate
        if gate is None or gate.commit != head:
            await self._gate(head)
        return self._status.applied_commit != before

    async def _validate(self, commit: str) -> CommitVerdict:
        return await asyncio.to_thread(validate_commit, self.source.repo_path, commit,
                                       subdir=self.options.path)

    async def _gate(self, commit: str, verdict: CommitVerdict | None = None) -> None:
        if verdict is None:
            verdict = await self._validate(commit)
        now = iso(self.clock.now())
        if not verdict.ok:
            problems = gate_problems(verdict.outcome)
            self._status.gate = GateStatus(commit=commit, ok=False, problems=problems,
                                           checked_at=now)
            self._record(AuditDraft(
                actor=ACTOR, action="gate-failed", result="failed", commit=commit,
                reason="; ".join(problems[:3])[:500], id=f"gate-failed:{commit}"))
            log.warning("commit %s failed the gate (%d problem(s)); %s stays in force",
                        commit[:12], len(problems),
                        (self._status.applied_commit or "nothing")[:12])
            await self._refresh()
            self._mark_dirty()
            return
        render = self._renders.get(commit) or await asyncio.to_thread(_render_of, verdict, commit)
        assert render is not None
        self._renders[commit] = render
        if self._status.applied_commit != commit:
            log.info("commit %s passed the gate: %d bot(s) in %d fleet(s)", commit[:12],
                     len(render.bots), len(render.fleets))
        self._status.gate = GateStatus(commit=commit, ok=True, checked_at=now)
        self._status.applied_commit = commit
        for fleet in self._status.fleets.values():
            if fleet.pinned_commit is not None and fleet.pinned_head not in (None, commit):
                fleet.pinned_commit = None
                fleet.pinned_head = None
        await self._refresh()
        self._prune_renders()
        self._mark_dirty()

    async def _refresh(self) -> None:
        """Render what fleets need (the commit in force, pinned commits), then line fleets
        and bots up with them."""
        wanted = [self._status.applied_commit,
                  *(f.pinned_commit for f in self._status.fleets.values())]
        for commit in wanted:
            if commit:
                await self._ensure_render(commit)
        self._apply_renders()

    async def _ensure_render(self, commit: str) -> _Render | None:
        found = self._renders.get(commit)
        if found is not None:
            return found
        try:
            verdict = await self._validate(commit)
        except MolthubError as exc:
            log.warning("cannot render %s: %s", commit[:12], exc)
            return None
        render = await asyncio.to_thread(_render_of, verdict, commit)
        if render is not None:
            self._renders[commit] = render
        return render

    def _target(self, fleet: FleetStatus) -> str | None:
        return fleet.pinned_commit or self._status.applied_commit

    def _target_render(self, fleet: str) -> _Render | None:
        status = self._status.fleets.get(fleet)
        commit = self._target(status) if status is not None else self._status.applied_commit
        return self._renders.get(commit) if commit is not None else None

    def _prune_renders(self) -> None:
        keep: set[str] = set()
        if self._status.applied_commit:
            keep.add(self._status.applied_commit)
        for fleet in self._status.fleets.values():
            keep.update(c for c in (fleet.pinned_commit, fleet.last_synced_commit) if c)
            if fleet.rollout is not None and not fleet.rollout.terminal:
                keep.update(c for c in (fleet.rollout.commit, fleet.rollout.previous_commit)
                            if c)
        for commit in list(self._renders):
            if commit not in keep:
                del self._renders[commit]

    def _apply_renders(self) -> None:
        """Bring fleets and bots in line with each fleet's target render: new fleets and bots
        appear, removed ones go; a bot whose desired config changed is OutOfSync until a
        rollout brings it there (one that did not change stays as it was)."""
        applied = self._renders.get(self._status.applied_commit or "")
        if applied is None:
            return
        fleets: dict[str, FleetStatus] = {}
        bots: dict[str, BotStatus] = {}
        for name, info in applied.fleets.items():
            current = self._status.fleets.get(name) or FleetStatus(name=name)
            target = self._target(current) or applied.commit
            render = self._renders.get(target, applied)
            info = render.fleets.get(name, info)
            current.environment = info.environment
            current.provider = self.options.provider_override or info.provider
            current.openclaw_version = info.openclaw_version
            current.strategy = info.rollout.strategy
            current.suspended = info.suspended
            current.self_heal = info.self_heal
            current.bots = list(info.bots)
            fleets[name] = current
            for bot_name in info.bots:
                bot = render.bots[bot_name]
                bots[bot_name] = self._rederive(bot, self._status.bots.get(bot_name),
                                                render.commit)
        for name, fleet in self._status.fleets.items():
            if name not in fleets and fleet.rollout is not None and not fleet.rollout.terminal:
                fleets[name] = fleet  # a running rollout of a removed fleet still shows
        self._status.fleets = fleets
        self._status.bots = bots
        for name in [n for n in self._endpoints if n not in bots]:
            del self._endpoints[name]

    def _rederive(self, bot: RenderedBot, previous: BotStatus | None, commit: str
                  ) -> BotStatus:
        if previous is None:
            return BotStatus(
                name=bot.name, fleet=bot.fleet, environment=bot.environment,
                desired_version=bot.openclaw_version, gateway_url=_display(bot.gateway_url),
                labels=dict(bot.labels), desired_hash=bot.config_hash)
        status = previous.model_copy(update={
            "fleet": bot.fleet, "environment": bot.environment,
            "desired_version": bot.openclaw_version, "gateway_url": _display(bot.gateway_url),
            "labels": dict(bot.labels)})
        if previous.desired_hash != bot.config_hash:
            # the desired config changed: not in sync until a rollout (or a look that finds
            # the bot holding it already) says so; forget the observed hash so the next look
            # compares configs instead of reusing the old verdict
            status.desired_hash = bot.config_hash
            status.observed_hash = None
            if status.state in ("Synced", "Degraded") and status.rollout_id is None:
                status.state = "OutOfSync"
        elif status.state == "Synced":
            status.synced_commit = commit
        return status

    # ------------------------------------------------------------------ restore

    def _restore(self, saved: DaemonStatus) -> None:
        """Take fleets, bots, gate and rollouts from the status branch."""
        self._status.fleets = dict(saved.fleets)
        self._status.bots = dict(saved.bots)
        self._status.gate = saved.gate
        self._status.applied_commit = saved.applied_commit
        self._status.head_commit = saved.head_commit

    async def _restore_rollouts(self) -> None:
        """Rebuild a runner for every rollout left unfinished (it is started by the planner:
        resumed, or superseded when a newer good commit is in force)."""
        for name, fleet in list(self._status.fleets.items()):
            rollout = fleet.rollout
            if rollout is None or rollout.terminal or rollout.reason == "dry-run":
                continue
            if self.options.dry_run:
                continue
            driver = await self._make_driver(rollout)
            if driver is None:
                rollout.phase = "Failed"
                rollout.reason = "could not be resumed: its commit no longer renders"
                rollout.finished_at = iso(self.clock.now())
                fleet.history = [_summary(rollout), *fleet.history][:HISTORY]
                continue
            if rollout.abort_requested_by is not None:  # finish what was asked
                driver.runner.control.abort(rollout.abort_requested_by, rollout.abort_reason)
            self._drivers[name] = driver
            log.info("restored rollout %s (%s, wave %d of %d)", rollout.id, rollout.phase,
                     *rollout.progress())

    # ------------------------------------------------------------------ observe

    async def _endpoint(self, bot: RenderedBot, write: bool) -> BotEndpoint:
        secret = bot.gateway.secret
        key = (bot.fleet, bot.gateway_url, bot.gateway.auth,
               None if secret is None else (secret.env, secret.file, secret.store), write)
        cached = self._endpoints.get(bot.name)
        if cached is not None and cached[0] == key:
            return cached[1]
        provider = self.providers.for_bot(bot)
        endpoint = await (provider.ensure(bot) if write else provider.endpoint(bot))
        self._endpoints[bot.name] = (key, endpoint)
        return endpoint

    async def _endpoints_for(self, bots: Sequence[RenderedBot]) -> dict[str, BotEndpoint]:
        out: dict[str, BotEndpoint] = {}
        sem = asyncio.Semaphore(max(1, self.options.concurrency))

        async def one(bot: RenderedBot) -> None:
            fleet = self._status.fleets.get(bot.fleet)
            write = not self.options.dry_run and not (fleet is not None and fleet.suspended)
            limit = _ENSURE_TIMEOUT if write else _ENDPOINT_TIMEOUT
            async with sem:
                try:
                    async with asyncio.timeout(limit):
                        out[bot.name] = await self._endpoint(bot, write)
                    self._endpoint_errors.pop(bot.name, None)
                except (ProviderError, InputError) as exc:
                    self._endpoint_errors[bot.name] = _one_line(str(exc))
                except TimeoutError:
                    self._endpoint_errors[bot.name] = (
                        f"provider {fleet.provider if fleet is not None else '?'} did not "
                        f"answer within {limit:g}s")

        await asyncio.gather(*(one(b) for b in bots))
        return out

    def _desired_bots(self) -> list[RenderedBot]:
        out: list[RenderedBot] = []
        for name, fleet in self._status.fleets.items():
            render = self._target_render(name)
            if render is None:
                continue
            out.extend(render.bots[b] for b in fleet.bots if b in render.bots)
        return out

    def _holding_rollout(self, bot: str) -> str | None:
        status = self._status.bots.get(bot)
        if status is None:
            return None
        fleet = self._status.fleets.get(status.fleet)
        rollout = fleet.rollout if fleet is not None else None
        if rollout is None or rollout.terminal or rollout.reason == "dry-run":
            return None
        result = rollout.results.get(bot)
        if result is None or result.result in ("applied", "skipped", "rolled-back",
                                               "rollback-failed", "failed"):
            return None
        return rollout.id

    async def _observe_pass(self) -> None:
        """Observe every bot once and classify it; record drift."""
        started = self.clock.monotonic()
        desired = self._desired_bots()
        for first in range(0, len(desired), _OBSERVE_CHUNK):
            await self._observe_chunk(desired[first:first + _OBSERVE_CHUNK])
        self.metrics.observe_pass(self.clock.monotonic() - started)
        self._mark_dirty()

    async def _observe_chunk(self, bots: list[RenderedBot]) -> None:
        """Observe and classify ``bots`` (a slice of a pass: a pass over 10,000 bots never
        holds every gateway's config at once)."""
        epochs = dict(self._epoch)
        endpoints = await self._endpoints_for(bots)
        observations = await self.pool.observe_many(
            list(endpoints.values()), timeout=self.options.observe_timeout)
        now = iso(self.clock.now())
        for bot in bots:
            if self._epoch.get(bot.fleet, 0) != epochs.get(bot.fleet, 0):
                continue  # a rollout of this fleet moved meanwhile: this look may be stale
            fleet = self._status.fleets.get(bot.fleet)
            if fleet is None:
                continue
            observation = observations.get(bot.name)
            previous = self._status.bots.get(bot.name)
            if observation is not None and observation.error_kind in _AUTH_ERRORS:
                # the token may have been rotated (a secret file): ask the provider again
                self._endpoints.pop(bot.name, None)
            if observation is None:
                error = self._endpoint_errors.get(bot.name, "no endpoint")
                observation = Observation(url=_display(bot.gateway_url), reachable=False,
                                          error=error, error_kind="ProviderError")
            self._status.bots[bot.name] = self._assess(bot, observation, previous, fleet, now)

    def _assess(self, bot: RenderedBot, observation: Observation, previous: BotStatus | None,
                fleet: FleetStatus, now: str) -> BotStatus:
        holding = self._holding_rollout(bot.name)
        status = assess(bot, observation, previous, in_rollout=holding, now=now)
        target = self._target(fleet)
        if status.state == "Synced" and target is not None:
            status.synced_commit = target
        if (previous is not None and _held_config(previous)
                and status.state == "OutOfSync" and holding is None
                and previous.desired_hash == status.desired_hash
                and fleet.last_synced_commit == target
                and not self.options.dry_run):
            self._record(AuditDraft(
                actor=ACTOR, action="drift", result="info", commit=target, fleet=bot.fleet,
                bot=bot.name, hash_before=previous.observed_hash,
                hash_after=status.observed_hash,
                reason=_drift_reason(status, fleet.self_heal),
                id=f"drift:{bot.name}:{status.observed_hash}:{previous.last_applied_at}"))
            log.info("bot %s drifted: %d path(s) changed outside Git", bot.name,
                     status.drift_count)
        return status

    # ------------------------------------------------------------------ planning

    async def _plan(self) -> None:
        """Start, resume or supersede each fleet's rollout as the state asks."""
        async with self._plan_lock:
            if self._stopping:
                return
            self._launched = []
            for name in sorted(self._status.fleets):
                try:
                    await self._plan_fleet(name)
                except MolthubError as exc:
                    log.warning("fleet %s: cannot plan: %s", name, exc)
            launched, self._launched = self._launched, []
            if launched:
                # write-ahead: the new rollouts reach the status branch (one publish for all
                # of them) before their first gateway write; observing starts meanwhile
                record = asyncio.get_running_loop().create_task(
                    self._record_intent([d for _, d in launched]))
                self._intents.add(record)
                record.add_done_callback(self._intents.discard)
                for name, driver in launched:
                    driver.runner.before_write = _waiter(record)
                    self._start(name, driver)

    async def _plan_fleet(self, name: str) -> None:
        fleet = self._status.fleets[name]
        target = self._target(fleet)
        if target is None:
            return
        driver = self._drivers.get(name)
        if driver is not None and not driver.runner.rollout.terminal:
            self._steer(name, driver, target)
            return
        if fleet.last_failed_commit is not None and fleet.last_failed_commit != target:
            fleet.last_failed_commit = None
            fleet.last_failed_reason = ""
            self._mark_dirty()
        if fleet.suspended or fleet.last_failed_commit == target:
            return
        render = self._renders.get(target) or await self._ensure_render(target)
        if render is None:
            return
        kind: RolloutKind = "rollback" if fleet.pinned_commit else "sync"
        need: list[str] = []
        drifted: list[str] = []
        for bot_name in fleet.bots:
            bot = self._status.bots.get(bot_name)
            if bot is None or bot_name not in render.bots:
                continue
            if bot.state in ("OutOfSync", "Unknown") and bot.synced_commit != target:
                if bot.failed_commit == target:
                    continue  # a rollout failed to give it this commit: not retried
                need.append(bot_name)
            elif bot.state == "OutOfSync":
                drifted.append(bot_name)
        info = render.fleets.get(name)
        if info is None:
            return
        if need:
            await self._launch(fleet, info, render, need, kind)
        elif drifted and fleet.last_synced_commit == target and fleet.self_heal:
            await self._launch(fleet, info, render, drifted, "heal")
        elif self.options.dry_run and fleet.rollout is not None \
                and fleet.rollout.reason == "dry-run":
            fleet.rollout = None
        if not need and fleet.last_synced_commit != target and not any(
                self._status.bots[b].state in ("Unknown", "Progressing")
                for b in fleet.bots if b in self._status.bots):
            fleet.last_synced_commit = target
            self._mark_dirty()

    def _steer(self, name: str, driver: _Driver, target: str) -> None:
        """A rollout is in memory: supersede it when its commit is no longer the target, and
        (re)start its task unless it is paused."""
        rollout = driver.runner.rollout
        running = driver.task is not None and not driver.task.done()
        if rollout.commit != target and driver.superseded_by != target:
            driver.runner.control.supersede(target)
            driver.superseded_by = target
            log.info("rollout %s superseded by %s", rollout.id, target[:12])
        if running:
            return
        if rollout.phase == "Paused" and driver.superseded_by is None:
            return
        self._start(name, driver)

    def _seq(self, fleet: FleetStatus, commit: str) -> int:
        """The next rollout number of ``fleet`` on ``commit`` (deterministic: a daemon that
        restarts before its rollout reached the status branch makes the same id again)."""
        prefix = f"{fleet.name}@{commit[:12]}#"
        ids = [h.id for h in fleet.history]
        if fleet.rollout is not None and fleet.rollout.reason != "dry-run":
            ids.append(fleet.rollout.id)
        used = [int(i[len(prefix):]) for i in ids
                if i.startswith(prefix) and i[len(prefix):].isdigit()]
        return max(used, default=0) + 1

    async def _launch(self, fleet: FleetStatus, info: _FleetInfo, render: _Render,
                      bots: list[str], kind: RolloutKind) -> None:
        spec = info.rollout
        if kind == "heal":
            spec = RolloutSpec(strategy="all", health_timeout=spec.health_timeout,
                               failure_threshold=spec.failure_threshold)
        previous = None if kind == "heal" else fleet.last_synced_commit
        if previous == render.commit:
            previous = None
        rollout = new_rollout(
            fleet=fleet.name, commit=render.commit, previous_commit=previous, spec=spec,
            bots=bots, kind=kind, seq=self._seq(fleet, render.commit),
            now=iso(self.clock.now()), actor=ACTOR)
        if self.options.dry_run:
            rollout.reason = "dry-run"
            fleet.rollout = rollout
            return
        driver = await self._make_driver(rollout)
        if driver is None:
            return
        fleet.rollout = rollout
        self._drivers[fleet.name] = driver
        for bot in bots:
            status = self._status.bots.get(bot)
            if status is not None:
                status.state = "Progressing"
                status.rollout_id = rollout.id
        log.info("rollout %s: %s of %d bots in %d waves", rollout.id, kind, len(bots),
                 len(rollout.waves))
        self._launched.append((fleet.name, driver))

    async def _record_intent(self, drivers: list[_Driver]) -> None:
        """Publish the status with the rollouts just planned (every bot pending), retrying a
        few times; a status branch that stays unreachable is logged and the rollouts go on
        (their audit entries stay queued until a push works)."""
        delay = 1.0
        for attempt in range(1, _INTENT_ATTEMPTS + 1):
            if self._stopping or await self._flush():
                return
            if attempt < _INTENT_ATTEMPTS:
                await self.clock.sleep(delay)
                delay *= 2
        ids = ", ".join(d.runner.rollout.id for d in drivers)
        log.warning("rollouts %s start before the status branch recorded them (publishing "
                    "failed %d times); a crash now could lose their first audit entries", ids,
                    _INTENT_ATTEMPTS)

    async def _make_driver(self, rollout: Rollout) -> _Driver | None:
        render = await self._ensure_render(rollout.commit)
        if render is None:
            return None
        before = await self._ensure_render(rollout.previous_commit) \
            if rollout.previous_commit else None
        names = _rollout_bots(rollout)
        bots = [render.bots[b] for b in names if b in render.bots]
        endpoints = await self._endpoints_for(bots)
        targets: dict[str, BotTarget] = {}
        for bot in bots:
            endpoint = endpoints.get(bot.name)
            if endpoint is None:
                error = self._endpoint_errors.get(bot.name, "no endpoint")
                endpoint = BotEndpoint(bot=bot.name, fleet=bot.fleet, url=bot.gateway_url,
                                       auth=bot.gateway.auth)
                log.warning("bot %s: %s", bot.name, error)
            old = before.bots.get(bot.name) if before is not None else None
            targets[bot.name] = BotTarget(
                bot=bot.name, endpoint=endpoint, desired=bot.config,
                desired_hash=bot.config_hash,
                previous=old.config if old is not None else None,
                previous_hash=old.config_hash if old is not None else None,
                ignore=tuple(status.ignored_paths) if (
                    status := self._status.bots.get(bot.name)) is not None else ())
        runner = RolloutRunner(
            rollout, targets, pool=self.pool, audit=self._sink(), clock=self.clock,
            on_change=self._on_change, concurrency=self.options.concurrency,
            time_scale=self.options.time_scale)
        return _Driver(runner=runner, phase=rollout.phase)

    def _start(self, fleet: str, driver: _Driver) -> None:
        if self._stopping:
            return
        driver.task = asyncio.get_running_loop().create_task(
            self._drive(fleet, driver), name=f"rollout:{fleet}")

    async def _drive(self, fleet: str, driver: _Driver) -> None:
        runner = driver.runner
        try:
            rollout = await runner.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one fleet failing never stops the others
            log.exception("rollout %s stopped by an internal error", runner.rollout.id)
            rollout = runner.rollout
            rollout.phase = "Failed"
            rollout.reason = f"internal error: {type(exc).__name__}"
            rollout.finished_at = iso(self.clock.now())
        self._on_change(rollout)
        if rollout.terminal:
            await self._finish(fleet, rollout)
        self._trigger.request(_REPLAN)

    # ------------------------------------------------------------------ rollout events

    def _on_change(self, rollout: Rollout) -> None:
        fleet = self._status.fleets.get(rollout.fleet)
        if fleet is None:
            return
        fleet.rollout = rollout
        driver = self._drivers.get(rollout.fleet)
        seen = driver.seen if driver is not None else {}
        now = iso(self.clock.now())
        for name, result in rollout.results.items():
            if seen.get(name) == result.result:
                continue
            seen[name] = result.result
            bot = self._status.bots.get(name)
            if bot is None:
                continue
            if result.result in ("pending", "applying"):
                bot.state = "Progressing"
                bot.rollout_id = rollout.id
            elif result.result == "applied":
                bot.rollout_id = None
                bot.last_error = None
                bot.applied_hash = result.hash_after
                bot.applied_desired_hash = result.desired_hash
                bot.last_applied_at = result.at or now
                if result.desired_hash == bot.desired_hash:
                    bot.state = "Synced"
                    bot.drift = []
                    bot.drift_count = 0
                    bot.observed_hash = result.hash_after or bot.observed_hash
                    bot.synced_commit = rollout.commit
                else:  # an older commit's config (a superseded rollout): not in sync
                    bot.state = "OutOfSync"
                    bot.observed_hash = None
            else:
                bot.rollout_id = None
                if result.error:
                    bot.last_error = result.error
        self._epoch[rollout.fleet] = self._epoch.get(rollout.fleet, 0) + 1
        if driver is not None and driver.phase != rollout.phase:
            driver.phase = rollout.phase
            self._request_flush()
        self._mark_dirty()

    async def _finish(self, fleet_name: str, rollout: Rollout) -> None:
        fleet = self._status.fleets.get(fleet_name)
        self.metrics.rollout_finished(rollout.phase)
        for result in rollout.results.values():
            if result.result == "applied" and result.hash_before != result.hash_after:
                self.metrics.apply("ok")
            elif result.result in ("failed", "rollback-failed"):
                self.metrics.apply("failed")
            elif result.result == "rolled-back":
                self.metrics.apply("rolled-back")
        if rollout.kind == "heal" and rollout.phase == "Succeeded":
            for name, result in sorted(rollout.results.items()):
                if result.result == "applied":
                    self._record(AuditDraft(
                        actor=ACTOR, action="heal", commit=rollout.commit, fleet=fleet_name,
                        bot=name, hash_before=result.hash_before,
                        hash_after=result.hash_after, rollout_id=rollout.id,
                        reason="drift corrected by selfHeal"))
        for name, result in rollout.results.items():
            bot = self._status.bots.get(name)
            if bot is None:
                continue
            if result.result in ("failed", "rollback-failed") and not (
                    result.error or "").startswith("unreachable"):
                bot.failed_commit = rollout.commit
            elif result.result == "applied":
                bot.failed_commit = None
        if fleet is not None:
            fleet.history = [_summary(rollout), *[h for h in fleet.history
                                                  if h.id != rollout.id]][:HISTORY]
            if rollout.phase == "Succeeded" and rollout.kind != "heal":
                fleet.last_synced_commit = rollout.commit
            elif rollout.phase in ("Failed", "Aborted"):
                fleet.last_failed_commit = self._target(fleet) if rollout.kind == "heal" \
                    else rollout.commit
                fleet.last_failed_reason = rollout.reason or rollout.phase.lower()
        self._epoch[fleet_name] = self._epoch.get(fleet_name, 0) + 1
        await self._reobserve(rollout)
        self._prune_renders()
        self._request_flush()

    async def _reobserve(self, rollout: Rollout) -> None:
        """Look at a finished rollout's bots: record what the gateway filled in after our
        apply (never drift) and their state now."""
        fleet = self._status.fleets.get(rollout.fleet)
        render = self._target_render(rollout.fleet)
        if fleet is None or render is None:
            return
        bots = [render.bots[b] for b in rollout.results if b in render.bots]
        endpoints = await self._endpoints_for(bots)
        observations = await self.pool.observe_many(
            list(endpoints.values()), timeout=self.options.observe_timeout)
        now = iso(self.clock.now())
        for bot in bots:
            observation = observations.get(bot.name)
            previous = self._status.bots.get(bot.name)
            if observation is None or previous is None:
                continue
            result = rollout.results.get(bot.name)
            if (observation.reachable and result is not None and result.result == "applied"
                    and result.desired_hash == bot.config_hash):
                previous = previous.model_copy(update={
                    "ignored_paths": filled_paths(
                        bot.config,
                        effective_config(observation.parsed, observation.source_config)),
                    "applied_hash": observation.config_hash if (
                        observation.config_hash == result.hash_after
                        or previous.applied_hash is None) else previous.applied_hash,
                })
            self._status.bots[bot.name] = self._assess(bot, observation, previous, fleet, now)
        self._mark_dirty()

    # ------------------------------------------------------------------ control

    async def control(self, fleet: str, action: str, *, actor: str, full: bool = False,
                      to: str | None = None, reason: str = "") -> FleetStatus:
        """Pause, resume, promote, abort or roll back ``fleet`` (see ``web.ports``)."""
        status = self._status.fleets.get(fleet)
        if status is None:
            raise SyncError(f"no fleet named {fleet!r}", code="unknown-fleet")
        if action not in CONTROL_ACTIONS:
            raise SyncError(f"unknown action {action!r} (use one of "
                            f"{', '.join(CONTROL_ACTIONS)})", code="bad-action")
        if self.options.dry_run:
            raise SyncError("the daemon runs with --dry-run: control actions change "
                            "nothing", code="bad-phase")
        driver = self._drivers.get(fleet)
        rollout = driver.runner.rollout if driver is not None else None
        active = rollout is not None and not rollout.terminal
        if action == "rollback":
            await self._rollback(status, actor=actor, to=to, reason=reason)
            return status
        if action == "resume" and not active:
            failed_bots = [b for b in status.bots if b in self._status.bots
                           and self._status.bots[b].failed_commit is not None]
            if status.pinned_commit is None and status.last_failed_commit is None \
                    and not failed_bots:
                raise SyncError(f"fleet {fleet} has nothing to resume", code="bad-phase")
            status.pinned_commit = None
            status.pinned_head = None
            status.last_failed_commit = None
            status.last_failed_reason = ""
            for name in failed_bots:
                self._status.bots[name].failed_commit = None
            await self._refresh()
            self._mark_dirty()
            self._trigger.request(_REPLAN)
            return self._status.fleets.get(fleet, status)
        if not active or driver is None or rollout is None:
            raise SyncError(f"fleet {fleet} has no rollout in progress", code="bad-phase")
        control = driver.runner.control
        phase = rollout.phase
        if action == "pause":
            if phase not in ("Progressing", "Baking"):
                raise SyncError(f"rollout {rollout.id} is {phase}", code="bad-phase")
            control.pause(actor)
        elif action == "resume":
            if phase != "Paused":
                raise SyncError(f"rollout {rollout.id} is {phase}, not Paused",
                                code="bad-phase")
            control.resume(actor)
        elif action == "promote":
            control.promote(actor, full)
        elif action == "abort":
            control.abort(actor, reason)
            rollout.abort_requested_by = rollout.abort_requested_by or actor
            rollout.abort_reason = rollout.abort_reason or _one_line(reason)[:500]
            self._mark_dirty()
            self._request_flush()
        if driver.task is None or driver.task.done():
            self._start(fleet, driver)
        return status

    async def _rollback(self, fleet: FleetStatus, *, actor: str, to: str | None,
                        reason: str) -> None:
        commit = to.strip() if to else self._previous_synced(fleet)
        if not commit:
            raise SyncError(f"fleet {fleet.name} has no previous synced commit; name one "
                            "with --to", code="bad-phase")
        resolved = await asyncio.to_thread(_resolve_commit, self.source.repo_path, commit)
        render = await self._ensure_render(resolved)
        if render is None or fleet.name not in render.fleets:
            raise SyncError(f"commit {resolved[:12]} does not render fleet {fleet.name}",
                            code="bad-commit")
        fleet.pinned_commit = resolved
        fleet.pinned_head = self._status.head_commit
        fleet.last_failed_commit = None
        fleet.last_failed_reason = ""
        self._record(AuditDraft(
            actor=actor, action="rollback-requested", result="info", commit=resolved,
            fleet=fleet.name, reason=_one_line(reason)[:500],
            id=f"rollback-requested:{fleet.name}:{resolved}:{self._seq(fleet, resolved)}"))
        driver = self._drivers.get(fleet.name)
        await self._refresh()
        if driver is not None and not driver.runner.rollout.terminal:
            self._steer(fleet.name, driver, resolved)
        self._mark_dirty()
        self._trigger.request(_REPLAN)

    def _previous_synced(self, fleet: FleetStatus) -> str | None:
        current = fleet.last_synced_commit
        for item in fleet.history:
            if item.phase == "Succeeded" and item.kind != "heal" and item.commit != current:
                return item.commit
        return None

    # ------------------------------------------------------------------ write-back

    def _branch_status(self) -> DaemonStatus:
        return self.status()  # the writer snapshots it as JSON and drops volatile fields

    def _sink(self) -> _Sink:
        return _Sink(self)

    def _record(self, draft: AuditDraft) -> None:
        if self.options.dry_run or self._writer is None:
            return
        if draft.id and self._writer.has(draft.id):
            return
        self._writer.record(draft)

    def _mark_dirty(self) -> None:
        if self._writer is not None and not self.options.dry_run:
            self._writer.mark_dirty()

    def _request_flush(self) -> None:
        """Publish soon (right after a rollout phase change), one flush at a time."""
        if self._writer is None or self.options.dry_run or self._stopped:
            return
        task = self._flush_task
        if task is not None and not task.done():
            self._flush_again = True
            return
        self._flush_task = asyncio.get_running_loop().create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        while True:
            self._flush_again = False
            await self._flush()
            if not self._flush_again:
                return

    async def _flush(self) -> bool:
        """Publish the queued audit entries and the status; count the push. False when the
        publish failed (the entries stay queued)."""
        writer = self._writer
        if writer is None:
            return False
        before = writer.last_result
        try:
            ok = await writer.flush()
        except MolthubError as exc:
            log.warning("status flush failed (retried later): %s", exc)
            ok = False
        result = writer.last_result
        if not ok:
            self.metrics.push("failed")
        elif result is not None and result is not before and result.commit is not None:
            self.metrics.push("retried" if result.attempts > 1 else "ok")
        return ok

    async def _write_loop(self) -> None:
        """Publish every ``writer.interval`` seconds (when something changed)."""
        writer = self._writer
        assert writer is not None
        while True:
            await self.clock.sleep(writer.interval)
            await self._flush()


def _waiter(record: asyncio.Future[None]) -> Callable[[], Awaitable[None]]:
    """A runner's ``before_write``: wait for ``record`` (shielded: a bot task cancelled while
    waiting does not cancel the publish the other bots wait for)."""

    async def wait() -> None:
        await asyncio.shield(record)

    return wait


class _Sink:
    """The audit sink handed to runners (drops everything in dry-run)."""

    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon

    def record(self, draft: AuditDraft) -> None:
        self._daemon._record(draft)

    def has(self, event: str) -> bool:
        writer = self._daemon._writer
        return writer is not None and writer.has(event)


# --------------------------------------------------------------------------- helpers


def _display(url: str) -> str:
    """A URL without user:password@ (bot URLs never carry credentials, but be sure)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    if "@" in host:
        host = host.rsplit("@", 1)[1]
    return f"{scheme}://{host}{slash}{path}"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def _held_config(bot: BotStatus) -> bool:
    """Whether the bot held its desired config when last looked at: Synced, Degraded (held
    but unhealthy), or Unreachable after a look that found no drift."""
    if bot.state in ("Synced", "Degraded"):
        return True
    return bot.state == "Unreachable" and bot.observed_hash is not None \
        and bot.drift_count == 0 and bot.synced_commit is not None


def _drift_reason(status: BotStatus, self_heal: bool) -> str:
    paths = ", ".join(status.drift[:5])
    more = f" and {status.drift_count - 5} more" if status.drift_count > 5 else ""
    action = "selfHeal puts it back" if self_heal else "selfHeal is off: left as found"
    return f"changed outside Git ({paths or 'config'}{more}); {action}"


def _resolve_commit(repo_path: Path, ref: str) -> str:
    """A full commit id for ``ref`` (a full or short id, or a branch name)."""
    try:
        repo = pygit2.Repository(str(repo_path))
        obj = repo.revparse_single(ref)
        commit = obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise SyncError(f"unknown commit {ref!r}: {exc}", code="unknown-commit") from None
    return str(commit.id)
