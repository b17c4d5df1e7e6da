"""``molthub explain BOT PATH``: every layer that set, overrode, merged or deleted a config
value of one bot, in order, with file:line, and the final value.

The bot is rendered again in trace mode (no caching; the engine reports the state after
every layer), and each layer's effect on the path is classified:

* ``set`` -- the value appears; ``override`` -- a different value replaces it;
* ``merge`` -- a map is merged into the map there; ``append`` / ``prepend`` / ``union`` /
  ``mergeBy`` -- a list is combined by that strategy;
* ``delete`` -- a ``null`` removes it; ``unchanged`` -- the layer writes the value it already
  had (a locked path may be written this way).

Each step's ``value`` is the value at the path after that layer (:data:`ABSENT` after a delete).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from molthub_gitops.errors import InputError, Problem
from molthub_gitops.model.documents import Fleet
from molthub_gitops.model.repository import FleetRepository, PathKey, SourceDoc
from molthub_gitops.render.canonical import canonical_text
from molthub_gitops.render.engine import Renderer
from molthub_gitops.render.layers import PreparedLayer
from molthub_gitops.render.merge import MergeState, json_equal, origin_at, strategy_for
from molthub_gitops.render.paths import format_path, parse_user_path
from molthub_gitops.render.types import Origin

__all__ = ["ABSENT", "ExplainStep", "Explanation", "explain"]


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()
"""The value of a path that does not exist."""


@dataclass(frozen=True)
class ExplainStep:
    """What one layer did to the value."""

    origin: Origin
    action: str
    value: Any


@dataclass(frozen=True)
class Explanation:
    """The whole chain for one bot and config path."""

    bot: str
    fleet: str
    path: PathKey
    steps: tuple[ExplainStep, ...]
    final: Any
    """The rendered value, or :data:`ABSENT`."""

    @property
    def present(self) -> bool:
        return self.final is not ABSENT

    def format(self) -> str:
        """Plain-text report, one line per step."""
        lines = [f"bot {self.bot} (fleet {self.fleet}), config path {format_path(self.path)}:"]
        for i, step in enumerate(self.steps, 1):
            lines.append(
                f"  {i}. {step.action:<9} {step.origin.layer:<8} {step.origin.document}  "
                f"{step.origin.location}  {_show(step.value)}"
            )
        if not self.steps:
            lines.append("  (no layer sets it)")
        lines.append(f"final: {_show(self.final)}")
        return "\n".join(lines)


def _show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    text = canonical_text(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _get(value: Any, segments: tuple[str, ...]) -> tuple[Any, PathKey]:
    """Value at a user path (numeric segments index lists) and the concrete path."""
    path: list[str | int] = []
    for seg in segments:
        if type(value) is dict and seg in value:
            value = value[seg]
            path.append(seg)
        elif type(value) is list and seg.isdigit() and int(seg) < len(value):
            value = value[int(seg)]
            path.append(int(seg))
        else:
            return ABSENT, ()
    return value, tuple(path)


def _writes(raw: Any, segments: tuple[str, ...]) -> bool:
    """Whether a layer's raw config writes at the path or an ancestor (or below it)."""
    for seg in segments:
        if type(raw) is dict:
            if seg not in raw:
                return False
            raw = raw[seg]
        elif type(raw) is list:
            if not seg.isdigit() or int(seg) >= len(raw):
                return False
            raw = raw[int(seg)]
        else:
            return True
    return True


def _find_bot(repo: FleetRepository, bot: str) -> tuple[SourceDoc[Fleet], int]:
    names = []
    for fleet in repo.fleets.values():
        for i, b in enumerate(fleet.doc.spec.bots):
            if b.name == bot:
                return fleet, i
            names.append(b.name)
    close = difflib.get_close_matches(bot, names, n=3)
    raise InputError([Problem(
        "unknown-bot", f"no bot named {bot!r} in {repo.source}", None,
        f"did you mean {', '.join(repr(c) for c in close)}?" if close else
        "`molthub render` lists every bot; names are case-sensitive",
    )])


def _all_paths(value: Any, prefix: PathKey = ()) -> list[str]:
    out = [format_path(prefix)] if prefix else []
    if type(value) is dict:
        for k, v in value.items():
            out.extend(_all_paths(v, (*prefix, k)))
    elif type(value) is list:
        for i, v in enumerate(value):
            out.extend(_all_paths(v, (*prefix, i)))
    return out


def explain(repo: FleetRepository, bot: str, path: str) -> Explanation:
    """Explain how ``bot``'s config value at ``path`` (``gateway.port``, ``agents.list[0].id``
    or ``agents.list.0.id``) came about. Unknown bots and paths raise :class:`InputError`
    with close-name suggestions; problems that stop the bot from rendering are raised too
    (locked-path and Jinja problems are not: the chain is what helps to fix them)."""
    fleet, _index = _find_bot(repo, bot)
    try:
        segments = parse_user_path(path)
    except ValueError as exc:
        raise InputError([Problem("bad-config-path", str(exc))]) from None
    records: list[tuple[PreparedLayer, MergeState, MergeState]] = []
    renderer = Renderer(repo, trace=lambda layer, before, after: records.append(
        (layer, before, after)))
    plans = renderer.plan_fleet(fleet, {bot})
    if renderer.issues or not plans:
        raise InputError(renderer.issues.problems())
    final_state = renderer.merge_bot(plans[0])
    steps = []
    seen = False
    for layer, before, after in records:
        old, _ = _get(before.value, segments)
        new, concrete = _get(after.value, segments)
        wrote = _writes(layer.raw, segments)
        if old is ABSENT and new is ABSENT:
            continue
        seen = True
        if old is ABSENT:
            action = "set"
        elif new is ABSENT:
            action = "delete"
        elif json_equal(old, new):
            if not wrote:
                continue
            action = "unchanged"
        elif type(old) is dict and type(new) is dict and type(_get(layer.raw, segments)[0]) is dict:
            action = "merge"
        elif type(old) is list and type(new) is list:
            action = _list_action(after, concrete, old, new)
        else:
            action = "override"
        origin = origin_at(after.value, after.origins, concrete) if new is not ABSENT else None
        if origin is None or origin.document != layer.document or origin.layer != layer.kind:
            origin = layer.origin_at(tuple(concrete) if concrete else segments)
        steps.append(ExplainStep(origin, action, new))
    final, _ = _get(final_state.value, segments)
    if not seen:
        candidates = _all_paths(final_state.value)
        close = difflib.get_close_matches(".".join(segments), candidates, n=3, cutoff=0.5)
        raise InputError([Problem(
            "unknown-config-path",
            f"bot {bot}: no layer sets the config path {'.'.join(segments)}",
            None,
            f"did you mean {', '.join(close)}?" if close else
            "paths are dotted keys, e.g. gateway.port or agents.list[0].id",
        )])
    _, concrete_final = _get(final_state.value, segments)
    shown: PathKey = concrete_final or tuple(int(s) if s.isdigit() else s for s in segments)
    return Explanation(bot, fleet.name, shown, tuple(steps), final)


def _list_action(after: MergeState, concrete: PathKey, old: list[Any], new: list[Any]) -> str:
    rule = strategy_for(after.strategies, tuple(s for s in concrete if isinstance(s, str)))
    if rule is not None:
        return rule.strategy
    n = len(old)
    if len(new) > n and all(json_equal(a, b) for a, b in zip(old, new[:n], strict=True)):
        return "append"
    if len(new) > n and all(json_equal(a, b) for a, b in zip(old, new[len(new) - n:], strict=True)):
        return "prepend"
    return "override"
