"""The input of every report format: what one ``molthub validate`` / ``molthub diff`` run found.

Built by the repo layer's pipeline (which reads files and Git) and handed to the pure report
formatters; nothing here does I/O. ``exit_code`` applies the contract of DESIGN.md: 0 clean,
1 findings at or above ``fail_on`` (``validate``) or differences (``diff``), 2 input that
could not be processed. Differences alone never fail ``validate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from molthub_gitops.errors import Problem
from molthub_gitops.plan.types import RevisionDiff
from molthub_gitops.policy.findings import PolicyResult, Severity

__all__ = ["EXIT_ACT", "EXIT_INPUT", "EXIT_OK", "Outcome"]

EXIT_OK = 0
EXIT_ACT = 1
EXIT_INPUT = 2


@dataclass(frozen=True)
class Outcome:
    """One run's results, ready to format."""

    command: Literal["validate", "diff"]
    source: str
    """The repository as given (path, and ``@rev`` when read from Git)."""
    fail_on: Severity = "error"
    """Effective threshold: ``--fail-on`` or else the Repository's ``failOn``."""
    stage: str = "done"
    """How far it got: ``load``, ``render``, ``schema``, ``policy``, ``base`` or ``done``."""
    problems: tuple[Problem, ...] = ()
    """Input that could not be processed (exit 2): load, render, schema, policy definition
    errors, or a base revision that cannot be read."""
    bots: int = 0
    fleets: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    openclaw_versions: tuple[str, ...] = ()
    policy: PolicyResult | None = None
    """None when policy did not run (``diff``, or an earlier stage failed)."""
    diff: RevisionDiff | None = None
    """None without ``--base``."""
    path_prefix: str = ""
    """Folder of the config repository inside its Git work tree (``example-repo/``), or "".
    File paths in findings and problems are relative to the config repository; SARIF and
    GitHub annotations need them relative to the work tree, so they prepend this."""
    tool_version: str = "0"
    """molthub-gitops version (SARIF ``tool.driver.version``)."""

    @property
    def exit_code(self) -> int:
        if self.problems:
            return EXIT_INPUT
        if self.command == "diff":
            return EXIT_ACT if self.diff is not None and not self.diff.empty else EXIT_OK
        if self.policy is not None and self.policy.failing(self.fail_on):
            return EXIT_ACT
        return EXIT_OK
