"""Every tests/broken/load-* case fails to load with the expected code, file:line and message,
from a directory and, committed, from a Git revision alike."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml

from molthub_gitops.errors import InputError, Problem
from molthub_gitops.repo.load import load_directory, load_revision

from .conftest import BROKEN, commit_all

CASES = sorted(p for p in BROKEN.glob("load-*") if p.is_dir())
CLASSES = {
    "yaml-syntax", "duplicate-key", "unknown-kind", "unknown-apiversion", "schema-violation",
    "duplicate-name", "missing-template", "missing-profile", "alias-bomb", "large-file",
    "deep-nesting", "non-utf8", "binary", "symlink-outside",
}


def build(case: Path, root: Path) -> None:
    make = case / "make.py"
    if make.exists():
        spec = importlib.util.spec_from_file_location(f"broken_{case.name}", make)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        root.mkdir(parents=True)
        module.make(root)
    else:
        shutil.copytree(case / "repo", root, symlinks=True)


def failing_load(load: object) -> tuple[Problem, ...]:
    with pytest.raises(InputError) as info:
        load()  # type: ignore[operator]
    return info.value.problems


def test_every_failure_class_has_a_case() -> None:
    assert {c.name.removeprefix("load-") for c in CASES} >= CLASSES


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_case(case: Path, tmp_path: Path) -> None:
    expect = yaml.safe_load((case / "expect.yaml").read_text())
    root = tmp_path / "repo"
    build(case, root)
    from_dir = failing_load(lambda: load_directory(root))
    matching = [
        p for p in from_dir
        if p.code == expect["code"] and p.location is not None
        and f"{p.location.file}:{p.location.line}" == expect["location"]
    ]
    assert matching, f"expected {expect}, got:\n" + "\n".join(p.format() for p in from_dir)
    assert expect["contains"] in matching[0].message
    # the case breaks exactly one thing
    assert len(from_dir) == 1, "\n".join(p.format() for p in from_dir)
    commit_all(root)
    assert failing_load(lambda: load_revision(root, "HEAD")) == from_dir
