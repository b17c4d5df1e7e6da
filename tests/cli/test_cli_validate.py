"""`molthub validate`: a clean summary for a good repository, every problem for a bad one."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from clihelpers import EXAMPLE, commit_all, run_cli, run_subprocess, snapshot


def test_validate_example_repo_is_clean() -> None:
    result = run_subprocess(["validate", str(EXAMPLE)])
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"molthub validate {EXAMPLE}"
    assert lines[1] == "36 bots in 9 fleets (dev, prod, staging; OpenClaw 2026.9.6)"
    assert lines[-1].startswith("passed: 0 errors")
    assert "36 bots checked" in lines[-1]
    assert result.stderr == ""


def test_validate_json_clean() -> None:
    result = run_cli(["validate", str(EXAMPLE), "-o", "json"])
    assert result.code == 0
    report = json.loads(result.stdout)
    assert report["exitCode"] == 0
    assert report["verdict"] == "passed"
    assert (report["bots"], len(report["fleets"])) == (36, 9)
    assert report["environments"] == ["dev", "prod", "staging"]
    assert report["problems"] == []
    assert report["summary"]["errors"] == 0
    assert report["summary"]["botsChecked"] == 36


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), "utf-8")


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_validate_reports_schema_errors_at_the_line_that_set_them(example_copy: Path) -> None:
    # 2026.9.6 removed logging.redactSensitive: a profile that still sets it is invalid.
    profile = example_copy / "profiles" / "env-prod.yaml"
    _edit(profile, "      level: warn\n", "      level: warn\n      redactSensitive: tools\n")
    # A wrong type in a bot's own config.
    fleet = example_copy / "fleets" / "prod" / "support-prod-eu.yaml"
    _edit(fleet, "                requireMention: false", "                requireMention: 3")
    before = snapshot(example_copy)
    result = run_subprocess(["validate", str(example_copy)])
    assert result.code == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    err = result.stderr
    prof_line = _line_of(profile, "redactSensitive")
    assert re.search(rf"profiles/env-prod\.yaml:{prof_line}(:\d+)?: error\[", err), err
    assert "redactSensitive" in err
    bot_line = _line_of(fleet, "requireMention: 3")
    assert re.search(rf"fleets/prod/support-prod-eu\.yaml:{bot_line}(:\d+)?: error\[", err), err
    assert "support-eu-08" in err
    assert snapshot(example_copy) == before


def test_validate_unknown_openclaw_version(example_copy: Path) -> None:
    fleet = example_copy / "fleets" / "dev" / "concierge-dev.yaml"
    repo_file = example_copy / "molthub.yaml"
    _edit(repo_file, 'openclawVersions: ["2026.9.6"]', 'openclawVersions: ["2026.9.6", "2099.1.1"]')
    _edit(fleet, 'openclawVersion: "2026.9.6"', 'openclawVersion: "2099.1.1"')
    result = run_cli(["validate", str(example_copy)])
    assert result.code == 2
    line = _line_of(fleet, "2099.1.1")
    assert re.search(rf"fleets/dev/concierge-dev\.yaml:{line}(:\d+)?: error\[", result.stderr), \
        result.stderr
    assert "2099.1.1" in result.stderr


def test_validate_git_revision(tmp_path: Path) -> None:
    work = tmp_path / "fleet-repo"
    shutil.copytree(EXAMPLE, work)
    commit_all(work, "good")
    # Break the working tree only: the revision still validates.
    (work / "molthub.yaml").write_text("kind: [", "utf-8")
    assert run_cli(["validate", str(work)]).code == 2
    result = run_cli(["validate", str(work), "--rev", "HEAD"])
    assert result.code == 0, result.stderr
    assert "36 bots in 9 fleets" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("passed")


def test_validate_not_a_repository(tmp_path: Path) -> None:
    result = run_cli(["validate", str(tmp_path)])
    assert result.code == 2
    assert "molthub.yaml" in result.stderr
    assert "Traceback" not in result.stderr
