"""Builds the broken repository of this case (it cannot be checked in as static files):
the minimal valid repository in ``../_base-repo`` plus the one break below."""

import pathlib
import shutil

BASE = pathlib.Path(__file__).resolve().parent.parent / "_base-repo"


def make(root: pathlib.Path) -> None:
    """Write the repository into ``root``."""
    shutil.copytree(BASE, root, dirs_exist_ok=True)

    # A binary file with a .yaml name (NUL bytes on its second line).
    (root / "fleets" / "blob.yaml").write_bytes(b"apiVersion: molthub/v1\n\x00\x01\x02\xff\n")
