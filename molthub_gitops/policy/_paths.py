"""Rule paths: dotted patterns over a subject value, with ``*`` for any key or list item.

``channels.*.dmPolicy`` matches ``dmPolicy`` of every channel; a numeric segment indexes a list
(``agents.list.0.id``). :func:`matches` yields the values that exist; :func:`missing` yields the
concrete paths a ``required`` rule misses (a wildcard over nothing is vacuously satisfied).
:func:`show` renders a value for a message, redacting secrets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Final

from molthub_gitops.model.repository import PathKey
from molthub_gitops.model.sensitive import redact_value
from molthub_gitops.render.paths import format_path

__all__ = [
    "MISSING", "WILDCARD", "child", "display", "lookup", "matches", "missing",
    "parse_rule_path", "show",
]

WILDCARD: Final = "*"
MISSING: Final[Any] = object()
"""What :func:`child` returns for a key or index that does not exist."""

_SHOW_LIMIT: Final = 80


def parse_rule_path(text: str) -> tuple[str, ...]:
    """``"channels.*.dmPolicy"`` -> ``("channels", "*", "dmPolicy")``."""
    return tuple(text.split("."))


def child(value: Any, seg: str) -> tuple[str | int, Any]:
    """The concrete key and the value of ``value``'s child named by the literal ``seg``
    (a digit string indexes a list); the value is :data:`MISSING` when there is none."""
    if isinstance(value, Mapping):
        return seg, value.get(seg, MISSING)
    if isinstance(value, list) and seg.isdigit():
        index = int(seg)
        return index, value[index] if index < len(value) else MISSING
    return seg, MISSING


def lookup(root: Any, pattern: tuple[str, ...]) -> tuple[PathKey, Any]:
    """(concrete path, value) of a pattern without wildcards; the value is :data:`MISSING`
    when absent. The fast path of :func:`matches` for literal patterns."""
    value = root
    path: list[str | int] = []
    for seg in pattern:
        if isinstance(value, dict):
            value = value.get(seg, MISSING)
            path.append(seg)
        else:
            key, value = child(value, seg)
            path.append(key)
        if value is MISSING:
            return tuple(path), MISSING
    return tuple(path), value


def _children(value: Any) -> Iterator[tuple[str | int, Any]]:
    if isinstance(value, Mapping):
        for key in sorted(value):
            yield key, value[key]
    elif isinstance(value, list):
        yield from enumerate(value)


def matches(root: Any, pattern: tuple[str, ...], prefix: PathKey = ()) -> Iterator[
        tuple[PathKey, Any]]:
    """(concrete path, value) for every existing value of ``root`` that ``pattern`` matches.
    ``prefix`` is prepended to the reported paths."""
    if not pattern:
        yield prefix, root
        return
    if WILDCARD not in pattern:
        path, found = lookup(root, pattern)
        if found is not MISSING:
            yield (*prefix, *path), found
        return
    seg, rest = pattern[0], pattern[1:]
    if seg == WILDCARD:
        for key, value in _children(root):
            yield from matches(value, rest, (*prefix, key))
        return
    key, value = child(root, seg)
    if value is not MISSING:
        yield from matches(value, rest, (*prefix, key))


def missing(root: Any, pattern: tuple[str, ...], prefix: PathKey = ()) -> Iterator[PathKey]:
    """Concrete paths ``pattern`` names that hold no value (absent or null). Below a wildcard
    only existing items are checked; a missing literal segment is reported with the rest of
    the pattern when that rest has no wildcard (else nothing is reported for it)."""
    if not pattern:
        if root is None:
            yield prefix
        return
    seg, rest = pattern[0], pattern[1:]
    if seg == WILDCARD:
        for key, value in _children(root):
            yield from missing(value, rest, (*prefix, key))
        return
    key, value = child(root, seg)
    if value is MISSING or (value is None and not rest):
        if WILDCARD not in rest:
            yield (*prefix, key, *rest)
        return
    yield from missing(value, rest, (*prefix, key))


def show(path: PathKey, value: Any) -> str:
    """``value`` (found at ``path``) as short JSON for a message, secrets redacted."""
    text = json.dumps(redact_value(path, value), ensure_ascii=False, sort_keys=True,
                      default=str)
    if len(text) > _SHOW_LIMIT:
        text = text[: _SHOW_LIMIT - 1] + "…"
    return text


def display(path: PathKey) -> str:
    """Display form of a concrete path (``channels.telegram.dmPolicy``)."""
    return format_path(path)
