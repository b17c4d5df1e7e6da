"""`molthub audit verify` on real repositories: exit 0 intact, 1 broken, 2 unreadable."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pygit2
import pytest
from click.testing import CliRunner

from molthub_gitops.cli import COMMANDS, main
from molthub_gitops.cli.audit_commands import register
from molthub_gitops.sync.audit import AuditDraft
from molthub_gitops.sync.statusbranch import StatusBranch

SIG = pygit2.Signature("Test", "test@example.com", 1_700_000_000, 0)
BRANCH = "molthub-status"
REF = f"refs/heads/{BRANCH}"


def cli() -> click.Group:
    """The real `molthub` group once the command is in its table; until then a group with
    just this module's commands (registered the same way)."""
    if "audit" in COMMANDS:
        return main
    group = click.Group()
    register(group)
    return group


def invoke(*args: str, env: dict[str, str] | None = None) -> click.testing.Result:
    result = CliRunner().invoke(cli(), list(args), env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture
def server(tmp_path: Path) -> Path:
    """A bare config repository whose status branch holds four audit entries."""
    server = tmp_path / "server.git"
    repo = pygit2.init_repository(str(server), bare=True, initial_head="main")
    builder = repo.TreeBuilder()
    builder.insert("molthub.yaml", repo.create_blob(b"kind: Repository\n"),
                   pygit2.GIT_FILEMODE_BLOB)
    repo.create_commit("refs/heads/main", SIG, SIG, "config", builder.write(), [])
    clone = tmp_path / "clone.git"
    pygit2.clone_repository(str(server), str(clone), bare=True)
    drafts = [AuditDraft(actor="molthub-sync", action="apply", fleet="alpha", bot=f"b{n}",
                         time="2026-11-26T16:00:00Z") for n in range(4)]
    StatusBranch(clone).publish(None, drafts, "audit")
    return server


def last_hash(server: Path) -> str:
    repo = pygit2.Repository(str(server))
    tree = repo.references[REF].peel(pygit2.Commit).tree
    lines = bytes(repo[tree["audit/000001.jsonl"].id].data).decode().splitlines()
    return str(json.loads(lines[-1])["hash"])


def break_line_two(server: Path) -> None:
    repo = pygit2.Repository(str(server))
    parent = repo.references[REF].peel(pygit2.Commit)
    lines = bytes(repo[parent.tree["audit/000001.jsonl"].id].data).decode().splitlines()
    data = json.loads(lines[1])
    data["result"] = "failed"
    lines[1] = json.dumps(data, sort_keys=True, separators=(",", ":"))
    audit = repo.TreeBuilder(parent.tree["audit"].peel(pygit2.Tree))
    audit.insert("000001.jsonl", repo.create_blob(("\n".join(lines) + "\n").encode()),
                 pygit2.GIT_FILEMODE_BLOB)
    root = repo.TreeBuilder(parent.tree)
    root.insert("audit", audit.write(), pygit2.GIT_FILEMODE_TREE)
    repo.create_commit(REF, SIG, SIG, "edit", root.write(), [parent.id])


def test_intact_chain_exits_0(server: Path) -> None:
    result = invoke("audit", "verify", "--repo", str(server))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("audit log intact: 4 entries")
    assert last_hash(server) in result.stdout


def test_intact_chain_as_json(server: Path) -> None:
    result = invoke("audit", "verify", "--repo", str(server), "-o", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert data["entries"] == 4
    assert data["breaks"] == []
    assert data["lastHash"] == last_hash(server)
    assert data["branch"] == BRANCH


def test_broken_chain_exits_1_with_file_and_line(server: Path) -> None:
    break_line_two(server)
    result = invoke("audit", "verify", "--repo", str(server))
    assert result.exit_code == 1
    assert "audit/000001.jsonl:2: hash does not match the entry" in result.stderr
    assert "broken at audit/000001.jsonl:2" in result.stdout
    as_json = invoke("audit", "verify", "--repo", str(server), "-o", "json")
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert data["ok"] is False
    assert data["breaks"][0]["where"] == "audit/000001.jsonl:2"


def test_a_url_is_fetched_first(server: Path) -> None:
    result = invoke("audit", "verify", "--repo", server.as_uri())
    assert result.exit_code == 0, result.stderr
    assert "4 entries" in result.stdout
    break_line_two(server)
    assert invoke("audit", "verify", "--repo", server.as_uri()).exit_code == 1


def test_a_work_tree_clone_reads_origins_branch(server: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    pygit2.clone_repository(str(server), str(work))
    (work / "sub").mkdir()
    result = invoke("audit", "verify", "--repo", str(work / "sub"))
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("case", ["missing-path", "plain-dir", "no-branch", "bad-url",
                                  "url-no-branch"])
def test_unreadable_input_exits_2_without_traceback(server: Path, tmp_path: Path,
                                                    case: str) -> None:
    (tmp_path / "plain").mkdir()
    args = {
        "missing-path": ["--repo", str(tmp_path / "nope")],
        "plain-dir": ["--repo", str(tmp_path / "plain")],
        "no-branch": ["--repo", str(server), "--branch", "no-such-branch"],
        "bad-url": ["--repo", (tmp_path / "nope.git").as_uri()],
        "url-no-branch": ["--repo", server.as_uri(), "--branch", "no-such-branch"],
    }[case]
    result = invoke("audit", "verify", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    assert result.stderr.startswith("error")
    if "branch" in case:
        assert "no-such-branch" in result.stderr


def test_credentials_never_printed(tmp_path: Path) -> None:
    url = "http://molthub:s3cr3t-PASSWORD@127.0.0.1:9/config.git"
    result = invoke("audit", "verify", "--repo", url)
    assert result.exit_code == 2
    assert "s3cr3t" not in result.stderr + result.stdout
    assert "127.0.0.1:9" in result.stderr


def test_unset_token_variable_exits_2(server: Path) -> None:
    result = invoke("audit", "verify", "--repo", "https://example.invalid/x.git",
                    "--token-env", "MOLTHUB_TEST_UNSET_TOKEN", env={
                        "MOLTHUB_TEST_UNSET_TOKEN": ""})
    assert result.exit_code == 2
    assert "MOLTHUB_TEST_UNSET_TOKEN" in result.stderr
