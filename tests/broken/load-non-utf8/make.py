"""Builds the broken repository of this case (it cannot be checked in as static files):
the minimal valid repository in ``../_base-repo`` plus the one break below."""

import pathlib
import shutil

BASE = pathlib.Path(__file__).resolve().parent.parent / "_base-repo"


def make(root: pathlib.Path) -> None:
    """Write the repository into ``root``."""
    shutil.copytree(BASE, root, dirs_exist_ok=True)

    # Latin-1 "é" (0xe9) in a description: not UTF-8.
    text = (BASE / "templates" / "base.yaml").read_text(encoding="utf-8")
    text = text.replace("Minimal OpenClaw config.", "Caf\xe9 bot.")
    (root / "templates" / "base.yaml").write_bytes(text.encode("latin-1"))
