"""A stale baseHash (someone edited a bot by hand while we wrote) and resuming a rollout after
the daemon died: never a second config.apply on a bot that already holds the config, and
audit entries neither lost nor doubled. Real simulated gateways, real GatewayPool."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from molthub_gitops.gateway.operations import ApplyOutcome, Observation
from molthub_gitops.gateway.sim import SimulatedFleet
from molthub_gitops.providers.base import BotEndpoint
from molthub_gitops.sync.audit import AuditChain, verify_chain
from molthub_gitops.sync.pool import GatewayPool
from molthub_gitops.sync.state import Rollout

from ._rollout_support import (
    BASE,
    HAND,
    NEW,
    START,
    MemoryAudit,
    StepClock,
    fleet,
    holds,
    make_runner,
    pool,
    spec,
)

HAND2 = {"gateway": {"mode": "local"}, "agents": {"defaults": {"heartbeat": {"every": "7m"}}}}


class HandEditingPool:
    """The real pool; just before a write leaves, someone edits the bot's file by hand."""

    def __init__(self, inner: GatewayPool, sims: SimulatedFleet, edits: dict[str, int]) -> None:
        self.inner = inner
        self.sims = sims
        self.edits = edits

    async def observe(self, endpoint: BotEndpoint, *,
                      timeout: float = 10.0) -> Observation:  # noqa: ASYNC109
        return await self.inner.observe(endpoint, timeout=timeout)

    async def apply(self, endpoint: BotEndpoint, desired: Mapping[str, Any],
                    base_hash: str | None, *, timeout: float,  # noqa: ASYNC109
                    note: str | None = None) -> ApplyOutcome:
        left = self.edits.get(endpoint.bot, 0)
        if left:
            self.edits[endpoint.bot] = left - 1
            self.sims.gateways[endpoint.bot].edit_out_of_band(HAND if left % 2 else HAND2)
        return await self.inner.apply(endpoint, desired, base_hash, timeout=timeout, note=note)


def config_applies(sims: SimulatedFleet, name: str) -> int:
    return sum(1 for w in sims.gateways[name].writes if w.method == "config.apply")


def chain_ok(audit: MemoryAudit) -> bool:
    lines = [("audit", i + 1, AuditChain.line(e)) for i, e in enumerate(audit.entries)]
    count, breaks = verify_chain(lines)
    return count == len(audit.entries) and not breaks


async def test_stale_base_hash_is_audited_as_drift_and_retried_once() -> None:
    async with fleet(4) as sims, pool() as gateways:
        editing = HandEditingPool(gateways, sims, {"bot-02": 1})
        original = sims.gateways["bot-02"].config_hash
        runner, audit, _clock, _rec = make_runner(
            sims, spec(strategy="all", healthTimeout="10s"), editing)
        ro = await runner.run()
        assert ro.phase == "Succeeded", ro.reason
        gw = sims.gateways["bot-02"]
        assert holds(gw, NEW)
        assert gw.apply_count == 1  # the stale write was refused, the retry landed
        assert [w.method for w in gw.writes] == ["edit", "config.apply"]
        [drift] = audit.actions("drift", "bot-02")
        assert drift.hash_after == gw.writes[0].hash  # the hand edit's hash, seen on re-read
        assert drift.hash_before == original  # the stale hash the first write used
        assert drift.result == "info"
        assert "outside Git" in drift.reason
        assert ro.results["bot-02"].result == "applied"
        assert ro.results["bot-02"].hash_before == gw.writes[0].hash
        assert [e.result for e in audit.actions("apply", "bot-02")] == ["ok"]
        assert chain_ok(audit)


async def test_second_conflict_fails_the_bot() -> None:
    async with fleet(3) as sims, pool() as gateways:
        editing = HandEditingPool(gateways, sims, {"bot-03": 2})
        runner, audit, _clock, _rec = make_runner(
            sims, spec(strategy="all", healthTimeout="10s"), editing)
        ro = await runner.run()
        assert ro.phase == "Failed"
        gw = sims.gateways["bot-03"]
        assert gw.apply_count == 0
        assert ro.results["bot-03"].result == "failed"  # never written: nothing to roll back
        assert "changed again" in (ro.results["bot-03"].error or "")
        assert holds(gw, HAND)  # the last hand edit is not overwritten
        assert len(audit.actions("drift", "bot-03")) == 2
        for name in ("bot-01", "bot-02"):
            assert ro.results[name].result == "rolled-back"
            assert holds(sims.gateways[name], BASE)


async def _first_wave_then_stop(sims: SimulatedFleet) -> tuple[dict[str, Any], MemoryAudit]:
    """Run wave 1 of a 3-wave rollout and stop; returns the persisted JSON and the audit."""
    async with pool() as gateways:
        runner, audit, _clock, rec = make_runner(
            sims, spec(strategy="percentage", batch=2, healthTimeout="10s"), gateways)

        def stop_after_wave_one(ro: Rollout) -> None:
            if ro.results["bot-01"].result == "applying" and not audit.actions("rollout-paused"):
                runner.control.pause("test")

        rec.hooks.append(stop_after_wave_one)
        ro = await runner.run()
        assert ro.phase == "Paused"
        assert ro.current_wave == 1
        return rec.snapshots[-1], audit


def _as_if_killed_mid_wave(snapshot: dict[str, Any]) -> Rollout:
    """The state as last persisted before a SIGKILL: wave 1 half recorded."""
    data = {**snapshot, "phase": "Progressing", "currentWave": 0}
    results = {k: dict(v) for k, v in data["results"].items()}
    results["bot-01"] = {"bot": "bot-01", "result": "pending"}
    results["bot-02"] = {**results["bot-02"], "result": "applying", "hashAfter": None}
    data["results"] = results
    return Rollout.model_validate(data)


async def test_resume_after_kill_never_applies_twice_and_keeps_audit_once() -> None:
    async with fleet(6) as sims:
        snapshot, audit = await _first_wave_then_stop(sims)
        assert all(config_applies(sims, b) == 1 for b in ("bot-01", "bot-02"))
        ro = _as_if_killed_mid_wave(snapshot)
        async with pool() as gateways:
            runner, audit, _clock, _rec = make_runner(sims, spec(), gateways, rollout=ro,
                                                      audit=audit)
            ro = await runner.run()
        assert ro.phase == "Succeeded", ro.reason
        for name, gw in sims.gateways.items():
            assert config_applies(sims, name) == 1, name
            assert gw.apply_count == 1
            assert holds(gw, NEW)
            assert [e.result for e in audit.actions("apply", name)] == ["ok"], name
        assert ro.results["bot-01"].result == "applied"
        assert ro.results["bot-01"].hash_after == sims.gateways["bot-01"].config_hash
        assert len(audit.actions("rollout-started")) == 1
        assert chain_ok(audit)


async def test_resume_re_derives_audit_entries_lost_with_the_kill() -> None:
    async with fleet(6) as sims:
        snapshot, audit = await _first_wave_then_stop(sims)
        first_apply = min(e.seq for e in audit.actions("apply"))
        persisted = MemoryAudit([e for e in audit.entries if e.seq < first_apply])
        assert persisted.actions("apply") == []
        ro = _as_if_killed_mid_wave(snapshot)
        async with pool() as gateways:
            runner, persisted, _clock, _rec = make_runner(sims, spec(), gateways, rollout=ro,
                                                          audit=persisted)
            ro = await runner.run()
        assert ro.phase == "Succeeded", ro.reason
        for name, gw in sims.gateways.items():
            assert gw.apply_count == 1, name
            [entry] = persisted.actions("apply", name)
            assert entry.result == "ok"
            assert entry.hash_after == gw.config_hash
        # the re-derived entries carry the same ids as the ones lost
        lost = {e.id for e in audit.actions("apply") if e.bot in ("bot-01", "bot-02")}
        assert lost <= {e.id for e in persisted.actions("apply")}
        assert chain_ok(persisted)


async def test_killed_during_an_apply_resumes_with_exactly_one_write() -> None:
    async with fleet(4) as sims:
        async with pool() as gateways:
            runner, audit, _clock, rec = make_runner(
                sims, spec(strategy="all", healthTimeout="10s"), gateways, concurrency=1)
            task = asyncio.create_task(runner.run())

            def kill(ro: Rollout) -> None:
                if ro.results["bot-02"].result == "applying":
                    task.cancel()

            rec.hooks.append(kill)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 30)
        snapshot = rec.snapshots[-1]
        assert snapshot["results"]["bot-02"]["result"] == "applying"
        assert snapshot["results"]["bot-03"]["result"] == "pending"
        ro = Rollout.model_validate(snapshot)
        async with pool() as gateways:
            runner, audit, _clock, _rec = make_runner(sims, spec(), gateways, rollout=ro,
                                                      audit=audit)
            ro = await runner.run()
        assert ro.phase == "Succeeded", ro.reason
        for name, gw in sims.gateways.items():
            assert gw.apply_count == 1, name
            assert holds(gw, NEW)
            assert len(audit.actions("apply", name)) == 1, name


async def test_resume_in_the_bake_waits_only_what_is_left() -> None:
    async with fleet(4) as sims:
        canary_spec = spec(strategy="canary", canary={"count": 1, "bake": "30m"}, batch=3,
                           healthTimeout="10s")
        async with pool() as gateways:
            runner, audit, clock, rec = make_runner(sims, canary_spec, gateways,
                                                    bake_check_interval=60.0)
            task = asyncio.create_task(runner.run())

            def kill(c: StepClock) -> None:
                if c.sleeps == 2:
                    task.cancel()

            clock.hooks.append(kill)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 30)
        snapshot = rec.snapshots[-1]
        assert snapshot["phase"] == "Baking"
        assert snapshot["bakeUntil"]
        later = StepClock()
        later.wall = START + 600  # the daemon came back ten minutes later
        async with pool() as gateways:
            runner, audit, later, _rec = make_runner(
                sims, canary_spec, gateways, rollout=Rollout.model_validate(snapshot),
                audit=audit, clock=later, bake_check_interval=60.0)
            ro = await runner.run()
        assert ro.phase == "Succeeded", ro.reason
        assert 1200 <= later.slept < 1260
        assert all(gw.apply_count == 1 for gw in sims.gateways.values())
        assert len(audit.actions("apply", "bot-01")) == 1


async def test_superseded_on_resume_settles_a_bot_left_applying() -> None:
    async with fleet(6) as sims:
        snapshot, audit = await _first_wave_then_stop(sims)
        first_apply = min(e.seq for e in audit.actions("apply"))
        persisted = MemoryAudit([e for e in audit.entries if e.seq < first_apply])
        ro = _as_if_killed_mid_wave(snapshot)  # bot-02 "applying", and its write landed
        async with pool() as gateways:
            runner, persisted, _clock, _rec = make_runner(sims, spec(), gateways, rollout=ro,
                                                          audit=persisted)
            runner.control.supersede("f" * 40)  # a newer commit arrived meanwhile
            ro = await runner.run()
        assert ro.phase == "Superseded", ro.reason
        assert ro.results["bot-02"].result == "applied"
        assert ro.results["bot-02"].hash_after == sims.gateways["bot-02"].config_hash
        [entry] = persisted.actions("apply", "bot-02")
        assert "found holding the config" in entry.reason
        assert config_applies(sims, "bot-02") == 1
        # bots never written are dropped, not claimed
        assert ro.results["bot-05"].result == "skipped"
        assert persisted.actions("apply", "bot-05") == []
        assert chain_ok(persisted)
