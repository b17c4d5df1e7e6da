"""Every broken repository in tests/broken/ fails `molthub validate` cleanly.

Each case directory holds ``repo/`` (static files) or ``make.py`` (``make(root)`` writes the
repository, for content that cannot be checked in: symlinks, binary, huge files), and
``expect.yaml`` with ``code``, ``location`` ("file:line") and ``contains`` (a substring of the
message). For each case the real CLI must exit 2, name file:line, print the code and the
substring, never print a traceback, and leave the repository exactly as it was.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from clihelpers import BROKEN, Result, run_cli, run_subprocess, snapshot

CASES = sorted(p.name for p in BROKEN.iterdir() if (p / "expect.yaml").is_file()) \
    if BROKEN.is_dir() else []


def test_there_are_cases() -> None:
    assert len(CASES) >= 10, CASES


def _expect(case: str) -> dict[str, Any]:
    data = yaml.safe_load((BROKEN / case / "expect.yaml").read_text(encoding="utf-8"))
    assert {"code", "location", "contains"} <= set(data), f"{case}: incomplete expect.yaml"
    return dict(data)


def _build(case: str, tmp_path: Path) -> Path:
    """The case's repository, built under tmp_path/work/repo."""
    work = tmp_path / "work"
    work.mkdir()
    root = work / "repo"
    src = BROKEN / case
    if (src / "repo").is_dir():
        shutil.copytree(src / "repo", root, symlinks=True)
    else:
        spec = importlib.util.spec_from_file_location(f"broken_{case.replace('-', '_')}",
                                                      src / "make.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        root.mkdir()
        module.make(root)
    return root


def _check(case: str, result: Result, expect: dict[str, Any]) -> None:
    err = result.stderr
    assert result.code == 2, f"{case}: exit {result.code}\n{err}"
    assert "Traceback" not in err, err
    assert "Traceback" not in result.stdout
    assert "internal error" not in err, err
    location = str(expect["location"])
    assert re.search(re.escape(location) + r"(:\d+)?: ", err), (
        f"{case}: {location} not named in\n{err}")
    assert f"error[{expect['code']}]" in err, f"{case}: code {expect['code']} missing\n{err}"
    assert str(expect["contains"]) in err, f"{case}: {expect['contains']!r} missing\n{err}"


@pytest.mark.parametrize("case", CASES)
def test_broken_repository_subprocess(case: str, tmp_path: Path) -> None:
    expect = _expect(case)
    root = _build(case, tmp_path)
    before, parent_before = snapshot(root), snapshot(root.parent)
    result = run_subprocess(["validate", str(root)])
    _check(case, result, expect)
    assert snapshot(root) == before, f"{case}: validate changed the repository"
    assert snapshot(root.parent) == parent_before, f"{case}: validate wrote beside it"


@pytest.mark.parametrize("case", CASES)
def test_broken_repository_in_process(case: str, tmp_path: Path) -> None:
    expect = _expect(case)
    root = _build(case, tmp_path)
    before = snapshot(root.parent)
    result = run_cli(["validate", str(root)])
    _check(case, result, expect)
    assert snapshot(root.parent) == before


@pytest.mark.parametrize("case", CASES)
def test_broken_repository_json_output(case: str, tmp_path: Path) -> None:
    """`-o json` reports the same problem on stdout as one parseable object."""
    expect = _expect(case)
    root = _build(case, tmp_path)
    result = run_cli(["validate", str(root), "-o", "json"])
    assert result.code == 2
    report = json.loads(result.stdout)
    assert report["exitCode"] == 2
    assert report["verdict"] == "input-error"
    file, line = str(expect["location"]).rsplit(":", 1)
    assert any(
        p["code"] == expect["code"] and p["location"]["file"] == file
        and p["location"]["line"] == int(line)
        and expect["contains"] in p["message"] + p["hint"]
        for p in report["problems"]
    ), report["problems"]
