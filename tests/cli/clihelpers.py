"""Helpers for the CLI tests: running `molthub` for real, copying and committing repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2
from click.testing import CliRunner

from molthub_gitops.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-repo"
BROKEN = ROOT / "tests" / "broken"
SIGNATURE = pygit2.Signature("Test", "test@example.com", 1_700_000_000, 0)
TIMEOUT = 300


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes


def run_subprocess(args: Sequence[str], *, env: dict[str, str] | None = None,
                   cwd: Path | None = None) -> Result:
    """Run ``python -m molthub_gitops ARGS`` in a fresh interpreter (the real entry point)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.pop("MOLTHUB_DEBUG", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "molthub_gitops", *args],
        capture_output=True, env=full_env, cwd=cwd or ROOT, timeout=TIMEOUT, check=False,
    )
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                  proc.stderr.decode("utf-8", "replace"), proc.stdout)


def run_cli(args: Sequence[str], *, env: dict[str, str] | None = None) -> Result:
    """Run the click command in-process (fast); exceptions are not swallowed silently."""
    runner = CliRunner()
    res = runner.invoke(main, list(args), env=env, catch_exceptions=True)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return Result(res.exit_code, res.stdout, res.stderr, res.stdout_bytes)


def commit_all(workdir: Path, message: str = "commit") -> str:
    """Commit every file of ``workdir`` (initialising a Git repository there if needed)."""
    if (workdir / ".git").exists():
        repo = pygit2.Repository(str(workdir))
    else:
        repo = pygit2.init_repository(str(workdir), initial_head="main")
    repo.index.add_all()
    repo.index.write()
    tree = repo.index.write_tree()
    parents = [] if repo.head_is_unborn else [repo.head.target]
    return str(repo.create_commit("HEAD", SIGNATURE, SIGNATURE, message, tree, parents))


def snapshot(root: Path) -> dict[str, tuple[str, bytes]]:
    """Every entry under ``root`` (symlinks not followed): kind and content or link target."""
    out: dict[str, tuple[str, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path).encode())
            elif path.is_dir():
                out[rel] = ("dir", b"")
            else:
                out[rel] = ("file", path.read_bytes())
    return out
