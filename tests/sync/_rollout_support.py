"""Shared pieces of the rollout tests: a clock whose sleeps return at once (advancing time),
an in-memory audit sink (the real chain), a fleet of simulated gateways and its targets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from molthub_gitops.gateway.backoff import Backoff
from molthub_gitops.gateway.sim import SimulatedFleet, SimulatedGateway
from molthub_gitops.model.documents import RolloutSpec
from molthub_gitops.providers.base import BotEndpoint
from molthub_gitops.sync.audit import AuditChain, AuditDraft, AuditEntry
from molthub_gitops.sync.clock import iso
from molthub_gitops.sync.pool import GatewayPool
from molthub_gitops.sync.rollout import BotTarget, PoolLike, RolloutRunner, new_rollout
from molthub_gitops.sync.state import Rollout

BASE: dict[str, Any] = {"gateway": {"mode": "local"}}
NEW: dict[str, Any] = {"gateway": {"mode": "local"},
                       "agents": {"defaults": {"heartbeat": {"every": "45m"}}}}
HAND: dict[str, Any] = {"gateway": {"mode": "local"},
                        "agents": {"defaults": {"heartbeat": {"every": "5m"}}}}
COMMIT = "c0ffee" * 6 + "abcd"
PREVIOUS = "bead" * 10
START = 1_800_000_000.0


def token_for(name: str) -> str:
    return f"tok-{name}-Zq8-very-distinctive-4711"


class StepClock:
    """Sleeps return at once and move time on; hooks run after every sleep."""

    def __init__(self) -> None:
        self.wall = START
        self.mono = 1000.0
        self.slept = 0.0
        self.sleeps = 0
        self.hooks: list[Callable[[StepClock], None]] = []

    def now(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        if self.sleeps > 100_000:
            raise RuntimeError("runaway sleep loop")
        seconds = max(seconds, 0.0)
        self.wall += seconds
        self.mono += seconds
        self.slept += seconds
        for hook in list(self.hooks):
            hook(self)
        await asyncio.sleep(0)


class MemoryAudit:
    """An AuditSink over the real AuditChain, in memory."""

    def __init__(self, entries: Sequence[AuditEntry] = ()) -> None:
        self.entries: list[AuditEntry] = list(entries)
        last = self.entries[-1] if self.entries else None
        self.chain = (AuditChain(last.seq, last.hash, [e.id for e in self.entries])
                      if last else AuditChain())

    def record(self, draft: AuditDraft) -> None:
        if not draft.time:
            draft = draft.model_copy(update={"time": iso(START)})
        self.entries.extend(self.chain.append([draft]))

    def has(self, event: str) -> bool:
        return self.chain.has(event)

    def actions(self, action: str, bot: str | None = None) -> list[AuditEntry]:
        return [e for e in self.entries if e.action == action and (bot is None or e.bot == bot)]


def names(count: int) -> list[str]:
    return [f"bot-{i:02d}" for i in range(1, count + 1)]


@asynccontextmanager
async def fleet(count: int, config: Mapping[str, Any] = BASE,
                schema: Mapping[str, Any] | None = None) -> AsyncIterator[SimulatedFleet]:
    sims = SimulatedFleet(names=names(count), token_for=token_for, config=dict(config),
                          schema=schema)
    for gw in sims.gateways.values():
        gw.faults.restart_duration_s = 0.2
    await sims.start()
    try:
        yield sims
    finally:
        await sims.stop()


@asynccontextmanager
async def pool() -> AsyncIterator[GatewayPool]:
    gateways = GatewayPool(concurrency=32, connect_timeout=5.0, request_timeout=5.0,
                           client_options={"backoff": Backoff(initial=0.02, maximum=0.2,
                                                              jitter=0.0)})
    try:
        yield gateways
    finally:
        await gateways.close()


def endpoint(name: str, gw: SimulatedGateway, fleet_name: str = "prod") -> BotEndpoint:
    return BotEndpoint(bot=name, fleet=fleet_name, url=gw.url, secret=token_for(name))


def targets(sims: SimulatedFleet, desired: Mapping[str, Any] = NEW,
            previous: Mapping[str, Any] | None = BASE) -> dict[str, BotTarget]:
    return {name: BotTarget(bot=name, endpoint=endpoint(name, gw), desired=dict(desired),
                            desired_hash="sha256:" + name,
                            previous=dict(previous) if previous is not None else None)
            for name, gw in sims.gateways.items()}


def spec(**fields: Any) -> RolloutSpec:
    return RolloutSpec.model_validate(fields)


class Recorder:
    """on_change: keeps a JSON snapshot after every change and the result transitions."""

    def __init__(self) -> None:
        self.snapshots: list[dict[str, Any]] = []
        self.transitions: list[tuple[str, str]] = []
        self.phases: list[str] = []
        self._last: dict[str, str] = {}
        self.hooks: list[Callable[[Rollout], None]] = []

    def __call__(self, rollout: Rollout) -> None:
        data = rollout.to_json_dict()
        self.snapshots.append(json.loads(json.dumps(data)))
        if not self.phases or self.phases[-1] != rollout.phase:
            self.phases.append(rollout.phase)
        for bot, result in rollout.results.items():
            if self._last.get(bot) != result.result:
                self._last[bot] = result.result
                self.transitions.append((bot, result.result))
        for hook in list(self.hooks):
            hook(rollout)

    def max_in_flight(self) -> int:
        state: dict[str, str] = {}
        peak = 0
        for bot, result in self.transitions:
            state[bot] = result
            peak = max(peak, sum(1 for r in state.values() if r == "applying"))
        return peak


def make_runner(sims: SimulatedFleet, rollout_spec: RolloutSpec, pool: PoolLike, *,
                audit: MemoryAudit | None = None, clock: StepClock | None = None,
                recorder: Recorder | None = None, bots: Sequence[str] | None = None,
                desired: Mapping[str, Any] = NEW, previous: Mapping[str, Any] | None = BASE,
                rollout: Rollout | None = None, **kw: Any
                ) -> tuple[RolloutRunner, MemoryAudit, StepClock, Recorder]:
    audit = audit if audit is not None else MemoryAudit()
    clock = clock if clock is not None else StepClock()
    recorder = recorder if recorder is not None else Recorder()
    if rollout is None:
        rollout = new_rollout(fleet="prod", commit=COMMIT, previous_commit=PREVIOUS,
                              spec=rollout_spec,
                              bots=list(sims.gateways) if bots is None else list(bots),
                              now=iso(clock.now()))
    runner = RolloutRunner(rollout, targets(sims, desired, previous), pool=pool, audit=audit,
                           clock=clock, on_change=recorder, **kw)
    return runner, audit, clock, recorder


def holds(gw: SimulatedGateway, config: Mapping[str, Any]) -> bool:
    from molthub_gitops.sync.rollout import holds_config
    other = BASE if config == NEW else NEW
    return holds_config(gw.config, config, other)
