"""The junit format: well-formed XML, suites per pack, failures at or above fail_on, waived
as skipped, problems as errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from molthub_gitops.report.formats import render_report
from molthub_gitops.report.outcome import Outcome

from .builders import HOSTILE, clean, diff_only, findings_outcome, hostile, problems_only


def _root(outcome: Outcome) -> ET.Element:
    text = render_report("junit", outcome)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def _suite(root: ET.Element, name: str) -> ET.Element:
    found = root.find(f"testsuite[@name='{name}']")
    assert found is not None, name
    return found


def _case(suite: ET.Element, name: str) -> ET.Element:
    found = suite.find(f"testcase[@name='{name}']")
    assert found is not None, name
    return found


def test_suites_and_totals() -> None:
    root = _root(findings_outcome())
    assert root.tag == "testsuites"
    names = [s.get("name") for s in root.findall("testsuite")]
    assert names == ["policy", "production-guardrails", "security-baseline", "diff"]
    assert root.get("failures") == "2"
    assert root.get("skipped") == "1"
    assert root.get("errors") == "0"
    assert root.get("tests") == "9"
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert suite.get("tests") == str(len(cases))
        assert suite.get("failures") == str(sum(1 for c in cases if c.find("failure") is not None))


def test_failure_lists_findings() -> None:
    sec = _suite(_root(findings_outcome()), "security-baseline")
    case = _case(sec, "dm-policy-open")
    assert case.get("classname") == "security-baseline"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "error"
    assert "templates/support.yaml:7:3: error: dmPolicy is open" in (failure.text or "")
    assert "bots (3): bot-a, bot-b, bot-c" in (failure.text or "")
    # below fail_on: passes, listed in system-out
    warn = _case(sec, "tool-profile-full")
    assert warn.find("failure") is None
    assert "tool profile is full" in (warn.findtext("system-out") or "")
    assert _case(sec, "redaction-off").find("failure") is None


def test_fail_on_warning_fails_warnings() -> None:
    root = _root(findings_outcome(fail_on="warning"))
    sec = _suite(root, "security-baseline")
    assert _case(sec, "tool-profile-full").find("failure") is not None
    assert _case(sec, "redaction-off").find("failure") is None
    assert root.get("failures") == "4"


def test_waived_rule_is_skipped_with_exception_named() -> None:
    case = _case(_suite(_root(findings_outcome()), "production-guardrails"), "replicas-range")
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "1 finding waived by allow-big-batch"
    assert "maxConcurrent 12 > 8" in (case.findtext("system-out") or "")


def test_problems_are_errors() -> None:
    root = _root(problems_only())
    suite = _suite(root, "input")
    assert suite.get("errors") == "3"
    assert root.get("errors") == "3"
    errors = suite.findall("testcase/error")
    assert {e.get("type") for e in errors} == {"yaml-syntax", "base-unreadable", "duplicate-key"}
    assert any("hint: indent the key" in (e.text or "") for e in errors)


def test_clean_rules_pass() -> None:
    root = _root(clean())
    assert root.get("tests") == "5"
    assert root.get("failures") == "0"


def test_diff_suite() -> None:
    suite = _suite(_root(diff_only()), "diff")
    case = _case(suite, "bot-a")
    assert case.get("classname") == "diff.support"
    assert 'channels.telegram.dmPolicy: "open" -> "pairing"' in (case.findtext("system-out")
                                                                or "")


def test_hostile_text_stays_well_formed() -> None:
    root = _root(hostile())
    text = ET.tostring(root, "unicode")
    assert "\x00" not in text
    assert "\x1b" not in text
    error = root.find("testsuite[@name='input']/testcase/error")
    assert error is not None
    assert "<b>bold</b>" in (error.text or "")  # escaped in XML, back intact when parsed
    assert HOSTILE.split("\r")[0] in (error.get("message") or "")
