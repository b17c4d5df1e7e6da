"""Canonical JSON of rendered configs and the config hash built on it.

Canonical form: keys sorted, no whitespace, UTF-8, non-ASCII kept as is (``ensure_ascii``
off), integers stay integers. NaN and infinities are not JSON and are rejected. The same value
always gives the same bytes, whatever the dict insertion order or ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["canonical_json", "canonical_text", "config_hash", "hash_text"]

_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_text(value: Any) -> str:
    """Canonical JSON of ``value`` as text (the fast path for values known to have string
    keys). Raises ValueError for NaN, infinities and objects JSON cannot hold."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, RecursionError) as exc:
        raise ValueError(f"not a JSON value: {exc}") from None


def _check_keys(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                if not isinstance(k, str):
                    raise ValueError(f"not a JSON value: a map key {k!r} is not a string")
                stack.append(v)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def canonical_json(value: Any) -> bytes:
    """Canonical JSON of ``value`` as UTF-8 bytes. Raises ValueError for non-JSON values
    (NaN, infinities, non-string keys, objects of other types, lone surrogates)."""
    _check_keys(value)
    text = canonical_text(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"not encodable as UTF-8: {exc.reason}") from None


def hash_text(text: str) -> str:
    """sha256 hex of canonical text (as UTF-8)."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"not encodable as UTF-8: {exc.reason}") from None
    return hashlib.sha256(data).hexdigest()


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 hex digest of ``canonical_json(config)``."""
    return hashlib.sha256(canonical_json(config)).hexdigest()
