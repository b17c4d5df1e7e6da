"""Provenance trees: which layer set each part of a merged config, and the lazy leaf mapping.

While merging, every value in the config tree has a twin in an *origin tree*: an
:class:`Origin` covers a whole subtree (a leaf, or a value set in one piece, e.g. by a Jinja
expression that returned a dict); :class:`ODict` / :class:`OList` mirror dicts and lists and
carry the origin of the container itself (who wrote it last; used for empty containers and
"nearest parent" answers). Trees are never modified once built, so they are shared between
bots and cached states.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from molthub_gitops.model.repository import PathKey
from molthub_gitops.render.types import Origin

__all__ = [
    "MISSING",
    "ODict",
    "OList",
    "ONode",
    "Provenance",
    "child_origin",
    "container_origin",
    "step",
]


class ODict:
    """Origins of a dict's entries, plus the origin of the dict itself."""

    __slots__ = ("children", "origin")

    def __init__(self, origin: Origin, children: dict[str, ONode]) -> None:
        self.origin = origin
        self.children = children


class OList:
    """Origins of a list's items (index-aligned), plus the origin of the list itself."""

    __slots__ = ("children", "origin")

    def __init__(self, origin: Origin, children: list[ONode]) -> None:
        self.origin = origin
        self.children = children


ONode = Origin | ODict | OList


def container_origin(node: ONode) -> Origin:
    return node if isinstance(node, Origin) else node.origin


def child_origin(node: ONode, key: str | int) -> ONode:
    """Origin node of a child; an :class:`Origin` covers all its descendants."""
    if isinstance(node, ODict):
        if isinstance(key, str):
            found = node.children.get(key)
            if found is not None:
                return found
        return node.origin
    if isinstance(node, OList):
        if isinstance(key, int) and 0 <= key < len(node.children):
            return node.children[key]
        return node.origin
    return node


MISSING: Any = object()
"""Returned by :func:`step` for a path that does not exist."""


def step(value: Any, seg: str | int) -> Any:
    """``value[seg]`` for a dict key or list index, or :data:`MISSING`."""
    if isinstance(value, dict):
        return value.get(seg, MISSING) if isinstance(seg, str) else MISSING
    if isinstance(value, list) and isinstance(seg, int) and 0 <= seg < len(value):
        return value[seg]
    return MISSING


def _flatten(value: Any, node: ONode, path: PathKey, out: dict[PathKey, Origin]) -> None:
    if isinstance(value, dict):
        if not value:
            out[path] = container_origin(node)
            return
        for k, v in value.items():
            _flatten(v, child_origin(node, k), (*path, k), out)
    elif isinstance(value, list):
        if not value:
            out[path] = container_origin(node)
            return
        for i, v in enumerate(value):
            _flatten(v, child_origin(node, i), (*path, i), out)
    else:
        out[path] = container_origin(node)


class Provenance(Mapping[PathKey, Origin]):
    """Leaf path -> :class:`Origin` for one rendered config, computed on first use."""

    __slots__ = ("_flat", "_origins", "_value")

    def __init__(self, value: dict[str, Any], origins: ONode) -> None:
        self._value = value
        self._origins = origins
        self._flat: dict[PathKey, Origin] | None = None

    def _leaves(self) -> dict[PathKey, Origin]:
        if self._flat is None:
            flat: dict[PathKey, Origin] = {}
            _flatten(self._value, self._origins, (), flat)
            self._flat = flat
        return self._flat

    def __getitem__(self, key: PathKey) -> Origin:
        return self._leaves()[key]

    def __iter__(self) -> Iterator[PathKey]:
        return iter(self._leaves())

    def __len__(self) -> int:
        return len(self._leaves())

    def find(self, path: PathKey) -> Origin:
        """Origin of ``path`` whether leaf or container; for a path that does not exist, the
        origin of its nearest existing ancestor."""
        node: ONode = self._origins
        value: Any = self._value
        for seg in path:
            value = step(value, seg)
            if value is MISSING:
                break
            node = child_origin(node, seg)
        return container_origin(node)
