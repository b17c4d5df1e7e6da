"""Layers: one document's config prepared once, and its per-context instances.

Preparing a layer (once per document) checks that its config is plain JSON data, finds the
strings that need Jinja2, builds its origin tree (file:line of every key and item) and a
*clean* copy without ``null`` entries (what gets inserted where the layer adds new keys).
Instantiating a layer for one bot renders its templated strings with the bot's context; the
result depends only on the context names the templates read, so instances are cached per
(layer, those context values).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from molthub_gitops.errors import Location
from molthub_gitops.model.documents import MergeStrategyMergeBy
from molthub_gitops.model.repository import PathKey, SourceDoc
from molthub_gitops.model.sensitive import is_sensitive_key_path
from molthub_gitops.render.issues import Issue
from molthub_gitops.render.merge import Deferred, LockRule, StrategyRule
from molthub_gitops.render.paths import format_path, parse_pattern
from molthub_gitops.render.provenance import ODict, OList, ONode
from molthub_gitops.render.templating import (
    CompiledString,
    TemplateFailure,
    compile_string,
    is_template,
    render_compiled,
)
from molthub_gitops.render.types import LayerKind, Origin

__all__ = [
    "DEFER_ALL",
    "DEFER_BOT",
    "DEFER_LEVELS",
    "DEFER_NONE",
    "LayerInstance",
    "PreparedLayer",
    "clean_value",
    "empty_layer",
    "prepare_layer",
]

_MAX_DEPTH = 200

DEFER_ALL = frozenset({"bot", "params"})
DEFER_BOT = frozenset({"bot"})
DEFER_NONE: frozenset[str] = frozenset()
DEFER_LEVELS = (DEFER_ALL, DEFER_BOT, DEFER_NONE)
"""How much the engine defers, most first: strings reading ``bot`` or ``params``; strings
reading ``bot``; nothing (the exact way)."""


@dataclass(frozen=True, slots=True, eq=False)
class TemplatedString(Deferred):
    """A templated string of a layer; also its own placeholder while merging (when it reads
    ``bot``, see :class:`~molthub_gitops.render.merge.Deferred`). Compared by identity."""

    path: PathKey
    compiled: CompiledString
    location: Location
    document: str

    def deferred_by(self, defer: frozenset[str]) -> bool:
        """Whether a merge that defers strings reading ``defer`` leaves a placeholder here."""
        return not self.compiled.uses.isdisjoint(defer)

    def failure_issue(self, exc: TemplateFailure) -> Issue:
        # The template text is quoted to help find the mistake, except at a secret-looking
        # path, where it may hold (part of) a secret written out.
        source = ("a template at a secret path" if is_sensitive_key_path(self.path)
                  else _short(self.compiled.source))
        return Issue(
            exc.code,
            f"{self.document}, config path {format_path(self.path)}: {exc} (in {source})",
            self.location,
            hint=_HINTS.get(exc.code, ""),
        )


@dataclass(frozen=True, slots=True)
class LayerInstance:
    """A layer's config with its templates rendered for one context."""

    raw: dict[str, Any]
    clean: dict[str, Any]
    issues: tuple[Issue, ...]


@dataclass(frozen=True, eq=False)
class PreparedLayer:
    """One layer (a template, profile, overlay or a bot's own config), ready to merge."""

    uid: int
    kind: LayerKind
    document: str
    source: SourceDoc[Any]
    prefix: PathKey
    """Path of the config inside its YAML document, e.g. ("spec", "config")."""
    raw: dict[str, Any]
    clean: dict[str, Any]
    origins: ODict
    templates: tuple[TemplatedString, ...]
    uses: frozenset[str]
    """Context names the layer's templates read."""
    eager_uses: Mapping[frozenset[str], frozenset[str]]
    """Per set of deferred context names: the names read by the templates not deferred."""
    deferred: Mapping[frozenset[str], tuple[TemplatedString, ...]]
    """Per set of deferred context names: the templates deferred."""
    strategies: tuple[StrategyRule, ...]
    locks: tuple[LockRule, ...]
    issues: tuple[Issue, ...]
    """Problems found while preparing (non-JSON values)."""

    def origin_at(self, path: PathKey) -> Origin:
        """The layer's origin for a config path (nearest written key)."""
        return Origin(self.kind, self.document, self.source.loc(*self.prefix, *path))

    def instantiate(self, context: Mapping[str, Any], *, defer: frozenset[str] = frozenset()
                    ) -> LayerInstance:
        """Render the templated strings for ``context``; those reading a name in ``defer``
        are left as placeholders (themselves) for the engine."""
        if not self.templates:
            return LayerInstance(self.raw, self.clean, ())
        values: dict[PathKey, Any] = {}
        issues = []
        for t in self.templates:
            if defer and t.deferred_by(defer):
                values[t.path] = t
                continue
            try:
                values[t.path] = render_compiled(t.compiled, context)
            except TemplateFailure as exc:
                issues.append(t.failure_issue(exc))
        if not values:
            return LayerInstance(self.raw, self.clean, tuple(issues))
        trie = _trie(values)
        raw = _substitute(self.raw, trie, clean=False)
        clean = _substitute(self.clean, trie, clean=True)
        return LayerInstance(raw, clean, tuple(issues))


_HINTS = {
    "render-jinja-undefined": "expressions may use bot (name, labels, fleet, environment), "
    "fleet (name, environment, labels) and params",
    "render-jinja-sandbox": "templates run in a sandbox: attributes starting with '_' and "
    "unsafe calls are refused",
    "render-jinja-syntax": "see https://jinja.palletsprojects.com/templates/ ; a literal '{{' "
    "is written {{ '{{' }}",
}


def _short(text: str) -> str:
    text = text if len(text) <= 80 else text[:77] + "..."
    return repr(text)


class _Leaf:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _trie(values: Mapping[PathKey, Any]) -> dict[str | int, Any]:
    root: dict[str | int, Any] = {}
    for path, value in values.items():
        node = root
        for seg in path[:-1]:
            node = node.setdefault(seg, {})
        node[path[-1]] = _Leaf(value)
    return root


def _substitute(tree: Any, trie: dict[str | int, Any], *, clean: bool) -> Any:
    out: Any = dict(tree) if type(tree) is dict else list(tree)
    for seg, sub in trie.items():
        if isinstance(sub, _Leaf):
            value = sub.value
            if clean:
                if value is None and type(out) is dict:
                    out.pop(seg, None)
                    continue
                value = clean_value(value)
            out[seg] = value
        else:
            out[seg] = _substitute(tree[seg], sub, clean=clean)
    return out


def clean_value(value: Any) -> Any:
    """``value`` without ``null`` dict entries (at any depth); the same object if none."""
    if type(value) is dict:
        changed = False
        out = {}
        for k, v in value.items():
            if v is None:
                changed = True
                continue
            c = clean_value(v)
            changed = changed or c is not v
            out[k] = c
        return out if changed else value
    if type(value) is list:
        items = [clean_value(v) for v in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return items
        return value
    return value


class _Builder:
    def __init__(self, kind: LayerKind, document: str, source: SourceDoc[Any], prefix: PathKey):
        self.kind = kind
        self.document = document
        self.source = source
        self.prefix = prefix
        self.templates: list[TemplatedString] = []
        self.issues: list[Issue] = []

    def origin(self, path: PathKey) -> Origin:
        return Origin(self.kind, self.document, self.source.loc(*self.prefix, *path))

    def walk(self, value: Any, path: PathKey) -> ONode:
        if len(path) > _MAX_DEPTH:
            self._bad(path, "is nested too deeply")
            return self.origin(path)
        t = type(value)
        if t is dict:
            children: dict[str, ONode] = {}
            for k, v in value.items():
                if type(k) is not str:
                    self._bad(path, f"has a key {k!r} that is not a string")
                    continue
                children[k] = self.walk(v, (*path, k))
            return ODict(self.origin(path), children)
        if t is list:
            return OList(self.origin(path), [self.walk(v, (*path, i)) for i, v in enumerate(value)])
        if t is str:
            if is_template(value):
                where = self.source.loc(*self.prefix, *path)
                self.templates.append(
                    TemplatedString(path, compile_string(value), where, self.document)
                )
        elif t is float:
            if not math.isfinite(value):
                self._bad(path, f"is {value}, which JSON cannot hold")
        elif value is not None and t not in (int, bool):
            self._bad(path, f"is a {t.__name__}, which is not a JSON value")
        return self.origin(path)

    def _bad(self, path: PathKey, what: str) -> None:
        self.issues.append(Issue(
            "render-bad-value",
            f"{self.document}: config path {format_path(path)} {what}",
            self.source.loc(*self.prefix, *path),
            hint="OpenClaw configs are JSON: use strings, numbers, booleans, lists and maps",
        ))


def _strategy(value: Any) -> tuple[str, str]:
    if isinstance(value, MergeStrategyMergeBy):
        return "mergeBy", value.merge_by
    return str(value), ""


_NO_USES: frozenset[str] = frozenset()
_NOTHING_BY_LEVEL: Mapping[frozenset[str], frozenset[str]] = {
    defer: frozenset() for defer in DEFER_LEVELS
}
_NONE_BY_LEVEL: Mapping[frozenset[str], tuple[TemplatedString, ...]] = {
    defer: () for defer in DEFER_LEVELS
}


def empty_layer(uid: int, kind: LayerKind, document: str, source: SourceDoc[Any],
                prefix: PathKey, config: dict[str, Any]) -> PreparedLayer:
    """What :func:`prepare_layer` gives for an empty ``config`` with no strategies or locks
    (most bots have no config of their own), built without walking anything."""
    assert not config
    return PreparedLayer(
        uid=uid,
        kind=kind,
        document=document,
        source=source,
        prefix=prefix,
        raw=config,
        clean=config,
        origins=ODict(Origin(kind, document, source.loc(*prefix)), {}),
        templates=(),
        uses=frozenset(),
        eager_uses=_NOTHING_BY_LEVEL,
        deferred=_NONE_BY_LEVEL,
        strategies=(),
        locks=(),
        issues=(),
    )


def prepare_layer(
    uid: int,
    kind: LayerKind,
    document: str,
    source: SourceDoc[Any],
    prefix: PathKey,
    config: dict[str, Any],
    *,
    merge_strategies: Mapping[str, Any] | None = None,
    locked_paths: tuple[str, ...] = (),
) -> PreparedLayer:
    """Check and index one layer's config (done once per document)."""
    builder = _Builder(kind, document, source, prefix)
    origins = builder.walk(config, ())
    assert isinstance(origins, ODict)
    strategies = tuple(
        StrategyRule(
            parse_pattern(pattern),
            *_strategy(value),
            Origin(kind, document, source.loc("spec", "mergeStrategies", pattern)),
        )
        for pattern, value in (merge_strategies or {}).items()
    )
    locks = tuple(
        LockRule(
            parse_pattern(pattern),
            Origin(kind, document, source.loc("spec", "lockedPaths", i)),
        )
        for i, pattern in enumerate(locked_paths)
    )
    uses: frozenset[str] = frozenset().union(*(t.compiled.uses for t in builder.templates))
    deferred = {
        defer: tuple(t for t in builder.templates if t.deferred_by(defer))
        for defer in DEFER_LEVELS
    }
    eager_uses = {
        defer: _NO_USES.union(
            *(t.compiled.uses for t in builder.templates if not t.deferred_by(defer)))
        for defer in DEFER_LEVELS
    }
    return PreparedLayer(
        uid=uid,
        kind=kind,
        document=document,
        source=source,
        prefix=prefix,
        raw=config,
        clean=clean_value(config),
        origins=origins,
        templates=tuple(builder.templates),
        uses=uses,
        eager_uses=eager_uses,
        deferred=deferred,
        strategies=strategies,
        locks=locks,
        issues=tuple(builder.issues),
    )
