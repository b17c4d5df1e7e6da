"""Builds the broken repository of this case (it cannot be checked in as static files):
the minimal valid repository in ``../_base-repo`` plus the one break below."""

import pathlib
import shutil

BASE = pathlib.Path(__file__).resolve().parent.parent / "_base-repo"


def make(root: pathlib.Path) -> None:
    """Write the repository into ``root``."""
    shutil.copytree(BASE, root, dirs_exist_ok=True)

    # 6 MiB: over the 5 MiB limit (comments only, so only its size is wrong).
    line = "# " + "x" * 1021 + "\n"
    (root / "fleets" / "huge.yaml").write_text(line * (6 * 1024), encoding="utf-8")
