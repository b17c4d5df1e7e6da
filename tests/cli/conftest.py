"""Fixtures of the CLI tests (helpers live in clihelpers.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from clihelpers import EXAMPLE


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """A private copy of example-repo that a test may change."""
    dest = tmp_path / "fleet-repo"
    shutil.copytree(EXAMPLE, dest)
    return dest
