"""End-to-end: `molthub sync` as a process, killed with SIGKILL in the middle of a rollout and
started again: it resumes from the status branch, no bot is applied twice, the audit log has
exactly one apply entry per bot and its chain is intact. The gateways run outside the daemon
(simulated in this test's process), reached as `existing` bots through their URLs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path
from typing import Any

import aiohttp

from molthub_gitops.gateway.sim import SimulatedFleet
from molthub_gitops.sync.statusbranch import read_status_branch

from ._support import (
    API_TOKEN,
    TOKEN,
    TOKEN_ENV,
    ConfigRepo,
    branch_status,
    fleet_fixture,
    greeting_of,
    molthub_argv,
    wait_for,
)

BOTS = ("k1", "k2", "k3", "k4")
API_ENV = "MOLTHUB_E2E_API_TOKEN"

fleet = fleet_fixture(BOTS)


class Daemon:
    """One `molthub sync` process; its log goes to a file."""

    def __init__(self, repo: ConfigRepo, workdir: Path, log: Path) -> None:
        self.repo = repo
        self.workdir = workdir
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""

    def env(self) -> dict[str, str]:
        return {**os.environ, TOKEN_ENV: TOKEN, API_ENV: API_TOKEN, "PYTHONUNBUFFERED": "1"}

    async def start(self) -> None:
        argv = molthub_argv(
            "sync", "--repo", self.repo.url, "--workdir", str(self.workdir),
            "--listen", "127.0.0.1:0", "--interval", "1h", "--observe-interval", "1h",
            "--api-token-env", API_ENV)
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=log, env=self.env(),
                start_new_session=True)
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        text = line.decode()
        assert "serving the status page on " in text, text or self.log.read_text()[-2000:]
        self.url = text.rsplit(" ", 1)[-1].strip()

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no flush, no cleanup
        await asyncio.wait_for(self.proc.wait(), 30)

    async def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 60)

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await asyncio.wait_for(self.proc.wait(), 30)


async def api_status(base: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http, \
            http.get(base + "/api/status") as response:
        data: dict[str, Any] = await response.json()
        return data


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *molthub_argv(*args), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def branch_phase(repo: ConfigRepo) -> str | None:
    status = branch_status(repo)
    if status is None or "alpha" not in status.fleets:
        return None
    rollout = status.fleets["alpha"].rollout
    return rollout.phase if rollout is not None else None


async def test_sigkill_mid_rollout_then_resume(tmp_path: Path, fleet: SimulatedFleet) -> None:
    repo = ConfigRepo(tmp_path / "cfg")
    urls = {name: gw.url for name, gw in fleet.gateways.items()}
    canary = {"strategy": "canary", "canary": {"count": 1, "bake": "1h"}, "batch": 2}
    repo.set_fleet("alpha", urls, greeting="v1", rollout=canary)
    commit = repo.commit("v1")
    log = tmp_path / "daemon.log"
    daemon = Daemon(repo, tmp_path / "work", log)
    try:
        await daemon.start()

        async def baking() -> bool:
            rollout = (await api_status(daemon.url))["fleets"].get("alpha", {}).get("rollout")
            return rollout is not None and rollout["phase"] == "Baking"
        await wait_for(baking, timeout=60, what="the canary bake")
        await wait_for(lambda: branch_phase(repo) == "Baking", timeout=60,
                       what="the bake on the status branch")
        await daemon.kill()
        assert [gw.apply_count for gw in fleet.gateways.values()] == [1, 0, 0, 0]

        daemon = Daemon(repo, tmp_path / "work", log)
        await daemon.start()

        async def restored() -> bool:
            async with aiohttp.ClientSession() as http, \
                    http.get(daemon.url + "/readyz") as response:
                if response.status != 200:
                    return False
            rollout = (await api_status(daemon.url))["fleets"].get("alpha", {}).get("rollout")
            return rollout is not None and rollout["phase"] == "Baking"
        await wait_for(restored, timeout=60, what="the restored bake")
        env = {**os.environ, "MOLTHUB_API_TOKEN": API_TOKEN}
        code, out, err = await run_cli("rollout", "promote", "alpha", "--server", daemon.url,
                                       env=env)
        assert code == 0, err
        assert "promote: alpha" in out

        async def succeeded() -> bool:
            data = await api_status(daemon.url)
            rollout = data["fleets"].get("alpha", {}).get("rollout")
            return rollout is not None and rollout["phase"] == "Succeeded"
        await wait_for(succeeded, timeout=60, what="the resumed rollout to end")
        assert await daemon.terminate() == 0
    finally:
        await daemon.close()
    # no bot was applied twice
    assert [gw.apply_count for gw in fleet.gateways.values()] == [1, 1, 1, 1]
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v1"}
    status, entries = read_status_branch(repo.origin)
    assert status is not None
    alpha = status.fleets["alpha"]
    assert alpha.last_synced_commit == commit
    rollout_id = alpha.history[0].id
    applies = [e for e in entries if e.action == "apply" and e.rollout_id == rollout_id]
    assert sorted(e.bot or "" for e in applies) == list(BOTS)
    assert [e.action for e in entries].count("rollout-started") == 1
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids))
    code, out, err = await run_cli("audit", "verify", "--repo", str(repo.origin),
                                   env=dict(os.environ))
    assert code == 0, out + err
    text = log.read_text()
    assert TOKEN not in text
    assert API_TOKEN not in text
    assert "Traceback" not in text
    data = json.dumps([e.to_json_dict() for e in entries])
    assert TOKEN not in data
    assert API_TOKEN not in data


async def test_sigkill_while_bots_are_being_written(tmp_path: Path,
                                                    fleet: SimulatedFleet) -> None:
    """Killed with writes in flight: after the restart every bot holds the config, none was
    written twice, and each has exactly one apply entry."""
    repo = ConfigRepo(tmp_path / "cfg")
    urls = {name: gw.url for name, gw in fleet.gateways.items()}
    repo.set_fleet("alpha", urls, greeting="v1", rollout={"strategy": "all"})
    commit = repo.commit("v1")
    for gw in fleet.gateways.values():
        gw.faults.response_delay_s = 0.5  # slow answers: a wide window mid-apply
    log = tmp_path / "daemon.log"
    daemon = Daemon(repo, tmp_path / "work", log)
    try:
        await daemon.start()

        async def writing() -> bool:
            rollout = (await api_status(daemon.url))["fleets"].get("alpha", {}).get("rollout")
            return rollout is not None and any(
                r["result"] == "applying" for r in rollout["results"].values())
        await wait_for(writing, timeout=60, interval=0.02, what="bots being written")
        await wait_for(lambda: branch_phase(repo) == "Progressing", timeout=60,
                       what="the rollout on the status branch")
        await daemon.kill()
        written_before = [gw.apply_count for gw in fleet.gateways.values()]
        assert max(written_before) <= 1

        daemon = Daemon(repo, tmp_path / "work", log)
        await daemon.start()

        async def succeeded() -> bool:
            data = await api_status(daemon.url)
            alpha = data["fleets"].get("alpha", {})
            return alpha.get("lastSyncedCommit") == commit
        await wait_for(succeeded, timeout=120, what="the resumed rollout to end")
        assert await daemon.terminate() == 0
    finally:
        await daemon.close()
    assert [gw.apply_count for gw in fleet.gateways.values()] == [1, 1, 1, 1]
    assert {greeting_of(gw.config) for gw in fleet.gateways.values()} == {"v1"}
    status, entries = read_status_branch(repo.origin)
    assert status is not None
    rollout_id = status.fleets["alpha"].history[0].id
    applies = [e for e in entries if e.action == "apply" and e.rollout_id == rollout_id]
    assert sorted(e.bot or "" for e in applies) == list(BOTS)
    assert all(e.result == "ok" for e in applies)
    code, out, err = await run_cli("audit", "verify", "--repo", str(repo.origin),
                                   env=dict(os.environ))
    assert code == 0, out + err
