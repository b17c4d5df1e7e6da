"""Health gates, bakes and control of a rollout against real simulated gateways: a canary that
fails its gate is rolled back and the rest untouched; a canary going bad during its bake;
promote (skip the bake, merge waves), pause and resume, abort, supersede."""

from __future__ import annotations

import asyncio

import pytest

from molthub_gitops.errors import SyncError
from molthub_gitops.sync.rollout import RolloutRunner, new_rollout
from molthub_gitops.sync.state import Rollout

from ._rollout_support import (
    BASE,
    COMMIT,
    NEW,
    StepClock,
    fleet,
    holds,
    make_runner,
    pool,
    spec,
)

CANARY = {"strategy": "canary", "canary": {"count": 1, "bake": "30m"}, "batch": 2,
          "healthTimeout": "10s"}


async def test_canary_failing_its_health_gate_is_rolled_back_rest_untouched() -> None:
    async with fleet(6) as sims, pool() as gateways:
        canary = sims.gateways["bot-01"]
        canary.set_healthy(False)
        before = canary.config_hash
        runner, audit, clock, _rec = make_runner(
            sims, spec(**{**CANARY, "healthTimeout": "1s"}), gateways)
        ro = await runner.run()
        assert ro.phase == "Failed"
        assert "1 bot(s) failed" in ro.reason
        assert "bot-01" in ro.reason
        assert ro.current_wave == 0
        assert canary.apply_count == 2  # the new config, then the previous one again
        assert holds(canary, BASE)
        assert not holds(canary, NEW)
        assert canary.config_hash != before  # written back (the gateway re-stamps meta)
        result = ro.results["bot-01"]
        assert result.result == "rolled-back"
        assert "not healthy" in (result.error or "")
        for name, gw in sims.gateways.items():
            if name != "bot-01":
                assert gw.apply_count == 0, name
                assert ro.results[name].result == "skipped"
        assert clock.slept == 0  # no bake after a failed canary
        [failed_apply] = [e for e in audit.actions("apply") if e.result == "failed"]
        assert failed_apply.bot == "bot-01"
        assert failed_apply.hash_after is not None
        [rollback] = audit.actions("rollback")
        assert rollback.bot == "bot-01"
        assert rollback.hash_after == canary.config_hash
        assert [e.action for e in audit.entries][-1] == "rollout-failed"


async def test_canary_bakes_on_the_clock_then_the_rest_follows() -> None:
    async with fleet(5) as sims, pool() as gateways:
        runner, _audit, clock, rec = make_runner(sims, spec(**CANARY), gateways,
                                                 bake_check_interval=60.0)
        ro = await runner.run()
        assert ro.phase == "Succeeded", ro.reason
        assert clock.slept >= 1800  # the full 30 minute bake, instantly
        assert "Baking" in rec.phases
        assert ro.bake_until is None
        assert all(holds(gw, NEW) and gw.apply_count == 1 for gw in sims.gateways.values())


async def test_time_scale_shortens_the_bake() -> None:
    async with fleet(3) as sims, pool() as gateways:
        runner, _audit, clock, _rec = make_runner(sims, spec(**CANARY), gateways,
                                                  time_scale=0.01)
        ro = await runner.run()
        assert ro.phase == "Succeeded"
        assert 18 <= clock.slept < 19


async def test_canary_unhealthy_during_bake_is_rolled_back() -> None:
    async with fleet(5) as sims, pool() as gateways:
        canary = sims.gateways["bot-01"]
        runner, audit, clock, _rec = make_runner(sims, spec(**{**CANARY, "healthTimeout": "1s"}),
                                                 gateways, bake_check_interval=60.0)

        def sicken(c: StepClock) -> None:
            if c.slept >= 600:
                canary.set_healthy(False)

        clock.hooks.append(sicken)
        ro = await runner.run()
        assert ro.phase == "Failed"
        assert 600 <= clock.slept < 1800  # stopped during the bake
        assert ro.results["bot-01"].result == "rolled-back"
        assert "during the canary bake" in (ro.results["bot-01"].error or "")
        assert holds(canary, BASE)
        assert all(sims.gateways[b].apply_count == 0 for b in ("bot-02", "bot-03", "bot-04",
                                                               "bot-05"))
        assert len(audit.actions("rollback")) == 1


async def test_promote_skips_the_bake() -> None:
    async with fleet(5) as sims, pool() as gateways:
        runner, audit, clock, _rec = make_runner(sims, spec(**CANARY), gateways,
                                                 bake_check_interval=60.0)
        clock.hooks.append(lambda c: runner.control.promote("alice") if c.sleeps == 2 else None)
        ro = await runner.run()
        assert ro.phase == "Succeeded", ro.reason
        assert ro.promoted
        assert clock.slept <= 120  # two check intervals, not 30 minutes
        [promoted] = audit.actions("rollout-promoted")
        assert promoted.actor == "alice"
        assert len(ro.waves) == 3  # not merged
        assert all(holds(gw, NEW) for gw in sims.gateways.values())


async def test_promote_full_merges_the_remaining_waves() -> None:
    async with fleet(7) as sims, pool() as gateways:
        runner, audit, clock, _rec = make_runner(
            sims, spec(**{**CANARY, "pauseBetweenBatches": "5m"}), gateways,
            bake_check_interval=60.0)
        assert len(runner.rollout.waves) == 4
        clock.hooks.append(
            lambda c: runner.control.promote("bob", full=True) if c.sleeps == 1 else None)
        ro = await runner.run()
        assert ro.phase == "Succeeded", ro.reason
        assert [w.bots for w in ro.waves] == [
            ["bot-01"], ["bot-02", "bot-03", "bot-04", "bot-05", "bot-06", "bot-07"]]
        assert ro.promote_full
        assert ro.promoted
        assert clock.slept <= 60
        assert "every remaining bot" in audit.actions("rollout-promoted")[0].reason
        assert all(holds(gw, NEW) and gw.apply_count == 1 for gw in sims.gateways.values())


async def test_pause_stops_at_the_wave_boundary_and_resume_completes() -> None:
    async with fleet(6) as sims, pool() as gateways:
        runner, audit, _clock, rec = make_runner(
            sims, spec(strategy="percentage", batch=2, healthTimeout="10s"), gateways)

        def pause_early(ro: Rollout) -> None:
            if ro.results["bot-01"].result == "applying" and runner.control.pause_actor is None \
                    and ro.phase == "Progressing" and not audit.actions("rollout-paused"):
                runner.control.pause("carol")

        rec.hooks.append(pause_early)
        ro = await runner.run()
        assert ro.phase == "Paused"
        assert ro.current_wave == 1  # wave 1 finished, wave 2 not started
        assert all(sims.gateways[b].apply_count == 1 for b in ("bot-01", "bot-02"))
        assert all(sims.gateways[b].apply_count == 0 for b in ("bot-03", "bot-04", "bot-05",
                                                               "bot-06"))
        assert audit.actions("rollout-paused")[0].actor == "carol"
        # run() again without a resume stays paused and writes nothing
        again = await runner.run()
        assert again.phase == "Paused"
        assert sims.gateways["bot-03"].apply_count == 0
        rec.hooks.clear()
        runner.control.resume("dave")
        ro = await runner.run()
        assert ro.phase == "Succeeded", ro.reason
        assert audit.actions("rollout-resumed")[0].actor == "dave"
        assert len(audit.actions("rollout-started")) == 1
        assert all(holds(gw, NEW) and gw.apply_count == 1 for gw in sims.gateways.values())


async def test_resume_before_the_boundary_cancels_the_pause() -> None:
    async with fleet(4) as sims, pool() as gateways:
        runner, audit, _clock, _rec = make_runner(
            sims, spec(strategy="percentage", batch=2, healthTimeout="10s"), gateways)
        runner.control.pause("erin")
        runner.control.resume("erin")
        ro = await runner.run()
        assert ro.phase == "Succeeded"
        assert audit.actions("rollout-paused") == []


async def test_abort_during_bake_rolls_back() -> None:
    async with fleet(5) as sims, pool() as gateways:
        runner, audit, clock, _rec = make_runner(sims, spec(**CANARY), gateways,
                                                 bake_check_interval=60.0)
        clock.hooks.append(
            lambda c: runner.control.abort("frank", "looks wrong") if c.sleeps == 3 else None)
        ro = await runner.run()
        assert ro.phase == "Aborted"
        assert ro.reason == "aborted by frank: looks wrong"
        assert ro.results["bot-01"].result == "rolled-back"
        assert holds(sims.gateways["bot-01"], BASE)
        assert sims.gateways["bot-01"].apply_count == 2
        for name in ("bot-02", "bot-03", "bot-04", "bot-05"):
            assert sims.gateways[name].apply_count == 0
            assert ro.results[name].result == "skipped"
        [aborted] = audit.actions("rollout-aborted")
        assert aborted.actor == "frank"


async def test_abort_mid_wave_lets_in_flight_bots_finish_and_starts_no_more() -> None:
    async with fleet(6) as sims, pool() as gateways:
        runner, _audit, _clock, rec = make_runner(
            sims, spec(strategy="all", healthTimeout="10s"), gateways, concurrency=2)

        def abort_on_first(ro: Rollout) -> None:
            if ro.results["bot-01"].result == "applying":
                runner.control.abort("grace")

        rec.hooks.append(abort_on_first)
        ro = await runner.run()
        assert ro.phase == "Aborted"
        started = {b for b, r in rec.transitions if r == "applying"}
        assert started == {"bot-01", "bot-02"}  # the two in flight, nothing after
        for name in ("bot-01", "bot-02"):
            assert ro.results[name].result == "rolled-back"
            assert holds(sims.gateways[name], BASE)
        for name in ("bot-03", "bot-04", "bot-05", "bot-06"):
            assert sims.gateways[name].apply_count == 0
            assert ro.results[name].result == "skipped"


async def test_supersede_finishes_the_wave_and_stops_without_rollback() -> None:
    async with fleet(6) as sims, pool() as gateways:
        runner, audit, _clock, rec = make_runner(
            sims, spec(strategy="percentage", batch=2, healthTimeout="10s"), gateways)
        newer = "f" * 40

        def supersede(ro: Rollout) -> None:
            if ro.results["bot-01"].result == "applying":
                runner.control.supersede(newer)

        rec.hooks.append(supersede)
        ro = await runner.run()
        assert ro.phase == "Superseded"
        assert ro.reason == f"superseded by commit {newer[:12]}"
        for name in ("bot-01", "bot-02"):  # the wave running was finished, and kept
            assert ro.results[name].result == "applied"
            assert holds(sims.gateways[name], NEW)
        for name in ("bot-03", "bot-04", "bot-05", "bot-06"):
            assert sims.gateways[name].apply_count == 0
            assert ro.results[name].result == "skipped"
        assert audit.actions("rollback") == []
        assert len(audit.actions("rollout-superseded")) == 1


async def test_without_a_previous_render_the_config_seen_before_the_write_is_put_back() -> None:
    async with fleet(3) as sims, pool() as gateways:
        sims.gateways["bot-02"].set_healthy(False)
        runner, _audit, _clock, _rec = make_runner(
            sims, spec(strategy="all", healthTimeout="1s"), gateways, previous=None)
        ro = await runner.run()
        assert ro.phase == "Failed"
        for name, gw in sims.gateways.items():
            assert ro.results[name].result == "rolled-back", name
            assert holds(gw, BASE), name


async def test_a_bot_that_cannot_be_put_back_is_rollback_failed() -> None:
    async with fleet(3) as sims, pool() as gateways:
        sims.gateways["bot-03"].set_healthy(False)
        runner, audit, _clock, rec = make_runner(
            sims, spec(strategy="all", healthTimeout="1s"), gateways, concurrency=1,
            observe_timeout=2.0)
        stopping: list[asyncio.Task[None]] = []

        def stop_after_apply(ro: Rollout) -> None:
            if ro.results["bot-01"].result == "applied" and not stopping:
                stopping.append(asyncio.create_task(sims.gateways["bot-01"].stop()))

        rec.hooks.append(stop_after_apply)
        ro = await runner.run()
        await asyncio.gather(*stopping)
        assert ro.phase == "Failed"
        assert ro.results["bot-01"].result == "rollback-failed"
        assert "unreachable" in (ro.results["bot-01"].error or "")
        assert ro.results["bot-02"].result == "rolled-back"
        assert holds(sims.gateways["bot-02"], BASE)
        assert [e.result for e in audit.actions("rollback", "bot-01")] == ["failed"]


async def test_heal_rollouts_audit_heal_per_bot() -> None:
    async with fleet(2) as sims, pool() as gateways:
        ro = new_rollout(fleet="prod", commit=COMMIT, previous_commit=COMMIT,
                         spec=spec(healthTimeout="10s"), bots=list(sims.gateways), kind="heal")
        runner, audit, _clock, _rec = make_runner(sims, spec(), gateways, rollout=ro)
        ro = await runner.run()
        assert ro.phase == "Succeeded"
        assert sorted(e.bot or "" for e in audit.actions("heal")) == ["bot-01", "bot-02"]
        assert audit.actions("apply") == []


async def test_run_twice_at_once_is_refused() -> None:
    async with fleet(2) as sims, pool() as gateways:
        runner, _audit, _clock, _rec = make_runner(sims, spec(strategy="all",
                                                              healthTimeout="10s"), gateways)
        first = asyncio.create_task(runner.run())
        await asyncio.sleep(0)
        with pytest.raises(SyncError) as caught:
            await runner.run()
        assert caught.value.code == "bad-phase"
        ro = await asyncio.wait_for(first, 30)
        assert ro.phase == "Succeeded"


async def test_empty_rollout_succeeds_at_once() -> None:
    async with fleet(1) as sims, pool() as gateways:
        runner, audit, _clock, _rec = make_runner(sims, spec(strategy="canary",
                                                             canary={"count": 1}),
                                                  gateways, bots=[])
        assert runner.rollout.waves == []
        ro = await runner.run()
        assert ro.phase == "Succeeded"
        assert sims.gateways["bot-01"].apply_count == 0
        assert [e.action for e in audit.entries] == ["rollout-started", "rollout-succeeded"]


async def test_abort_or_supersede_a_paused_rollout() -> None:
    async with fleet(4) as sims, pool() as gateways:
        for action in ("abort", "supersede"):
            for gw in sims.gateways.values():
                gw.edit_out_of_band(BASE)
            counts = {n: gw.apply_count for n, gw in sims.gateways.items()}
            runner, audit, _clock, rec = make_runner(
                sims, spec(strategy="percentage", batch=2, healthTimeout="10s"), gateways)

            def pause_in_wave_one(ro: Rollout, runner_: RolloutRunner = runner) -> None:
                if ro.results["bot-01"].result == "applying" and ro.phase == "Progressing":
                    runner_.control.pause("ivan")

            rec.hooks.append(pause_in_wave_one)
            assert (await runner.run()).phase == "Paused"
            rec.hooks.clear()
            if action == "abort":
                runner.control.abort("judy")
            else:
                runner.control.supersede("e" * 40)
            ro = await runner.run()
            if action == "abort":
                assert ro.phase == "Aborted"
                assert [ro.results[b].result for b in ("bot-01", "bot-02")] == [
                    "rolled-back", "rolled-back"]
                assert all(holds(sims.gateways[b], BASE) for b in ("bot-01", "bot-02"))
            else:
                assert ro.phase == "Superseded"
                assert all(holds(sims.gateways[b], NEW) for b in ("bot-01", "bot-02"))
            for name in ("bot-03", "bot-04"):
                assert sims.gateways[name].apply_count == counts[name]
                assert ro.results[name].result == "skipped"
            assert audit.actions("rollout-resumed") == []
