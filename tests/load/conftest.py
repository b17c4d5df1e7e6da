"""Helpers for the loading tests: copying fixture repositories and committing them with pygit2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pygit2
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
BROKEN = Path(__file__).parent.parent / "broken"

SIGNATURE = pygit2.Signature("Test", "test@example.com", 1_700_000_000, 0)


def commit_all(workdir: Path, message: str = "commit", *, ref: str = "HEAD") -> str:
    """Commit every file of ``workdir`` (initialising a repository there if needed)."""
    if (workdir / ".git").exists():
        repo = pygit2.Repository(str(workdir))
    else:
        repo = pygit2.init_repository(str(workdir), initial_head="main")
    repo.index.add_all()
    repo.index.write()
    tree = repo.index.write_tree()
    parents = [] if repo.head_is_unborn else [repo.head.target]
    oid = repo.create_commit(ref, SIGNATURE, SIGNATURE, message, tree, parents)
    return str(oid)


@pytest.fixture
def good_repo(tmp_path: Path) -> Path:
    """A copy of fixtures/good that tests may change."""
    dest = tmp_path / "good"
    shutil.copytree(FIXTURES / "good", dest, symlinks=True)
    return dest
