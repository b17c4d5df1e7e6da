"""Which bots a policy pack (``appliesTo``) or a PolicyException (``selector``) covers.

``appliesTo``: ``environments`` are exact names, ``fleets`` are globs, ``matchLabels`` must all
be present with equal values among the bot's labels (fleet labels included); every field given
must match, and an empty ``appliesTo`` covers every bot. Exception selectors are ordinary
:class:`~molthub_gitops.model.documents.Selector` values, matched by the renderer's own
:class:`~molthub_gitops.render.selectors.SelectorMatcher`, so overlays and exceptions pick bots
the same way.
"""

from __future__ import annotations

from molthub_gitops.model.documents import AppliesTo, Selector
from molthub_gitops.render.selectors import SelectorMatcher
from molthub_gitops.render.types import RenderedBot

__all__ = ["BotScope", "applies_to_matcher", "selector_matcher"]


class BotScope:
    """A compiled ``appliesTo`` or selector: ``covers(bot)``; ``everything`` when empty."""

    __slots__ = ("_fleets", "_labels", "_matcher", "_per_bot", "everything")

    def __init__(self, selector: Selector) -> None:
        self._matcher = SelectorMatcher(selector)
        self.everything = selector == Selector()
        """Whether the scope covers every bot (no field given)."""
        self._per_bot = bool(selector.bots or selector.match_labels)
        self._labels = tuple(selector.match_labels.items())
        self._fleets: dict[tuple[str, str], bool] = {}

    def covers(self, bot: RenderedBot) -> bool:
        if self.everything:
            return True
        key = (bot.fleet, bot.environment)
        fleet_ok = self._fleets.get(key)
        if fleet_ok is None:
            fleet_ok = self._fleets[key] = self._matcher.matches_fleet(*key)
        if not fleet_ok or not self._per_bot:
            return fleet_ok
        return self._matcher.matches_bot(bot.name, bot.labels)


def applies_to_matcher(applies_to: AppliesTo) -> BotScope:
    """The bots a pack's ``appliesTo`` picks."""
    return BotScope(Selector(
        environments=list(applies_to.environments),
        fleets=list(applies_to.fleets),
        match_labels=dict(applies_to.match_labels),
    ))


def selector_matcher(selector: Selector) -> BotScope:
    """The bots an exception's selector picks."""
    return BotScope(selector)
