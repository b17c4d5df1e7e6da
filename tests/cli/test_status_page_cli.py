"""`molthub status-page --out DIR`: the static page from a real status branch (written by the
daemon's own StatusBranch into a real bare repository), from a path and from a URL, and the
failures: no such branch, not a repository, a foreign output folder, credentials in a URL."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pygit2
import pytest
from click.testing import CliRunner
from clihelpers import Result, run_subprocess

from molthub_gitops.cli.status_page_command import register
from molthub_gitops.sync.audit import AuditDraft
from molthub_gitops.sync.state import BotStatus, DaemonStatus, FleetStatus
from molthub_gitops.sync.statusbranch import StatusBranch

HOSTILE = "<img src=x onerror=alert(1)>"


def run(args: list[str]) -> Result:
    group = click.Group()
    register(group)
    res = CliRunner().invoke(group, args, catch_exceptions=True)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return Result(res.exit_code, res.stdout, res.stderr, res.stdout_bytes)


def _status() -> DaemonStatus:
    return DaemonStatus(
        repo="https://git.example.com/acme/fleet.git", head_commit="c" * 40,
        applied_commit="c" * 40,
        fleets={"support": FleetStatus(name="support", environment="prod",
                                       bots=["alpha", "bravo"], last_synced_commit="c" * 40)},
        bots={"alpha": BotStatus(name="alpha", fleet="support", state="Synced",
                                 health="Healthy", labels={"note": HOSTILE}),
              "bravo": BotStatus(name="bravo", fleet="support", state="Degraded",
                                 health="Unhealthy", health_detail="channel down")})


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, str]:
    """A bare config repository whose status branch the daemon's StatusBranch published."""
    origin = tmp_path / "origin.git"
    pygit2.init_repository(str(origin), bare=True)
    work = pygit2.init_repository(str(tmp_path / "daemon.git"), bare=True)
    work.remotes.create("origin", str(origin))
    branch = StatusBranch(tmp_path / "daemon.git", retry_delay=0)
    branch.load()
    drafts = [AuditDraft(actor="molthub-sync", action="apply", fleet="support", bot=name,
                         commit="c" * 40, hash_after=f"{i:064d}", reason=f"applied {name}",
                         time="2026-11-26T15:00:00Z")
              for i, name in enumerate(["alpha", "bravo", "alpha-2"])]
    result = branch.publish(_status(), drafts, "status")
    assert result.commit is not None
    return origin, result.commit


def test_builds_the_page_from_a_local_repository(origin: tuple[Path, str],
                                                 tmp_path: Path) -> None:
    repo, commit = origin
    out = tmp_path / "site"
    res = run(["status-page", "--out", str(out), "--repo", str(repo)])
    assert res.code == 0, res.stderr
    assert "2 bots" in res.stdout
    assert "3 audit entries" in res.stdout
    assert commit[:12] in res.stdout
    page = (out / "index.html").read_text(encoding="utf-8")
    assert f"at <span class=\"mono\" title=\"{commit}\">{commit[:12]}</span>" in page
    assert "channel down" in page
    assert "applied bravo" in page
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    status = DaemonStatus.model_validate(json.loads((out / "status.json").read_text()))
    assert set(status.bots) == {"alpha", "bravo"}
    assert len(json.loads((out / "audit.json").read_text())["entries"]) == 3
    # building again replaces the earlier build
    again = run(["status-page", "--out", str(out), "--repo", str(repo)])
    assert again.code == 0, again.stderr


def test_builds_the_page_from_a_url(origin: tuple[Path, str], tmp_path: Path) -> None:
    repo, commit = origin
    out = tmp_path / "site"
    res = run(["status-page", "--out", str(out), "--repo", repo.as_uri()])
    assert res.code == 0, res.stderr
    assert commit[:12] in (out / "index.html").read_text(encoding="utf-8")


def test_a_missing_status_branch_is_exit_2(origin: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = origin
    for where in (str(repo), repo.as_uri()):
        res = run(["status-page", "--out", str(tmp_path / "o"), "--repo", where,
                   "--branch", "no-such-branch"])
        assert res.code == 2, where
        assert "no-such-branch" in res.stderr
        assert "Traceback" not in res.stderr
        assert not (tmp_path / "o").exists()


def test_not_a_repository_is_exit_2(tmp_path: Path) -> None:
    res = run(["status-page", "--out", str(tmp_path / "o"), "--repo", str(tmp_path)])
    assert res.code == 2
    assert "not a Git repository" in res.stderr or "no branch" in res.stderr
    res = run(["status-page", "--out", str(tmp_path / "o"), "--repo", str(tmp_path / "nope")])
    assert res.code == 2
    assert "no such file" in res.stderr


def test_a_foreign_output_folder_is_exit_2_and_untouched(origin: tuple[Path, str],
                                                         tmp_path: Path) -> None:
    repo, _ = origin
    out = tmp_path / "docs"
    out.mkdir()
    (out / "index.html").write_text("mine", encoding="utf-8")
    res = run(["status-page", "--out", str(out), "--repo", str(repo)])
    assert res.code == 2
    assert "not built by molthub" in res.stderr
    assert (out / "index.html").read_text(encoding="utf-8") == "mine"


def test_credentials_in_a_url_never_reach_the_output(tmp_path: Path) -> None:
    token = "ghp-SuperSecret0123456789"
    res = run(["status-page", "--out", str(tmp_path / "o"),
               "--repo", f"https://x-access-token:{token}@127.0.0.1:9/acme/fleet.git"])
    assert res.code == 2
    assert token not in res.stderr
    assert token not in res.stdout
    assert "127.0.0.1" in res.stderr


def test_an_unset_token_variable_is_exit_2(origin: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = origin
    res = run(["status-page", "--out", str(tmp_path / "o"), "--repo", repo.as_uri(),
               "--git-token-env", "MOLTHUB_TEST_UNSET_TOKEN_VAR"])
    assert res.code == 2
    assert "MOLTHUB_TEST_UNSET_TOKEN_VAR" in res.stderr


def test_the_real_entry_point_runs_status_page(origin: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = origin
    out = tmp_path / "site"
    res = run_subprocess(["status-page", "--out", str(out), "--repo", str(repo)])
    assert res.code == 0, res.stderr
    assert (out / "index.html").is_file()
    help_res = run_subprocess(["--help"])
    assert "status-page" in help_res.stdout
