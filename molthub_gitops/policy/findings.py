"""What policy evaluation produces: findings (with provenance) and the result of a run.

A :class:`Finding` says which rule, how bad, which bots, which config path, what is wrong,
how to fix it, and the file:line of the layer that set the offending value, so an
annotation lands on the line a reviewer must change. The same finding on many bots from one
source line is one finding listing every bot. Findings never hold a secret value: messages
show values through :func:`molthub_gitops.model.sensitive.redact_value`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from molthub_gitops.errors import Location

__all__ = [
    "SEVERITIES",
    "Finding",
    "PolicyResult",
    "RuleInfo",
    "Severity",
    "at_or_above",
    "sorted_findings",
]

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
"""Severities, worst first."""

_RANK = {"error": 0, "warning": 1, "info": 2}


def at_or_above(severity: str, threshold: str) -> bool:
    """Whether ``severity`` is ``threshold`` or worse (``error`` is worst)."""
    return _RANK[severity] <= _RANK[threshold]


@dataclass(frozen=True)
class Finding:
    """One rule broken, by one or more bots, from one place in the repository."""

    rule: str
    """Qualified rule id: ``<pack>/<rule id>`` (``security-baseline/gateway-bind-no-auth``)."""
    severity: Severity
    message: str
    """What is wrong, without bot names (so identical findings group) and without secrets."""
    bots: tuple[str, ...] = ()
    """Bots that break the rule here, sorted. Empty for findings about a document (an expired
    exception, say)."""
    fleets: tuple[str, ...] = ()
    """Fleets of those bots, sorted."""
    path: str = ""
    """Config path, display form (``channels.telegram.dmPolicy``); empty when not about one
    path."""
    hint: str = ""
    """How to fix it."""
    location: Location | None = None
    """Where to fix it: the file:line:col of the layer that set the offending value (from
    provenance), or of the nearest layer that set an ancestor when the value is missing;
    for document findings, the document's offending line."""
    layer: str = ""
    """The layer at ``location``, e.g. ``template Template/telegram-support``."""
    related: tuple[Location, ...] = ()
    """Other places involved (the other bot of a duplicate port, the rule's definition...)."""
    waived_by: str | None = field(default=None, compare=False)
    """Name of the PolicyException that waives this finding, if any."""

    @property
    def pack(self) -> str:
        return self.rule.split("/", 1)[0]

    @property
    def rule_id(self) -> str:
        return self.rule.split("/", 1)[-1]

    def sort_key(self) -> tuple[int, str, int, int, str, str, tuple[str, ...]]:
        loc = self.location or Location("")
        return (_RANK[self.severity], loc.file, loc.line, loc.column, self.rule, self.path,
                self.bots)


@dataclass(frozen=True)
class RuleInfo:
    """Metadata of one rule in force (for SARIF rule descriptors and the reference page)."""

    rule: str
    """Qualified id ``<pack>/<rule id>``."""
    type: str
    severity: Severity
    description: str = ""
    rationale: str = ""
    fix: str = ""
    path: str = ""
    location: Location | None = None
    """Where the rule is defined (None for built-in packs)."""


@dataclass(frozen=True)
class PolicyResult:
    """Everything one policy run found.

    ``findings`` are in force; ``waived`` are findings a valid PolicyException covers (each
    with ``waived_by``), counted and listed separately, never hidden. Problems with the
    exceptions themselves (expired: error; matching nothing: warning) are ordinary findings
    of the rules ``policy/exception-expired`` and ``policy/exception-unused``.
    """

    findings: tuple[Finding, ...] = ()
    waived: tuple[Finding, ...] = ()
    rules: tuple[RuleInfo, ...] = ()
    """Every rule evaluated, sorted by qualified id."""
    bots_checked: int = 0

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def failing(self, fail_on: str) -> tuple[Finding, ...]:
        """Findings at or above ``fail_on``."""
        return tuple(f for f in self.findings if at_or_above(f.severity, fail_on))


def sorted_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """``findings`` in report order: worst first, then by file and line."""
    return tuple(sorted(findings, key=Finding.sort_key))

