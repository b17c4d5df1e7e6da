"""Rollout waves: the order in which a fleet's changed bots are updated, by its strategy.

The one definition used by the PR diff (what a merge would do) and by the sync daemon (what
it does). Given the fleet's :class:`~molthub_gitops.model.documents.RolloutSpec` and the bots
that change, :func:`plan_waves` returns the waves, deterministically (bots ordered by name):

* ``all``: one wave holding every bot.
* ``percentage``: batches of ``rollout.batch`` bots: a count (``5``), or a percentage of the
  bots being rolled out (``"25%"`` of 10 -> 3), rounded up and at least 1.
* ``canary``: first a canary wave, then the remaining bots in batches as for ``percentage``
  (a percentage is of *all* the bots being rolled out, canaries included, so the batch size
  does not depend on how many canaries there were).

Canary choice and edge cases:

* ``canary.bots`` names the canaries: those among the changed bots form the canary wave
  (in name order; named canaries that do not change are simply not in it).
* When no named canary changes (or none are named), the first ``canary.count`` changed bots
  by name are the canaries; if bots are named but none changed and no count is set, the first
  changed bot is the canary: a canary strategy always starts with a canary wave, so a change
  is never rolled out to everything without a bake.
* More canaries than changed bots: the canary wave holds them all and no batch follows.
* No bots: no waves (an empty tuple), whatever the strategy.

Timing: the canary wave carries ``bake_seconds`` (``canary.bake``) and no pause; every batch
wave followed by another wave carries ``pause_seconds`` (``pauseBetweenBatches``); the last
wave has neither pause nor bake beyond its own (an ``all`` wave has none).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from molthub_gitops.model.documents import RolloutSpec, parse_duration
from molthub_gitops.plan.types import FleetWaves, Wave

__all__ = ["batch_size", "plan_waves"]


def batch_size(batch: str | int, total: int) -> int:
    """Bots per batch: a count as given, or a percentage of ``total`` rounded up; >= 1."""
    if isinstance(batch, int):
        return max(1, batch)
    percent = int(batch.rstrip("%"))
    return max(1, math.ceil(total * percent / 100))


def _batches(bots: Sequence[str], size: int, first_index: int, pause: float) -> list[Wave]:
    waves: list[Wave] = []
    for start in range(0, len(bots), size):
        chunk = tuple(bots[start:start + size])
        waves.append(Wave(first_index + len(waves), "batch", chunk, 0.0, pause))
    return waves


def _canaries(rollout: RolloutSpec, ordered: Sequence[str]) -> tuple[str, ...]:
    canary = rollout.canary
    named = set(canary.bots) if canary is not None else set()
    chosen = tuple(b for b in ordered if b in named)
    if chosen:
        return chosen
    count = canary.count if canary is not None and canary.count is not None else 1
    return tuple(ordered[:count])


def plan_waves(fleet: str, rollout: RolloutSpec, bots: Sequence[str]) -> FleetWaves:
    """The waves that roll out the changed ``bots`` of ``fleet`` under ``rollout``."""
    ordered = sorted(set(bots))
    strategy = rollout.strategy
    if not ordered:
        return FleetWaves(fleet, strategy, ())
    if strategy == "all":
        return FleetWaves(fleet, strategy, (Wave(1, "all", tuple(ordered)),))
    pause = parse_duration(rollout.pause_between_batches)
    size = batch_size(rollout.batch, len(ordered))
    waves: list[Wave] = []
    rest: Sequence[str] = ordered
    if strategy == "canary":
        canaries = _canaries(rollout, ordered)
        bake = parse_duration(rollout.canary.bake) if rollout.canary is not None else 0.0
        waves.append(Wave(1, "canary", canaries, bake, 0.0))
        chosen = set(canaries)
        rest = [b for b in ordered if b not in chosen]
    waves.extend(_batches(rest, size, len(waves) + 1, pause))
    if waves and waves[-1].kind == "batch" and waves[-1].pause_seconds:
        last = waves[-1]
        waves[-1] = Wave(last.index, last.kind, last.bots, last.bake_seconds, 0.0)
    return FleetWaves(fleet, strategy, tuple(waves))
