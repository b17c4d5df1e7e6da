"""The sync daemon in this process against simulated gateways and a real Git repository:
gate, observe, rollouts, drift, control, restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from e2e._support import (
    ConfigRepo,
    branch_status,
    git,
    greeting_of,
    wait_for,
)

from molthub_gitops.errors import SyncError
from molthub_gitops.gateway.sim import SimulatedFleet
from molthub_gitops.sync.daemon import Daemon
from molthub_gitops.sync.state import Rollout
from molthub_gitops.sync.statusbranch import read_status_branch, verify_audit

from ._daemon_support import edit_by_hand, fleet_fixture, make_daemon, urls

BOTS = ("a1", "a2", "a3")

fleet = fleet_fixture(BOTS)


async def test_first_sync_rolls_every_bot_out(tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="hi")
    commit = repo.commit("first")
    daemon = make_daemon(repo, tmp_path)
    try:
        status = await daemon.run_once()
    finally:
        await daemon.stop()
    assert status.applied_commit == commit
    assert status.gate is not None
    assert status.gate.ok
    assert {b.state for b in status.bots.values()} == {"Synced"}
    for gw in fleet.gateways.values():
        assert greeting_of(gw.config) == "hi"
        assert gw.apply_count == 1
    alpha = status.fleets["alpha"]
    assert alpha.last_synced_commit == commit
    assert alpha.rollout is not None
    assert alpha.rollout.phase == "Succeeded"


async def test_a_commit_failing_the_gate_is_never_applied(tmp_path: Path,
                                                          fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="hi")
    good = repo.commit("first")
    daemon = make_daemon(repo, tmp_path)
    try:
        await daemon.run_once()
        # a policy error: sandbox off
        repo.write("templates/basic.yaml",
                   repo.read("templates/basic.yaml")
                   .replace("mode: all", "mode: \"off\"")
                   .replace("thinkingDefault: low", "thinkingDefault: high"))
        repo.set_fleet("alpha", urls(fleet), greeting="bad")
        bad = repo.commit("turn the sandbox off")
        status = await daemon.run_once()
        again = await daemon.run_once()
        entries = daemon.recent_audit(200)
    finally:
        await daemon.stop()
    assert status.head_commit == bad
    assert status.applied_commit == good
    assert status.gate is not None
    assert not status.gate.ok
    assert status.gate.commit == bad
    assert any("templates/basic.yaml:" in p and "sandbox" in p for p in status.gate.problems)
    assert again.applied_commit == good
    for gw in fleet.gateways.values():
        assert greeting_of(gw.config) == "hi"
        assert gw.apply_count == 1
    gate_failed = [e for e in entries if e.action == "gate-failed"]
    assert len(gate_failed) == 1
    assert gate_failed[0].commit == bad


async def test_a_failing_canary_is_rolled_back_and_not_retried(
        tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    rollout = {"strategy": "canary", "canary": {"bots": ["a1"], "bake": "1s"}, "batch": 1,
               "healthTimeout": "1s"}
    repo.set_fleet("alpha", urls(fleet), greeting="v1", rollout=rollout)
    first = repo.commit("v1")
    daemon = make_daemon(repo, tmp_path, time_scale=0.01)
    try:
        await daemon.run_once()
        fleet.gateways["a1"].set_healthy(False)
        repo.set_fleet("alpha", urls(fleet), greeting="v2", rollout=rollout)
        second = repo.commit("v2")
        status = await daemon.run_once()
        alpha = status.fleets["alpha"]
        assert alpha.rollout is not None
        assert alpha.rollout.phase == "Failed"
        assert alpha.rollout.commit == second
        assert alpha.last_failed_commit == second
        assert alpha.last_synced_commit == first
        assert alpha.rollout.results["a1"].result in ("rolled-back", "rollback-failed")
        assert greeting_of(fleet.gateways["a1"].config) == "v1"
        for name in ("a2", "a3"):
            assert greeting_of(fleet.gateways[name].config) == "v1"
            assert fleet.gateways[name].apply_count == 1
        writes = fleet.gateways["a1"].apply_count
        # not retried while the failed commit is in force
        fleet.gateways["a1"].set_healthy(True)
        status = await daemon.run_once()
        assert status.fleets["alpha"].rollout is not None
        assert status.fleets["alpha"].rollout.commit == second
        assert fleet.gateways["a1"].apply_count == writes
        # a new commit retries
        repo.set_fleet("alpha", urls(fleet), greeting="v3", rollout=rollout)
        third = repo.commit("v3")
        status = await daemon.run_once()
    finally:
        await daemon.stop()
    alpha = status.fleets["alpha"]
    assert alpha.last_failed_commit is None
    assert alpha.last_synced_commit == third
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v3"}
    phases = [h.phase for h in alpha.history]
    assert phases[:3] == ["Succeeded", "Failed", "Succeeded"]


async def test_drift_is_recorded_and_left_without_self_heal(
        tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    repo.commit("v1")
    daemon = make_daemon(repo, tmp_path)
    try:
        await daemon.run_once()
        edit_by_hand(fleet, "a2", thinkingDefault="high")
        status = await daemon.run_once()
        status = await daemon.run_once()
        entries = daemon.recent_audit(200)
    finally:
        await daemon.stop()
    bot = status.bots["a2"]
    assert bot.state == "OutOfSync"
    assert "agents.defaults.thinkingDefault" in bot.drift
    assert fleet.gateways["a2"].config["agents"]["defaults"]["thinkingDefault"] == "high"
    drift = [e for e in entries if e.action == "drift"]
    assert len(drift) == 1
    assert drift[0].bot == "a2"
    assert status.bots["a1"].state == "Synced"


async def test_self_heal_puts_a_hand_edit_back(tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1", self_heal=True)
    repo.commit("v1")
    daemon = make_daemon(repo, tmp_path)
    try:
        await daemon.run_once()
        edit_by_hand(fleet, "a2", thinkingDefault="high")
        status = await daemon.run_once()
        entries = daemon.recent_audit(200)
    finally:
        await daemon.stop()
    assert fleet.gateways["a2"].config["agents"]["defaults"]["thinkingDefault"] == "low"
    assert status.bots["a2"].state == "Synced"
    rollout = status.fleets["alpha"].rollout
    assert rollout is not None
    assert rollout.kind == "heal"
    assert list(rollout.results) == ["a2"]
    assert [e.bot for e in entries if e.action == "drift"] == ["a2"]
    assert fleet.gateways["a1"].apply_count == 1
    heal = [e for e in entries if e.action == "heal"]
    assert [(e.bot, e.rollout_id) for e in heal] == [("a2", rollout.id)]


async def test_an_unreachable_bot_does_not_hold_up_the_others(
        tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    repo.commit("v1")
    await fleet.gateways["a3"].stop()
    daemon = make_daemon(repo, tmp_path, observe_timeout=2.0)
    try:
        status = await daemon.run_once()
    finally:
        await daemon.stop()
    assert status.bots["a3"].state == "Unreachable"
    assert status.bots["a3"].last_error
    for name in ("a1", "a2"):
        assert status.bots[name].state == "Synced"
        assert greeting_of(fleet.gateways[name].config) == "v1"


class Running:
    """A daemon running its loop in a task (stopped at the end, bounded)."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Daemon:
        await self.daemon.start()
        self.task = asyncio.get_running_loop().create_task(self.daemon.run())
        return self.daemon

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.wait_for(self.daemon.stop(), 60)
        assert self.task is not None
        await asyncio.wait_for(self.task, 30)


def rollout_of(daemon: Daemon, fleet: str = "alpha") -> Rollout | None:
    return daemon.status().fleets[fleet].rollout


def phase_is(daemon: Daemon, *phases: str, commit: str | None = None) -> bool:
    rollout = rollout_of(daemon)
    return rollout is not None and rollout.phase in phases and (
        commit is None or rollout.commit == commit)


async def test_a_newer_commit_supersedes_a_running_rollout(
        tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    slow = {"strategy": "percentage", "batch": 1, "pauseBetweenBatches": "10m"}
    repo.set_fleet("alpha", urls(fleet), greeting="v1", rollout=slow)
    first = repo.commit("v1")
    async with Running(make_daemon(repo, tmp_path)) as daemon:
        await wait_for(lambda: greeting_of(fleet.gateways["a1"].config) == "v1",
                       what="the first batch")
        repo.set_fleet("alpha", urls(fleet), greeting="v2", rollout={"strategy": "all"})
        second = repo.commit("v2")
        await daemon.sync_now("test")
        await wait_for(lambda: phase_is(daemon, "Succeeded", commit=second), timeout=60,
                       what="the rollout of the second commit")
        status = daemon.status()
    alpha = status.fleets["alpha"]
    superseded = [h for h in alpha.history if h.commit == first]
    assert [h.phase for h in superseded] == ["Superseded"]
    assert alpha.last_synced_commit == second
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v2"}
    # a2 and a3 never got v1: the superseded rollout stopped after its wave
    assert fleet.gateways["a2"].apply_count == 1
    assert fleet.gateways["a1"].apply_count == 2


async def test_pause_resume_promote_and_errors(tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    slow = {"strategy": "percentage", "batch": 1, "pauseBetweenBatches": "10m"}
    repo.set_fleet("alpha", urls(fleet), greeting="v1", rollout=slow)
    repo.commit("v1")
    async with Running(make_daemon(repo, tmp_path)) as daemon:
        await wait_for(lambda: greeting_of(fleet.gateways["a1"].config) == "v1",
                       what="the first batch")
        with pytest.raises(SyncError) as unknown:
            await daemon.control("nope", "pause", actor="test")
        assert unknown.value.code == "unknown-fleet"
        with pytest.raises(SyncError) as bad:
            await daemon.control("alpha", "resume", actor="test")
        assert bad.value.code == "bad-phase"
        await daemon.control("alpha", "pause", actor="test")
        await wait_for(lambda: phase_is(daemon, "Paused"), what="the pause")
        assert greeting_of(fleet.gateways["a2"].config) is None
        with pytest.raises(SyncError) as twice:
            await daemon.control("alpha", "pause", actor="test")
        assert twice.value.code == "bad-phase"
        await daemon.control("alpha", "promote", actor="test", full=True)
        await daemon.control("alpha", "resume", actor="test")
        await wait_for(lambda: phase_is(daemon, "Succeeded"), timeout=60, what="the end")
    _, entries = read_status_branch(repo.origin)  # after stop(): its final flush landed
    actions = [e.action for e in entries]
    for action in ("rollout-paused", "rollout-resumed", "rollout-promoted"):
        assert action in actions
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v1"}


async def test_abort_puts_the_canary_back(tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    canary = {"strategy": "canary", "canary": {"count": 1, "bake": "10m"}}
    repo.set_fleet("alpha", urls(fleet), greeting="v1", rollout=canary)
    repo.commit("v1")
    daemon = make_daemon(repo, tmp_path, time_scale=0.0001)
    try:
        await daemon.run_once()
    finally:
        await daemon.stop()
    repo.set_fleet("alpha", urls(fleet), greeting="v2", rollout=canary)
    second = repo.commit("v2")
    async with Running(make_daemon(repo, tmp_path)) as daemon:
        await wait_for(lambda: phase_is(daemon, "Baking", commit=second), what="the bake")
        assert greeting_of(fleet.gateways["a1"].config) == "v2"
        await daemon.control("alpha", "abort", actor="test", reason="looks wrong")
        await wait_for(lambda: phase_is(daemon, "Aborted"), what="the abort")
        await daemon.sync_now("test")
        await asyncio.sleep(0.2)
        status = daemon.status()
    alpha = status.fleets["alpha"]
    assert alpha.last_failed_commit == second
    assert alpha.rollout is not None
    assert alpha.rollout.phase == "Aborted"
    assert "looks wrong" in alpha.rollout.reason
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v1"}


async def test_rollback_pins_the_fleet_until_the_branch_moves(
        tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    first = repo.commit("v1")
    daemon = make_daemon(repo, tmp_path)
    try:
        await daemon.run_once()
        repo.set_fleet("alpha", urls(fleet), greeting="v2")
        second = repo.commit("v2")
        await daemon.run_once()
        assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v2"}
        found = await daemon.control("alpha", "rollback", actor="test", reason="v2 is bad")
        assert found.pinned_commit == first
        assert found.pinned_head == second
        status = await daemon.run_once()
        alpha = status.fleets["alpha"]
        assert alpha.rollout is not None
        assert alpha.rollout.kind == "rollback"
        assert alpha.rollout.phase == "Succeeded"
        assert alpha.rollout.commit == first
        assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v1"}
        assert {b.state for b in status.bots.values()} == {"Synced"}
        status = await daemon.run_once()  # stays pinned while the head is the same
        assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v1"}
        with pytest.raises(SyncError) as unknown:
            await daemon.control("alpha", "rollback", actor="test", to="0123456789ab")
        assert unknown.value.code == "unknown-commit"
        repo.set_fleet("alpha", urls(fleet), greeting="v3")
        third = repo.commit("v3")
        status = await daemon.run_once()
        entries = daemon.recent_audit(200)
    finally:
        await daemon.stop()
    alpha = status.fleets["alpha"]
    assert alpha.pinned_commit is None
    assert alpha.last_synced_commit == third
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v3"}
    requested = [e for e in entries if e.action == "rollback-requested"]
    assert len(requested) == 1
    assert requested[0].reason == "v2 is bad"


async def test_dry_run_writes_nothing(tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    repo.commit("v1")
    daemon = make_daemon(repo, tmp_path, dry_run=True)
    try:
        status = await daemon.run_once()
    finally:
        await daemon.stop()
    rollout = status.fleets["alpha"].rollout
    assert rollout is not None
    assert rollout.reason == "dry-run"
    assert sorted(rollout.results) == list(BOTS)
    assert {r.result for r in rollout.results.values()} == {"pending"}
    assert all(gw.apply_count == 0 for gw in fleet.gateways.values())
    assert {b.state for b in status.bots.values()} == {"OutOfSync"}
    assert "molthub-status" not in git(repo.origin, "branch", "--list")


async def test_a_suspended_fleet_is_observed_never_written(
        tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1", suspended=True)
    repo.commit("v1")
    daemon = make_daemon(repo, tmp_path)
    try:
        status = await daemon.run_once()
    finally:
        await daemon.stop()
    assert status.fleets["alpha"].suspended
    assert status.fleets["alpha"].rollout is None
    assert {b.state for b in status.bots.values()} == {"OutOfSync"}
    assert all(gw.apply_count == 0 for gw in fleet.gateways.values())


async def test_a_restarted_daemon_resumes_its_rollout_without_applying_twice(
        tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    canary = {"strategy": "canary", "canary": {"count": 1, "bake": "10m"}, "batch": 1}
    repo.set_fleet("alpha", urls(fleet), greeting="v1", rollout=canary)
    commit = repo.commit("v1")
    async with Running(make_daemon(repo, tmp_path)) as daemon:
        await wait_for(lambda: phase_is(daemon, "Baking"), what="the bake")

        def on_branch() -> bool:
            status = branch_status(repo)
            rollout = status.fleets["alpha"].rollout if status else None
            return rollout is not None and rollout.phase == "Baking"
        await wait_for(on_branch, what="the bake on the status branch")
    assert fleet.gateways["a1"].apply_count == 1
    async with Running(make_daemon(repo, tmp_path)) as daemon:
        rollout = rollout_of(daemon)
        assert rollout is not None
        assert rollout.phase == "Baking"
        assert rollout.commit == commit
        await daemon.control("alpha", "promote", actor="test")
        await wait_for(lambda: phase_is(daemon, "Succeeded"), timeout=60, what="the end")
    assert [gw.apply_count for gw in fleet.gateways.values()] == [1, 1, 1]
    status, entries = read_status_branch(repo.origin)
    assert status is not None
    applies = [e for e in entries if e.action == "apply" and e.rollout_id == rollout.id]
    assert sorted(e.bot or "" for e in applies) == list(BOTS)
    started = [e for e in entries if e.action == "rollout-started"]
    assert len(started) == 1
    assert verify_audit(repo.origin).ok


async def test_a_restart_with_a_newer_commit_supersedes_the_old_rollout(
        tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    canary = {"strategy": "canary", "canary": {"count": 1, "bake": "10m"}, "batch": 1}
    repo.set_fleet("alpha", urls(fleet), greeting="v1", rollout=canary)
    first = repo.commit("v1")
    async with Running(make_daemon(repo, tmp_path)) as daemon:
        await wait_for(lambda: phase_is(daemon, "Baking"), what="the bake")
    repo.set_fleet("alpha", urls(fleet), greeting="v2", rollout={"strategy": "all"})
    second = repo.commit("v2")
    daemon = make_daemon(repo, tmp_path)
    try:
        status = await daemon.run_once()
    finally:
        await daemon.stop()
    alpha = status.fleets["alpha"]
    assert [(h.commit, h.phase) for h in alpha.history[:2]] == [
        (second, "Succeeded"), (first, "Superseded")]
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v2"}
    assert [gw.apply_count for gw in fleet.gateways.values()] == [2, 1, 1]
    assert daemon.metrics.counter("status_pushes_total", result="ok") >= 1


async def test_a_config_repository_in_a_subfolder(tmp_path: Path,
                                                  fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg", subdir="deploy/bots")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    commit = repo.commit("v1")
    daemon = make_daemon(repo, tmp_path, path="deploy/bots")
    try:
        status = await daemon.run_once()
    finally:
        await daemon.stop()
    assert status.path == "deploy/bots"
    assert status.fleets["alpha"].last_synced_commit == commit
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v1"}


async def test_a_broken_first_commit_applies_nothing(tmp_path: Path,
                                                     fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    repo.write("fleets/alpha.yaml", repo.read("fleets/alpha.yaml") + "  unknownField: 1\n")
    commit = repo.commit("broken")
    daemon = make_daemon(repo, tmp_path)
    try:
        status = await daemon.run_once()
    finally:
        await daemon.stop()
    assert status.applied_commit is None
    assert status.gate is not None
    assert not status.gate.ok
    assert status.gate.commit == commit
    assert status.fleets == {}
    assert all(gw.apply_count == 0 for gw in fleet.gateways.values())
    saved, entries = read_status_branch(repo.origin)
    assert saved is not None
    assert saved.gate is not None
    assert not saved.gate.ok
    assert [e.action for e in entries] == ["gate-failed"]
