"""Config paths: dotted patterns (``channels.*.dmPolicy``), display form, parsing for explain.

A *pattern* is a tuple of dict keys where ``*`` matches any one key. List items do not add a
segment to a pattern: the items of the list at ``agents.list`` have their keys under
``agents.list.<key>`` (so a merge strategy for ``agents.list.tools.allow`` applies to the
``tools.allow`` list inside each item). A *concrete path* (:data:`PathKey`) holds dict keys and
list indices, as in provenance.
"""

from __future__ import annotations

import re

from molthub_gitops.model.repository import PathKey

__all__ = [
    "WILDCARD",
    "format_path",
    "parse_pattern",
    "parse_user_path",
    "pattern_matches",
    "pattern_specificity",
]

WILDCARD = "*"

_SIMPLE_KEY = re.compile(r"^[A-Za-z0-9_$-]+$")
_BRACKET = re.compile(r"\[(\d+)\]")


def parse_pattern(text: str) -> tuple[str, ...]:
    """``"channels.*.dmPolicy"`` -> ``("channels", "*", "dmPolicy")``."""
    return tuple(text.split("."))


def pattern_matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    """True when ``path`` (dict keys only) matches ``pattern`` segment for segment."""
    if len(pattern) != len(path):
        return False
    return all(p in (WILDCARD, k) for p, k in zip(pattern, path, strict=True))


def pattern_specificity(pattern: tuple[str, ...]) -> int:
    """How many literal segments a pattern has (more is more specific)."""
    return sum(1 for p in pattern if p != WILDCARD)


def format_path(path: PathKey) -> str:
    """Display form of a concrete path: ``agents.list[0].id``; odd keys are quoted."""
    out = ""
    for seg in path:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif _SIMPLE_KEY.match(seg):
            out += f".{seg}" if out else seg
        else:
            out += f"[{seg!r}]"
    return out or "<root>"


def parse_user_path(text: str) -> tuple[str, ...]:
    """A path typed by a user: ``agents.list.0.id`` or ``agents.list[0].id``.

    Returns string segments; numeric segments are resolved against lists by the caller.
    Raises ValueError for an empty path or empty segment.
    """
    text = text.strip()
    if text.startswith("config."):
        text = text[len("config."):]
    normal = _BRACKET.sub(lambda m: "." + m.group(1), text)
    segments = tuple(normal.split("."))
    if not text or any(seg == "" for seg in segments):
        raise ValueError(f"not a config path: {text!r} (use a dotted path such as gateway.port)")
    return segments
