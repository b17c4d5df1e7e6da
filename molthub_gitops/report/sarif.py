"""The ``sarif`` format: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run; ``tool.driver.rules`` describes every rule in force (help text says why and how to
fix), plus one ``input/<code>`` rule per kind of input problem. Each finding is one result at
the file:line of the layer that set the offending value (``path_prefix`` + file, relative to
``%SRCROOT%``); waived findings are results with an external suppression; input problems
are results of their ``input/<code>`` rule. A result without a file (a base revision that
cannot be read, say) is placed on ``molthub.yaml`` without a region, because GitHub code
scanning rejects results without a location. ``partialFingerprints`` hash rule, file, config
path and bots (not the line), so an alert survives unrelated edits above it.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from molthub_gitops.errors import Location, Problem
from molthub_gitops.policy.findings import Finding, RuleInfo, Severity
from molthub_gitops.report import _common as c
from molthub_gitops.report.outcome import Outcome

__all__ = ["INFORMATION_URI", "SARIF_SCHEMA", "render_sarif", "sarif_log", "uri_reference"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/molthub/molthub-gitops"
TOOL_NAME = "molthub-gitops"
FINGERPRINT_KEY = "molthubFinding/v1"
REPOSITORY_FILE = "molthub.yaml"
"""Where results without a file of their own are placed (the Repository document)."""
BOTS_IN_MESSAGE = 20
"""Bot names a result message lists before ``and N more`` (``properties.bots`` has all)."""

_LEVEL: dict[str, str] = {"error": "error", "warning": "warning", "info": "note"}
_SECURITY_SEVERITY = {"error": "8.0", "warning": "5.0", "info": "2.0"}
_WORD = re.compile(r"[A-Za-z0-9]+")


def _name(rule: str) -> str:
    """``security-baseline/gateway-bind-no-auth`` -> ``GatewayBindNoAuth``."""
    rule_id = rule.split("/", 1)[-1]
    return "".join(w[:1].upper() + w[1:] for w in _WORD.findall(rule_id)) or "Rule"


def _descriptor(info: RuleInfo) -> dict[str, Any]:
    pack = info.rule.split("/", 1)[0]
    short = info.description or info.rule
    why = info.rationale or "No rationale recorded for this rule."
    fix = info.fix or "See the rule's documentation."
    text = f"{short}\n\nWhy: {why}\n\nHow to fix: {fix}"
    markdown = f"**{short}**\n\n### Why\n{why}\n\n### How to fix\n{fix}"
    if info.path:
        text += f"\n\nConfig path: {info.path}"
        markdown += f"\n\nConfig path: `{info.path}`"
    tags = ["molthub", pack]
    props: dict[str, Any] = {"tags": tags, "ruleType": info.type}
    if pack == "security-baseline" or info.type.startswith("openclaw"):
        tags.append("security")
        props["security-severity"] = _SECURITY_SEVERITY[info.severity]
    return {
        "id": info.rule,
        "name": _name(info.rule),
        "shortDescription": {"text": c.truncate(c.single_line(short), 1000)},
        "fullDescription": {"text": f"{short} {info.rationale}".strip()},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": _LEVEL[info.severity]},
        "properties": props,
    }


def _input_descriptor(code: str) -> dict[str, Any]:
    text = (f"molthub-gitops could not process the repository ({code}). Input problems stop "
            "validation (exit code 2) until they are fixed.")
    return {
        "id": f"input/{code}",
        "name": "Input" + _name(code),
        "shortDescription": {"text": f"Input problem: {code}"},
        "fullDescription": {"text": text},
        "help": {"text": text + "\n\nHow to fix: follow the hint in the result message.",
                 "markdown": text + "\n\n### How to fix\nFollow the hint in the result message."},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["molthub", "input"]},
    }


def _region(loc: Location) -> dict[str, Any] | None:
    if loc.line <= 0:
        return None
    region: dict[str, Any] = {"startLine": loc.line}
    if loc.column > 0:
        region["startColumn"] = loc.column
    return region


_URI_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                      b"-._~/!$&'()*+,;=@")


def uri_reference(path: str) -> str:
    """A relative file path as an RFC 3986 URI reference (``a b.yaml`` -> ``a%20b.yaml``)."""
    return "".join(chr(b) if b in _URI_SAFE else f"%{b:02X}" for b in path.encode("utf-8"))


def _physical(outcome: Outcome, loc: Location | None) -> dict[str, Any] | None:
    uri = uri_reference(c.prefixed(outcome, loc))
    if not uri or loc is None:
        return None
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}}
    region = _region(loc)
    if region is not None:
        physical["region"] = region
    return physical


def _locations(outcome: Outcome, loc: Location | None) -> list[dict[str, Any]]:
    physical = _physical(outcome, loc)
    if physical:
        return [{"physicalLocation": physical}]
    # GitHub code scanning rejects a result without a location ("expected at least one
    # location"): attach it to the Repository document, without a region, and say so.
    fallback = _physical(outcome, Location(REPOSITORY_FILE))
    return [{"physicalLocation": fallback,
             "message": {"text": "No source location; attached to the Repository document."}}]


def _related(outcome: Outcome, related: tuple[Location, ...]) -> list[dict[str, Any]]:
    out = []
    for index, loc in enumerate(related, start=1):
        physical = _physical(outcome, loc)
        if physical:
            out.append({"id": index, "physicalLocation": physical,
                        "message": {"text": "related location"}})
    return out


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _finding_message(f: Finding) -> str:
    text = f.message.rstrip()
    if f.path:
        text += f" (config path {f.path})"
    if f.bots:
        text += f"\nBots ({len(f.bots)}): {c.bots_phrase(f.bots, BOTS_IN_MESSAGE)}"
    if f.layer:
        text += f"\nSet by: {f.layer}"
    if f.hint:
        text += f"\nHow to fix: {f.hint}"
    return text


def _finding_result(outcome: Outcome, f: Finding, index: int, waived: bool) -> dict[str, Any]:
    file = c.prefixed(outcome, f.location)
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": _LEVEL[f.severity],
        "message": {"text": _finding_message(f)},
        "locations": _locations(outcome, f.location),
        "partialFingerprints": {
            # Not the line (alerts survive unrelated edits) and not the bots (a bot added to
            # a fleet must not re-key every alert of that fleet): rule, file, path, message
            # and fleets tell findings apart.
            FINGERPRINT_KEY: _fingerprint(f.rule, file, f.path, f.message, ",".join(f.fleets)),
        },
        "properties": {"severity": f.severity, "bots": list(f.bots), "fleets": list(f.fleets),
                       "configPath": f.path, "layer": f.layer},
    }
    related = _related(outcome, f.related)
    if related:
        result["relatedLocations"] = related
    if waived:
        result["suppressions"] = [{
            "kind": "external",
            "status": "accepted",
            "justification": f"Waived by PolicyException {f.waived_by or '(unknown)'}",
        }]
    return result


def _problem_result(outcome: Outcome, p: Problem, index: int) -> dict[str, Any]:
    text = p.message.rstrip()
    if p.hint:
        text += f"\nHow to fix: {p.hint}"
    file = c.prefixed(outcome, p.location)
    result: dict[str, Any] = {
        "ruleId": f"input/{p.code}",
        "ruleIndex": index,
        "level": "error",
        "message": {"text": text},
        "locations": _locations(outcome, p.location),
        "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(f"input/{p.code}", file,
                                                               p.message)},
    }
    related = _related(outcome, p.related)
    if related:
        result["relatedLocations"] = related
    return result


def sarif_log(outcome: Outcome) -> dict[str, Any]:
    """The SARIF log as Python data."""
    policy = outcome.policy
    infos: dict[str, RuleInfo] = {r.rule: r for r in policy.rules} if policy else {}
    found = c.findings(outcome)
    waived = c.waived(outcome)
    for f in (*found, *waived):
        if f.rule not in infos:
            severity: Severity = f.severity
            infos[f.rule] = RuleInfo(rule=f.rule, type="builtin", severity=severity,
                                     description=f.rule, fix=f.hint)
    descriptors = [_descriptor(infos[key]) for key in sorted(infos)]
    probs = c.problems(outcome)
    codes = sorted({p.code for p in probs})
    descriptors += [_input_descriptor(code) for code in codes]
    index = {d["id"]: i for i, d in enumerate(descriptors)}

    results = [_problem_result(outcome, p, index[f"input/{p.code}"]) for p in probs]
    results += [_finding_result(outcome, f, index[f.rule], False) for f in found]
    results += [_finding_result(outcome, f, index[f.rule], True) for f in waived]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": TOOL_NAME,
            "version": outcome.tool_version,
            "informationUri": INFORMATION_URI,
            "rules": descriptors,
        }},
        "invocations": [{
            "executionSuccessful": True,
            "exitCode": outcome.exit_code,
            "commandLine": f"molthub {outcome.command} {outcome.source}",
        }],
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {"failOn": outcome.fail_on, "stage": outcome.stage,
                       "botsChecked": c.counts(outcome).bots_checked},
    }
    if outcome.path_prefix:
        run["properties"]["pathPrefix"] = outcome.path_prefix
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(outcome: Outcome) -> str:
    return json.dumps(sarif_log(outcome), indent=2, ensure_ascii=False) + "\n"
