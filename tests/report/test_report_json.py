"""The json format: matches its documented schema, stable keys, faithful content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from molthub_gitops.model.sensitive import REDACTED
from molthub_gitops.report.formats import render_report
from molthub_gitops.report.outcome import Outcome

from .builders import clean, diff_only, findings_outcome, large, problems_only

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads((DOCS / "validate-report.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _doc(outcome: Outcome) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render_report("json", outcome))
    return data


def test_every_fixture_matches_the_schema(validator: jsonschema.Draft7Validator,
                                          any_outcome: Outcome) -> None:
    errors = [e.message for e in validator.iter_errors(_doc(any_outcome))]
    assert errors == []


def test_large_outcome_matches_the_schema(validator: jsonschema.Draft7Validator) -> None:
    doc = _doc(large(findings_n=300, bots_n=300))
    assert len(doc["findings"]) == 300
    assert len(doc["diff"]["bots"]) == 300
    assert list(validator.iter_errors(doc)) == []


def test_large_outcome_is_complete(big: Outcome) -> None:
    doc = _doc(big)
    assert len(doc["findings"]) == 1000
    assert len(doc["waived"]) == 100
    assert len(doc["diff"]["bots"]) == 2000


def test_schema_rejects_a_wrong_document(validator: jsonschema.Draft7Validator) -> None:
    doc = _doc(findings_outcome())
    doc["findings"][0]["severity"] = "fatal"
    del doc["exitCode"]
    messages = " ".join(e.message for e in validator.iter_errors(doc))
    assert "'exitCode' is a required property" in messages
    assert "fatal" in messages


def test_every_documented_top_level_field_is_in_the_docs() -> None:
    text = (DOCS / "validate-json.md").read_text(encoding="utf-8")
    for key in _doc(findings_outcome()):
        assert f"`{key}`" in text, key
    for key in _doc(findings_outcome())["findings"][0]:
        assert f"`{key}`" in text, key


def test_top_level_values() -> None:
    doc = _doc(findings_outcome())
    assert doc["schemaVersion"] == 1
    assert doc["exitCode"] == 1
    assert doc["verdict"] == "failed"
    assert doc["failOn"] == "error"
    assert doc["pathPrefix"] == "example-repo/"
    assert doc["summary"] == {"errors": 2, "warnings": 2, "info": 1, "waived": 1, "problems": 0,
                              "failing": 2, "botsChecked": 36, "policyEvaluated": True}
    assert [r["rule"] for r in doc["rules"]] == sorted(r["rule"] for r in doc["rules"])


def test_findings_fields() -> None:
    doc = _doc(findings_outcome())
    first = doc["findings"][0]
    assert first["rule"] == "security-baseline/plaintext-secret"
    assert first["pack"] == "security-baseline"
    assert first["location"] == {"file": "bots/bot-a.yaml", "line": 4, "column": 3}
    assert first["related"] == [{"file": "templates/support.yaml", "line": 2, "column": 1}]
    assert "waivedBy" not in first
    grouped = doc["findings"][1]
    assert grouped["bots"] == ["bot-a", "bot-b", "bot-c"]
    info = next(f for f in doc["findings"] if f["severity"] == "info")
    assert info["location"]["column"] is None
    assert doc["waived"][0]["waivedBy"] == "allow-big-batch"


def test_problems_only() -> None:
    doc = _doc(problems_only())
    assert doc["exitCode"] == 2
    assert doc["verdict"] == "input-error"
    assert doc["summary"]["policyEvaluated"] is False
    assert [p["code"] for p in doc["problems"]] == ["base-unreadable", "duplicate-key",
                                                    "yaml-syntax"]
    assert doc["problems"][0]["location"] is None
    assert doc["findings"] == []
    assert doc["rules"] == []
    assert doc["diff"] is None


def test_diff_fields() -> None:
    doc = _doc(diff_only())
    assert doc["command"] == "diff"
    assert doc["exitCode"] == 1
    assert doc["verdict"] == "changes"
    diff = doc["diff"]
    assert diff["summary"] == {"added": 1, "removed": 1, "changed": 1, "unchanged": 33}
    assert diff["blastRadius"] == {"bots": 3, "botsTotal": 36, "fleets": ["sales", "support"],
                                   "environments": ["prod", "staging"]}
    bot = diff["bots"][0]
    assert bot["hashBefore"] == "a" * 64
    token, policy, added, removed = bot["changes"]
    assert token["before"] == REDACTED
    assert token["after"] == REDACTED
    assert policy["before"] == "open"
    assert policy["after"] == "pairing"
    assert added["presentBefore"] is False
    assert added["before"] is None
    assert added["after"] == {"mode": "token", "token": "${GW_TOKEN}"}
    assert removed["presentAfter"] is False
    assert removed["after"] is None
    assert bot["otherChanges"] == ["openclawVersion 2026.3.31 -> 2026.9.6"]
    assert diff["bots"][1]["hashBefore"] is None
    assert diff["waves"][0]["waves"][0] == {"index": 1, "kind": "canary", "bots": ["bot-a"],
                                            "bakeSeconds": 600, "pauseSeconds": 0.0}
    assert _doc(diff_only(empty=True))["exitCode"] == 0


def test_clean() -> None:
    doc = _doc(clean())
    assert doc["exitCode"] == 0
    assert doc["verdict"] == "passed"
    assert doc["findings"] == []
    assert doc["waived"] == []
    assert len(doc["rules"]) == 5
