"""The sarif format: valid SARIF 2.1.0 with rule metadata, regions, suppressions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from molthub_gitops.policy.findings import Finding, PolicyResult
from molthub_gitops.report.formats import render_report
from molthub_gitops.report.outcome import Outcome
from molthub_gitops.report.sarif import BOTS_IN_MESSAGE, uri_reference

from .builders import RULES, clean, finding, findings_outcome, hostile, problems_only

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
"""A copy of /work/shared/data/sarif-schema-2.1.0.json (the OASIS schema), kept with the tests
so a fresh clone can run them."""


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    """A validator for the shared SARIF schema.

    The shared copy keeps the root constraints under ``definitions.Root`` and has none at its
    top level, so validating against the file as it stands accepts anything (even ``{}``).
    The validator therefore checks documents against ``#/definitions/Root`` (with every
    definition of the file in scope) -- and proves it is not vacuous.
    """
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft7Validator
    cls.check_schema(schema)
    if "properties" not in schema and "Root" in schema.get("definitions", {}):
        schema = {**schema, "$ref": "#/definitions/Root"}
    validator = cls(schema)
    assert not validator.is_valid({})
    assert not validator.is_valid({"version": "2.1.0", "runs": [{}]})
    assert validator.is_valid({"version": "2.1.0", "runs": []})
    return validator


def _log(outcome: Outcome) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render_report("sarif", outcome))
    return data


def _run(outcome: Outcome) -> dict[str, Any]:
    run: dict[str, Any] = _log(outcome)["runs"][0]
    return run


def test_valid_against_the_official_schema(validator: jsonschema.protocols.Validator,
                                           any_outcome: Outcome) -> None:
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(_log(any_outcome))]
    assert errors == []


def test_large_valid(validator: jsonschema.protocols.Validator, big: Outcome) -> None:
    log = _log(big)
    assert len(log["runs"][0]["results"]) == 1000 + 100 + 15
    assert list(validator.iter_errors(log)) == []


def test_schema_catches_a_broken_log(validator: jsonschema.protocols.Validator) -> None:
    log = _log(findings_outcome())
    log["runs"][0]["results"][0]["level"] = "fatal"
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    assert len(list(validator.iter_errors(log))) >= 2


def test_driver_and_rules() -> None:
    run = _run(findings_outcome())
    driver = run["tool"]["driver"]
    assert driver["name"] == "molthub-gitops"
    assert driver["version"] == "0.1.0"
    assert driver["informationUri"].startswith("https://")
    ids = [r["id"] for r in driver["rules"]]
    # rules in force plus the one a finding names that is not among them
    assert ids == sorted({r.rule for r in RULES} | {"policy/exception-unused"})
    rule = next(r for r in driver["rules"] if r["id"] == "security-baseline/dm-policy-open")
    assert rule["name"] == "DmPolicyOpen"
    assert rule["shortDescription"]["text"] == "Direct messages open to anyone"
    assert "Why: Anyone can talk to the bot" in rule["help"]["text"]
    assert "How to fix: Set dmPolicy to pairing or allowlist." in rule["help"]["text"]
    assert "### How to fix" in rule["help"]["markdown"]
    assert rule["defaultConfiguration"]["level"] == "error"
    assert rule["properties"]["security-severity"] == "8.0"
    info = next(r for r in driver["rules"] if r["id"].endswith("redaction-off"))
    assert info["defaultConfiguration"]["level"] == "note"


def test_results_point_at_lines_with_prefix() -> None:
    run = _run(findings_outcome())
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    first = results[0]
    assert first["ruleId"] == "security-baseline/plaintext-secret"
    assert rules[first["ruleIndex"]]["id"] == first["ruleId"]
    loc = first["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "example-repo/bots/bot-a.yaml",
                                       "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 4, "startColumn": 3}
    assert first["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "example-repo/templates/support.yaml"
    levels = [r["level"] for r in results]
    assert levels == ["error", "error", "warning", "warning", "note", "warning"]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    no_column = next(r for r in results if r["level"] == "note")
    assert no_column["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}


def test_waived_are_suppressed_results() -> None:
    results = _run(findings_outcome())["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert len(suppressed) == 1
    assert suppressed[0]["suppressions"] == [{
        "kind": "external", "status": "accepted",
        "justification": "Waived by PolicyException allow-big-batch"}]


def test_problems_are_input_rules() -> None:
    run = _run(problems_only())
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert ids == ["input/base-unreadable", "input/duplicate-key", "input/yaml-syntax"]
    results = run["results"]
    assert {r["ruleId"] for r in results} == set(ids)
    assert all(r["level"] == "error" for r in results)
    unplaced = next(r for r in results if r["ruleId"] == "input/base-unreadable")
    assert unplaced["locations"] == [{
        "physicalLocation": {"artifactLocation": {"uri": "example-repo/molthub.yaml",
                                                  "uriBaseId": "%SRCROOT%"}},
        "message": {"text": "No source location; attached to the Repository document."}}]
    placed = next(r for r in results if r["ruleId"] == "input/yaml-syntax")
    assert placed["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "example-repo/fleets/support.yaml"
    assert "How to fix: indent the key" in placed["message"]["text"]
    assert run["invocations"][0]["exitCode"] == 2


def test_many_bots_are_capped_in_the_message() -> None:
    bots = tuple(f"bot-{i:03d}" for i in range(45))
    outcome = Outcome(command="validate", source="r", policy=PolicyResult(findings=(
        finding("security-baseline/dm-policy-open", "error", bots=bots),), rules=RULES))
    result = _run(outcome)["results"][0]
    text = result["message"]["text"]
    assert "Bots (45): bot-000, bot-001" in text
    assert f"and {45 - BOTS_IN_MESSAGE} more" in text
    assert "bot-044" not in text
    assert result["properties"]["bots"] == list(bots)


def test_fingerprints_stable_when_lines_move() -> None:
    def fingerprint(line: int, bots: tuple[str, ...] = ("bot-a",)) -> str:
        outcome = Outcome(command="validate", source="r", policy=PolicyResult(findings=(
            finding("security-baseline/dm-policy-open", "error", line=line, bots=bots),)))
        fp: str = _run(outcome)["results"][0]["partialFingerprints"]["molthubFinding/v1"]
        return fp

    assert fingerprint(7) == fingerprint(70)
    # A bot joining the fleet keeps the alert.
    assert fingerprint(7) == fingerprint(7, ("bot-a", "bot-b"))
    fps = [r["partialFingerprints"]["molthubFinding/v1"]
           for r in _run(findings_outcome())["results"]]
    assert len(set(fps)) == len(fps)


def test_clean_run_has_rules_and_no_results() -> None:
    run = _run(clean())
    assert run["results"] == []
    assert len(run["tool"]["driver"]["rules"]) == 5
    assert run["invocations"][0]["executionSuccessful"] is True


def test_uris_are_percent_encoded() -> None:
    assert uri_reference("dir/a b:c%.yaml") == "dir/a%20b%3Ac%25.yaml"
    assert uri_reference("bots/ü.yaml") == "bots/%C3%BC.yaml"
    for r in _run(hostile())["results"]:
        for loc in r["locations"]:
            uri = loc["physicalLocation"]["artifactLocation"]["uri"]
            assert " " not in uri
            assert "\n" not in uri
            assert uri.startswith("repo%20dir/")


def test_every_result_has_a_file_location(any_outcome: Outcome) -> None:
    """GitHub code scanning rejects results without one ("expected at least one location")."""
    for r in _run(any_outcome)["results"]:
        assert len(r["locations"]) == 1
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]


def test_finding_without_location_lands_on_the_repository_document() -> None:
    f = Finding(rule="policy/exception-expired", severity="error", message="expired")
    run = _run(Outcome(command="validate", source="r", policy=PolicyResult(findings=(f,))))
    loc = run["results"][0]["locations"][0]["physicalLocation"]
    assert loc == {"artifactLocation": {"uri": "molthub.yaml", "uriBaseId": "%SRCROOT%"}}


def test_cli_sarif_of_a_real_repository_validates(validator: jsonschema.protocols.Validator,
                                                  tmp_path: Path) -> None:
    """End to end: `molthub validate --base ... -o sarif=FILE` on a real Git repository with a
    policy error gives a log the schema accepts, pointing at the template line."""
    import os
    import shutil
    import subprocess
    import sys

    import pygit2

    root = Path(__file__).resolve().parents[2]
    repo_dir = tmp_path / "fleet"
    shutil.copytree(root / "example-repo", repo_dir)
    sig = pygit2.Signature("T", "t@example.com", 1_700_000_000, 0)
    git = pygit2.init_repository(str(repo_dir), initial_head="main")

    def commit(message: str) -> None:
        git.index.add_all()
        git.index.write()
        tree = git.index.write_tree()
        parents = [] if git.head_is_unborn else [git.head.target]
        git.create_commit("HEAD", sig, sig, message, tree, parents)

    commit("base")
    template = repo_dir / "templates" / "telegram-support.yaml"
    text = template.read_text("utf-8").replace("groupPolicy: allowlist", "groupPolicy: open", 1)
    template.write_text(text, "utf-8")
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if "groupPolicy: open" in ln)
    commit("open the groups")
    out = tmp_path / "molthub.sarif"
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-m", "molthub_gitops", "validate", str(repo_dir), "--base", "HEAD~1",
         "--head", "HEAD", "-o", f"sarif={out}"],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 1, proc.stderr
    log = json.loads(out.read_text("utf-8"))
    errors = list(validator.iter_errors(log))
    assert not errors, errors[0].message
    results = log["runs"][0]["results"]
    hits = [r for r in results if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            == "templates/telegram-support.yaml"
            and r["locations"][0]["physicalLocation"]["region"]["startLine"] == line
            and r["level"] == "error"]
    assert hits, [r["ruleId"] for r in results]
    rule_ids = {rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]}
    assert all(r["ruleId"] in rule_ids for r in results)
