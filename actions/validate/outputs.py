"""Turn molthub's JSON report into the action's step outputs.

Reads the ``-o json=FILE`` report (docs/validate-json.md) and appends to $GITHUB_OUTPUT:
``findings`` (in force, at or above ``--fail-on``), ``errors``, ``warnings``, ``infos``,
``waived``, ``problems``, ``bots-changed``, ``exit-code`` and ``sarif-file``. A missing or
unreadable report (molthub could not run) gives zeros and a warning; the exit code then
tells what happened. Keys are read defensively so an older or newer report still works.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ghactions import annotate, set_outputs

SEVERITIES = ("error", "warning", "info")
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


def _list_at(report: dict[str, Any], key: str) -> list[Any]:
    value = report.get(key)
    if not isinstance(value, list):
        policy = report.get("policy")
        value = policy.get(key) if isinstance(policy, dict) else None
    return value if isinstance(value, list) else []


def _bots_changed(report: dict[str, Any]) -> int:
    diff = report.get("diff")
    if not isinstance(diff, dict):
        return 0
    bots = diff.get("bots")
    if isinstance(bots, list):
        return len(bots)
    for holder in (diff.get("summary"), diff):
        if isinstance(holder, dict):
            for key in ("botsChanged", "changed"):
                value = holder.get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    return value
    return 0


def summarize(report: dict[str, Any], fail_on: str) -> dict[str, int]:
    """Counts of one report. ``fail_on`` is the threshold for ``findings``."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in _list_at(report, "findings"):
        severity = finding.get("severity") if isinstance(finding, dict) else None
        if severity in counts:
            counts[severity] += 1
    threshold = _RANK.get(fail_on, 0)
    failing = sum(n for s, n in counts.items() if _RANK[s] <= threshold)
    summary = report.get("summary")
    if isinstance(summary, dict) and report.get("failOn", fail_on) == fail_on:
        stated = summary.get("failing")
        if isinstance(stated, int) and not isinstance(stated, bool):
            failing = stated
    return {
        "findings": failing,
        "errors": counts["error"],
        "warnings": counts["warning"],
        "infos": counts["info"],
        "waived": len(_list_at(report, "waived")),
        "problems": len(report.get("problems") or []) if isinstance(
            report.get("problems"), list) else 0,
        "bots-changed": _bots_changed(report),
    }


def read_report(path: str) -> dict[str, Any] | None:
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", default="", help="molthub's JSON report")
    parser.add_argument("--exit-code", default="", help="molthub's exit code")
    parser.add_argument("--fail-on", default="",
                        help="error, warning or info; empty: the failOn the report states "
                             "(the repository's), else error")
    parser.add_argument("--sarif", default="", help="the SARIF path asked for ('' = none)")
    args = parser.parse_args(argv)

    code = args.exit_code.strip() or "2"
    report = read_report(args.report)
    stated = report.get("failOn") if report is not None else None
    if args.fail_on in SEVERITIES:
        fail_on = args.fail_on
    elif stated in SEVERITIES:
        fail_on = str(stated)
    else:
        fail_on = "error"
    if report is None:
        annotate("warning", f"no JSON report from molthub (exit code {code}); outputs are zeros")
        counts = summarize({}, fail_on)
    else:
        counts = summarize(report, fail_on)
    sarif = args.sarif if args.sarif and os.path.isfile(args.sarif) else ""
    outputs = {name: str(value) for name, value in counts.items()}
    outputs["exit-code"] = code
    outputs["fail-on"] = fail_on
    outputs["sarif-file"] = sarif
    set_outputs(outputs)
    print("molthub validate: " + ", ".join(f"{k}={v}" for k, v in outputs.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
