"""Bundled data: schemas/, example-repo/ and the vendored OpenClaw config schemas."""

from __future__ import annotations

import pytest

from molthub_gitops.errors import InputError
from molthub_gitops.repo.resources import (
    data_dir,
    example_repo_dir,
    openclaw_schema,
    openclaw_schema_versions,
    schemas_dir,
    source_checkout_root,
)


def test_source_checkout_data_dirs() -> None:
    root = source_checkout_root()
    assert root is not None
    assert (root / "pyproject.toml").is_file()
    assert schemas_dir() == root / "schemas"
    assert example_repo_dir() == root / "example-repo"
    assert data_dir("schemas") == schemas_dir()


def test_unknown_data_dir_is_an_error() -> None:
    with pytest.raises(Exception, match="bundled data 'nothing-here' not found"):
        data_dir("nothing-here")


def test_the_pinned_openclaw_version_is_vendored_and_cached() -> None:
    assert "2026.9.6" in openclaw_schema_versions()
    schema = openclaw_schema("2026.9.6")
    assert isinstance(schema, dict)
    assert schema.get("type") == "object" or "properties" in schema
    assert openclaw_schema("2026.9.6") is schema


@pytest.mark.parametrize("version", ["1999.1.1", "../schemas/fleet.schema", ".hidden", ""])
def test_unknown_openclaw_version_lists_the_available_ones(version: str) -> None:
    with pytest.raises(InputError) as info:
        openclaw_schema(version)
    problem = info.value.problems[0]
    assert problem.code == "unknown-openclaw-version"
    assert problem.hint.startswith("supported versions: ")
    for known in openclaw_schema_versions():
        assert known in problem.hint
