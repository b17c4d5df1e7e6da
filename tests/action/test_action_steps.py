"""The composite action's bash steps, taken from action.yml and run for real.

A real Git repository (example-repo at its root, as `molthub init` makes it) gets a base and a
head commit; a one-commit-deep clone stands in for actions/checkout's default checkout. The
steps run with the runner's bash flags and GITHUB_* variables pointing at temporary files,
`molthub` is this checkout's console script, and the PR comment goes to a local stand-in of
GitHub's comment API. Only the setup-python and pip install steps are left out (network).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from actionhelpers import (
    ACTION_DIR,
    EXAMPLE,
    MARKER,
    TIMEOUT,
    TOKEN,
    FakeGitHub,
    StepRun,
    final_step,
    pr_event,
    read_outputs,
    run_step,
    serve,
    step,
)

PLANTED = "xoxb-4815162342-PlantedPlaintextSlackToken"
GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
SLACK_TEMPLATE = "templates/slack-assistant.yaml"


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False, env={**os.environ, **GIT_ENV})
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@dataclass
class Checkout:
    """A shallow clone of a two-commit repository, like actions/checkout leaves it."""

    path: Path
    base: str
    head: str
    tmp: Path


def make_checkout(tmp: Path, change: Callable[[Path], None]) -> Checkout:
    origin = tmp / "origin"
    shutil.copytree(EXAMPLE, origin)
    _git(origin, "init", "--quiet", "--initial-branch=main")
    _git(origin, "add", "-A")
    _git(origin, "commit", "--quiet", "-m", "base")
    base = _git(origin, "rev-parse", "HEAD")
    change(origin)
    _git(origin, "add", "-A")
    _git(origin, "commit", "--quiet", "-m", "head")
    head = _git(origin, "rev-parse", "HEAD")
    clone = tmp / "workspace"
    _git(tmp, "clone", "--quiet", "--depth=1", "--no-tags", f"file://{origin}", str(clone))
    assert _git(clone, "rev-parse", "HEAD") == head
    missing = subprocess.run(["git", "cat-file", "-e", f"{base}^{{commit}}"], cwd=clone,
                             capture_output=True, timeout=TIMEOUT, check=False)
    assert missing.returncode != 0, "the shallow clone must not hold the base yet"
    (tmp / "runner").mkdir()
    return Checkout(clone, base, head, tmp)


def change_model(repo: Path) -> None:
    _edit(repo / SLACK_TEMPLATE, "thinkingDefault: medium", "thinkingDefault: high")


def plant_token(repo: Path) -> None:
    _edit(repo / SLACK_TEMPLATE, 'botToken: "${SLACK_BOT_TOKEN}"', f'botToken: "{PLANTED}"')


def share_workspace(repo: Path) -> None:
    _edit(repo / SLACK_TEMPLATE, 'workspace: "/srv/openclaw/{{ bot.name }}/workspace"',
          'workspace: "/srv/openclaw/shared/workspace"')


def break_yaml(repo: Path) -> None:
    _edit(repo / SLACK_TEMPLATE, "kind: Template", "kind: [Template")


def _console() -> str:
    script = Path(sys.executable).parent / "molthub"
    assert script.exists(), f"{script}: install the package (pip install -e .)"
    return str(script)


@dataclass
class ActionRun:
    steps: dict[str, StepRun]
    outputs: dict[str, str]
    summary: str
    api: FakeGitHub


def run_action(co: Checkout, *, fail_on: str = "", base_ref: str = "",
               sarif: str = "molthub.sarif", event_name: str = "pull_request",
               event: Path | None = None, api: FakeGitHub | None = None) -> ActionRun:
    """Run the action's steps in order, like the runner: stop after a failing step (the
    comment step has continue-on-error)."""
    tmp = co.tmp
    output = tmp / "github_output"
    summary = tmp / "step_summary.md"
    output.write_text("")
    summary.write_text("")
    common = {
        "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_ACTION_PATH": str(ACTION_DIR), "GITHUB_WORKSPACE": str(co.path),
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event or pr_event(tmp, number=7, base_sha=co.base)),
        "GITHUB_BASE_REF": "main" if event_name == "pull_request" else "",
        "RUNNER_TEMP": str(tmp / "runner"), **GIT_ENV,
    }
    inputs = {"path": ".", "fail-on": fail_on, "sarif-path": sarif}
    results: dict[str, StepRun] = {}
    with serve(api or FakeGitHub()) as api:
        def run(spec: dict[str, object], name: str, env: dict[str, str]) -> bool:
            results[name] = run_step(spec, {**common, **env}, cwd=co.path, tmp=tmp)
            return results[name].code == 0 or bool(spec.get("continue-on-error"))

        out = read_outputs
        ok = run(step("base"), "base", {"PYTHON": sys.executable, "INPUT_PATH": inputs["path"],
                                         "INPUT_BASE_REF": base_ref})
        ok = ok and run(step("validate"), "validate", {
            "MOLTHUB": _console(), "INPUT_PATH": inputs["path"],
            "BASE": out(output).get("base", ""), "FAIL_ON": fail_on, "SARIF_PATH": sarif})
        ok = ok and run(step("report"), "report", {
            "PYTHON": sys.executable, "REPORT": out(output).get("json-file", ""),
            "EXIT_CODE": out(output).get("exit-code", ""), "FAIL_ON": fail_on,
            "SARIF_PATH": sarif})
        ok = ok and run(step("comment"), "comment", {
            "PYTHON": sys.executable, "GITHUB_TOKEN": TOKEN, "COMMENT": "auto",
            "COMMENT_AUTHOR": "", "INPUT_PATH": inputs["path"],
            "MARKDOWN": out(output).get("markdown-file", ""),
            "EXIT_CODE": out(output).get("exit-code", ""), "GITHUB_API_URL": api.url,
            "GITHUB_REPOSITORY": api.repo, "MOLTHUB_ACTION_BACKOFF": "0.01"})
        if ok:
            run(final_step(), "result", {"EXIT_CODE": out(output).get("exit-code", ""),
                                         "FAIL_ON": out(output).get("fail-on", "")})
    for result in results.values():
        assert TOKEN not in result.stdout + result.stderr
    return ActionRun(results, read_outputs(output), summary.read_text(encoding="utf-8"), api)


def _report(run: ActionRun) -> dict[str, object]:
    data = json.loads(Path(run.outputs["json-file"]).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_a_clean_change_passes_with_diff_summary_sarif_and_one_comment(tmp_path: Path) -> None:
    co = make_checkout(tmp_path, change_model)
    run = run_action(co)
    assert run.steps["base"].code == 0, run.steps["base"].stdout + run.steps["base"].stderr
    assert run.outputs["base"] == co.base  # fetched into the shallow clone
    assert run.steps["validate"].code == 0, run.steps["validate"].stderr
    assert run.outputs["exit-code"] == "0"
    assert run.steps["result"].code == 0

    report = _report(run)
    diff = report["diff"]
    assert isinstance(diff, dict)
    changed = diff["bots"]
    assert isinstance(changed, list)
    assert changed, "the template change must show up per bot"
    assert run.outputs["bots-changed"] == str(len(changed))
    assert {b["fleet"] for b in changed} <= {"assistant-dev", "assistant-staging",
                                             "assistant-prod"}
    assert (run.outputs["findings"], run.outputs["errors"]) == ("0", "0")
    assert run.outputs["sarif-file"] == "molthub.sarif"
    sarif = json.loads((co.path / "molthub.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    assert run.summary.strip(), "the job summary must be appended"
    assert len(run.summary.encode()) < 1024 * 1024

    [sticky] = run.api.marker_comments(7)
    markdown = Path(run.outputs["markdown-file"]).read_text(encoding="utf-8")
    assert sticky["body"] == f"{MARKER}\n{markdown.removeprefix(MARKER).lstrip(chr(10))}"
    assert run.outputs["comment-url"] == sticky["html_url"]

    # A new push to the same PR: the same single comment, edited in place.
    again = run_action(co, api=run.api)
    assert again.outputs["exit-code"] == "0"
    assert len(again.api.calls("POST")) == 1
    assert len(again.api.calls("PATCH")) == 1
    assert [c["id"] for c in again.api.marker_comments(7)] == [sticky["id"]]


def test_a_policy_error_fails_the_check_with_annotations(tmp_path: Path) -> None:
    co = make_checkout(tmp_path, share_workspace)
    run = run_action(co)
    assert run.outputs["exit-code"] == "1", run.steps["validate"].stderr
    report = _report(run)
    findings = report["findings"]
    assert isinstance(findings, list)
    rules = {f["rule"] for f in findings}
    assert "acme-channel-safety/workspace-per-bot" in rules
    assert run.outputs["findings"] == str(
        sum(1 for f in findings if f["severity"] == "error"))
    assert int(run.outputs["errors"]) >= 1
    annotations = [line for line in run.steps["validate"].stdout.splitlines()
                   if line.startswith("::error ")]
    assert any(f"file={SLACK_TEMPLATE}" in line for line in annotations)
    assert run.steps["result"].code == 1
    assert "findings at or above 'error'" in run.steps["result"].stdout
    [sticky] = run.api.marker_comments(7)
    assert "workspace-per-bot" in sticky["body"]


def test_a_planted_token_fails_the_check_and_never_leaks(tmp_path: Path) -> None:
    co = make_checkout(tmp_path, plant_token)
    run = run_action(co)
    assert run.outputs["exit-code"] == "1", run.steps["validate"].stderr
    assert int(run.outputs["findings"]) >= 1
    assert int(run.outputs["errors"]) >= 1
    assert run.steps["result"].code == 1
    assert "::error" in run.steps["result"].stdout
    assert "::error " in run.steps["validate"].stdout  # annotations from -o github
    texts = [run.summary, (co.path / "molthub.sarif").read_text(encoding="utf-8"),
             Path(run.outputs["json-file"]).read_text(encoding="utf-8"),
             Path(run.outputs["markdown-file"]).read_text(encoding="utf-8"),
             (co.tmp / "github_output").read_text(encoding="utf-8"),
             *(c["body"] for c in run.api.comments)]
    for result in run.steps.values():
        texts += [result.stdout, result.stderr]
    for text in texts:
        assert PLANTED not in text
    assert len(run.api.marker_comments(7)) == 1


def test_fail_on_warning_is_passed_through(tmp_path: Path) -> None:
    co = make_checkout(tmp_path, change_model)
    run = run_action(co, fail_on="warning")
    report = _report(run)
    assert report.get("failOn") == "warning"
    assert run.outputs["exit-code"] == str(report["exitCode"])


def test_a_broken_head_exits_2_with_a_clear_message_and_a_comment(tmp_path: Path) -> None:
    co = make_checkout(tmp_path, break_yaml)
    run = run_action(co)
    assert run.outputs["exit-code"] == "2"
    assert run.steps["result"].code == 2
    assert "could not be processed" in run.steps["result"].stdout
    assert SLACK_TEMPLATE in run.steps["validate"].stderr + run.steps["validate"].stdout
    assert int(run.outputs["problems"]) >= 1
    [sticky] = run.api.marker_comments(7)
    assert sticky["body"].startswith(MARKER)


def test_an_invalid_fail_on_input_is_an_input_error(tmp_path: Path) -> None:
    co = make_checkout(tmp_path, change_model)
    run = run_action(co, fail_on="critical")
    assert run.outputs["exit-code"] == "2"
    assert "fail-on must be error, warning, info or empty" in run.steps["validate"].stdout
    assert run.steps["result"].code == 2


def test_an_explicit_base_that_does_not_exist_fails_the_base_step(tmp_path: Path) -> None:
    co = make_checkout(tmp_path, change_model)
    run = run_action(co, base_ref="no-such-branch")
    assert run.steps["base"].code == 2
    assert "::error" in run.steps["base"].stdout
    assert "no-such-branch" in run.steps["base"].stdout
    assert "validate" not in run.steps


def test_a_base_branch_name_is_fetched_and_resolved(tmp_path: Path) -> None:
    co = make_checkout(tmp_path, change_model)
    origin = co.tmp / "origin"
    _git(origin, "branch", "release", co.base)
    run = run_action(co, base_ref="origin/release")
    assert run.outputs["base"] == co.base
    assert run.outputs["exit-code"] == "0"


def test_push_events_compare_with_the_commit_before_and_write_no_comment(
        tmp_path: Path) -> None:
    co = make_checkout(tmp_path, change_model)
    event = co.tmp / "push.json"
    event.write_text(json.dumps({"ref": "refs/heads/main", "before": co.base,
                                 "after": co.head}))
    run = run_action(co, event_name="push", event=event)
    assert run.outputs["base"] == co.base
    assert run.outputs["exit-code"] == "0"
    assert int(run.outputs["bots-changed"]) > 0
    assert not run.api.requests
    assert "comment-url" not in run.outputs


def test_without_a_base_it_validates_only_and_sarif_can_be_off(tmp_path: Path) -> None:
    co = make_checkout(tmp_path, change_model)
    event = co.tmp / "dispatch.json"
    event.write_text("{}")
    run = run_action(co, event_name="workflow_dispatch", event=event, sarif="")
    assert run.outputs["base"] == ""
    assert run.outputs["exit-code"] == "0"
    assert run.outputs["bots-changed"] == "0"
    assert run.outputs["sarif-file"] == ""
    assert not (co.path / "molthub.sarif").exists()


def test_a_config_folder_inside_a_larger_repository(tmp_path: Path) -> None:
    config_dir = "fleet-config"
    origin = tmp_path / "origin"
    origin.mkdir()
    shutil.copytree(EXAMPLE, origin / config_dir)
    (origin / "README.md").write_text("monorepo\n")
    _git(origin, "init", "--quiet", "--initial-branch=main")
    _git(origin, "add", "-A")
    _git(origin, "commit", "--quiet", "-m", "base")
    base = _git(origin, "rev-parse", "HEAD")
    share_workspace(origin / config_dir)
    _git(origin, "commit", "--quiet", "-am", "head")
    clone = tmp_path / "workspace"
    _git(tmp_path, "clone", "--quiet", "--depth=1", f"file://{origin}", str(clone))
    (tmp_path / "runner").mkdir()
    output = tmp_path / "github_output"
    output.write_text("")
    env = {"GITHUB_OUTPUT": str(output), "GITHUB_ACTION_PATH": str(ACTION_DIR),
           "GITHUB_EVENT_NAME": "pull_request",
           "GITHUB_EVENT_PATH": str(pr_event(tmp_path, base_sha=base)),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
           "RUNNER_TEMP": str(tmp_path / "runner"), **GIT_ENV}
    first = run_step(step("base"), {**env, "PYTHON": sys.executable, "INPUT_PATH": config_dir,
                                    "INPUT_BASE_REF": ""}, cwd=clone, tmp=tmp_path)
    assert first.code == 0, first.stdout + first.stderr
    validate = run_step(step("validate"), {
        **env, "MOLTHUB": _console(), "INPUT_PATH": config_dir,
        "BASE": read_outputs(output)["base"], "FAIL_ON": "error",
        "SARIF_PATH": "molthub.sarif"}, cwd=clone, tmp=tmp_path)
    assert validate.code == 0
    outputs = read_outputs(output)
    assert outputs["exit-code"] == "1", validate.stderr
    annotations = [line for line in validate.stdout.splitlines() if line.startswith("::error ")]
    assert any(f"file={config_dir}/{SLACK_TEMPLATE}," in line for line in annotations), (
        "annotation paths are relative to the work tree")
    sarif = json.loads((clone / "molthub.sarif").read_text(encoding="utf-8"))
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for result in sarif["runs"][0]["results"] for loc in result.get("locations", [])}
    assert f"{config_dir}/{SLACK_TEMPLATE}" in uris
    report = json.loads(Path(outputs["json-file"]).read_text(encoding="utf-8"))
    assert report["diff"]["bots"]


def warn_and_fail_on_warnings(repo: Path) -> None:
    """A warning finding (acme-channel-safety/history-limit-bounded) in a repository whose
    molthub.yaml says failOn: warning."""
    _edit(repo / "templates" / "telegram-support.yaml", "        historyLimit: 50\n",
          "        historyLimit: 900\n")
    _edit(repo / "molthub.yaml", "failOn: error", "failOn: warning")


def test_without_fail_on_the_repository_fail_on_decides(tmp_path: Path) -> None:
    co = make_checkout(tmp_path, warn_and_fail_on_warnings)
    run = run_action(co)
    report = _report(run)
    assert report.get("failOn") == "warning"
    assert run.outputs["exit-code"] == "1"
    assert int(run.outputs["warnings"]) >= 1
    assert int(run.outputs["findings"]) >= 1
    assert run.steps["result"].code == 1
