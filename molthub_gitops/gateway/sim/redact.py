"""Secret redaction the way OpenClaw's ``config.get`` does it, and restoration on write.

Sensitive values become ``"__OPENCLAW_REDACTED__"``. Which paths are sensitive comes from the
schema's ``uiHints`` (``sensitive: true``) when the gateway has them, and otherwise from the
real gateway's path heuristic (``token$``, ``password``, ``secret``, ``api key``...).
``${VAR}`` references are not secrets and stay visible. On write, a sentinel at a sensitive
path is replaced by the value the file holds; a sentinel with nothing to restore is an error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Final

from molthub_gitops.model.sensitive import is_sensitive_path as _is_sensitive_path

__all__ = ["SENTINEL", "RedactionError", "Redactor", "is_sensitive_path", "redactor_for"]

SENTINEL: Final = "__OPENCLAW_REDACTED__"

_ENV_REF: Final = re.compile(r"^\$\{[^}]*\}$")


class RedactionError(ValueError):
    """A redaction sentinel that cannot be turned back into a value."""


@functools.lru_cache(maxsize=8192)
def is_sensitive_path(path: str) -> bool:
    """OpenClaw's path heuristic (used when no schema hint covers the path); see
    :func:`molthub_gitops.model.sensitive.is_sensitive_path`.

    Memoized: the same paths come back for every gateway of a fleet and every revision.
    """
    return _is_sensitive_path(path)


def _concrete(value: str) -> bool:
    trimmed = value.strip()
    return bool(trimmed) and value != SENTINEL and not _ENV_REF.match(trimmed)


@functools.lru_cache(maxsize=64)
def redactor_for(sensitive: frozenset[str], insensitive: frozenset[str]) -> Redactor:
    """The (stateless, shareable) :class:`Redactor` for one set of hints, built once."""
    return Redactor(sensitive, insensitive)


class Redactor:
    """Redacts and restores config objects for one set of ``uiHints`` (holds no state)."""

    def __init__(self, sensitive: frozenset[str], insensitive: frozenset[str]) -> None:
        self._sensitive = sensitive
        self._insensitive = insensitive
        lookup: set[str] = set()
        for hint in sensitive | insensitive:
            parts = hint.split(".")
            for end in range(1, len(parts) + 1):
                lookup.add(".".join(parts[:end]))
        self._lookup = frozenset(lookup)

    def _candidate(self, prefix: str, key: str) -> str | None:
        if not self._lookup:
            return None
        path = f"{prefix}.{key}" if prefix else key
        wildcard = f"{prefix}.*" if prefix else "*"
        for option in (path, wildcard):
            if option in self._lookup:
                return option
        return None

    def _heuristic(self, path: str) -> bool:
        return path not in self._insensitive and is_sensitive_path(path)

    def redact(self, value: Any) -> tuple[Any, list[str]]:
        """A redacted copy of ``value`` and the secret strings it replaced."""
        found: list[str] = []
        return self._redact(value, "", "", found), found

    def _redact(self, value: Any, hint_prefix: str, path: str, found: list[str]) -> Any:
        if isinstance(value, list):
            item_hint, item_path = hint_prefix + "[]", path + "[]"
            sensitive = item_hint in self._sensitive or (
                item_hint not in self._lookup and self._heuristic(path)
            )
            out: list[Any] = []
            for item in value:
                if isinstance(item, str) and sensitive and _concrete(item):
                    found.append(item)
                    out.append(SENTINEL)
                else:
                    out.append(self._redact(item, item_hint, item_path, found))
            return out
        if not isinstance(value, dict):
            return value
        result: dict[str, Any] = {}
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            candidate = self._candidate(hint_prefix, key)
            if candidate is not None:
                if candidate in self._sensitive and item is not None:
                    if isinstance(item, str):
                        if _concrete(item):
                            found.append(item)
                            result[key] = SENTINEL
                        else:
                            result[key] = item
                    elif isinstance(item, (dict, list)):
                        self._collect(item, found)
                        result[key] = SENTINEL
                    else:
                        result[key] = SENTINEL
                else:
                    result[key] = self._redact(item, candidate, child, found)
                continue
            if isinstance(item, str) and self._heuristic(child) and _concrete(item):
                found.append(item)
                result[key] = SENTINEL
            else:
                result[key] = self._redact(item, child, child, found)
        return result

    def _collect(self, value: Any, found: list[str]) -> None:
        if isinstance(value, str) and _concrete(value):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                self._collect(item, found)
        elif isinstance(value, list):
            for item in value:
                self._collect(item, found)

    def redact_raw(self, raw: str, secrets: list[str], original: Any) -> str | None:
        """``raw`` with every secret replaced (longest first), as the gateway does.

        When the plain text replacement damaged the document (a short secret also occurred in
        a key, say), the gateway gives up and answers ``raw: null``; so does this.
        """
        from molthub_gitops.gateway.sim.json5 import Json5Error, loads

        for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
            raw = raw.replace(secret, SENTINEL)
        if not secrets:
            return raw
        try:
            restored = self.restore(loads(raw), original)
        except (Json5Error, RedactionError):
            return None
        return raw if restored == original else None

    def restore(self, incoming: Any, original: Any) -> Any:
        """``incoming`` with sentinels replaced by the values from ``original``."""
        return self._restore(incoming, original, "", "")

    def _is_sensitive(self, hint_prefix: str, key: str, path: str) -> tuple[bool, str]:
        candidate = self._candidate(hint_prefix, key)
        if candidate is not None:
            return candidate in self._sensitive, candidate
        return self._heuristic(path), path

    def _restore(self, incoming: Any, original: Any, hint_prefix: str, path: str) -> Any:
        if isinstance(incoming, list):
            originals = original if isinstance(original, list) else []
            restored: list[Any] = []
            for index, item in enumerate(incoming):
                prior = originals[index] if index < len(originals) else None
                if item == SENTINEL:
                    if prior is None or not is_sensitive_path(path + "[]"):
                        raise RedactionError(
                            f'Sentinel value "{SENTINEL}" in key {path} is not valid as real data'
                        )
                    restored.append(prior)
                else:
                    restored.append(self._restore(item, prior, hint_prefix + "[]", path + "[]"))
            return restored
        if not isinstance(incoming, dict):
            return incoming
        originals_map: Mapping[str, Any] = original if isinstance(original, dict) else {}
        result: dict[str, Any] = {}
        for key, item in incoming.items():
            child = f"{path}.{key}" if path else key
            sensitive, next_prefix = self._is_sensitive(hint_prefix, key, child)
            if item == SENTINEL:
                if not sensitive:
                    raise RedactionError(
                        f'Reserved redaction sentinel "{SENTINEL}" '
                        f"is not valid config data ({child})."
                    )
                if key not in originals_map or originals_map[key] is None:
                    raise RedactionError(
                        f'Sentinel value "{SENTINEL}" in key {child} is not valid as real data'
                    )
                result[key] = originals_map[key]
                continue
            result[key] = self._restore(item, originals_map.get(key), next_prefix, child)
        return result
