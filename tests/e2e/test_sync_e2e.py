"""End-to-end: a real daemon behind its real HTTP server, a real Git repository, simulated
gateways over real WebSockets. Every wait polls with a deadline."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pygit2
import pytest_asyncio

from molthub_gitops.gateway.sim import SimulatedFleet
from molthub_gitops.sync.audit import AuditDraft
from molthub_gitops.sync.statusbranch import StatusBranch, read_status_branch, verify_audit
from molthub_gitops.web.webhooks import WebhookSecrets

from ._support import (
    API_TOKEN,
    TOKEN,
    ConfigRepo,
    Served,
    branch_status,
    fleet_fixture,
    git,
    greeting_of,
    options,
    wait_for,
)

BOTS = ("b1", "b2", "b3", "b4")
HOOK_SECRET = "e2e-hook-secret-Pw7-never-shown-2208"
PAYLOADS = (Path(__file__).resolve().parents[1] / "data",
            Path("/work/shared/data"))

fleet = fleet_fixture(BOTS)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


def urls(sims: SimulatedFleet) -> dict[str, str]:
    return {name: gw.url for name, gw in sims.gateways.items()}


async def api_status(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    async with http.get(base + "/api/status") as response:
        assert response.status == 200
        data: dict[str, Any] = await response.json()
        return data


def all_synced(data: dict[str, Any], commit: str) -> bool:
    bots = data.get("bots", {})
    return (data.get("appliedCommit") == commit and len(bots) == len(BOTS)
            and all(b["state"] == "Synced" for b in bots.values()))


def payload(name: str) -> dict[str, Any]:
    for folder in PAYLOADS:
        path = folder / name
        if path.is_file():
            data: dict[str, Any] = json.loads(path.read_text())
            return data
    raise FileNotFoundError(name)


def github_headers(body: bytes, secret: str, delivery: str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


async def test_happy_path_over_http(tmp_path: Path, fleet: SimulatedFleet,
                                    http: aiohttp.ClientSession) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1",
                   rollout={"strategy": "percentage", "batch": "50%"})
    commit = repo.commit("v1")
    opts = options(repo, tmp_path / "work", listen="127.0.0.1:0", api_token=API_TOKEN)
    async with Served(opts) as served:
        await wait_for(lambda: all_synced(served.daemon.status().to_json_dict(), commit),
                       timeout=60, what="every bot Synced")
        data = await api_status(http, served.url)
        assert all_synced(data, commit)
        rollout = data["fleets"]["alpha"]["rollout"]
        assert rollout["phase"] == "Succeeded"
        assert len(rollout["waves"]) == 2
        async with http.get(served.url + "/metrics") as response:
            metrics = await response.text()
        assert response.status == 200
        assert "Synced" in metrics
        async with http.get(served.url + "/readyz") as response:
            assert response.status == 200
        async with http.get(served.url + "/") as response:
            page = await response.text()
        assert "alpha" in page
        for text in (data and json.dumps(data), metrics, page):
            assert TOKEN not in text
            assert API_TOKEN not in text

        def flushed() -> bool:
            status = branch_status(repo)
            return status is not None and status.fleets["alpha"].last_synced_commit == commit
        await wait_for(flushed, what="the status on the status branch")
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v1"}
    assert all(gw.apply_count == 1 for gw in fleet.gateways.values())
    status, entries = read_status_branch(repo.origin)
    assert status is not None
    assert status.applied_commit == commit
    rollout_id = status.fleets["alpha"].history[0].id
    applies = [e for e in entries if e.action == "apply" and e.rollout_id == rollout_id]
    assert sorted(e.bot or "" for e in applies) == list(BOTS)
    assert all(e.commit == commit and e.hash_after for e in applies)
    verdict = verify_audit(repo.origin)
    assert verdict.ok
    assert verdict.entries == len(entries)
    branch_text = git(repo.origin, "show", "molthub-status:status.json")
    assert TOKEN not in branch_text
    assert API_TOKEN not in branch_text


async def test_webhooks_trigger_a_fetch_only_when_signed(
        tmp_path: Path, fleet: SimulatedFleet, http: aiohttp.ClientSession) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    first = repo.commit("v1")
    opts = options(repo, tmp_path / "work", listen="127.0.0.1:0",
                   webhook_secrets=WebhookSecrets(github=HOOK_SECRET))
    async with Served(opts) as served:
        await wait_for(lambda: all_synced(served.daemon.status().to_json_dict(), first),
                       timeout=60, what="the first sync")
        repo.set_fleet("alpha", urls(fleet), greeting="v2")
        second = repo.commit("v2")
        push = payload("github-push-payload.json")
        push["ref"] = "refs/heads/main"
        body = json.dumps(push).encode()
        bad = github_headers(body, "not-the-secret", "delivery-1")
        async with http.post(served.url + "/hooks/github", data=body, headers=bad) as response:
            assert response.status == 401
        await asyncio.sleep(0.5)
        data = await api_status(http, served.url)
        assert data["headCommit"] == first  # no fetch happened
        assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v1"}
        good = github_headers(body, HOOK_SECRET, "delivery-2")
        async with http.post(served.url + "/hooks/github", data=body, headers=good) as response:
            assert response.status == 202
        await wait_for(lambda: all_synced(served.daemon.status().to_json_dict(), second),
                       timeout=60, what="the sync of the pushed commit")
        async with http.post(served.url + "/hooks/github", data=body, headers=good) as response:
            assert response.status == 200
            assert (await response.json()).get("duplicate") is True
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v2"}


async def test_canary_failing_its_health_gate(tmp_path: Path, fleet: SimulatedFleet,
                                              http: aiohttp.ClientSession) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    canary = {"strategy": "canary", "canary": {"bots": ["b1"], "bake": "1s"}, "batch": 2,
              "healthTimeout": "1s"}
    repo.set_fleet("alpha", urls(fleet), greeting="v1", rollout=canary)
    first = repo.commit("v1")
    opts = options(repo, tmp_path / "work", listen="127.0.0.1:0", time_scale=0.01)
    async with Served(opts) as served:
        await wait_for(lambda: all_synced(served.daemon.status().to_json_dict(), first),
                       timeout=60, what="the first sync")
        fleet.gateways["b1"].faults.unhealthy_after_apply = True
        repo.set_fleet("alpha", urls(fleet), greeting="v2", rollout=canary)
        second = repo.commit("v2")
        await served.daemon.sync_now("test")

        async def failed() -> bool:
            data = await api_status(http, served.url)
            return data["fleets"]["alpha"].get("lastFailedCommit") == second
        await wait_for(failed, timeout=60, what="the failed rollout")
        data = await api_status(http, served.url)
        alpha = data["fleets"]["alpha"]
        assert alpha["rollout"]["phase"] == "Failed"
        assert alpha["lastSyncedCommit"] == first
        assert alpha["rollout"]["results"]["b1"]["result"] in ("rolled-back", "rollback-failed")
        assert greeting_of(fleet.gateways["b1"].config) == "v1"
        for name in ("b2", "b3", "b4"):
            assert fleet.gateways[name].apply_count == 1
            assert greeting_of(fleet.gateways[name].config) == "v1"
        # the next passes do not retry the failed commit
        fleet.gateways["b1"].set_healthy(True)
        writes = fleet.gateways["b1"].apply_count
        await served.daemon.sync_now("test")
        await asyncio.sleep(0.5)
        await served.daemon.run_once()
        assert fleet.gateways["b1"].apply_count == writes
        # a new commit does
        repo.set_fleet("alpha", urls(fleet), greeting="v3", rollout=canary)
        third = repo.commit("v3")
        await served.daemon.sync_now("test")
        await wait_for(lambda: all_synced(served.daemon.status().to_json_dict(), third),
                       timeout=60, what="the retry with a new commit")
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v3"}
    _, entries = read_status_branch(repo.origin)
    assert any(e.action == "rollout-failed" and e.commit == second for e in entries)
    assert any(e.action == "rollback" and e.bot == "b1" for e in entries)


async def test_unreachable_bot_while_the_others_proceed(
        tmp_path: Path, fleet: SimulatedFleet, http: aiohttp.ClientSession) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    commit = repo.commit("v1")
    await fleet.gateways["b4"].stop()
    opts = options(repo, tmp_path / "work", listen="127.0.0.1:0", observe_timeout=2.0)
    async with Served(opts) as served:

        async def others_synced() -> bool:
            data = await api_status(http, served.url)
            bots = data["bots"]
            return (bots.get("b4", {}).get("state") == "Unreachable"
                    and all(bots[b]["state"] == "Synced" for b in ("b1", "b2", "b3")))
        await wait_for(others_synced, timeout=60, what="three Synced, one Unreachable")
        data = await api_status(http, served.url)
    assert data["fleets"]["alpha"]["lastSyncedCommit"] == commit
    assert data["bots"]["b4"]["lastError"]
    assert TOKEN not in data["bots"]["b4"]["lastError"]
    for name in ("b1", "b2", "b3"):
        assert greeting_of(fleet.gateways[name].config) == "v1"


async def test_stale_base_hash_from_a_hand_edit(tmp_path: Path, fleet: SimulatedFleet) -> None:
    """A bot edited by hand between the rollout's read and its write: the gateway refuses the
    stale baseHash, the conflict is audited as drift, the bot re-read and written once more."""
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    first = repo.commit("v1")
    opts = options(repo, tmp_path / "work", listen="127.0.0.1:0")
    async with Served(opts) as served:
        daemon = served.daemon
        await wait_for(lambda: all_synced(daemon.status().to_json_dict(), first),
                       timeout=60, what="the first sync")
        target = fleet.gateways["b2"]
        # answers leave 1 s after the gateway read its config: a hand edit in that window
        # makes the rollout's read stale, so its write carries a stale baseHash
        target.faults.response_delay_s = 1.0
        repo.set_fleet("alpha", urls(fleet), greeting="v2")
        second = repo.commit("v2")
        await daemon.sync_now("test")

        def wave_started() -> bool:
            rollout = daemon.status().fleets["alpha"].rollout
            return (rollout is not None and rollout.commit == second
                    and rollout.waves[0].started_at is not None)
        await wait_for(wave_started, interval=0.01, what="the wave to start")
        await asyncio.sleep(0.2)  # the read of b2 has reached the gateway, its answer not
        assert target.apply_count == 1
        edited = target.config
        edited["agents"]["defaults"]["thinkingDefault"] = "high"
        target.edit_out_of_band(edited)
        await wait_for(lambda: all_synced(daemon.status().to_json_dict(), second),
                       timeout=60, what="the rollout")
        target.faults.response_delay_s = 0.0
    _, entries = read_status_branch(repo.origin)
    assert greeting_of(target.config) == "v2"
    assert target.config["agents"]["defaults"]["thinkingDefault"] == "low"
    drift = [e for e in entries if e.action == "drift" and e.bot == "b2"]
    assert len(drift) == 1
    assert "since it was read" in drift[0].reason
    assert drift[0].commit == second
    assert drift[0].rollout_id
    # the first sync, then (after the refused stale write) one accepted write
    assert [w.method for w in target.writes] == ["config.apply", "edit", "config.apply"]


async def test_hand_edit_is_drift_and_self_heal_corrects_it(
        tmp_path: Path, fleet: SimulatedFleet, http: aiohttp.ClientSession) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    first = repo.commit("v1")
    opts = options(repo, tmp_path / "work", listen="127.0.0.1:0", observe_interval=0.3)
    async with Served(opts) as served:
        await wait_for(lambda: all_synced(served.daemon.status().to_json_dict(), first),
                       timeout=60, what="the first sync")
        edited = fleet.gateways["b3"].config
        edited["agents"]["defaults"]["thinkingDefault"] = "high"
        fleet.gateways["b3"].edit_out_of_band(edited)

        async def drifted() -> bool:
            bot = (await api_status(http, served.url))["bots"]["b3"]
            return bot["state"] == "OutOfSync" and bool(bot["drift"])
        await wait_for(drifted, timeout=30, what="the drift")

        async def audited() -> bool:  # published with the next batch
            async with http.get(served.url + "/api/audit?bot=b3") as response:
                audit = await response.json()
            return any(e["action"] == "drift" for e in audit["entries"])
        await wait_for(audited, timeout=30, what="the drift entry in /api/audit")
        await asyncio.sleep(1.0)  # more passes: still OutOfSync, not corrected, one entry
        assert fleet.gateways["b3"].config["agents"]["defaults"]["thinkingDefault"] == "high"
        repo.set_fleet("alpha", urls(fleet), greeting="v1", self_heal=True)
        repo.commit("self-heal on")
        await served.daemon.sync_now("test")
        await wait_for(lambda: fleet.gateways["b3"].config["agents"]["defaults"]
                       ["thinkingDefault"] == "low", timeout=60, what="the correction")
        # and from now on a hand edit is healed on its own
        edited = fleet.gateways["b1"].config
        edited["agents"]["defaults"]["thinkingDefault"] = "high"
        fleet.gateways["b1"].edit_out_of_band(edited)
        await wait_for(lambda: fleet.gateways["b1"].config["agents"]["defaults"]
                       ["thinkingDefault"] == "low", timeout=60, what="the heal")
    _, entries = read_status_branch(repo.origin)
    drift = [e for e in entries if e.action == "drift"]
    assert sorted({e.bot or "" for e in drift}) == ["b1", "b3"]
    assert len([e for e in drift if e.bot == "b3" and e.actor == "molthub-sync"]) == 1
    assert fleet.gateways["b2"].apply_count == 1


async def test_push_race_with_another_writer(tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", urls(fleet), greeting="v1")
    repo.commit("v1")
    async with Served(options(repo, tmp_path / "work")) as served:
        await served.daemon.run_once()
        # another writer (a second replica) publishes to the status branch meanwhile
        other_clone = tmp_path / "other.git"
        pygit2.clone_repository(str(repo.origin), str(other_clone), bare=True)
        other = StatusBranch(other_clone)
        await asyncio.to_thread(other.load)
        draft = AuditDraft(actor="other-replica", action="rollback-requested", result="info",
                           fleet="alpha", reason="the other writer", id="other-writer-1")
        result = await asyncio.to_thread(other.publish, None, [draft], "other writer")
        assert result.commit is not None
        repo.set_fleet("alpha", urls(fleet), greeting="v2")
        second = repo.commit("v2")
        status = await served.daemon.run_once()
        assert status.applied_commit == second
    tip = git(repo.origin, "rev-parse", "molthub-status")
    git(repo.origin, "merge-base", "--is-ancestor", result.commit, tip)  # never forced
    _, entries = read_status_branch(repo.origin)
    ids = [e.id for e in entries]
    assert "other-writer-1" in ids
    assert len(ids) == len(set(ids))
    assert any(e.action == "rollout-succeeded" and e.commit == second for e in entries)
    assert verify_audit(repo.origin).ok
