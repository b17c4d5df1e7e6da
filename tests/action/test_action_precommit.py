"""The molthub-validate pre-commit hook, run by the real `pre-commit` on a real repository.

`pre-commit try-repo` would pip install this repository and its dependencies from PyPI into
a fresh virtualenv (about 20 s with a warm pip cache, more from cold), so CI runs the hook as
`language: system` with the manifest's own entry, args, files and pass_filenames: the hook's
wiring (which changes trigger it, what it runs, how it fails) is exercised for real, offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from actionhelpers import EXAMPLE, ROOT, TIMEOUT

GIT_ENV = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_NOSYSTEM": "1"}


def _env(tmp: Path) -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)  # where this checkout's `molthub` lives
    return {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp / "pre-commit-home"),
            "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "NO_COLOR": "1"}


def _repo_with_hook(tmp: Path) -> Path:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = {**hook, "language": "system"}
    hook.pop("minimum_pre_commit_version", None)
    repo = tmp / "bots"
    shutil.copytree(EXAMPLE, repo)
    (repo / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]}), encoding="utf-8")
    _git(tmp, repo, "init", "-q", "--initial-branch=main")
    _git(tmp, repo, "add", "-A")
    _git(tmp, repo, "commit", "-qm", "fleet")
    return repo


def _git(tmp: Path, repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, timeout=TIMEOUT, env=_env(tmp),
                   capture_output=True)


def _pre_commit(tmp: Path, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", *args], cwd=repo,
                          env=_env(tmp), capture_output=True, text=True, timeout=TIMEOUT,
                          check=False)


def test_hook_runs_when_yaml_changes_and_fails_on_a_broken_repository(tmp_path: Path) -> None:
    repo = _repo_with_hook(tmp_path)
    template = repo / "templates" / "slack-assistant.yaml"
    template.write_text(template.read_text(encoding="utf-8").replace(
        "kind: Template", "kind: Templat"), encoding="utf-8")
    _git(tmp_path, repo, "add", "-A")
    done = _pre_commit(tmp_path, repo, "--files", "templates/slack-assistant.yaml")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "molthub validate" in done.stdout
    assert "Failed" in done.stdout
    assert "templates/slack-assistant.yaml" in done.stdout


def test_hook_is_skipped_when_no_yaml_changed(tmp_path: Path) -> None:
    repo = _repo_with_hook(tmp_path)
    done = _pre_commit(tmp_path, repo, "--files", "README.md")
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = [x for x in done.stdout.splitlines() if x.startswith("molthub validate")]
    assert line.endswith("Skipped")
    assert "no files to check" in line


def test_hook_passes_a_valid_change(tmp_path: Path) -> None:
    repo = _repo_with_hook(tmp_path)
    template = repo / "templates" / "slack-assistant.yaml"
    template.write_text(template.read_text(encoding="utf-8").replace(
        "thinkingDefault: medium", "thinkingDefault: high"), encoding="utf-8")
    _git(tmp_path, repo, "add", "-A")
    done = _pre_commit(tmp_path, repo, "--files", "templates/slack-assistant.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = [x for x in done.stdout.splitlines() if x.startswith("molthub validate")]
    assert line.endswith("Passed")
