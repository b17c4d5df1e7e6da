"""Every tests/broken/render-* repository fails rendering (or the OpenClaw schema check) with
the expected problem code, file:line and message; a sandbox escape never runs.

The CLI test (tests/cli/test_broken_repos.py) runs the same cases through `molthub validate`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from molthub_gitops.errors import InputError, Problem
from molthub_gitops.render.engine import render_repository
from molthub_gitops.render.schema_check import check_openclaw_schema
from molthub_gitops.repo.load import load_directory

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "broken"
CASES = sorted(p for p in BROKEN.glob("render-*") if (p / "expect.yaml").is_file())
REQUIRED = {"render-locked-path", "render-jinja-undefined", "render-jinja-syntax",
            "render-jinja-sandbox", "render-param-type", "render-schema"}


def test_every_required_case_exists() -> None:
    assert {c.name for c in CASES} >= REQUIRED


def _problems(repo_dir: Path) -> tuple[Problem, ...]:
    repo = load_directory(repo_dir)
    try:
        result = render_repository(repo)
    except InputError as exc:
        return exc.problems
    schema = json.loads((ROOT / "schemas" / "openclaw" / "2026.9.6.json").read_text("utf-8"))
    return tuple(check_openclaw_schema(result.bots, {"2026.9.6": schema}))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_case(case: Path) -> None:
    expect = yaml.safe_load((case / "expect.yaml").read_text(encoding="utf-8"))
    found = _problems(case / "repo")
    assert found, "the case must fail"
    matching = [
        p for p in found
        if p.code == expect["code"] and p.location is not None
        and f"{p.location.file}:{p.location.line}" == expect["location"]
        and expect["contains"] in p.message
    ]
    assert matching, "\n".join(p.format() for p in found)
    assert "Traceback" not in "\n".join(p.format() for p in found)
