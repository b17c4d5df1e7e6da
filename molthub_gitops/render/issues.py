"""Problems found while rendering, grouped across bots so a shared mistake is reported once.

An :class:`Issue` is a problem without the bot's name; :class:`IssueCollector` records which
bots hit it and turns each distinct issue into one :class:`~molthub_gitops.errors.Problem`
whose message starts with the bots concerned ("bot a", "bots a, b and 98 more").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from molthub_gitops.errors import Location, Problem

__all__ = ["Issue", "IssueCollector", "bots_phrase"]

_NAMED_BOTS = 3


@dataclass(frozen=True)
class Issue:
    """One problem, independent of which bot met it."""

    code: str
    message: str
    location: Location | None = None
    hint: str = ""
    related: tuple[Location, ...] = field(default=())


def bots_phrase(bots: list[str]) -> str:
    """``["a"]`` -> ``"bot a"``; many -> ``"bots a, b, c and 7 more"``."""
    if len(bots) == 1:
        return f"bot {bots[0]}"
    shown = ", ".join(bots[:_NAMED_BOTS])
    rest = len(bots) - _NAMED_BOTS
    return f"bots {shown} and {rest} more" if rest > 0 else f"bots {shown}"


class IssueCollector:
    """Collects issues and the bots they concern, in first-seen order."""

    def __init__(self) -> None:
        self._bots: dict[Issue, list[str]] = {}
        self._seen: set[tuple[Issue, str]] = set()

    def add(self, issue: Issue, bot: str = "") -> None:
        bots = self._bots.setdefault(issue, [])
        if bot and (issue, bot) not in self._seen:
            self._seen.add((issue, bot))
            bots.append(bot)

    def extend(self, issues: Iterable[Issue], bot: str = "") -> None:
        for issue in issues:
            self.add(issue, bot)

    def __bool__(self) -> bool:
        return bool(self._bots)

    def problems(self) -> list[Problem]:
        out = []
        for issue, bots in self._bots.items():
            message = f"{bots_phrase(bots)}: {issue.message}" if bots else issue.message
            out.append(Problem(issue.code, message, issue.location, issue.hint, issue.related))
        return out
