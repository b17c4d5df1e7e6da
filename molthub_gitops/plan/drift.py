"""Drift: which config paths of a running bot differ from what Git wants (pure).

The sync daemon compares the rendered config (desired) with what the gateway reports
(``config.get``). A bot that was synced must never show a diff, so both sides are
normalised first:

* top-level ``meta`` is ignored on both sides (the gateway stamps it on every write);
* the gateway's redaction sentinel ``__OPENCLAW_REDACTED__`` on the observed side equals any
  desired string (the real value is hidden, not changed);
* numbers compare by value (``1 == 1.0``), but booleans are never numbers;
* ``ignore`` paths (what the gateway filled in right after our own apply) are skipped, with
  everything below them;
* ``defaults``: a leaf present on one side only whose value is the gateway's own default
  for that path is no difference (the gateway writes some defaults into the file itself, and
  2026.9 leaves a submitted value that equals its run-time default out of the file). The
  known tables per gateway generation come from :func:`gateway_defaults`.

Differences are reported as sorted dotted *leaf* paths (an empty mapping or a list is a
leaf; lists are compared as a whole). A key present on one side only is reported as every
leaf below it, so an ignore entry or a default can cover part of a subtree. Values are never
returned: drift lists go to status and audit, which must not hold secrets.

2026.9 keeps the agent roster (``agents.entries``) in its state database, not in the file:
``parsed`` lacks it and ``sourceConfig`` shows it. :func:`effective_config` puts it back so
the roster a bot runs with is compared too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any

__all__ = [
    "DEFAULTS_2026_3",
    "DEFAULTS_2026_9",
    "REDACTION_SENTINEL",
    "drift_paths",
    "effective_config",
    "filled_paths",
    "gateway_defaults",
    "strip_meta",
]

REDACTION_SENTINEL = "__OPENCLAW_REDACTED__"
"""What newer gateways put in ``config.get`` in place of sensitive values. Must equal
``molthub_gitops.gateway.secrets.REDACTION_SENTINEL`` (that module is above the pure core;
a test checks they agree)."""

_META = "meta"

DEFAULTS_2026_9: Mapping[str, Any] = {
    # written into the file by the gateway itself on the first write
    "plugins.entries.anthropic.config.sessionCatalog.enabled": False,
    "plugins.entries.codex.config.sessionCatalog.enabled": False,
    # the roster always has the main agent (sourceConfig shows it)
    "agents.entries.main": {},
    # run-time defaults: a submitted value equal to one of these is left out of the file
    "agents.defaults.maxConcurrent": 8,
    "agents.defaults.subagents.maxConcurrent": 8,
    "agents.defaults.subagents.archiveAfterMinutes": 60,
    "agents.defaults.compaction.mode": "safeguard",
    "messages.ackReactionScope": "group-mentions",
    "commands.native": "auto",
    "commands.nativeSkills": "auto",
    "commands.restart": True,
}
"""Defaults of OpenClaw 2026.9 (protocol 4), as recorded from the real gateway
(/work/notes/gateway-findings.md and the recorded session)."""

DEFAULTS_2026_3: Mapping[str, Any] = {
    # onboarding defaults written into a fresh file on its first write
    "agents.defaults.maxConcurrent": 4,
    "agents.defaults.subagents.maxConcurrent": 8,
    "agents.defaults.compaction.mode": "safeguard",
    "commands.native": "auto",
    "commands.nativeSkills": "auto",
    "commands.restart": True,
    "commands.ownerDisplay": "raw",
    "messages.ackReactionScope": "group-mentions",
}
"""Defaults of OpenClaw 2026.3 (protocol 3)."""

_VERSION = re.compile(r"^v?(\d+)\.(\d+)")


def gateway_defaults(protocol: int | None = None, version: str | None = None) -> Mapping[str, Any]:
    """The defaults table of a gateway generation: by ``protocol`` when known (4 and up:
    2026.9, 3: 2026.3), else by the ``version`` string (``2026.9.6``); 2026.9 when neither
    tells."""
    if protocol is not None:
        return DEFAULTS_2026_9 if protocol >= 4 else DEFAULTS_2026_3
    match = _VERSION.match(version or "")
    if match is not None and (int(match.group(1)), int(match.group(2))) < (2026, 9):
        return DEFAULTS_2026_3
    return DEFAULTS_2026_9


def strip_meta(config: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``config`` without its top-level ``meta``."""
    return {k: v for k, v in config.items() if k != _META}


def effective_config(
    parsed: Mapping[str, Any], source_config: Mapping[str, Any] | None = None
) -> Mapping[str, Any]:
    """The config a gateway holds: the file (``parsed``), plus the agent roster from
    ``source_config`` when the file has none (2026.9 keeps ``agents.entries`` in its state
    database). Returns ``parsed`` itself when there is nothing to add (no copy)."""
    if not source_config:
        return parsed
    src_agents = source_config.get("agents")
    if not isinstance(src_agents, Mapping) or "entries" not in src_agents:
        return parsed
    agents = parsed.get("agents")
    if isinstance(agents, Mapping) and "entries" in agents:
        return parsed
    if agents is not None and not isinstance(agents, Mapping):
        return parsed
    merged = dict(parsed)
    merged["agents"] = {**(agents or {}), "entries": src_agents["entries"]}
    return merged


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(desired: Any, observed: Any) -> bool:
    """Equality after normalisation (sentinel, numbers); mappings and lists in full."""
    if isinstance(observed, str) and observed == REDACTION_SENTINEL and isinstance(desired, str):
        return True
    if isinstance(desired, Mapping):
        if not isinstance(observed, Mapping) or len(observed) != len(desired):
            return False
        for key, value in desired.items():
            if key not in observed or not _same(value, observed[key]):
                return False
        return True
    if isinstance(desired, list):
        if not isinstance(observed, list) or len(observed) != len(desired):
            return False
        return all(_same(d, o) for d, o in zip(desired, observed, strict=True))
    if _is_number(desired) and _is_number(observed):
        return bool(desired == observed)
    return type(desired) is type(observed) and bool(desired == observed)


def _join(prefix: str, key: Any) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Leaf paths and values below ``value`` (a non-empty mapping is not a leaf)."""
    if isinstance(value, Mapping) and value:
        for key, child in value.items():
            yield from _leaves(child, _join(path, key))
    else:
        yield path, value


class _Walk:
    """One comparison: collects differing leaf paths, honouring ignore and defaults."""

    __slots__ = ("defaults", "ignore", "out")

    def __init__(self, ignore: Collection[str], defaults: Mapping[str, Any]) -> None:
        self.ignore = frozenset(ignore)
        self.defaults = defaults
        self.out: list[str] = []

    def ignored(self, path: str) -> bool:
        if not self.ignore:
            return False
        if path in self.ignore:
            return True
        dot = path.rfind(".")
        while dot > 0:
            path = path[:dot]
            if path in self.ignore:
                return True
            dot = path.rfind(".")
        return False

    def one_sided(self, value: Any, path: str) -> None:
        """Every leaf of a subtree present on one side only, unless it is a default."""
        for leaf, leaf_value in _leaves(value, path):
            if leaf in self.defaults and _same(self.defaults[leaf], leaf_value):
                continue
            if not self.ignored(leaf):
                self.out.append(leaf)

    def compare(self, desired: Mapping[str, Any], observed: Mapping[str, Any], path: str) -> None:
        top = not path
        for key, want in desired.items():
            if top and key == _META:
                continue
            here = _join(path, key)
            if key not in observed:
                self.one_sided(want, here)
                continue
            have = observed[key]
            if isinstance(want, Mapping) and isinstance(have, Mapping) and (want or have):
                self.compare(want, have, here)
            elif not _same(want, have) and not self.ignored(here):
                self.out.append(here)
        for key, have in observed.items():
            if key in desired or (top and key == _META):
                continue
            self.one_sided(have, _join(path, key))


def drift_paths(
    desired: Mapping[str, Any],
    observed: Mapping[str, Any],
    *,
    ignore: Collection[str] = (),
    defaults: Mapping[str, Any] | None = None,
) -> list[str]:
    """Sorted dotted leaf paths where ``observed`` differs from ``desired`` (see the module
    docstring for the normalisation). Values are never returned."""
    walk = _Walk(ignore, defaults or {})
    walk.compare(desired, observed, "")
    return sorted(set(walk.out))


def filled_paths(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> list[str]:
    """Leaf paths the gateway added: in ``observed`` but not in ``desired`` (top-level
    ``meta`` excluded), sorted. Recorded right after our own apply as
    ``BotStatus.ignored_paths`` so later observations never count them as drift."""
    out: list[str] = []

    def walk(want: Mapping[str, Any], have: Mapping[str, Any], path: str) -> None:
        for key, value in have.items():
            if not path and key == _META:
                continue
            here = _join(path, key)
            if key not in want:
                out.extend(leaf for leaf, _ in _leaves(value, here))
            elif isinstance(value, Mapping) and isinstance(want[key], Mapping):
                walk(want[key], value, here)

    walk(desired, observed, "")
    return sorted(set(out))
