"""Values produced by rendering: who set a value (:class:`Origin`), rendered bots, results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from molthub_gitops.errors import Location
from molthub_gitops.model.documents import GatewayAccess, RolloutSpec, Target
from molthub_gitops.model.repository import PathKey

__all__ = ["LayerKind", "Origin", "PathKey", "RenderResult", "RenderedBot"]

LayerKind = Literal["template", "profile", "overlay", "bot"]


@dataclass(frozen=True, slots=True)
class Origin:
    """Who set a value: the layer, its document (``Profile/hardening``; ``Fleet/<fleet>`` for a
    bot's own config) and the file:line:col of the key (or list item) that set it."""

    layer: str
    document: str
    location: Location

    def __str__(self) -> str:
        return f"{self.layer} {self.document} ({self.location})"


@dataclass(frozen=True)
class RenderedBot:
    """One bot, fully rendered: identity, where it runs, how to reach it, and its config.

    ``config`` is a fresh JSON-ready dict with keys in canonical (sorted) order; callers may
    modify their copy. ``provenance`` maps every leaf path of ``config`` (dict keys and list
    indices; empty dicts and lists count as leaves) to the :class:`Origin` that set it. It is
    computed lazily on first use; ``provenance.find(path)`` also answers for inner paths.
    """

    name: str
    fleet: str
    environment: str
    labels: Mapping[str, str]
    template: str
    profiles: tuple[str, ...]
    overlays: tuple[str, ...]
    openclaw_version: str
    target: Target
    gateway: GatewayAccess
    gateway_url: str
    rollout: RolloutSpec
    config: dict[str, Any]
    config_hash: str
    provenance: Mapping[PathKey, Origin] = field(repr=False, compare=False)
    location: Location
    openclaw_version_location: Location | None = field(default=None, compare=False)
    """Where the fleet pins ``openclawVersion`` (for version problems)."""
    section_json: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    """Canonical JSON text of each top-level config section (a cache the schema check uses;
    may be empty)."""


@dataclass(frozen=True)
class RenderResult:
    """Every rendered bot, ordered by (fleet, bot name)."""

    bots: tuple[RenderedBot, ...]

    def by_name(self) -> dict[str, RenderedBot]:
        return {b.name: b for b in self.bots}
