"""The action's outputs and base-resolution scripts, run as subprocesses on real files."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from actionhelpers import TIMEOUT, read_outputs, run_script


def _finding(severity: str, rule: str = "pack/rule") -> dict[str, Any]:
    return {"rule": rule, "severity": severity, "message": "m", "bots": ["a"]}


REPORT: dict[str, Any] = {
    "schemaVersion": 1, "command": "validate", "exitCode": 1, "failOn": "error",
    "summary": {"errors": 2, "warnings": 1, "info": 3, "waived": 1, "problems": 0,
                "failing": 2},
    "problems": [],
    "findings": [_finding("error"), _finding("error"), _finding("warning"),
                 _finding("info"), _finding("info"), _finding("info")],
    "waived": [_finding("error")],
    "diff": {"summary": {"added": 1, "removed": 0, "changed": 2},
             "bots": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
}


def _outputs(tmp: Path, report: dict[str, Any] | str | None, *args: str) -> dict[str, str]:
    out = tmp / "github_output"
    out.write_text("")
    path = tmp / "report.json"
    if report is not None:
        path.write_text(report if isinstance(report, str) else json.dumps(report))
    result = run_script("outputs.py", ["--report", str(path), *args],
                        {"GITHUB_OUTPUT": str(out)})
    assert result.code == 0, result.stdout + result.stderr
    return read_outputs(out)


@pytest.mark.parametrize(("fail_on", "findings"), [("error", "2"), ("warning", "3"),
                                                   ("info", "6")])
def test_counts_from_the_json_report(tmp_path: Path, fail_on: str, findings: str) -> None:
    report = {**REPORT, "failOn": fail_on}
    del report["summary"]  # counted from the findings themselves
    outputs = _outputs(tmp_path, report, "--exit-code", "1", "--fail-on", fail_on)
    assert outputs == {"findings": findings, "errors": "2", "warnings": "1", "infos": "3",
                       "waived": "1", "problems": "0", "bots-changed": "3",
                       "exit-code": "1", "sarif-file": "", "fail-on": fail_on}


def test_without_fail_on_the_reports_threshold_counts(tmp_path: Path) -> None:
    report = {**REPORT, "failOn": "warning"}
    del report["summary"]
    outputs = _outputs(tmp_path, report, "--exit-code", "1")
    assert (outputs["fail-on"], outputs["findings"]) == ("warning", "3")


def test_the_reports_own_failing_count_wins(tmp_path: Path) -> None:
    report = {**REPORT, "summary": {**REPORT["summary"], "failing": 5}}
    assert _outputs(tmp_path, report, "--exit-code", "1")["findings"] == "5"


def test_no_diff_means_no_bots_changed(tmp_path: Path) -> None:
    assert _outputs(tmp_path, {**REPORT, "diff": None}, "--exit-code", "1")[
        "bots-changed"] == "0"


@pytest.mark.parametrize("content", [None, "{not json", "[1, 2]"])
def test_a_missing_or_garbled_report_gives_zeros_and_a_warning(tmp_path: Path,
                                                               content: str | None) -> None:
    out = tmp_path / "github_output"
    out.write_text("")
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content)
    result = run_script("outputs.py", ["--report", str(path), "--exit-code", "2"],
                        {"GITHUB_OUTPUT": str(out)})
    assert result.code == 0
    assert "::warning" in result.stdout
    outputs = read_outputs(out)
    assert outputs["exit-code"] == "2"
    assert outputs["findings"] == outputs["errors"] == outputs["bots-changed"] == "0"


def test_sarif_output_only_when_the_file_exists(tmp_path: Path) -> None:
    sarif = tmp_path / "molthub.sarif"
    assert _outputs(tmp_path, REPORT, "--sarif", str(sarif))["sarif-file"] == ""
    sarif.write_text("{}")
    assert _outputs(tmp_path, REPORT, "--sarif", str(sarif))["sarif-file"] == str(sarif)


def _repo(tmp: Path) -> tuple[Path, list[str]]:
    repo = tmp / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}
    shas = []
    for i in range(3):
        (repo / "f.txt").write_text(str(i))
        for args in (["init", "-q", "--initial-branch=main"] if i == 0 else [],
                     ["add", "-A"], ["commit", "-qm", str(i)]):
            if args:
                subprocess.run(["git", *args], cwd=repo, check=True, timeout=TIMEOUT, env=env)
        shas.append(subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True,
                                   capture_output=True, text=True, timeout=TIMEOUT,
                                   env=env).stdout.strip())
    return repo, shas


def _resolve(tmp: Path, repo: Path, event: dict[str, Any], event_name: str,
             base_ref_env: str = "", explicit: str = "") -> tuple[int, str, str]:
    out = tmp / "github_output"
    out.write_text("")
    event_path = tmp / "event.json"
    event_path.write_text(json.dumps(event))
    result = run_script("resolve_base.py", ["--path", ".", "--base-ref", explicit],
                        {"GITHUB_OUTPUT": str(out), "GITHUB_EVENT_PATH": str(event_path),
                         "GITHUB_EVENT_NAME": event_name, "GITHUB_BASE_REF": base_ref_env},
                        cwd=repo)
    return result.code, read_outputs(out).get("base", "<unset>"), result.stdout


def test_base_order_explicit_then_pr_base_then_base_ref_then_push_before(
        tmp_path: Path) -> None:
    repo, (first, second, third) = _repo(tmp_path)
    pr = {"pull_request": {"number": 1, "base": {"sha": second}}}
    assert _resolve(tmp_path, repo, pr, "pull_request", "main", explicit=first)[:2] == (0, first)
    assert _resolve(tmp_path, repo, pr, "pull_request", "main")[:2] == (0, second)
    assert _resolve(tmp_path, repo, {}, "pull_request", "main")[:2] == (0, third)
    push = {"before": first, "after": third}
    assert _resolve(tmp_path, repo, push, "push")[:2] == (0, first)


def test_no_base_for_a_new_branch_push_or_other_events(tmp_path: Path) -> None:
    repo, _ = _repo(tmp_path)
    assert _resolve(tmp_path, repo, {"before": "0" * 40}, "push")[:2] == (0, "")
    assert _resolve(tmp_path, repo, {}, "workflow_dispatch")[:2] == (0, "")


def test_a_base_that_cannot_be_fetched_is_an_error(tmp_path: Path) -> None:
    repo, _ = _repo(tmp_path)  # no remote "origin" at all
    code, base, stdout = _resolve(tmp_path, repo, {}, "pull_request", explicit="gone")
    assert (code, base) == (2, "")
    assert stdout.startswith("::error ")
    assert "cannot fetch base revision 'gone'" in stdout


def test_workflow_command_data_is_escaped(tmp_path: Path) -> None:
    repo, _ = _repo(tmp_path)
    code, _, stdout = _resolve(tmp_path, repo, {}, "pull_request",
                               explicit="x\n::error::injected")
    assert code == 2
    lines = stdout.splitlines()
    assert len(lines) == 1, "a value must never start a workflow command of its own"
    assert lines[0].startswith("::error title=molthub validate::cannot fetch")
