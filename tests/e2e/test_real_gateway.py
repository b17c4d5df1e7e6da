"""End-to-end against a real OpenClaw 2026.9.6 gateway: `molthub sync --once --no-listen` (the
real entry point, ``python -m molthub_gitops``, in a subprocess) rolls commits out to an
`existing` bot; OpenClaw's own CLI (`openclaw gateway call config.get`) sees the new config; the
status branch the daemon pushes to the config repository's origin holds the bot Synced at the
commit and an audit log that `molthub audit verify` accepts. A change made out of band with
OpenClaw's CLI is recorded as drift (the bot OutOfSync, left as found while selfHeal is off)
and put back once selfHeal is on. The gateway token appears nowhere: not in the command
output, the status files or the audit.

One real gateway for the module (seeded ``{"gateway": {"mode": "local"}}``, no channels); the
first apply adds ``gateway.auth`` to it, which the real gateway answers with a restart, so the
daemon's wait across a real restart is exercised too."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ._real import CliRun, RealGateway, molthub, real_gateway, real_repo, sync_env
from ._support import ConfigRepo, audit_lines, git, greeting_of

pytestmark = [pytest.mark.real_gateway, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RealGateway]:
    async with real_gateway(tmp_path_factory.mktemp("openclaw-e2e")) as running:
        yield running


def branch_files(repo: ConfigRepo, branch: str = "molthub-status") -> dict[str, str]:
    """Every file on the status branch of the origin (where the daemon pushes it)."""
    names = git(repo.origin, "ls-tree", "-r", "--name-only", branch).splitlines()
    return {name: git(repo.origin, "show", f"{branch}:{name}") for name in names if name}


def bot_status(files: dict[str, str], fleet: str, bot: str) -> dict[str, Any]:
    """The bot's row in ``bots/<fleet>.json`` of the status branch."""
    members = json.loads(files[f"bots/{fleet}.json"])
    assert bot in members, members
    row: dict[str, Any] = members[bot]
    return row


async def sync_once(repo: ConfigRepo, tmp: Path, token: str) -> CliRun:
    return await molthub("sync", "--repo", str(repo.origin), "--once", "--no-listen",
                         "--workdir", str(tmp / "work"), env=sync_env(token, tmp))


def thinking_of(config: dict[str, Any]) -> Any:
    return config.get("agents", {}).get("defaults", {}).get("thinkingDefault")


async def test_a_commit_reaches_the_real_gateway_and_the_status_branch(
        gw: RealGateway, tmp_path: Path) -> None:
    bot = "real-1"
    repo = real_repo(tmp_path / "cfg", bot, gw.url, greeting="v1")
    first = repo.commit("v1")
    one = await sync_once(repo, tmp_path, gw.token)
    assert one.code == 0, one.output
    assert "bots: 1 Synced" in one.stdout
    at_first = bot_status(branch_files(repo), "alpha", bot)
    assert (at_first["state"], at_first["syncedCommit"]) == ("Synced", first), at_first

    repo.set_fleet("alpha", {bot: gw.url}, greeting="v2")
    second = repo.commit("v2")
    two = await sync_once(repo, tmp_path, gw.token)
    assert two.code == 0, two.output
    assert "bots: 1 Synced" in two.stdout

    # (1) OpenClaw's own CLI reads the new config from the gateway
    after = await gw.config_get()
    assert greeting_of(after["parsed"]) == "v2", after["parsed"]
    assert after["parsed"]["agents"]["defaults"]["workspace"].endswith(f"/{bot}/v2")
    assert after["parsed"]["gateway"]["auth"]["token"] == "${OPENCLAW_GATEWAY_TOKEN}"
    assert after["hash"] != at_first["observedHash"]

    # (2) the status branch of the origin: the bot Synced at the new commit, and its fleet
    files = branch_files(repo)
    status = json.loads(files["status.json"])
    assert status["appliedCommit"] == second
    assert status["fleets"]["alpha"]["lastSyncedCommit"] == second
    row = bot_status(files, "alpha", bot)
    assert (row["state"], row["syncedCommit"]) == ("Synced", second)
    # the real gateway reports a busy event loop as degraded (CI is a 2-core machine)
    assert row["health"] in ("Healthy", "Degraded"), row
    assert row["observedHash"] == after["hash"]
    assert row["reportedVersion"] == "2026.9.6"

    # (3) one apply per commit, with the gateway's hashes before and after; the chain verifies
    entries = audit_lines(repo.origin)
    applies = [e for e in entries if e["action"] == "apply"]
    assert [(e["commit"], e["bot"], e["fleet"], e["result"]) for e in applies] == [
        (first, bot, "alpha", "ok"), (second, bot, "alpha", "ok")]
    assert applies[0]["hashAfter"] == at_first["observedHash"]
    assert applies[1]["hashBefore"] == at_first["observedHash"]
    assert applies[1]["hashAfter"] == after["hash"]
    assert applies[0]["hashBefore"] not in (None, applies[0]["hashAfter"])
    assert {e["action"] for e in entries} >= {"rollout-started", "rollout-succeeded"}
    verify = await molthub("audit", "verify", "--repo", str(repo.origin), "-o", "json",
                           env=sync_env(gw.token, tmp_path))
    assert verify.code == 0, verify.output
    verdict = json.loads(verify.stdout)
    assert verdict["ok"] is True
    assert verdict["entries"] == len(entries)

    # (4) the token is nowhere: output, status files, audit segments
    assert any(name.startswith("audit/") for name in files)
    for text in (one.output, two.output, verify.output, *files.values()):
        assert gw.token not in text


async def test_an_out_of_band_change_is_drift_and_self_heal_puts_it_back(
        gw: RealGateway, tmp_path: Path) -> None:
    bot = "real-2"
    repo = real_repo(tmp_path / "cfg", bot, gw.url, greeting="d1")
    commit = repo.commit("d1")
    one = await sync_once(repo, tmp_path, gw.token)
    assert one.code == 0, one.output
    synced = bot_status(branch_files(repo), "alpha", bot)
    assert synced["state"] == "Synced", synced

    # someone edits the bot by hand with OpenClaw's own CLI (a hot reload, no restart)
    patched = await gw.proc.call(
        "config.patch",
        {"raw": json.dumps({"agents": {"defaults": {"thinkingDefault": "high"}}}),
         "baseHash": synced["observedHash"]}, time_limit=60.0)
    assert patched["ok"] is True, patched
    assert thinking_of(patched["config"]) == "high"

    # no new commit; selfHeal is off: drift is recorded, the bot is OutOfSync, left as found
    two = await sync_once(repo, tmp_path, gw.token)
    assert two.code == 0, two.output
    assert "bots: 1 OutOfSync" in two.stdout
    files = branch_files(repo)
    drifted = bot_status(files, "alpha", bot)
    assert drifted["state"] == "OutOfSync", drifted
    assert drifted["drift"] == ["agents.defaults.thinkingDefault"]
    assert drifted["observedHash"] == patched["hash"]
    drifts = [e for e in audit_lines(repo.origin) if e["action"] == "drift"]
    assert len(drifts) == 1, drifts
    assert (drifts[0]["bot"], drifts[0]["commit"]) == (bot, commit)
    assert (drifts[0]["hashBefore"], drifts[0]["hashAfter"]) == (
        synced["observedHash"], patched["hash"])
    assert "agents.defaults.thinkingDefault" in drifts[0]["reason"]
    assert not [e for e in audit_lines(repo.origin)
                if e["action"] == "apply" and e["hashBefore"] == patched["hash"]]

    # selfHeal on: the next run puts the config from Git back on the gateway
    repo.write("molthub.yaml", repo.read("molthub.yaml").replace(
        "selfHeal: false", "selfHeal: true"))
    heal_commit = repo.commit("self-heal on")
    three = await sync_once(repo, tmp_path, gw.token)
    assert three.code == 0, three.output
    assert "bots: 1 Synced" in three.stdout
    after = await gw.config_get()
    assert thinking_of(after["parsed"]) == "low", after["parsed"]
    assert greeting_of(after["parsed"]) == "d1"
    files = branch_files(repo)
    row = bot_status(files, "alpha", bot)
    assert (row["state"], row["syncedCommit"], row["drift"]) == ("Synced", heal_commit, [])
    assert row["observedHash"] == after["hash"]
    entries = audit_lines(repo.origin)
    [putback] = [e for e in entries if e["action"] in ("apply", "heal")
                 and e["hashBefore"] == patched["hash"]]
    assert (putback["bot"], putback["commit"], putback["result"]) == (bot, heal_commit, "ok")
    assert putback["hashAfter"] == after["hash"]
    verify = await molthub("audit", "verify", "--repo", str(repo.origin),
                           env=sync_env(gw.token, tmp_path))
    assert verify.code == 0, verify.output
    assert f"audit log intact: {len(entries)} entries" in verify.stdout
    for text in (one.output, two.output, three.output, verify.output, *files.values()):
        assert gw.token not in text
