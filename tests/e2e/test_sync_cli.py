"""The command line of the daemon: `molthub sync --once`, `molthub status`, `molthub rollout`
against real repositories, simulated gateways and a daemon serving real HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
from click.testing import CliRunner, Result

from molthub_gitops.cli import sync_commands
from molthub_gitops.gateway.sim import SimulatedFleet

from ._support import (
    API_TOKEN,
    TOKEN,
    TOKEN_ENV,
    ConfigRepo,
    Served,
    fleet_fixture,
    git,
    greeting_of,
    options,
    wait_for,
)

BOTS = ("c1", "c2")

fleet = fleet_fixture(BOTS)


def group() -> click.Group:
    cli = click.Group()
    sync_commands.register(cli)
    return cli


async def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the command in a thread (it runs its own event loop; the simulators and the
    served daemon keep running in this one)."""
    environment = {TOKEN_ENV: TOKEN, "MOLTHUB_API_TOKEN": "", **(env or {})}
    return await asyncio.to_thread(CliRunner().invoke, group(), list(args), env=environment)


def repo_with_fleet(tmp_path: Path, fleet: SimulatedFleet, greeting: str = "v1") -> ConfigRepo:
    repo = ConfigRepo(tmp_path / "cfg")
    repo.set_fleet("alpha", {n: gw.url for n, gw in fleet.gateways.items()}, greeting=greeting)
    repo.commit(greeting)
    return repo


async def test_sync_once_rolls_out_and_prints_a_summary(tmp_path: Path,
                                                        fleet: SimulatedFleet) -> None:
    repo = repo_with_fleet(tmp_path, fleet)
    result = await invoke("sync", "--repo", repo.url, "--workdir", str(tmp_path / "w"),
                          "--once")
    assert result.exit_code == 0, result.output
    assert "bots: 2 Synced" in result.output
    assert "Succeeded" in result.output
    assert TOKEN not in result.output
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v1"}
    status = await invoke("status", "--repo", str(repo.origin))
    assert status.exit_code == 0, status.output
    assert "c1" in status.output
    assert "Synced" in status.output
    as_json = await invoke("status", "--repo", str(repo.origin), "-o", "json")
    data = json.loads(as_json.output)
    assert set(data["fleets"]) == {"alpha"}
    listed = await invoke("rollout", "list", "alpha", "--repo", str(repo.origin))
    assert listed.exit_code == 0
    assert "Succeeded" in listed.output


async def test_sync_once_exits_1_when_the_gate_fails(tmp_path: Path,
                                                     fleet: SimulatedFleet) -> None:
    repo = repo_with_fleet(tmp_path, fleet)
    repo.write("fleets/alpha.yaml", repo.read("fleets/alpha.yaml")
               .replace("template: basic", "template: missing"))
    repo.commit("broken")
    result = await invoke("sync", "--repo", repo.url, "--workdir", str(tmp_path / "w"),
                          "--once")
    assert result.exit_code == 1, result.output
    assert "gate FAILED" in result.output
    assert "fleets/alpha.yaml:" in result.output
    assert all(gw.apply_count == 0 for gw in fleet.gateways.values())


async def test_sync_dry_run_once_writes_nothing(tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = repo_with_fleet(tmp_path, fleet)
    result = await invoke("sync", "--repo", repo.url, "--workdir", str(tmp_path / "w"),
                          "--once", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry-run" in result.output
    assert all(gw.apply_count == 0 for gw in fleet.gateways.values())


async def test_sync_rejects_bad_options(tmp_path: Path) -> None:
    base = ["sync", "--repo", str(tmp_path), "--workdir", str(tmp_path / "w")]
    result = await invoke(*base, "--listen", "nonsense")
    assert result.exit_code == 2
    assert "not host:port" in result.output
    result = await invoke(*base, "--api-token-env", "MOLTHUB_E2E_UNSET_VARIABLE")
    assert result.exit_code == 2
    assert "MOLTHUB_E2E_UNSET_VARIABLE" in result.output
    result = await invoke(*base, "--interval", "soon")
    assert result.exit_code == 2
    assert "--interval" in result.output


async def test_rollout_commands_against_a_running_daemon(tmp_path: Path,
                                                         fleet: SimulatedFleet) -> None:
    repo = repo_with_fleet(tmp_path, fleet)
    opts = options(repo, tmp_path / "work", listen="127.0.0.1:0", api_token=API_TOKEN)
    async with Served(opts) as served:
        await wait_for(lambda: served.daemon.status().fleets["alpha"].last_synced_commit
                       is not None, timeout=60, what="the first sync")
        server = ["--server", served.url]
        ok_env = {"MOLTHUB_API_TOKEN": API_TOKEN}
        missing = await invoke("rollout", "pause", "alpha", *server)
        assert missing.exit_code == 2
        assert "MOLTHUB_API_TOKEN" in missing.output
        wrong = await invoke("rollout", "pause", "alpha", *server,
                             env={"MOLTHUB_API_TOKEN": "wrong-token"})
        assert wrong.exit_code == 2
        assert "401" in wrong.output
        unknown = await invoke("rollout", "pause", "nope", *server, env=ok_env)
        assert unknown.exit_code == 1
        assert "unknown fleet" in unknown.output
        idle = await invoke("rollout", "pause", "alpha", *server, env=ok_env)
        assert idle.exit_code == 1
        assert "cannot pause alpha" in idle.output
        status = await invoke("status", *server, "-o", "json")
        assert status.exit_code == 0
        assert json.loads(status.output)["fleets"]["alpha"]["lastSyncedCommit"]
        listed = await invoke("rollout", "list", "alpha", *server)
        assert listed.exit_code == 0
        assert "Succeeded" in listed.output
        for result in (missing, wrong, unknown, idle, status, listed):
            assert API_TOKEN not in result.output
    unreachable = await invoke("rollout", "pause", "alpha", "--server", served.url,
                               env={"MOLTHUB_API_TOKEN": API_TOKEN})
    assert unreachable.exit_code == 2
    assert "cannot reach the daemon" in unreachable.output


async def test_control_is_disabled_without_an_api_token(tmp_path: Path,
                                                        fleet: SimulatedFleet) -> None:
    repo = repo_with_fleet(tmp_path, fleet)
    async with Served(options(repo, tmp_path / "work", listen="127.0.0.1:0")) as served:
        result = await invoke("rollout", "abort", "alpha", "--server", served.url,
                              env={"MOLTHUB_API_TOKEN": API_TOKEN})
    assert result.exit_code == 2
    assert "disabled" in result.output


async def test_plan_shows_what_a_sync_would_do_and_writes_nothing(
        tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = repo_with_fleet(tmp_path, fleet)
    workdir = str(tmp_path / "w")
    first = await invoke("plan", "--repo", repo.url, "--workdir", workdir)
    assert first.exit_code == 1, first.output  # a first rollout would start
    assert "alpha: sync rollout of 2 bot(s)" in first.output
    assert "wave 1" in first.output
    assert all(gw.apply_count == 0 for gw in fleet.gateways.values())
    assert "molthub-status" not in git(repo.origin, "branch", "--list")
    synced = await invoke("sync", "--repo", repo.url, "--workdir", workdir, "--once")
    assert synced.exit_code == 0, synced.output
    tip = git(repo.origin, "rev-parse", "molthub-status")

    quiet = await invoke("plan", "--repo", repo.url, "--workdir", workdir)
    assert quiet.exit_code == 0, quiet.output
    assert "alpha: nothing to roll out (2 bot(s): 2 Synced)" in quiet.output

    repo.set_fleet("alpha", {n: gw.url for n, gw in fleet.gateways.items()}, greeting="v2")
    repo.commit("v2")
    changed = await invoke("plan", "--repo", repo.url, "--workdir", workdir, "-o", "json")
    assert changed.exit_code == 1, changed.output
    plan = json.loads(changed.output)
    alpha = plan["fleets"]["alpha"]
    assert alpha["rollout"]["commit"] == plan["head"]
    assert sorted(b for w in alpha["rollout"]["waves"] for b in w["bots"]) == ["c1", "c2"]
    assert all(bot["state"] == "OutOfSync" and bot["changes"]
               for bot in alpha["bots"].values())
    assert TOKEN not in changed.output
    # nothing was written: neither the gateways nor the status branch
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v1"}
    assert git(repo.origin, "rev-parse", "molthub-status") == tip


async def test_plan_of_a_commit_failing_the_gate(tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = repo_with_fleet(tmp_path, fleet)
    repo.write("fleets/alpha.yaml", repo.read("fleets/alpha.yaml")
               .replace("template: basic", "template: missing"))
    repo.commit("broken")
    result = await invoke("plan", "--repo", repo.url, "--workdir", str(tmp_path / "w"))
    assert result.exit_code == 1, result.output
    assert "gate FAILED" in result.output
    assert "fleets/alpha.yaml:" in result.output
    assert "Traceback" not in result.output
