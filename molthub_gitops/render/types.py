"""Values produced by rendering: who set a value (:class:`Origin`), rendered bots, results."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from molthub_gitops.errors import Location
from molthub_gitops.model.documents import GatewayAccess, RolloutSpec, Target
from molthub_gitops.model.repository import PathKey

__all__ = ["LayerKind", "Origin", "PathKey", "RenderResult", "RenderedBot", "config_from_json"]

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
    modify their copy. (The renderer passes it as canonical JSON text, see
    :func:`config_from_json`: the dict is built on first access and kept.)

    ``provenance`` maps every leaf path of ``config`` (dict keys and list indices; empty dicts
    and lists count as leaves) to the :class:`Origin` that set it. It is computed lazily on
    first use; ``provenance.find(path)`` also answers for inner paths.
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
    section_values: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The value of each top-level config section as the renderer holds it (a cache the schema
    check uses; may be empty). Parts are shared with other bots and the renderer's caches:
    read only; use ``config`` for a copy of your own."""


class _JSONText:
    """A config not built yet: its canonical JSON text (see :func:`config_from_json`)."""

    __slots__ = ("keep", "text")

    def __init__(self, text: str, keep: bool = True) -> None:
        self.text = text
        self.keep = keep


def config_from_json(text: str, *, keep: bool = True) -> dict[str, Any]:
    """A value for :attr:`RenderedBot.config` that is decoded from ``text`` on first access
    (and kept; with ``keep=False`` decoded again on every access, so a long-lived bot holds
    only the text: the sync daemon keeps thousands).

    (Typed as the dict it stands for: only :class:`RenderedBot` ever sees the wrapper.)
    """
    return cast(dict[str, Any], _JSONText(text, keep))


class _LazyConfig:
    """Data descriptor behind :attr:`RenderedBot.config`: stores what ``__init__`` was given
    in the instance ``__dict__`` and decodes a :func:`config_from_json` value on first read,
    so bots whose config is never looked at (the schema check reads section texts) never
    build it. Reading and equality behave as for a plain field."""

    def __get__(self, obj: object, owner: type | None = None) -> dict[str, Any]:
        if obj is None:
            raise AttributeError("config")
        d = obj.__dict__
        value = d["config"]
        if type(value) is _JSONText:
            keep = value.keep
            value = json.loads(value.text)
            if keep:
                d["config"] = value
        return cast(dict[str, Any], value)

    def __set__(self, obj: object, value: dict[str, Any]) -> None:
        obj.__dict__["config"] = value


# Installed after the dataclass is built, so the field keeps no default (dataclasses read the
# class attribute as the default); the generated __init__, __eq__ and __repr__ go through it.
RenderedBot.config = _LazyConfig()  # type: ignore[assignment]


@dataclass(frozen=True)
class RenderResult:
    """Every rendered bot, ordered by (fleet, bot name)."""

    bots: tuple[RenderedBot, ...]

    def by_name(self) -> dict[str, RenderedBot]:
        return {b.name: b for b in self.bots}
