"""What planning produces: the per-bot difference between two desired states, and waves.

A :class:`RevisionDiff` compares the rendered bots of a base and a head revision (a pull
request): bots added, removed and changed, each change with its path and before/after
values (secrets already redacted), config hashes, a blast radius, and the rollout waves each
touched fleet's strategy would produce. The sync daemon plans its rollouts with the same
:class:`Wave` type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from molthub_gitops.errors import Location

__all__ = [
    "BlastRadius",
    "BotChange",
    "ChangeKind",
    "FleetWaves",
    "PathChange",
    "RevisionDiff",
    "Wave",
]

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class PathChange:
    """One config path whose value differs. ``before``/``after`` are JSON values with every
    literal secret replaced by ``<redacted>``; ``present_before``/``present_after`` say whether
    the path exists on that side (so ``null`` values and absence are told apart)."""

    path: str
    """Display form (``channels.telegram.dmPolicy``, ``agents.list[0].id``)."""
    kind: ChangeKind
    before: Any = None
    after: Any = None
    location: Location | None = None
    """Head side: the file:line of the layer that set the new value (None for a removal)."""

    @property
    def present_before(self) -> bool:
        return self.kind != "added"

    @property
    def present_after(self) -> bool:
        return self.kind != "removed"


@dataclass(frozen=True)
class BotChange:
    """One bot that differs between base and head."""

    name: str
    fleet: str
    environment: str
    kind: ChangeKind
    hash_before: str | None
    hash_after: str | None
    changes: tuple[PathChange, ...] = ()
    """Changed config paths, sorted by path (empty for added/removed bots: their whole config
    is new or gone)."""
    other_changes: tuple[str, ...] = ()
    """Changes outside the config that still matter (``openclawVersion 2026.3.31 ->
    2026.9.6``, ``gateway URL``, ``target``, ``labels``, ``fleet``), as short text."""


@dataclass(frozen=True)
class Wave:
    """One step of a rollout: the bots changed together, then gated on health."""

    index: int
    """1-based."""
    kind: Literal["all", "canary", "batch"]
    bots: tuple[str, ...]
    bake_seconds: float = 0.0
    """Time the wave must stay healthy before the next one starts (canary bake)."""
    pause_seconds: float = 0.0
    """Pause before the next wave (``pauseBetweenBatches``)."""


@dataclass(frozen=True)
class FleetWaves:
    """The rollout waves of one fleet for a set of changed bots."""

    fleet: str
    strategy: Literal["all", "percentage", "canary"]
    waves: tuple[Wave, ...]


@dataclass(frozen=True)
class BlastRadius:
    """How much of the fleet a change touches."""

    bots: int
    fleets: tuple[str, ...]
    environments: tuple[str, ...]
    bots_total: int
    """Bots on the head side (for ``3 of 36``)."""


@dataclass(frozen=True)
class RevisionDiff:
    """Base versus head."""

    base: str
    """What the base is (the ref as given, and its commit id when known)."""
    head: str
    bots: tuple[BotChange, ...]
    """Bots that differ, ordered by (fleet, name)."""
    unchanged: int
    """Bots present on both sides with identical config hash and identity."""
    blast_radius: BlastRadius
    waves: tuple[FleetWaves, ...]
    """Per touched fleet (head side), ordered by fleet name; removed bots are not in waves."""

    @property
    def empty(self) -> bool:
        return not self.bots

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for b in self.bots if b.kind == kind)
