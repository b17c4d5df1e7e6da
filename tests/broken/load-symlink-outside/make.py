"""Builds the broken repository of this case (it cannot be checked in as static files):
the minimal valid repository in ``../_base-repo`` plus the one break below."""

import pathlib
import shutil

BASE = pathlib.Path(__file__).resolve().parent.parent / "_base-repo"


def make(root: pathlib.Path) -> None:
    """Write the repository into ``root``."""
    shutil.copytree(BASE, root, dirs_exist_ok=True)

    # A link that climbs out of the repository; its target must never be read.
    outside = root.parent / "outside-of-repo.yaml"
    outside.write_text("this: [is, not, read\n", encoding="utf-8")
    (root / "fleets" / "shared.yaml").symlink_to("../../outside-of-repo.yaml")
