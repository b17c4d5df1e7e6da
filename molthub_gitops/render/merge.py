"""Merging one layer into the config built so far, with provenance, strategies and locks.

Values are never modified in place: a merge copies the dicts and lists along the paths the
layer touches and shares everything else. That keeps merged states safe to cache and share
between bots (see :mod:`molthub_gitops.render.engine`).

* Maps merge deeply; a ``null`` in a layer deletes the key (it stays deleted unless a later
  layer sets it); ``null`` inside a value a layer adds is dropped.
* Lists replace, unless the strategy for the list's path says ``append``, ``prepend``,
  ``union`` (keep order, drop later duplicates by canonical JSON) or ``mergeBy: key`` (items
  matched by ``key`` merge deeply, new keys are appended; an item without the key is an
  error at its location). The strategy of a path is the most specific matching pattern
  (fewest ``*``) among those declared so far; between equals, the latest declaration.
* A locked path changed by a later layer (a different value, a deletion, added keys) is an
  error naming the lock, the place that set the value, and the change. Setting the identical
  value is allowed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from molthub_gitops.model.repository import PathKey
from molthub_gitops.render.issues import Issue
from molthub_gitops.render.paths import format_path, pattern_matches, pattern_specificity
from molthub_gitops.render.provenance import (
    MISSING,
    ODict,
    OList,
    ONode,
    child_origin,
    container_origin,
    step,
)
from molthub_gitops.render.types import Origin

__all__ = [
    "Deferred",
    "LockRule",
    "MergeState",
    "StrategyRule",
    "json_equal",
    "merge_layer",
    "select",
    "strategy_for",
    "touches",
]


class Deferred:
    """Base of placeholder values known only per bot (templates that read ``bot``).

    The engine merges layers with placeholders so that merged states can be shared between
    bots, and puts the rendered values in at the end. Where a placeholder's value would
    matter to the merge itself (a locked path compared, a ``union`` or ``mergeBy`` comparing
    items), the merge marks its result *inexact* and the engine renders that bot again the
    exact way (templates rendered before merging).
    """

    __slots__ = ()


def contains_deferred(value: Any) -> bool:
    if isinstance(value, Deferred):
        return True
    if type(value) is dict:
        return any(contains_deferred(v) for v in value.values())
    if type(value) is list:
        return any(contains_deferred(v) for v in value)
    return False


class _Inexact(Exception):
    """A placeholder's value was needed to merge."""


def _refuse(obj: Any) -> Any:
    if isinstance(obj, Deferred):
        raise _Inexact
    raise TypeError(type(obj).__name__)


_KEY_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                default=_refuse)


def _key_text(value: Any) -> str:
    """Canonical text used to compare list items (lenient about NaN: a layer holding one is
    reported separately); raises _Inexact when a placeholder is involved."""
    try:
        return _KEY_ENCODER.encode(value)
    except TypeError:
        return repr(value)


@dataclass(frozen=True, slots=True)
class StrategyRule:
    """A list merge strategy declared by a layer for a path pattern."""

    pattern: tuple[str, ...]
    strategy: str
    """replace | append | prepend | union | mergeBy"""
    key: str
    """The key of ``mergeBy`` (empty otherwise)."""
    origin: Origin
    """Where it was declared."""


@dataclass(frozen=True, slots=True)
class LockRule:
    """A locked path pattern and the profile entry that locked it."""

    pattern: tuple[str, ...]
    origin: Origin


@dataclass(frozen=True, slots=True)
class MergeState:
    """The config after some layers: value, origin tree, rules in force, issues so far."""

    value: dict[str, Any]
    origins: ONode | None
    strategies: tuple[StrategyRule, ...]
    locks: tuple[LockRule, ...]
    issues: tuple[Issue, ...]
    inexact: bool = False
    """A placeholder's value was needed (see :class:`Deferred`): render the bot exactly."""


EMPTY_STATE = MergeState({}, None, (), (), ())


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values that tells ``1``, ``1.0`` and ``true`` apart."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def touches(raw: dict[str, Any], pattern: tuple[str, ...]) -> bool:
    """Whether a layer's config writes at, above or below a path pattern (statically)."""
    nodes = [raw]
    for seg in pattern:
        nxt = []
        for node in nodes:
            keys = list(node) if seg == "*" else ([seg] if seg in node else [])
            for k in keys:
                v = node[k]
                if type(v) is dict:
                    nxt.append(v)
                else:
                    return True
        if not nxt:
            return False
        nodes = nxt
    return True


def select(tree: dict[str, Any], pattern: tuple[str, ...]) -> dict[PathKey, Any]:
    """Concrete paths matching ``pattern`` in ``tree`` -> their values."""
    current: list[tuple[PathKey, Any]] = [((), tree)]
    for seg in pattern:
        nxt: list[tuple[PathKey, Any]] = []
        for path, node in current:
            if type(node) is not dict:
                continue
            if seg == "*":
                nxt.extend(((*path, k), v) for k, v in node.items())
            elif seg in node:
                nxt.append(((*path, seg), node[seg]))
        current = nxt
    return dict(current)


def origin_at(value: Any, origins: ONode | None, path: PathKey) -> Origin | None:
    """Origin of the value at ``path`` (leaf or container), None when absent."""
    if origins is None:
        return None
    node: ONode = origins
    for seg in path:
        value = step(value, seg)
        if value is MISSING:
            return None
        node = child_origin(node, seg)
    return container_origin(node)


def strategy_for(
    strategies: tuple[StrategyRule, ...], path: tuple[str, ...]
) -> StrategyRule | None:
    """The strategy in force for a list at ``path``; None means replace."""
    best: StrategyRule | None = None
    best_rank = (-1, -1)
    for order, rule in enumerate(strategies):
        if pattern_matches(rule.pattern, path):
            rank = (pattern_specificity(rule.pattern), order)
            if rank > best_rank:
                best, best_rank = rule, rank
    if best is None or best.strategy == "replace":
        return None
    return best


class _Merger:
    __slots__ = ("issues", "strategies")

    def __init__(self, strategies: tuple[StrategyRule, ...]) -> None:
        self.strategies = strategies
        self.issues: list[Issue] = []

    def strategy_for(self, path: tuple[str, ...]) -> StrategyRule | None:
        return strategy_for(self.strategies, path)

    def merge_dict(
        self,
        cur: dict[str, Any],
        cur_o: ONode | None,
        raw: dict[str, Any],
        clean: dict[str, Any],
        raw_o: ONode,
        path: tuple[str, ...],
    ) -> tuple[dict[str, Any], ODict]:
        out = dict(cur)
        if isinstance(cur_o, ODict):
            children = dict(cur_o.children)
        elif cur_o is None:
            children = {}
        else:
            children = dict.fromkeys(cur, cur_o)
        for k, x in raw.items():
            if x is None:
                if k in out:
                    del out[k]
                    children.pop(k, None)
                continue
            x_o = child_origin(raw_o, k)
            old = out.get(k)
            tx = type(x)
            if tx is dict and type(old) is dict:
                out[k], children[k] = self.merge_dict(
                    old, children.get(k, x_o), x, clean[k], x_o, (*path, k)
                )
                continue
            if tx is list and type(old) is list and self.strategies:
                rule = self.strategy_for((*path, k))
                if rule is not None:
                    out[k], children[k] = self.merge_list(
                        old, children.get(k, x_o), x, clean[k], x_o, (*path, k), rule
                    )
                    continue
            out[k] = clean[k]
            children[k] = x_o
        return out, ODict(container_origin(raw_o), children)

    def merge_list(
        self,
        cur: list[Any],
        cur_o: ONode,
        raw: list[Any],
        clean: list[Any],
        raw_o: ONode,
        path: tuple[str, ...],
        rule: StrategyRule,
    ) -> tuple[list[Any], OList]:
        cur_children: list[ONode] = (
            list(cur_o.children) if isinstance(cur_o, OList) else [cur_o] * len(cur)
        )
        new_children: list[ONode] = (
            list(raw_o.children) if isinstance(raw_o, OList) else [raw_o] * len(raw)
        )
        own = container_origin(raw_o)
        if rule.strategy == "append":
            return cur + clean, OList(own, cur_children + new_children)
        if rule.strategy == "prepend":
            return clean + cur, OList(own, new_children + cur_children)
        if rule.strategy == "union":
            seen: set[str] = set()
            out: list[Any] = []
            out_o: list[ONode] = []
            for item, o in [*zip(cur, cur_children, strict=True),
                            *zip(clean, new_children, strict=True)]:
                text = _key_text(item)
                if text not in seen:
                    seen.add(text)
                    out.append(item)
                    out_o.append(o)
            return out, OList(own, out_o)
        return self.merge_by(cur, cur_children, raw, clean, new_children, own, path, rule)

    def merge_by(
        self,
        cur: list[Any],
        cur_children: list[ONode],
        raw: list[Any],
        clean: list[Any],
        new_children: list[ONode],
        own: Origin,
        path: tuple[str, ...],
        rule: StrategyRule,
    ) -> tuple[list[Any], OList]:
        key = rule.key
        out = list(cur)
        out_o = list(cur_children)
        index: dict[str, int] = {}
        for i, item in enumerate(cur):
            if type(item) is dict and item.get(key) is not None:
                index.setdefault(_key_text(item[key]), i)
            else:
                self._missing_key(container_origin(cur_children[i]), path, rule)
        for item, item_clean, o in zip(raw, clean, new_children, strict=True):
            if type(item) is not dict or item.get(key) is None:
                self._missing_key(container_origin(o), path, rule)
                out.append(item_clean)
                out_o.append(o)
                continue
            text = _key_text(item[key])
            at = index.get(text)
            if at is None or type(out[at]) is not dict:
                index[text] = len(out)
                out.append(item_clean)
                out_o.append(o)
            else:
                out[at], out_o[at] = self.merge_dict(out[at], out_o[at], item, item_clean, o, path)
        return out, OList(own, out_o)

    def _missing_key(self, where: Origin, path: tuple[str, ...], rule: StrategyRule) -> None:
        self.issues.append(Issue(
            "render-merge-by-key",
            f"the list {format_path(path)} merges items by {rule.key!r} (mergeStrategies of "
            f"{rule.origin.document}), but this item is not an object with a {rule.key!r}",
            where.location,
            hint=f"give every item a {rule.key!r}, or change the merge strategy",
            related=(rule.origin.location,),
        ))


LocationOf = Callable[[PathKey], Origin]
"""Maps a concrete config path to the layer's origin for a change there (nearest key)."""


def merge_layer(
    state: MergeState,
    raw: dict[str, Any],
    clean: dict[str, Any],
    origins: ODict,
    *,
    strategies: tuple[StrategyRule, ...] = (),
    locks: tuple[LockRule, ...] = (),
    change_origin: LocationOf,
    extra_issues: tuple[Issue, ...] = (),
) -> MergeState:
    """``state`` with one layer merged on top.

    ``strategies`` and ``locks`` are the layer's own declarations: strategies apply from this
    layer on, locks from the next layer on. ``change_origin`` locates a change to a locked
    path in the layer's source.
    """
    all_strategies = state.strategies + strategies if strategies else state.strategies
    merger = _Merger(all_strategies)
    inexact = state.inexact
    try:
        value, value_o = merger.merge_dict(state.value, state.origins, raw, clean, origins, ())
    except _Inexact:
        return MergeState(state.value, state.origins, all_strategies, state.locks, state.issues,
                          inexact=True)
    issues = list(merger.issues)
    for lock in state.locks:
        if touches(raw, lock.pattern):
            try:
                issues.extend(_lock_issues(state, value, lock, change_origin))
            except _Inexact:
                inexact = True
    return MergeState(
        value,
        value_o,
        all_strategies,
        state.locks + locks if locks else state.locks,
        state.issues + tuple(issues) + extra_issues if (issues or extra_issues) else state.issues,
        inexact,
    )


def _lock_issues(
    before_state: MergeState, after: dict[str, Any], lock: LockRule, change_origin: LocationOf
) -> list[Issue]:
    before = select(before_state.value, lock.pattern)
    now = select(after, lock.pattern)
    issues = []
    for path in sorted(before.keys() | now.keys(), key=repr):
        if path in before and path in now and json_equal(before[path], now[path]):
            continue
        if contains_deferred(before.get(path)) or contains_deferred(now.get(path)):
            raise _Inexact
        if path not in now:
            action = "deletes"
        elif path not in before:
            action = "sets"
        else:
            action = "changes"
        change = change_origin(path)
        set_by = origin_at(before_state.value, before_state.origins, path)
        was = (
            f"set by {set_by.document} at {set_by.location}" if set_by is not None
            else "not set before"
        )
        related = [lock.origin.location]
        if set_by is not None:
            related.append(set_by.location)
        issues.append(Issue(
            "render-locked-path",
            f"{change.document} {action} the locked path {format_path(path)} "
            f"(locked by {lock.origin.document} at {lock.origin.location}; value {was})",
            change.location,
            hint="remove the change, or unlock the path in the profile that locks it",
            related=tuple(related),
        ))
    return issues
