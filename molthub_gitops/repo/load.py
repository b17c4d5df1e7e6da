"""Loading a config repository from a directory or a Git revision: the I/O edge of loading.

The readers in :mod:`molthub_gitops.repo.tree` fetch the bytes; the pure
:func:`molthub_gitops.model.loader.load_files` turns them into a :class:`FleetRepository`.
Every failure is an :class:`InputError` listing all problems found.
"""

from __future__ import annotations

from pathlib import Path

from molthub_gitops.errors import InputError, Location
from molthub_gitops.model.loader import DocumentCache, load_files
from molthub_gitops.model.repository import FleetRepository
from molthub_gitops.repo.tree import DirectoryTree, GitTree

__all__ = ["load", "load_directory", "load_revision", "load_with_commit"]


def _check_dir(path: Path) -> None:
    if not path.exists():
        raise InputError.single(
            "not-found", f"{path} does not exist", Location(str(path)),
            "give the path of a config repository (the directory holding molthub.yaml)")
    if not path.is_dir():
        raise InputError.single(
            "not-a-directory", f"{path} is not a directory", Location(str(path)),
            "give the path of a config repository (the directory holding molthub.yaml)")


def load_directory(path: Path, *, cache: DocumentCache | None = None) -> FleetRepository:
    """Load the repository in the working directory ``path`` (``.git`` is ignored).

    With a ``cache``, files parsed before with the same path and content are reused."""
    _check_dir(path)
    files, problems = DirectoryTree(path).read()
    return load_files(files, source=str(path), problems=problems, cache=cache)


def load_with_commit(repo_path: Path, rev: str, *, cache: DocumentCache | None = None,
                     subdir: str | None = None) -> tuple[FleetRepository, str]:
    """:func:`load_revision`, and the id of the commit ``rev`` names. With ``subdir``,
    ``repo_path`` is the Git repository (bare clones too) and the config repository is its
    folder ``subdir`` ('' = the root)."""
    _check_dir(repo_path)
    tree = GitTree(repo_path, rev, subdir=subdir)
    files, problems = tree.read()
    repo = load_files(files, source=f"{repo_path}@{rev}", problems=problems, cache=cache)
    return repo, tree.commit_id


def load_revision(repo_path: Path, rev: str, *, cache: DocumentCache | None = None
                  ) -> FleetRepository:
    """Load revision ``rev`` (branch, tag, commit id, ``HEAD~1``...) of the Git repository at
    ``repo_path``, straight from its object database."""
    return load_with_commit(repo_path, rev, cache=cache)[0]


def load(path: Path, rev: str | None = None, *, cache: DocumentCache | None = None
         ) -> FleetRepository:
    """:func:`load_revision` when ``rev`` is given, else :func:`load_directory`."""
    if rev is None:
        return load_directory(path, cache=cache)
    return load_revision(path, rev, cache=cache)
