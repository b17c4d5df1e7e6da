"""StatusWriter, the daemon's audit sink, against real Git repositories."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pygit2
import pytest

from molthub_gitops.sync.audit import AuditDraft, event_id
from molthub_gitops.sync.clock import iso
from molthub_gitops.sync.state import BotStatus, DaemonStatus
from molthub_gitops.sync.statusbranch import StatusBranch, StatusWriter, verify_audit

SIG = pygit2.Signature("Test", "test@example.com", 1_700_000_000, 0)
BRANCH = "molthub-status"
REF = f"refs/heads/{BRANCH}"
WAIT = 30.0


class StepClock:
    """Wall time that moves only when slept on; sleeping yields to the loop."""

    def __init__(self) -> None:
        self.t = 1_790_000_000.0

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0.001)


@pytest.fixture
def server(tmp_path: Path) -> Path:
    server = tmp_path / "server.git"
    repo = pygit2.init_repository(str(server), bare=True, initial_head="main")
    builder = repo.TreeBuilder()
    builder.insert("molthub.yaml", repo.create_blob(b"kind: Repository\n"),
                   pygit2.GIT_FILEMODE_BLOB)
    repo.create_commit("refs/heads/main", SIG, SIG, "config", builder.write(), [])
    return server


def make_writer(server: Path, tmp_path: Path, status: DaemonStatus, clock: StepClock,
                **kw: object) -> StatusWriter:
    path = tmp_path / "clone.git"
    pygit2.clone_repository(str(server), str(path), bare=True)
    branch = StatusBranch(path, clock=clock, retry_delay=0.0)
    return StatusWriter(branch, clock, status=lambda: status, **kw)  # type: ignore[arg-type]


def event(n: int, **kw: object) -> AuditDraft:
    return AuditDraft.model_validate({"actor": "molthub-sync", "action": "apply",
                                      "fleet": "alpha", "bot": f"bot-{n}",
                                      "rollout_id": "alpha@c#1", "hash_after": f"h{n}", **kw})


def status_with(state: str = "Synced") -> DaemonStatus:
    return DaemonStatus(bots={"bot-1": BotStatus(name="bot-1", fleet="alpha",
                                                 state=state)})  # type: ignore[arg-type]


def commits_on_branch(server: Path) -> int:
    repo = pygit2.Repository(str(server))
    if REF not in repo.references:
        return 0
    return sum(1 for _ in repo.walk(repo.references[REF].target))


def audit_bots(server: Path) -> list[str]:
    repo = pygit2.Repository(str(server))
    tree = repo.references[REF].peel(pygit2.Commit).tree["audit"].peel(pygit2.Tree)
    out: list[str] = []
    for entry in sorted(tree, key=lambda e: e.name or ""):
        out += [json.loads(x)["bot"] for x in bytes(repo[entry.id].data).decode().splitlines()]
    return out


async def test_record_fills_time_and_id_and_dedups(server: Path, tmp_path: Path) -> None:
    clock = StepClock()
    writer = make_writer(server, tmp_path, status_with(), clock)
    await writer.load()
    writer.record(event(1))
    writer.record(event(1, reason="the same event again"))
    writer.record(event(2, time="2020-01-01T00:00:00Z"))
    assert writer.pending == 2
    assert writer.has(event_id(event(1)))
    assert not writer.has(event_id(event(3)))

    assert await writer.flush() is True
    assert writer.pending == 0
    assert commits_on_branch(server) == 1
    recent = writer.recent()
    assert [e.bot for e in recent] == ["bot-1", "bot-2"]
    assert recent[0].time == iso(clock.now())
    assert recent[1].time == "2020-01-01T00:00:00Z"
    assert recent[0].reason == ""  # the first one recorded wins
    # published ids are still known: recording them again queues nothing
    writer.record(event(1))
    assert writer.pending == 0
    assert writer.has(event_id(event(1)))


async def test_status_and_audit_of_one_batch_are_one_commit(server: Path,
                                                            tmp_path: Path) -> None:
    status = status_with()
    writer = make_writer(server, tmp_path, status, StepClock())
    writer.record(event(1))
    writer.mark_dirty()
    await writer.flush()
    repo = pygit2.Repository(str(server))
    commit = repo.references[REF].peel(pygit2.Commit)
    assert {e.name for e in commit.tree} == {"README.md", "status.json", "bots", "audit"}
    assert commits_on_branch(server) == 1

    # dirty with an unchanged status: nothing to commit
    writer.mark_dirty()
    assert await writer.flush() is True
    assert commits_on_branch(server) == 1
    status.bots["bot-1"].state = "Degraded"
    writer.mark_dirty()
    await writer.flush()
    assert commits_on_branch(server) == 2


async def test_batches_of_max_batch(server: Path, tmp_path: Path) -> None:
    writer = make_writer(server, tmp_path, status_with(), StepClock(), max_batch=10)
    for n in range(25):
        writer.record(event(n))
    await writer.flush()
    assert writer.pending == 0
    assert commits_on_branch(server) == 3
    assert audit_bots(server) == [f"bot-{n}" for n in range(25)]


async def test_a_failed_publish_keeps_the_drafts(server: Path, tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    writer = make_writer(server, tmp_path, status_with(), StepClock())
    await writer.load()
    repo = pygit2.Repository(str(writer.branch.repo_path))
    good_url = repo.remotes["origin"].url
    repo.remotes.set_url("origin", "http://u:hunter2-SECRET@127.0.0.1:9/x.git")
    caplog.set_level(logging.INFO)
    for n in range(3):
        writer.record(event(n))

    assert await writer.flush() is False
    assert writer.pending == 3
    assert writer.failures == 1
    assert writer.last_error is not None
    assert "hunter2" not in writer.last_error
    assert "hunter2" not in caplog.text
    assert "publish failed" in caplog.text

    repo.remotes.set_url("origin", good_url)
    writer.record(event(3))
    assert await writer.flush() is True
    assert writer.pending == 0
    assert writer.last_error is None
    assert audit_bots(server) == ["bot-0", "bot-1", "bot-2", "bot-3"]
    assert verify_audit(server, BRANCH).ok


async def test_run_flushes_every_interval_until_cancelled(server: Path,
                                                          tmp_path: Path) -> None:
    writer = make_writer(server, tmp_path, status_with(), StepClock(), interval=2.0)
    task = asyncio.create_task(writer.run())
    try:
        writer.record(event(1))

        async def published(count: int) -> None:
            while commits_on_branch(server) < count:  # noqa: ASYNC110 - polls the server repo
                await asyncio.sleep(0.01)

        await asyncio.wait_for(published(1), WAIT)
        writer.record(event(2))
        await asyncio.wait_for(published(2), WAIT)
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, WAIT)
    # the caller's final flush after cancelling
    writer.record(event(3))
    assert await writer.flush() is True
    assert audit_bots(server) == ["bot-1", "bot-2", "bot-3"]


async def test_writer_works_as_an_audit_sink_for_two_daemons(server: Path,
                                                             tmp_path: Path) -> None:
    """Two writers (two replicas) on their own clones: both logs end up in one chain."""
    first = make_writer(server, tmp_path / "one", status_with("Synced"), StepClock())
    second = make_writer(server, tmp_path / "two", status_with("Degraded"), StepClock())
    await first.load()
    await second.load()
    for n in range(3):
        first.record(event(n))
        second.record(event(100 + n))
    second.record(event(0))  # both saw this one
    await first.flush()
    await second.flush()
    assert second.last_result is not None
    assert second.last_result.attempts == 2
    bots = audit_bots(server)
    assert sorted(bots) == sorted([f"bot-{n}" for n in (0, 1, 2, 100, 101, 102)])
    assert verify_audit(server, BRANCH).ok
