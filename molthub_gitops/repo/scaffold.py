"""Create a new config repository from the bundled example (``molthub init``).

The copy is atomic: files go to a temporary directory beside the destination, which is then
renamed into place, so an interrupted ``init`` never leaves a half-written repository.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from molthub_gitops.errors import InputError, Location
from molthub_gitops.repo.resources import example_repo_dir

__all__ = ["init_repository"]

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store")


def init_repository(dest: Path, source: Path | None = None) -> Path:
    """Copy the example repository (or ``source``) to ``dest``; return the absolute path.

    ``dest`` must not exist, or be an empty directory. Its parent directories are created.
    Raises :class:`InputError` when ``dest`` is a file or a non-empty directory, or when it
    cannot be written.
    """
    src = source if source is not None else example_repo_dir()
    target = Path(os.path.abspath(dest))
    where = Location(str(dest))
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise InputError.single(
                "init-target-exists", f"{dest} exists and is not a directory", where,
                hint="choose a new directory name",
            )
        if any(target.iterdir()):
            raise InputError.single(
                "init-target-not-empty", f"{dest} is not empty; refusing to write into it",
                where, hint="choose a new or empty directory",
            )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.molthub-init-",
                                        dir=target.parent))
    except OSError as exc:
        raise InputError.single(
            "init-write-failed", f"cannot create {dest}: {exc.strerror or exc}", where,
        ) from None
    try:
        tree = staging / "repo"
        shutil.copytree(src, tree, ignore=_IGNORE, symlinks=False)
        # rename(2) replaces an empty directory atomically; anything else fails.
        os.replace(tree, target)
    except OSError as exc:
        raise InputError.single(
            "init-write-failed", f"cannot write {dest}: {exc.strerror or exc}", where,
            hint="check the permissions of the parent directory and free space",
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
