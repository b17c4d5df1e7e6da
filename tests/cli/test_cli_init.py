"""`molthub init`: a new repository from the bundled example, written atomically."""

from __future__ import annotations

from pathlib import Path

import pytest
from clihelpers import EXAMPLE, run_cli, run_subprocess, snapshot


def test_init_creates_a_valid_repository(tmp_path: Path) -> None:
    dest = tmp_path / "my-bots"
    result = run_subprocess(["init", str(dest)])
    assert result.code == 0, result.stderr
    assert "Next steps" in result.stdout
    assert "molthub validate" in result.stdout
    assert snapshot(dest) == snapshot(EXAMPLE)
    assert run_cli(["validate", str(dest)]).code == 0
    # nothing left beside it (the temporary directory is gone)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-bots"]


def test_init_into_an_empty_directory(tmp_path: Path) -> None:
    dest = tmp_path / "empty"
    dest.mkdir()
    assert run_cli(["init", str(dest)]).code == 0
    assert (dest / "molthub.yaml").is_file()


def test_init_creates_parent_directories(tmp_path: Path) -> None:
    dest = tmp_path / "a" / "b" / "bots"
    assert run_cli(["init", str(dest)]).code == 0
    assert (dest / "fleets").is_dir()


@pytest.mark.parametrize("kind", ["non-empty", "file"])
def test_init_refuses_to_overwrite(tmp_path: Path, kind: str) -> None:
    dest = tmp_path / "taken"
    if kind == "file":
        dest.write_text("mine", "utf-8")
    else:
        dest.mkdir()
        (dest / "notes.txt").write_text("mine", "utf-8")
    before = snapshot(tmp_path)
    result = run_cli(["init", str(dest)])
    assert result.code == 2
    assert "taken" in result.stderr
    assert "error[init-target-" in result.stderr
    assert snapshot(tmp_path) == before


def test_init_unwritable_parent(tmp_path: Path) -> None:
    """The parent cannot hold a directory (it is a file): a clean input error, no traceback."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory", "utf-8")
    before = snapshot(tmp_path)
    result = run_cli(["init", str(blocker / "bots")])
    assert result.code == 2
    assert "error[init-write-failed]" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(tmp_path) == before
