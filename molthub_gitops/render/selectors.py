"""Selectors: which bots an overlay (or anything else with a :class:`Selector`) applies to.

Every field given must match (AND); within a list any entry may match (OR). ``fleets`` and
``bots`` are globs (``*``, ``?``, ``[abc]``, case-sensitive); ``environments`` are exact names;
``matchLabels`` must all be present with equal values among the fleet's and bot's labels. An
empty selector matches every bot.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence

from molthub_gitops.model.documents import Selector

__all__ = ["SelectorMatcher", "glob_matcher"]


def glob_matcher(globs: Sequence[str]) -> re.Pattern[str] | None:
    """One compiled regex matching any of ``globs``; None when the list is empty (any)."""
    if not globs:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in globs))


class SelectorMatcher:
    """A compiled selector."""

    __slots__ = ("_bots", "_environments", "_fleets", "_labels")

    def __init__(self, selector: Selector) -> None:
        self._fleets = glob_matcher(selector.fleets)
        self._bots = glob_matcher(selector.bots)
        self._environments = frozenset(selector.environments)
        self._labels = tuple(sorted(selector.match_labels.items()))

    def matches_fleet(self, fleet: str, environment: str) -> bool:
        """The fleet/environment part of the selector (true for every bot when it matches and
        the selector names no bots or labels)."""
        if self._fleets is not None and self._fleets.match(fleet) is None:
            return False
        return not (self._environments and environment not in self._environments)

    @property
    def names_bots(self) -> bool:
        """Whether the selector looks at bot names (not only at labels)."""
        return self._bots is not None

    def matches_bot(self, bot: str, labels: Mapping[str, str]) -> bool:
        """The bot part of the selector (names and labels)."""
        if self._bots is not None and self._bots.match(bot) is None:
            return False
        return all(labels.get(k) == v for k, v in self._labels)

    def matches(self, fleet: str, environment: str, bot: str, labels: Mapping[str, str]) -> bool:
        return self.matches_fleet(fleet, environment) and self.matches_bot(bot, labels)
