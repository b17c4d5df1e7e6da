"""PolicyException documents: waive findings of named rules for selected bots, until a date.

An exception names rules (``pack/rule``, or a bare rule id meaning that id in every pack in
force) and a selector (empty: every bot). It waives, bot by bot, the findings of those rules:
a finding listing several bots is split, the waived part moving to the waived list with
``waived_by`` set, the rest staying in force. Waived findings are counted and listed
separately, never hidden. What the exceptions themselves get wrong is reported as findings of
the ``policy/*`` rules:

* ``policy/exception-expired`` (error, at ``spec.expires``): ``expires`` is before today; the
  exception waives nothing;
* ``policy/exception-unknown-rule`` (error, at the ``spec.rules`` entry): no pack in force has
  that rule;
* ``policy/exception-not-waivable`` (warning, at the ``spec.rules`` entry): the rule says
  ``waivable: false``; its findings stay in force;
* ``policy/exception-unused`` (warning, at ``metadata.name``): the exception waived no
  finding (it may be stale: remove it).

When several exceptions cover one finding of one bot, the first by name waives it; all of
them count as used.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from molthub_gitops.model.documents import PolicyException
from molthub_gitops.model.repository import FleetRepository, SourceDoc
from molthub_gitops.policy.findings import Finding, RuleInfo
from molthub_gitops.policy.scope import BotScope, selector_matcher
from molthub_gitops.render.types import RenderedBot

__all__ = [
    "EXCEPTION_EXPIRED",
    "EXCEPTION_NOT_WAIVABLE",
    "EXCEPTION_RULES",
    "EXCEPTION_UNKNOWN_RULE",
    "EXCEPTION_UNUSED",
    "apply_exceptions",
]

EXCEPTION_EXPIRED: Final = "policy/exception-expired"
EXCEPTION_UNKNOWN_RULE: Final = "policy/exception-unknown-rule"
EXCEPTION_NOT_WAIVABLE: Final = "policy/exception-not-waivable"
EXCEPTION_UNUSED: Final = "policy/exception-unused"

EXCEPTION_RULES: Final[tuple[RuleInfo, ...]] = (
    RuleInfo(
        EXCEPTION_EXPIRED, "exception", "error",
        "A PolicyException is past its expires date.",
        "Waivers are temporary by design; an expired one must be reviewed, not silently kept. "
        "It waives nothing.",
        "Fix the findings it covered and delete it, or (after review) set a new expires date."),
    RuleInfo(
        EXCEPTION_UNKNOWN_RULE, "exception", "error",
        "A PolicyException names a rule that no pack in force has.",
        "A misspelt rule id waives nothing while looking as if it did.",
        "Use the qualified id shown in findings (pack/rule) or a bare rule id of a pack in "
        "force."),
    RuleInfo(
        EXCEPTION_NOT_WAIVABLE, "exception", "warning",
        "A PolicyException names a rule that cannot be waived (waivable: false).",
        "Some rules are too important to waive; their findings stay in force.",
        "Remove the rule from the exception and fix the findings."),
    RuleInfo(
        EXCEPTION_UNUSED, "exception", "warning",
        "A PolicyException waives no finding.",
        "Stale waivers hide future regressions of the rules they name.",
        "Delete the exception, or correct its rules and selector."),
)
"""The ``policy/*`` rules about exceptions, for :attr:`PolicyResult.rules`."""


@dataclass
class _Active:
    name: str
    sdoc: SourceDoc[PolicyException]
    scope: BotScope
    rules: frozenset[str]
    """Qualified ids of the waivable rules it covers."""
    used: bool = field(default=False)


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _resolve(entry: str, rules: Mapping[str, bool]) -> set[str]:
    if "/" in entry:
        return {entry} if entry in rules else set()
    return {q for q in rules if q.split("/", 1)[-1] == entry}


def _check(
    sdoc: SourceDoc[PolicyException], rules: Mapping[str, bool], today: datetime.date,
    out: list[Finding],
) -> _Active | None:
    """Problems of one exception (as findings in ``out``) and, when valid, its active form."""
    spec = sdoc.doc.spec
    name = sdoc.name
    if spec.expires < today:
        out.append(Finding(
            EXCEPTION_EXPIRED, "error",
            f"exception {name} expired on {spec.expires.isoformat()} (owner: {spec.owner}); "
            "it waives nothing",
            hint="fix the findings it covered and delete it, or renew expires after review",
            location=sdoc.loc("spec", "expires"), layer=f"exception PolicyException/{name}"))
        return None
    covered: set[str] = set()
    choices = sorted({*rules, *(q.split("/", 1)[-1] for q in rules)})
    for i, entry in enumerate(spec.rules):
        found = _resolve(entry, rules)
        where = sdoc.loc("spec", "rules", i)
        if not found:
            out.append(Finding(
                EXCEPTION_UNKNOWN_RULE, "error",
                f"exception {name} names rule {entry!r}, which no pack in force has"
                f"{_suggest(entry, choices)}",
                hint="use a rule id as findings show it (pack/rule) or a bare rule id",
                location=where, layer=f"exception PolicyException/{name}"))
            continue
        fixed = sorted(q for q in found if not rules[q])
        if fixed:
            out.append(Finding(
                EXCEPTION_NOT_WAIVABLE, "warning",
                f"exception {name} names {', '.join(fixed)}, which cannot be waived "
                "(waivable: false); its findings stay in force",
                hint="remove the rule from the exception and fix the findings",
                location=where, layer=f"exception PolicyException/{name}"))
        covered.update(q for q in found if rules[q])
    return _Active(name, sdoc, selector_matcher(spec.selector), frozenset(covered))


def apply_exceptions(
    repo: FleetRepository,
    findings: Sequence[Finding],
    bots: Mapping[str, RenderedBot],
    rules: Mapping[str, bool],
    *,
    today: datetime.date,
) -> tuple[list[Finding], list[Finding]]:
    """Apply every PolicyException of ``repo`` to ``findings``.

    ``rules`` maps the qualified id of every rule in force to whether it is waivable; ``bots``
    are the bots by name. Returns (findings in force, including those about the exceptions;
    waived findings, each with ``waived_by``).
    """
    kept: list[Finding] = []
    waived: list[Finding] = []
    active: list[_Active] = []
    for _, sdoc in sorted(repo.policy_exceptions.items()):
        found = _check(sdoc, rules, today, kept)
        if found is not None:
            active.append(found)
    for finding in findings:
        relevant = [a for a in active if finding.rule in a.rules]
        if not relevant or not finding.bots:
            kept.append(finding)
            continue
        by_waiver: dict[str | None, list[str]] = {}
        for name in finding.bots:
            bot = bots.get(name)
            waiver: str | None = None
            for exc in relevant:
                if bot is not None and exc.scope.covers(bot):
                    exc.used = True
                    waiver = waiver or exc.name
            by_waiver.setdefault(waiver, []).append(name)
        for waiver, names in by_waiver.items():
            part = finding if len(by_waiver) == 1 else replace(
                finding, bots=tuple(names),
                fleets=tuple(sorted({bots[n].fleet for n in names if n in bots})))
            if waiver is None:
                kept.append(part)
            else:
                waived.append(replace(part, waived_by=waiver))
    for exc in active:
        if exc.rules and not exc.used:
            kept.append(Finding(
                EXCEPTION_UNUSED, "warning",
                f"exception {exc.name} waives nothing: no bot it selects has a finding of "
                f"{', '.join(sorted(exc.rules))}",
                hint="delete the exception if the findings are fixed, or correct its rules "
                     "and selector",
                location=exc.sdoc.loc("metadata", "name"),
                layer=f"exception PolicyException/{exc.name}"))
    return kept, waived
