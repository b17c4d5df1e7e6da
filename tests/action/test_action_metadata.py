"""action.yml, the example workflow and .pre-commit-hooks.yaml: valid against their schemas and
wired together safely."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from actionhelpers import ACTION_YML, ROOT, TIMEOUT, WORKFLOW_YML, load_action
from pre_commit import clientlib  # a [dev] tool, like check-jsonschema

HOOKS = ROOT / ".pre-commit-hooks.yaml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _check_jsonschema(schema: str, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(target)],
        capture_output=True, text=True, timeout=TIMEOUT, check=False)


def test_action_yml_validates_against_schemastore() -> None:
    done = _check_jsonschema("vendor.github-actions", ACTION_YML)
    assert done.returncode == 0, done.stdout + done.stderr


def test_example_workflow_validates_against_schemastore() -> None:
    done = _check_jsonschema("vendor.github-workflows", WORKFLOW_YML)
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_rejects_a_broken_action(tmp_path: Path) -> None:
    broken = load_action()
    broken["runs"]["steps"][1]["shell"] = None  # a run step without a shell
    del broken["description"]
    target = tmp_path / "action.yml"
    target.write_text(yaml.safe_dump(broken), encoding="utf-8")
    assert _check_jsonschema("vendor.github-actions", target).returncode == 1


def test_no_expression_is_interpolated_into_a_script() -> None:
    """Inputs reach run scripts only through env: (no script injection)."""
    for step in load_action()["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], step.get("name")


def test_step_env_and_outputs_refer_to_existing_inputs_and_steps() -> None:
    action = load_action()
    inputs = set(action["inputs"])
    steps = action["runs"]["steps"]
    ids = [s["id"] for s in steps if "id" in s]
    assert len(ids) == len(set(ids))
    seen: set[str] = set()

    def check(expression: str, before: set[str]) -> None:
        for ref in re.findall(r"inputs\.([A-Za-z0-9_-]+)", expression):
            assert ref in inputs, expression
        for ref in re.findall(r"steps\.([A-Za-z0-9_-]+)\.", expression):
            assert ref in before, f"{expression}: step {ref} must run earlier"

    for step in steps:
        for value in [*step.get("env", {}).values(), *step.get("with", {}).values()]:
            for expression in EXPRESSION.findall(str(value)):
                check(expression, seen)
        if "id" in step:
            seen.add(step["id"])
    for name, output in action["outputs"].items():
        [expression] = EXPRESSION.findall(output["value"])
        check(expression, seen)
        match = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
        assert match is not None, expression
        step_id, produced = match.groups()
        script = next(s for s in steps if s.get("id") == step_id)
        source = script.get("run", "")
        for called in re.findall(r'\$GITHUB_ACTION_PATH/([\w.]+\.py)', source):
            source += (ACTION_YML.parent / called).read_text(encoding="utf-8")
        assert produced in source, f"output {name}: step {step_id} never writes {produced}"


def test_the_example_workflow_uses_this_action_with_known_inputs() -> None:
    workflow = yaml.safe_load(WORKFLOW_YML.read_text(encoding="utf-8"))
    inputs = set(load_action()["inputs"])
    steps = workflow["jobs"]["validate"]["steps"]
    [ours] = [s for s in steps if str(s.get("uses", "")).endswith("/actions/validate@v1")]
    assert set(ours.get("with", {})) <= inputs
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write",
                                       "security-events": "write"}
    assert any(str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif")
               for s in steps)


def test_pre_commit_manifest_loads_with_pre_commits_own_loader() -> None:
    [hook] = clientlib.load_manifest(str(HOOKS))
    assert hook["id"] == "molthub-validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    assert hook["args"] == ["."]
    files = re.compile(hook["files"])
    assert files.search("fleets/prod/support.yaml")
    assert files.search("molthub.yml")
    assert not files.search("README.md")
    assert not files.search("notes.yaml.txt")


def test_pre_commit_manifest_loader_rejects_a_broken_hook(tmp_path: Path) -> None:
    broken = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    broken[0]["pass_filenames"] = "no"
    target = tmp_path / "hooks.yaml"
    target.write_text(yaml.safe_dump(broken), encoding="utf-8")
    with pytest.raises(clientlib.InvalidManifestError):
        clientlib.load_manifest(str(target))


def _hook_command() -> list[str]:
    [hook] = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    entry = hook["entry"].split()
    console = Path(sys.executable).parent / entry[0]
    assert console.exists(), f"{console}: install the package (pip install -e .)"
    return [str(console), *entry[1:], *hook["args"]]


def test_pre_commit_hook_command_passes_a_valid_repository(tmp_path: Path) -> None:
    repo = tmp_path / "bots"
    shutil.copytree(ROOT / "example-repo", repo)
    done = subprocess.run(_hook_command(), cwd=repo, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_pre_commit_hook_command_fails_on_a_broken_repository(tmp_path: Path) -> None:
    repo = tmp_path / "bots"
    shutil.copytree(ROOT / "example-repo", repo)
    template = repo / "templates" / "slack-assistant.yaml"
    text = template.read_text(encoding="utf-8")
    template.write_text(text.replace("kind: Template", "kind: Templat"), encoding="utf-8")
    done = subprocess.run(_hook_command(), cwd=repo, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "templates/slack-assistant.yaml" in done.stderr
