"""The status branch against real Git repositories: a bare "server" and bare clones of it.

Covers: the orphan branch and its layout, appending and chaining across commits, unchanged
publishes, segment rollover, load, the push race with another writer (replay, no entry lost
or doubled), tampering found by verify_audit with file:line, and secrets.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pygit2
import pytest

from molthub_gitops.errors import GitError, InputError, PushRejected
from molthub_gitops.gateway.secrets import Redactor
from molthub_gitops.sync import audit
from molthub_gitops.sync.audit import GENESIS, AuditDraft, AuditEntry
from molthub_gitops.sync.state import BotStatus, DaemonStatus, FleetStatus
from molthub_gitops.sync.statusbranch import (
    README_TEXT,
    StatusBranch,
    read_status_branch,
    status_files,
    verify_audit,
)

SIG = pygit2.Signature("Test", "test@example.com", 1_700_000_000, 0)
BRANCH = "molthub-status"
REF = f"refs/heads/{BRANCH}"


class FixedClock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


def make_server(tmp_path: Path) -> Path:
    """A bare config repository with one commit on main."""
    server = tmp_path / "server.git"
    repo = pygit2.init_repository(str(server), bare=True, initial_head="main")
    builder = repo.TreeBuilder()
    builder.insert("molthub.yaml", repo.create_blob(b"kind: Repository\n"),
                   pygit2.GIT_FILEMODE_BLOB)
    repo.create_commit("refs/heads/main", SIG, SIG, "config", builder.write(), [])
    return server


def clone(server: Path, dest: Path) -> Path:
    pygit2.clone_repository(str(server), str(dest), bare=True)
    return dest


@pytest.fixture
def server(tmp_path: Path) -> Path:
    return make_server(tmp_path)


def writer(server: Path, tmp_path: Path, name: str, **kw: object) -> StatusBranch:
    path = clone(server, tmp_path / f"{name}.git")
    return StatusBranch(path, clock=FixedClock(), retry_delay=0.0, **kw)  # type: ignore[arg-type]


def draft(tag: str, n: int, **kw: object) -> AuditDraft:
    fields: dict[str, object] = {
        "actor": "molthub-sync", "action": "apply", "fleet": "alpha", "bot": f"{tag}-{n}",
        "rollout_id": f"alpha@{tag}#1", "hash_after": f"h-{tag}-{n}", "commit": "c" * 40,
        "time": "2026-11-26T16:00:00Z", "reason": f"{tag} event {n}",
    }
    fields.update(kw)
    return AuditDraft.model_validate(fields)


def make_status(version: str = "v1") -> DaemonStatus:
    return DaemonStatus(
        repo="file:///config", applied_commit="a" * 40, updated_at="2026-11-26T16:00:00Z",
        fleets={"alpha": FleetStatus(name="alpha", bots=["a1", "a2"]),
                "beta": FleetStatus(name="beta", bots=["b1"])},
        bots={
            "a1": BotStatus(name="a1", fleet="alpha", state="Synced", desired_hash=version,
                            last_observed_at="2026-11-26T16:00:01Z"),
            "a2": BotStatus(name="a2", fleet="alpha", state="OutOfSync", drift=["x.y"]),
            "b1": BotStatus(name="b1", fleet="beta", state="Unreachable"),
        })


def server_tree(server: Path) -> tuple[pygit2.Repository, pygit2.Commit]:
    repo = pygit2.Repository(str(server))
    commit = repo.references[REF].peel(pygit2.Commit)
    return repo, commit


def blob_text(repo: pygit2.Repository, commit: pygit2.Commit, path: str) -> str:
    return bytes(repo[commit.tree[path].id].data).decode()


def audit_lines(server: Path) -> list[dict[str, object]]:
    repo, commit = server_tree(server)
    out: list[dict[str, object]] = []
    for entry in sorted(commit.tree["audit"].peel(pygit2.Tree), key=lambda e: e.name or ""):
        out += [json.loads(line) for line in bytes(repo[entry.id].data).decode().splitlines()]
    return out


def all_blobs(repo: pygit2.Repository, tree: pygit2.Tree) -> list[bytes]:
    out: list[bytes] = []
    for entry in tree:
        obj = repo[entry.id]
        if isinstance(obj, pygit2.Tree):
            out += all_blobs(repo, obj)
        else:
            out.append(bytes(obj.data))
    return out


# --------------------------------------------------------------------------- layout


def test_first_publish_creates_the_orphan_branch(server: Path, tmp_path: Path) -> None:
    branch = writer(server, tmp_path, "a", author=("sync-a", "a@example.com"))
    loaded = branch.load()
    assert loaded.commit is None
    assert loaded.status is None
    assert loaded.chain.last_seq == 0
    assert loaded.chain.last_hash == GENESIS

    result = branch.publish(make_status(), [draft("a", 1), draft("a", 2)], "first")

    assert result.attempts == 1
    assert len(result.entries) == 2
    repo, commit = server_tree(server)
    assert str(commit.id) == result.commit
    assert commit.parents == []  # orphan: no shared history with main
    assert commit.author.name == "sync-a"
    assert commit.author.time == 1_790_000_000
    assert str(repo.references["refs/heads/main"].peel(pygit2.Commit).tree["molthub.yaml"].id)
    names = sorted(e.name for e in commit.tree)
    assert names == ["README.md", "audit", "bots", "status.json"]
    assert blob_text(repo, commit, "README.md") == README_TEXT
    assert "molthub audit verify" in README_TEXT
    status_json = blob_text(repo, commit, "status.json")
    assert status_json.endswith("}\n")
    assert status_json.startswith("{\n  ")
    data = json.loads(status_json)
    assert data["bots"] == {}
    assert data["updatedAt"] == ""
    assert data["appliedCommit"] == "a" * 40
    assert sorted(json.loads(blob_text(repo, commit, "bots/alpha.json"))) == ["a1", "a2"]
    assert json.loads(blob_text(repo, commit, "bots/beta.json"))["b1"]["state"] == "Unreachable"
    # the volatile timestamp is not committed
    assert json.loads(blob_text(repo, commit, "bots/alpha.json"))["a1"]["lastObservedAt"] is None
    lines = blob_text(repo, commit, "audit/000001.jsonl").splitlines()
    assert [json.loads(x)["seq"] for x in lines] == [1, 2]
    assert json.loads(lines[0])["prev"] == GENESIS
    assert json.loads(lines[1])["prev"] == json.loads(lines[0])["hash"]

    verdict = verify_audit(server, BRANCH)
    assert verdict.ok
    assert verdict.entries == 2
    assert verdict.last_hash == result.entries[-1].hash


def test_a_file_url_remote_works(server: Path, tmp_path: Path) -> None:
    path = tmp_path / "by-url.git"
    pygit2.clone_repository(server.as_uri(), str(path), bare=True)
    assert pygit2.Repository(str(path)).remotes["origin"].url.startswith("file://")
    branch = StatusBranch(path, retry_delay=0.0)
    result = branch.publish(make_status(), [draft("u", 1)], "via file://")
    assert result.attempts == 1
    assert verify_audit(server, BRANCH).entries == 1


def test_never_writes_onto_a_branch_that_is_not_a_status_branch(server: Path,
                                                                tmp_path: Path) -> None:
    """A status branch named like the config branch by mistake: refuse, touch nothing."""
    before = pygit2.Repository(str(server)).references["refs/heads/main"].target
    wrong = writer(server, tmp_path, "wrong", branch="main")
    with pytest.raises(GitError, match="not a molthub status branch"):
        wrong.load()
    with pytest.raises(GitError, match="not a molthub status branch"):
        writer(server, tmp_path, "wrong2", branch="main").publish(
            make_status(), [draft("w", 1)], "oops")
    assert pygit2.Repository(str(server)).references["refs/heads/main"].target == before


def test_status_files_are_sorted_json(tmp_path: Path) -> None:
    files = status_files(make_status())
    assert sorted(files) == ["bots/alpha.json", "bots/beta.json", "status.json"]
    text = files["status.json"].decode()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    # bots: one bot per line (a change to one bot is a one-line diff), keys sorted
    alpha = files["bots/alpha.json"].decode()
    assert alpha.startswith("{\n")
    assert alpha.endswith("\n}\n")
    lines = alpha.splitlines()[1:-1]
    assert [line.split(":")[0].strip() for line in lines] == ['"a1"', '"a2"']
    a1 = json.loads(alpha)["a1"]
    assert list(a1) == sorted(a1)
    assert a1["state"] == "Synced"


def test_status_json_snapshot_gives_the_same_files() -> None:
    """The writer hands a JSON snapshot to its thread; it must give what for_branch gives."""
    status = make_status()
    assert status.bots["a1"].last_observed_at is not None
    assert status.updated_at
    assert status_files(status.to_json_dict()) == status_files(status)
    assert status_files(status.for_branch()) == status_files(status)


def test_second_publish_appends_and_chains_across_commits(server: Path,
                                                          tmp_path: Path) -> None:
    branch = writer(server, tmp_path, "a")
    first = branch.publish(make_status(), [draft("a", n) for n in range(3)], "one")
    second = branch.publish(make_status(), [draft("a", n) for n in range(3, 5)], "two")

    assert second.attempts == 1
    assert [e.seq for e in second.entries] == [4, 5]
    assert second.entries[0].prev == first.entries[-1].hash
    _repo, commit = server_tree(server)
    assert [str(p.id) for p in commit.parents] == [first.commit]
    assert [e["seq"] for e in audit_lines(server)] == [1, 2, 3, 4, 5]
    assert verify_audit(server, BRANCH).entries == 5


def test_unchanged_status_and_no_drafts_make_no_commit(server: Path, tmp_path: Path) -> None:
    branch = writer(server, tmp_path, "a")
    first = branch.publish(make_status(), [draft("a", 1)], "one")

    again = branch.publish(make_status(), [], "nothing")
    assert again.commit is None
    assert again.entries == []
    assert again.attempts == 0
    # drafts already in the log are skipped: still nothing to commit
    dup = branch.publish(make_status(), [draft("a", 1, reason="said again")], "dup")
    assert dup.commit is None
    assert dup.entries == []
    # a volatile field alone changes nothing either
    status = make_status()
    status.updated_at = "2030-01-01T00:00:00Z"
    status.bots["a1"].last_observed_at = "2030-01-01T00:00:00Z"
    assert branch.publish(status, [], "volatile").commit is None
    assert branch.publish(None, [], "none").commit is None
    _, commit = server_tree(server)
    assert str(commit.id) == first.commit


def test_only_changed_blobs_are_rewritten(server: Path, tmp_path: Path) -> None:
    branch = writer(server, tmp_path, "a")
    branch.publish(make_status(), [draft("a", 1)], "one")
    _, before = server_tree(server)

    status = make_status()
    status.bots["b1"].state = "Synced"
    result = branch.publish(status, [], "beta changed")

    assert result.commit is not None
    assert result.entries == []
    _repo, after = server_tree(server)
    for path in ("README.md", "status.json", "bots/alpha.json", "audit/000001.jsonl"):
        assert after.tree[path].id == before.tree[path].id, path
    assert after.tree["bots/beta.json"].id != before.tree["bots/beta.json"].id


def test_a_fleet_gone_from_the_status_loses_its_file(server: Path, tmp_path: Path) -> None:
    branch = writer(server, tmp_path, "a")
    branch.publish(make_status(), [], "one")
    status = make_status()
    del status.bots["b1"]
    del status.fleets["beta"]
    branch.publish(status, [], "beta removed")
    _, commit = server_tree(server)
    assert sorted(e.name for e in commit.tree["bots"].peel(pygit2.Tree)) == ["alpha.json"]


def test_status_none_keeps_the_status_files(server: Path, tmp_path: Path) -> None:
    branch = writer(server, tmp_path, "a")
    branch.publish(make_status(), [], "one")
    _, before = server_tree(server)
    branch.publish(None, [draft("a", 1)], "audit only")
    _, after = server_tree(server)
    assert after.tree["status.json"].id == before.tree["status.json"].id
    assert after.tree["bots"].id == before.tree["bots"].id


# --------------------------------------------------------------------------- segments, load


def test_segments_roll_over_at_the_segment_size(server: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "SEGMENT_ENTRIES", 3)
    branch = writer(server, tmp_path, "a")
    branch.publish(None, [draft("a", n) for n in range(4)], "four")
    branch.publish(None, [draft("a", n) for n in range(4, 7)], "three")

    repo, commit = server_tree(server)
    audit_tree = commit.tree["audit"].peel(pygit2.Tree)
    sizes = {e.name: len(bytes(repo[e.id].data).splitlines()) for e in audit_tree}
    assert sizes == {"000001.jsonl": 3, "000002.jsonl": 3, "000003.jsonl": 1}
    verdict = verify_audit(server, BRANCH)
    assert verdict.ok
    assert verdict.entries == 7

    other = writer(server, tmp_path, "b")
    loaded = other.load()
    assert loaded.chain.last_seq == 7
    assert all(loaded.chain.has(e["id"]) for e in audit_lines(server))  # type: ignore[arg-type]


def test_more_than_one_real_segment(server: Path, tmp_path: Path) -> None:
    branch = writer(server, tmp_path, "a")
    total = audit.SEGMENT_ENTRIES + 3
    result = branch.publish(None, [draft("a", n) for n in range(total)], "many")
    assert result.entries[-1].seq == total
    repo, commit = server_tree(server)
    names = sorted(e.name for e in commit.tree["audit"].peel(pygit2.Tree))
    assert names == ["000001.jsonl", "000002.jsonl"]
    assert len(bytes(repo[commit.tree["audit/000002.jsonl"].id].data).splitlines()) == 3
    assert verify_audit(server, BRANCH).entries == total


def test_load_reads_status_bots_chain_and_tail(server: Path, tmp_path: Path) -> None:
    branch = writer(server, tmp_path, "a")
    branch.publish(make_status(), [draft("a", n) for n in range(250)], "many")

    loaded = writer(server, tmp_path, "b").load()
    assert loaded.status is not None
    assert loaded.status == make_status().for_branch()  # bots merged back from bots/*.json
    assert loaded.chain.last_seq == 250
    assert loaded.chain.has(draft("a", 0).id or audit.event_id(draft("a", 0)))
    assert len(loaded.entries_tail) == 200
    assert [e.seq for e in loaded.entries_tail] == list(range(51, 251))
    assert loaded.commit == str(server_tree(server)[1].id)
    # a chain loaded by one writer continues where the other stopped
    appended = loaded.chain.append([draft("b", 1)])
    assert appended[0].seq == 251
    assert appended[0].prev == loaded.entries_tail[-1].hash


def test_read_status_branch_without_fetching(server: Path, tmp_path: Path) -> None:
    branch = writer(server, tmp_path, "a")
    branch.publish(make_status(), [draft("a", n) for n in range(5)], "one")
    status, entries = read_status_branch(server, BRANCH)
    assert status == make_status().for_branch()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    _, last_two = read_status_branch(server, BRANCH, limit=2)
    assert [e.seq for e in last_two] == [4, 5]

    fresh = clone(server, tmp_path / "fresh.git")  # origin's branch as a remote-tracking ref
    assert f"refs/heads/{BRANCH}" not in pygit2.Repository(str(fresh)).references
    status2, entries2 = read_status_branch(fresh, BRANCH)
    assert status2 == status
    assert len(entries2) == 5


def test_read_status_branch_input_errors(server: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError) as missing:
        read_status_branch(tmp_path / "nope", BRANCH)
    assert missing.value.problems[0].code == "no-repository"
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(InputError) as not_repo:
        read_status_branch(plain, BRANCH)
    assert not_repo.value.problems[0].code == "not-a-repository"
    with pytest.raises(InputError) as no_branch:
        read_status_branch(server, BRANCH)
    assert no_branch.value.problems[0].code == "no-status-branch"
    assert BRANCH in no_branch.value.problems[0].message


# --------------------------------------------------------------------------- the push race


def test_push_race_replays_after_the_other_writer(server: Path, tmp_path: Path) -> None:
    ours = writer(server, tmp_path, "ours")
    theirs = writer(server, tmp_path, "theirs")
    ours.publish(make_status("v0"), [draft("base", n) for n in range(3)], "base")
    ours.load()
    theirs.load()

    # the other writer pushes between our load and our publish
    them = theirs.publish(make_status("theirs"), [draft("t", n) for n in range(4)], "theirs")
    assert them.attempts == 1
    shared = draft("t", 0)  # an event both recorded: must not be written twice
    result = ours.publish(make_status("ours"), [draft("o", n) for n in range(2)] + [shared],
                          "ours")

    assert result.attempts == 2
    assert [e.seq for e in result.entries] == [8, 9]  # after their 3 + 4
    assert result.entries[0].prev == them.entries[-1].hash
    repo, commit = server_tree(server)
    assert str(commit.id) == result.commit
    assert [str(p.id) for p in commit.parents] == [them.commit]  # never forced
    lines = audit_lines(server)
    ids = [e["id"] for e in lines]
    assert len(ids) == len(set(ids)) == 9
    assert {e["bot"] for e in lines} == {f"base-{n}" for n in range(3)} | \
        {f"t-{n}" for n in range(4)} | {"o-0", "o-1"}
    # our status is written on top of their tree
    alpha = json.loads(blob_text(repo, commit, "bots/alpha.json"))
    assert alpha["a1"]["desiredHash"] == "ours"
    verdict = verify_audit(server, BRANCH)
    assert verdict.ok
    assert verdict.entries == 9
    # no local ref is left on a commit the remote lacks (libgit2's local transport would
    # then send the whole history on the next fetch)
    local = pygit2.Repository(str(ours.repo_path)).references
    assert [r for r in local if r.startswith("refs/molthub/")] == []
    assert str(local[REF].target) == result.commit
    # and both writers agree on the chain afterwards
    assert ours.has(str(ids[4]))
    assert ours.recent(1)[0].seq == 9


def test_push_race_when_the_other_writer_created_the_branch(server: Path,
                                                            tmp_path: Path) -> None:
    ours = writer(server, tmp_path, "ours")
    theirs = writer(server, tmp_path, "theirs")
    ours.load()
    theirs.publish(make_status(), [draft("t", 1)], "theirs first")
    result = ours.publish(make_status(), [draft("o", 1)], "ours")
    assert result.attempts == 2
    assert result.entries[0].seq == 2
    assert verify_audit(server, BRANCH).entries == 2


def racing_callbacks(other: StatusBranch, times: int) -> Callable[[], pygit2.RemoteCallbacks]:
    """A callbacks factory (called for each fetch and push) that makes another writer
    push first, ``times`` times: a race inside our publish, between commit and push."""
    count = {"n": 0}

    def factory() -> pygit2.RemoteCallbacks:
        if count["n"] < times:
            count["n"] += 1
            other.publish(None, [draft("race", count["n"])], f"race {count['n']}")
        return pygit2.RemoteCallbacks()

    return factory


def test_push_race_inside_publish_retries_until_it_lands(server: Path,
                                                         tmp_path: Path) -> None:
    other = writer(server, tmp_path, "other")
    ours = writer(server, tmp_path, "ours", callbacks=racing_callbacks(other, 3))
    result = ours.publish(make_status(), [draft("o", n) for n in range(5)], "ours")

    assert result.attempts >= 2
    lines = audit_lines(server)
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    bots = [e["bot"] for e in lines]
    assert sorted(b for b in bots if str(b).startswith("race")) == \
        ["race-1", "race-2", "race-3"]
    assert [b for b in bots if str(b).startswith("o-")] == [f"o-{n}" for n in range(5)]
    assert verify_audit(server, BRANCH).ok


def test_push_rejected_every_time_gives_up_then_publishes_later(server: Path,
                                                                tmp_path: Path) -> None:
    other = writer(server, tmp_path, "other")
    path = clone(server, tmp_path / "ours.git")
    drafts = [draft("o", n) for n in range(3)]
    ours = StatusBranch(path, callbacks=racing_callbacks(other, 1000), attempts=3,
                        retry_delay=0.0, clock=FixedClock())
    with pytest.raises(PushRejected) as rejected:
        ours.publish(None, drafts, "ours")
    assert "3 times" in str(rejected.value)
    assert not any(str(e["bot"]).startswith("o-") for e in audit_lines(server))
    assert not any(ours.has(audit.event_id(d)) for d in drafts)

    calm = StatusBranch(path, attempts=3, retry_delay=0.0, clock=FixedClock())
    result = calm.publish(None, drafts, "ours again")
    assert len(result.entries) == 3
    again = calm.publish(None, drafts, "ours thrice")
    assert again.commit is None
    lines = audit_lines(server)
    assert [e["bot"] for e in lines].count("o-1") == 1
    assert verify_audit(server, BRANCH).ok


def test_a_git_cli_writer_races_too(server: Path, tmp_path: Path) -> None:
    """Another writer that is not molthub at all: a commit made with plain pygit2 that
    appends to the status branch must be kept, our entries go after it."""
    ours = writer(server, tmp_path, "ours")
    first = ours.publish(make_status(), [draft("o", 1)], "one")
    repo = pygit2.Repository(str(server))
    parent = repo.references[REF].peel(pygit2.Commit)
    builder = repo.TreeBuilder(parent.tree)
    builder.insert("NOTES.txt", repo.create_blob(b"hand-made\n"), pygit2.GIT_FILEMODE_BLOB)
    repo.create_commit(REF, SIG, SIG, "notes", builder.write(), [parent.id])

    result = ours.publish(make_status(), [draft("o", 2)], "two")
    assert result.attempts == 2
    assert result.entries[0].prev == first.entries[0].hash
    _, commit = server_tree(server)
    assert "NOTES.txt" in [e.name for e in commit.tree]


def test_a_refusal_that_is_no_race_is_a_git_error(server: Path, tmp_path: Path) -> None:
    """The remote refuses our push but its branch did not move: no retry storm, a GitError,
    and nothing of ours is marked as published."""
    ours = writer(server, tmp_path, "ours")
    ours.load()
    repo = pygit2.Repository(str(server))
    main = repo.references["refs/heads/main"].target
    repo.references.create(f"{REF}/blocker", main)  # refs/heads/molthub-status/... is taken
    with pytest.raises(GitError) as refused:
        ours.publish(None, [draft("o", 1)], "ours")
    assert not isinstance(refused.value, PushRejected)
    assert not ours.has(audit.event_id(draft("o", 1)))
    repo.references.delete(f"{REF}/blocker")
    assert ours.publish(None, [draft("o", 1)], "ours").entries[0].seq == 1


@pytest.fixture
def git_daemon(tmp_path: Path, server: Path) -> Iterator[str]:
    """A real `git daemon` serving ``server`` with push enabled; yields its git:// URL."""
    if shutil.which("git") is None:
        pytest.fail("git is needed for the git:// test")
    base = tmp_path / "served"
    base.mkdir()
    shutil.copytree(server, base / "config.git")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", f"--base-path={base}", "--export-all",
         "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(base)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("git daemon did not start")
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}/config.git"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_push_race_over_the_git_protocol(git_daemon: str, tmp_path: Path) -> None:
    """The same race through a smart transport (a real git daemon's receive-pack)."""
    writers = []
    for name in ("one", "two"):
        path = tmp_path / f"{name}.git"
        pygit2.clone_repository(git_daemon, str(path), bare=True)
        writers.append(StatusBranch(path, retry_delay=0.0, clock=FixedClock()))
    one, two = writers
    one.load()
    two.load()
    one.publish(make_status(), [draft("one", n) for n in range(3)], "one")
    result = two.publish(make_status(), [draft("two", n) for n in range(3)], "two")
    assert result.attempts == 2
    assert [e.seq for e in result.entries] == [4, 5, 6]
    check = tmp_path / "check.git"
    pygit2.clone_repository(git_daemon, str(check), bare=True)
    verdict = verify_audit(check, BRANCH)
    assert verdict.ok
    assert verdict.entries == 6


def test_replay_after_a_writer_that_forked_the_chain_rereads_every_id(server: Path,
                                                                        tmp_path: Path) -> None:
    """Another (buggy) writer appended after a stale tail: its entries do not follow ours.
    The replay then reads the whole log again, so an event it recorded is not written twice."""
    ours = writer(server, tmp_path, "ours")
    done = ours.publish(None, [draft("o", n) for n in range(3)], "ours")
    stale = audit.AuditChain(2, done.entries[1].hash)
    forked = stale.append([draft("x", 1)]) + stale.append([draft("x", 2)])
    assert [e.seq for e in forked] == [3, 4]
    tamper(server, "audit/000001.jsonl",
           lambda ls: ls + [audit.AuditChain.line(e) for e in forked])

    result = ours.publish(None, [draft("x", 1), draft("o", 9)], "ours again")
    assert result.attempts == 2
    assert [e.bot for e in result.entries] == ["o-9"]
    assert result.entries[0].seq == 5
    assert result.entries[0].prev == forked[-1].hash
    bots = [e["bot"] for e in audit_lines(server)]
    assert bots.count("x-1") == 1
    assert verify_audit(server, BRANCH).breaks[0].where == "audit/000001.jsonl:4"


# --------------------------------------------------------------------------- tampering


def tamper(server: Path, path: str, edit: Callable[[list[str]], list[str]]) -> None:
    """Rewrite one audit segment on the server's status branch (a new commit)."""
    repo = pygit2.Repository(str(server))
    parent = repo.references[REF].peel(pygit2.Commit)
    lines = bytes(repo[parent.tree[path].id].data).decode().splitlines()
    new = "\n".join(edit(lines)) + "\n"
    audit_tree = parent.tree["audit"].peel(pygit2.Tree)
    audit_builder = repo.TreeBuilder(audit_tree)
    audit_builder.insert(path.split("/")[1], repo.create_blob(new.encode()),
                         pygit2.GIT_FILEMODE_BLOB)
    root = repo.TreeBuilder(parent.tree)
    root.insert("audit", audit_builder.write(), pygit2.GIT_FILEMODE_TREE)
    repo.create_commit(REF, SIG, SIG, "tampered", root.write(), [parent.id])


@pytest.fixture
def five(server: Path, tmp_path: Path) -> Path:
    writer(server, tmp_path, "a").publish(make_status(), [draft("a", n) for n in range(5)],
                                          "five")
    assert verify_audit(server, BRANCH).ok
    return server


def _edit_reason(lines: list[str]) -> list[str]:
    data = json.loads(lines[2])
    data["reason"] = "nothing to see here"
    lines[2] = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return lines


@pytest.mark.parametrize(("edit", "where", "words"), [
    (_edit_reason, "audit/000001.jsonl:3", "edited"),
    (lambda ls: ls[:2] + ls[3:], "audit/000001.jsonl:3", "seq 4 where 3"),
    (lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], "audit/000001.jsonl:2", "seq 3 where 2"),
    (lambda ls: [*ls[:2], "{not json", *ls[2:]], "audit/000001.jsonl:3", "not an audit entry"),
    (lambda ls: [*ls, ls[-1]], "audit/000001.jsonl:6", "seq 5 where 6"),
])
def test_tampering_is_found_with_file_and_line(
        five: Path, edit: Callable[[list[str]], list[str]], where: str, words: str) -> None:
    tamper(five, "audit/000001.jsonl", edit)
    verdict = verify_audit(five, BRANCH)
    assert not verdict.ok
    assert verdict.last_hash is None
    assert verdict.breaks[0].where == where
    assert words in verdict.breaks[0].message


def test_tampering_with_a_rehashed_entry_breaks_the_next_link(five: Path) -> None:
    def rehash(lines: list[str]) -> list[str]:
        data = json.loads(lines[1])
        data["reason"] = "rewritten"
        data["hash"] = audit.entry_hash(data)
        lines[1] = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return lines

    tamper(five, "audit/000001.jsonl", rehash)
    verdict = verify_audit(five, BRANCH)
    assert verdict.breaks[0].where == "audit/000001.jsonl:3"
    assert "prev does not match" in verdict.breaks[0].message


def test_tampering_in_a_later_segment(server: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "SEGMENT_ENTRIES", 2)
    writer(server, tmp_path, "a").publish(None, [draft("a", n) for n in range(5)], "five")
    tamper(server, "audit/000002.jsonl", lambda ls: ls[1:])
    verdict = verify_audit(server, BRANCH)
    assert verdict.breaks[0].where == "audit/000002.jsonl:1"
    assert verdict.entries == 3


def test_a_writer_after_a_tampered_log_still_appends_after_its_tail(five: Path,
                                                                   tmp_path: Path) -> None:
    """load() is lenient (the daemon keeps running on a damaged log); verify finds it."""
    tamper(five, "audit/000001.jsonl", lambda ls: [*ls[:2], "garbage", *ls[2:]])
    late = writer(five, tmp_path, "late")
    loaded = late.load()
    assert loaded.chain.last_seq == 5
    result = late.publish(None, [draft("late", 1)], "late")
    assert result.entries[0].seq == 6
    assert verify_audit(five, BRANCH).breaks[0].where == "audit/000001.jsonl:3"


# --------------------------------------------------------------------------- secrets


def test_a_scrubbed_reason_stays_scrubbed(server: Path, tmp_path: Path) -> None:
    """Scrubbing is the caller's job (drafts arrive scrubbed); the branch keeps them so."""
    token = "tok-SUPERSECRET-1234567890"
    redactor = Redactor([token])
    reason = redactor.scrub(f"gateway said: bad token {token} for ws://h:1")
    branch = writer(server, tmp_path, "a")
    branch.publish(make_status(), [draft("a", 1, reason=reason, result="failed")], "one")

    repo, commit = server_tree(server)
    blobs = b"".join(all_blobs(repo, commit.tree))
    assert token.encode() not in blobs
    assert b"bad token ***" in blobs
    _, entries = read_status_branch(server, BRANCH)
    assert entries[0].reason == reason


def test_git_errors_never_show_url_credentials(server: Path, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    path = clone(server, tmp_path / "a.git")
    repo = pygit2.Repository(str(path))
    repo.remotes.set_url("origin", "http://molthub:pa55-SECRET-word@127.0.0.1:9/cfg.git")
    caplog.set_level(logging.DEBUG)
    branch = StatusBranch(path, retry_delay=0.0)
    assert "pa55" not in branch.display_url
    with pytest.raises(GitError) as failed:
        branch.publish(make_status(), [draft("a", 1)], "one")
    assert "pa55-SECRET-word" not in str(failed.value)
    assert "127.0.0.1:9" in str(failed.value)
    assert "pa55-SECRET-word" not in caplog.text


def test_not_a_repository_is_a_git_error(tmp_path: Path) -> None:
    with pytest.raises(GitError):
        StatusBranch(tmp_path / "missing")
    bare = pygit2.init_repository(str(tmp_path / "lonely.git"), bare=True)
    with pytest.raises(GitError, match="remote 'origin'"):
        StatusBranch(Path(bare.path))


def test_entries_from_publish_are_audit_entries(server: Path, tmp_path: Path) -> None:
    result = writer(server, tmp_path, "a").publish(None, [draft("a", 1)], "one")
    assert isinstance(result.entries[0], AuditEntry)
    assert result.entries[0].id == audit.event_id(draft("a", 1))
