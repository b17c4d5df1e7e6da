"""The ``junit`` format: JUnit XML for CI test-report viewers.

``<testsuites>`` holds one ``<testsuite>`` per policy pack with one ``<testcase>`` per rule
(classname = pack, name = rule id). A rule with findings at or above ``fail_on`` fails (one
``<failure>`` listing every such finding); findings below the threshold are listed in the
test case's ``<system-out>`` and do not fail it; a rule whose only findings are waived is
``<skipped>`` with the exceptions named, so waived findings are counted, not hidden. Input
problems form the suite ``input`` with one test case per problem, each an ``<error>``. With a
diff, the suite ``diff`` has one passing test case per changed bot, its changes in
``<system-out>``. Times are 0: reports are pure and read no clock.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from molthub_gitops.policy.findings import Finding, at_or_above
from molthub_gitops.report import _common as c
from molthub_gitops.report.outcome import Outcome

__all__ = ["render_junit"]

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: str) -> str:
    """Text XML 1.0 can hold: characters it forbids are shown as ``\\xNN`` escapes."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _describe(f: Finding) -> str:
    where = c.location_text(f.location) or "(no file)"
    lines = [f"{where}: {f.severity}: {f.message}"]
    if f.path:
        lines.append(f"  config path: {f.path}")
    if f.bots:
        lines.append(f"  bots ({len(f.bots)}): {', '.join(f.bots)}")
    if f.layer:
        lines.append(f"  set by: {f.layer}")
    if f.waived_by:
        lines.append(f"  waived by: {f.waived_by}")
    if f.hint:
        lines.append(f"  hint: {f.hint}")
    return "\n".join(lines)


class _Suite:
    def __init__(self, name: str) -> None:
        self.element = ET.Element("testsuite", {"name": _x(name)})
        self.tests = self.failures = self.errors = self.skipped = 0

    def case(self, classname: str, name: str) -> ET.Element:
        self.tests += 1
        return ET.SubElement(self.element, "testcase",
                             {"classname": _x(classname), "name": _x(name), "time": "0"})

    def close(self) -> ET.Element:
        self.element.set("tests", str(self.tests))
        self.element.set("failures", str(self.failures))
        self.element.set("errors", str(self.errors))
        self.element.set("skipped", str(self.skipped))
        self.element.set("time", "0")
        return self.element


def _text(parent: ET.Element, tag: str, body: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _x(v) for k, v in attrs.items()})
    element.text = _x(body)
    return element


def _policy_suites(outcome: Outcome) -> list[_Suite]:
    policy = outcome.policy
    if policy is None:
        return []
    active: dict[str, list[Finding]] = defaultdict(list)
    waived: dict[str, list[Finding]] = defaultdict(list)
    for f in c.findings(outcome):
        active[f.rule].append(f)
    for f in c.waived(outcome):
        waived[f.rule].append(f)
    rules = {r.rule for r in policy.rules} | set(active) | set(waived)
    suites: dict[str, _Suite] = {}
    for rule in sorted(rules):
        pack, _, rule_id = rule.partition("/")
        suite = suites.setdefault(pack, _Suite(pack))
        case = suite.case(pack, rule_id or pack)
        failing = [f for f in active[rule] if at_or_above(f.severity, outcome.fail_on)]
        other = [f for f in active[rule] if f not in failing]
        if failing:
            suite.failures += 1
            message = (f"{c.plural(len(failing), 'finding')} at or above {outcome.fail_on}: "
                       f"{c.single_line(failing[0].message)}")
            _text(case, "failure", "\n\n".join(_describe(f) for f in failing),
                  message=c.truncate(message, 500), type=failing[0].severity)
        elif not other and waived[rule]:
            suite.skipped += 1
            names = sorted({f.waived_by or "?" for f in waived[rule]})
            ET.SubElement(case, "skipped", {"message": _x(
                f"{c.plural(len(waived[rule]), 'finding')} waived by {', '.join(names)}")})
        out = [_describe(f) for f in other] + [_describe(f) for f in waived[rule]]
        if out:
            _text(case, "system-out", "\n\n".join(out))
    return [suites[k] for k in sorted(suites)]


def _input_suite(outcome: Outcome) -> _Suite | None:
    probs = c.problems(outcome)
    if not probs:
        return None
    suite = _Suite("input")
    for p in probs:
        where = c.location_text(p.location)
        case = suite.case("input", f"{p.code} {where}".strip())
        suite.errors += 1
        _text(case, "error", p.format(), message=c.truncate(c.single_line(p.message), 500),
              type=p.code)
    return suite


def _diff_suite(outcome: Outcome) -> _Suite | None:
    diff = outcome.diff
    if diff is None:
        return None
    suite = _Suite("diff")
    for b in diff.bots:
        case = suite.case(f"diff.{b.fleet}", b.name)
        lines = [f"{b.kind} ({b.fleet}/{b.environment}) hash {b.hash_before or '-'} -> "
                 f"{b.hash_after or '-'}"]
        lines += [f"{ch.path}: {c.display_value(ch, 'before')} -> "
                  f"{c.display_value(ch, 'after')}" for ch in b.changes]
        lines += list(b.other_changes)
        _text(case, "system-out", "\n".join(lines))
    return suite


def render_junit(outcome: Outcome) -> str:
    """The JUnit XML document (UTF-8 declared), deterministic."""
    root = ET.Element("testsuites", {"name": _x(f"molthub {outcome.command} {outcome.source}")})
    suites = [s for s in (_input_suite(outcome), *_policy_suites(outcome), _diff_suite(outcome))
              if s is not None]
    for suite in suites:
        root.append(suite.close())
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(getattr(s, attr) for s in suites)))
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
