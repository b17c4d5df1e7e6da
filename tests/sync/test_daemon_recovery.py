"""The daemon's promises across failures and restarts: a bot that fails within the threshold
is not retried in a loop, a heal removes keys added by hand, new rollouts reach the status
branch before their first write, an abort survives a restart."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from e2e._support import (
    TOKEN,
    TOKEN_ENV,
    ConfigRepo,
    branch_status,
    greeting_of,
    wait_for,
)

from molthub_gitops.errors import SyncError
from molthub_gitops.gateway.sim import SimulatedFleet
from molthub_gitops.sync.statusbranch import StatusBranch, read_status_branch, verify_audit

from ._daemon_support import edit_by_hand, fleet_fixture, make_daemon, urls

BOTS = ("r1", "r2", "r3")

fleet = fleet_fixture(BOTS)


async def keep_refusing(sims: SimulatedFleet, bot: str) -> None:
    """Make ``bot``'s gateway refuse every write (its fault knob fires once; re-arm it)."""
    gateway = sims.gateways[bot]
    while True:
        gateway.faults.fail_next_apply = "disk full"
        await asyncio.sleep(0.002)


async def test_a_bot_failing_within_the_threshold_is_not_retried_on_that_commit(
        tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    lenient = {"strategy": "all", "failureThreshold": 1}
    repo.set_fleet("alpha", urls(fleet), greeting="v1", rollout=lenient)
    repo.commit("v1")
    daemon = make_daemon(repo, tmp_path)
    try:
        await daemon.run_once()
        repo.set_fleet("alpha", urls(fleet), greeting="v2", rollout=lenient)
        second = repo.commit("v2")
        refusing = asyncio.get_running_loop().create_task(keep_refusing(fleet, "r3"))
        status = await daemon.run_once()
        alpha = status.fleets["alpha"]
        assert alpha.rollout is not None
        assert alpha.rollout.phase == "Succeeded"
        assert alpha.rollout.results["r3"].result == "failed"
        assert status.bots["r3"].failed_commit == second
        assert status.bots["r3"].state == "OutOfSync"
        assert greeting_of(fleet.gateways["r3"].config) == "v1"
        # not tried again on this commit, however often the daemon plans
        status = await daemon.run_once()
        status = await daemon.run_once()
        assert greeting_of(fleet.gateways["r3"].config) == "v1"
        assert [h.commit for h in status.fleets["alpha"].history].count(second) == 1
        # until someone resumes the fleet
        refusing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refusing
        fleet.gateways["r3"].faults.fail_next_apply = None
        await daemon.control("alpha", "resume", actor="tester")
        status = await daemon.run_once()
        assert greeting_of(fleet.gateways["r3"].config) == "v2"
        assert status.bots["r3"].failed_commit is None
        assert status.bots["r3"].state == "Synced"
        with pytest.raises(SyncError) as nothing:
            await daemon.control("alpha", "resume", actor="tester")
        assert nothing.value.code == "bad-phase"
    finally:
        await daemon.stop()


async def test_self_heal_removes_a_key_added_by_hand(tmp_path: Path,
                                                     fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg", self_heal=True)
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    repo.commit("v1")
    daemon = make_daemon(repo, tmp_path)
    try:
        await daemon.run_once()
        edit_by_hand(fleet, "r2", model={"primary": "openai/gpt-5.4"})
        status = await daemon.run_once()
        entries = daemon.recent_audit(200)
    finally:
        await daemon.stop()
    held = fleet.gateways["r2"].config["agents"]["defaults"]
    assert "model" not in held
    assert status.bots["r2"].state == "Synced"
    assert status.bots["r2"].drift == []
    actions = [(e.action, e.bot) for e in entries]
    assert ("drift", "r2") in actions
    heals = [e for e in entries if e.action == "heal" and e.bot == "r2"]
    assert heals
    assert all("already held" not in e.reason for e in heals)


async def test_a_new_rollout_is_on_the_status_branch_before_its_first_write(
        tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    first = repo.commit("v1")
    daemon = make_daemon(repo, tmp_path)
    seen: list[tuple[str, Any]] = []
    real_apply = daemon.pool.apply

    async def apply(endpoint: Any, desired: Any, base_hash: Any, **kwargs: Any) -> Any:
        # what the status branch says at the moment of each gateway write
        status = await asyncio.to_thread(branch_status, repo)
        rollout = status.fleets["alpha"].rollout if status is not None else None
        seen.append((endpoint.bot, rollout))
        return await real_apply(endpoint, desired, base_hash, **kwargs)

    daemon.pool.apply = apply  # type: ignore[method-assign]
    try:
        await daemon.run_once()
    finally:
        await daemon.stop()
    assert sorted(bot for bot, _ in seen) == list(BOTS)
    for _, rollout in seen:
        assert rollout is not None
        assert rollout.commit == first
        assert set(rollout.results) == set(BOTS)


async def test_an_abort_survives_a_restart(tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    repo.commit("v1")
    canary = {"strategy": "canary", "canary": {"bots": ["r1"], "bake": "1h"}, "batch": 1}
    daemon = make_daemon(repo, tmp_path)
    try:
        await asyncio.wait_for(daemon.run_once(), 60)
        repo.set_fleet("alpha", urls(fleet), greeting="v2", rollout=canary)
        second = repo.commit("v2")
        task = asyncio.get_running_loop().create_task(daemon.run())
        try:
            await daemon.sync_now("test")
            await wait_for(lambda: (r := daemon.status().fleets["alpha"].rollout) is not None
                           and r.phase == "Baking" and r.commit == second,
                           what="the canary bake")
        finally:
            await asyncio.wait_for(daemon.stop(), 60)
            await asyncio.wait_for(task, 30)
    finally:
        await daemon.stop()
    assert greeting_of(fleet.gateways["r1"].config) == "v2"
    # an abort was asked and recorded, and the daemon died before acting on it
    saved, _ = read_status_branch(repo.origin)
    assert saved is not None
    rollout = saved.fleets["alpha"].rollout
    assert rollout is not None
    assert rollout.phase == "Baking"
    rollout.abort_requested_by = "tester"
    rollout.abort_reason = "bad answers"
    branch = StatusBranch(daemon.source.repo_path)  # the daemon's clone, origin = repo.origin
    branch.load()
    branch.publish(saved, [], "test: an abort the daemon did not act on")

    again = make_daemon(repo, tmp_path)
    try:
        status = await asyncio.wait_for(again.run_once(), 60)
    finally:
        await again.stop()
    alpha = status.fleets["alpha"]
    assert alpha.rollout is not None
    assert alpha.rollout.phase == "Aborted"
    assert alpha.last_failed_commit == second
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v1"}
    assert verify_audit(repo.origin).ok


async def test_drift_of_an_unhealthy_bot_is_recorded_too(tmp_path: Path,
                                                         fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    repo.commit("v1")
    daemon = make_daemon(repo, tmp_path)
    try:
        await daemon.run_once()
        fleet.gateways["r2"].set_healthy(False)
        status = await daemon.run_once()
        assert status.bots["r2"].state == "Degraded"
        edit_by_hand(fleet, "r2", thinkingDefault="high")
        status = await daemon.run_once()
        entries = daemon.recent_audit(200)
    finally:
        await daemon.stop()
    assert status.bots["r2"].state == "OutOfSync"
    drift = [e for e in entries if e.action == "drift"]
    assert [e.bot for e in drift] == ["r2"]
    assert "agents.defaults.thinkingDefault" in drift[0].reason


async def test_a_rotated_token_file_is_read_again_after_an_auth_failure(
        tmp_path: Path, fleet: SimulatedFleet) -> None:
    token_file = tmp_path / "gateway-token"
    token_file.write_text(TOKEN + "\n")
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    text = repo.read("fleets/alpha.yaml")
    assert f"env: {TOKEN_ENV}" in text
    repo.write("fleets/alpha.yaml", text.replace(f"env: {TOKEN_ENV}", f"file: {token_file}"))
    repo.commit("v1, token from a file")
    daemon = make_daemon(repo, tmp_path)
    try:
        status = await daemon.run_once()
        assert {b.state for b in status.bots.values()} == {"Synced"}
        rotated = TOKEN + "-rotated"
        for gateway in fleet.gateways.values():  # the operator restarts the gateways with
            port = gateway.port                     # a new token ...
            await gateway.stop()
            gateway._token = rotated
            await gateway.start(port=port)
        status = await daemon.run_once()
        assert {b.state for b in status.bots.values()} == {"Unreachable"}
        token_file.write_text(rotated + "\n")  # ... and the secret file
        status = await daemon.run_once()
    finally:
        await daemon.stop()
    assert {b.state for b in status.bots.values()} == {"Synced"}
    assert rotated not in status.model_dump_json()
