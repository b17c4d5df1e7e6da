"""Rollout executor against real simulated gateways: planning, the happy paths, batches in
order, bounded concurrency, the failure threshold, an unreachable bot, secrets kept out."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from molthub_gitops.sync.rollout import holds_config, new_rollout, rollout_id

from ._rollout_support import (
    BASE,
    COMMIT,
    NEW,
    PREVIOUS,
    fleet,
    holds,
    make_runner,
    pool,
    spec,
    token_for,
)


def test_new_rollout_plans_waves_and_pending_results() -> None:
    ro = new_rollout(fleet="prod", commit=COMMIT, previous_commit=PREVIOUS,
                     spec=spec(strategy="canary", canary={"count": 1, "bake": "30m"},
                               batch=2, failureThreshold=1, healthTimeout="90s",
                               pauseBetweenBatches="1m"),
                     bots=["b5", "b1", "b3", "b2", "b4"], seq=3, now="2026-11-26T00:00:00Z")
    assert ro.id == f"prod@{COMMIT[:12]}#3" == rollout_id("prod", COMMIT, 3)
    assert [(w.kind, w.bots) for w in ro.waves] == [
        ("canary", ["b1"]), ("batch", ["b2", "b3"]), ("batch", ["b4", "b5"])]
    assert ro.waves[0].bake_seconds == 1800
    assert ro.waves[1].pause_seconds == 60
    assert ro.waves[2].pause_seconds == 0
    assert set(ro.results) == {"b1", "b2", "b3", "b4", "b5"}
    assert all(r.result == "pending" for r in ro.results.values())
    assert ro.failure_threshold == 1
    assert ro.health_timeout_seconds == 90
    assert ro.phase == "Progressing"
    assert ro.current_wave == 0
    assert ro.strategy == "canary"
    assert ro.started_at == ro.updated_at == "2026-11-26T00:00:00Z"


def test_holds_config_sees_removed_keys() -> None:
    observed_new = {**NEW, "meta": {"lastTouchedVersion": "x"}}
    assert holds_config(observed_new, NEW, BASE)
    # NEW contains BASE as a subset, but a bot still on NEW does not hold BASE
    assert holds_config(observed_new, BASE)  # subset alone would say yes
    assert not holds_config(observed_new, BASE, NEW)
    assert holds_config({**BASE, "meta": {}}, BASE, NEW)
    assert not holds_config(BASE, NEW, BASE)


async def test_all_strategy_applies_every_bot() -> None:
    async with fleet(6) as sims, pool() as gateways:
        runner, audit, _clock, rec = make_runner(sims, spec(strategy="all",
                                                            healthTimeout="10s"), gateways)
        ro = await runner.run()
        assert ro.phase == "Succeeded", ro.reason
        assert ro.finished_at is not None
        assert ro.current_wave == 1
        for name, gw in sims.gateways.items():
            assert holds(gw, NEW), name
            assert gw.apply_count == 1
            result = ro.results[name]
            assert result.result == "applied"
            assert result.hash_after == gw.config_hash
            assert result.hash_before is not None
            assert result.hash_before != result.hash_after
            assert result.desired_hash == "sha256:" + name
        applies = audit.actions("apply")
        assert sorted(e.bot or "" for e in applies) == sorted(sims.gateways)
        assert all(e.result == "ok" and e.rollout_id == ro.id and e.commit == COMMIT
                   for e in applies)
        assert len(audit.actions("rollout-started")) == 1
        assert len(audit.actions("rollout-succeeded")) == 1
        assert audit.entries[0].action == "rollout-started"
        assert audit.entries[-1].action == "rollout-succeeded"
        assert rec.phases[-1] == "Succeeded"
        # a second run() of a finished rollout does nothing
        again = await runner.run()
        assert again.phase == "Succeeded"
        assert all(gw.apply_count == 1 for gw in sims.gateways.values())


async def test_percentage_batches_run_in_order() -> None:
    async with fleet(7) as sims, pool() as gateways:
        runner, _audit, clock, rec = make_runner(
            sims, spec(strategy="percentage", batch="30%", pauseBetweenBatches="10m",
                       healthTimeout="10s"), gateways)
        ro = await runner.run()
        assert ro.phase == "Succeeded", ro.reason
        waves = [w.bots for w in ro.waves]
        assert waves == [["bot-01", "bot-02", "bot-03"], ["bot-04", "bot-05", "bot-06"],
                         ["bot-07"]]
        order = [bot for bot, result in rec.transitions if result == "applied"]
        position = {bot: i for i, bot in enumerate(order)}
        for earlier, later in itertools.pairwise(waves):
            assert max(position[b] for b in earlier) < min(position[b] for b in later)
        # no bot of a wave starts before every bot of the wave before it is applied
        steps = rec.transitions
        for earlier, later in itertools.pairwise(waves):
            last_done = max(steps.index((b, "applied")) for b in earlier)
            first_start = min(steps.index((b, "applying")) for b in later)
            assert last_done < first_start
        # two pauses of 10 minutes on the clock, none after the last wave
        assert clock.slept == 1200
        assert all(gw.apply_count == 1 for gw in sims.gateways.values())


async def test_concurrency_within_a_wave_is_bounded() -> None:
    async with fleet(8) as sims, pool() as gateways:
        runner, _audit, _clock, rec = make_runner(
            sims, spec(strategy="all", healthTimeout="10s"), gateways, concurrency=2)
        ro = await runner.run()
        assert ro.phase == "Succeeded", ro.reason
        assert rec.max_in_flight() == 2
        assert all(holds(gw, NEW) for gw in sims.gateways.values())


async def test_failure_threshold_tolerates_failures() -> None:
    async with fleet(6) as sims, pool() as gateways:
        sims.gateways["bot-03"].set_healthy(False)
        runner, audit, _clock, _rec = make_runner(
            sims, spec(strategy="all", healthTimeout="1s", failureThreshold=1), gateways)
        ro = await runner.run()
        assert ro.phase == "Succeeded", ro.reason
        assert ro.failures == 1
        assert ro.results["bot-03"].result == "failed"
        assert "not healthy" in (ro.results["bot-03"].error or "")
        assert ro.results["bot-03"].hash_after == sims.gateways["bot-03"].config_hash
        assert all(ro.results[b].result == "applied" for b in sims.gateways if b != "bot-03")
        assert all(holds(gw, NEW) for gw in sims.gateways.values())
        failed = [e for e in audit.actions("apply") if e.result == "failed"]
        assert [e.bot for e in failed] == ["bot-03"]
        assert audit.actions("rollback") == []


async def test_unreachable_bot_fails_and_counts_against_the_threshold() -> None:
    async with fleet(5) as sims, pool() as gateways:
        await sims.gateways["bot-02"].stop()
        runner, audit, _clock, _rec = make_runner(
            sims, spec(strategy="all", healthTimeout="5s"), gateways, observe_timeout=2.0)
        ro = await runner.run()
        assert ro.phase == "Failed"
        assert ro.failures == 1
        assert ro.results["bot-02"].result == "failed"
        assert "unreachable" in (ro.results["bot-02"].error or "")
        assert "threshold 0" in ro.reason
        for name, gw in sims.gateways.items():
            if name == "bot-02":
                continue
            assert ro.results[name].result == "rolled-back", name
            assert holds(gw, BASE), name
            assert gw.apply_count == 2  # the rollout's write, then the rollback
        assert sorted(e.bot or "" for e in audit.actions("rollback")) == [
            "bot-01", "bot-03", "bot-04", "bot-05"]
        assert audit.actions("rollout-failed")[0].result == "failed"


async def test_unreachable_bot_within_threshold_succeeds() -> None:
    async with fleet(4) as sims, pool() as gateways:
        await sims.gateways["bot-04"].stop()
        runner, _audit, _clock, _rec = make_runner(
            sims, spec(strategy="all", healthTimeout="5s", failureThreshold=1), gateways,
            observe_timeout=2.0)
        ro = await runner.run()
        assert ro.phase == "Succeeded"
        assert ro.failures == 1
        assert ro.results["bot-04"].result == "failed"
        assert all(holds(sims.gateways[b], NEW) for b in ("bot-01", "bot-02", "bot-03"))


async def test_secrets_never_reach_results_or_audit() -> None:
    async with fleet(3) as sims, pool() as gateways:
        sims.gateways["bot-01"].faults.refuse_auth = True
        runner, audit, _clock, rec = make_runner(
            sims, spec(strategy="all", healthTimeout="5s", failureThreshold=1), gateways)
        ro = await runner.run()
        assert ro.results["bot-01"].result == "failed"
        assert ro.results["bot-01"].error
        text = json.dumps(rec.snapshots) + "".join(e.model_dump_json() for e in audit.entries)
        for name in sims.gateways:
            assert token_for(name) not in text
        assert len(ro.results["bot-01"].error or "") <= 300


SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas/openclaw/2026.9.6.json"


async def test_a_config_the_gateway_rejects_fails_without_writing() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    bad = {"gateway": {"mode": "local"}, "bogusKey": 1}
    async with fleet(3, schema=schema) as sims, pool() as gateways:
        runner, audit, _clock, _rec = make_runner(
            sims, spec(strategy="all", healthTimeout="10s"), gateways, desired=bad)
        ro = await runner.run()
        assert ro.phase == "Failed"
        assert ro.failures == 3
        for name, gw in sims.gateways.items():
            assert gw.apply_count == 0
            assert ro.results[name].result == "failed"
            assert "InvalidConfig" in (ro.results[name].error or "")
        assert audit.actions("rollback") == []
