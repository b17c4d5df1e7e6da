"""Which config values are secrets, and how to show a value without leaking one.

One definition for the whole engine, shared by the policy checks (plaintext secrets), the PR
diff (redacted before/after), every report format and the gateway simulator. A path is
sensitive by OpenClaw's own heuristic (``token$``, ``password``, ``secret``, ``api key``...,
minus counters such as ``maxTokens``); a string there is a literal secret unless it is empty
or an ``${VAR}`` environment reference (which is how secrets belong in Git).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

__all__ = [
    "REDACTED",
    "is_env_reference",
    "is_literal_secret",
    "is_sensitive_key_path",
    "is_sensitive_path",
    "redact_url",
    "redact_value",
    "url_has_credentials",
]

REDACTED: Final = "<redacted>"
"""What every output shows in place of a secret value."""

_WHITELIST_SUFFIXES: Final = (
    "maxtokens",
    "maxoutputtokens",
    "maxinputtokens",
    "maxcompletiontokens",
    "contexttokens",
    "totaltokens",
    "tokencount",
    "tokenlimit",
    "tokenbudget",
    "passwordfile",
)
_PATTERNS: Final = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"token$",
        r"password",
        r"secret",
        r"api.?key",
        r"encrypt.?key",
        r"private.?key",
        r"serviceaccount(?:ref)?$",
    )
)
_ENV_REF: Final = re.compile(r"^\$\{[^}]*\}$")
_GATEWAY_SENTINEL: Final = "__OPENCLAW_REDACTED__"


def is_sensitive_path(path: str) -> bool:
    """OpenClaw's heuristic over a dotted path (``channels.telegram.botToken``)."""
    lower = path.lower()
    if "localservice.env." in lower:
        return True
    if any(lower.endswith(suffix) for suffix in _WHITELIST_SUFFIXES):
        return False
    return any(pattern.search(path) for pattern in _PATTERNS)


def is_sensitive_key_path(path: Sequence[str | int]) -> bool:
    """:func:`is_sensitive_path` for a path given as segments (list indices are skipped)."""
    return is_sensitive_path(".".join(s for s in path if isinstance(s, str)))


def is_env_reference(value: Any) -> bool:
    """Whether ``value`` is exactly one ``${VAR}`` reference."""
    return isinstance(value, str) and bool(_ENV_REF.match(value.strip()))


_NOT_SECRET_SUFFIXES: Final = ("file", "env", "bin", "path", "dir", "command", "url", "prefix",
                                 "name", "arn", "id", "ref", "store")
"""Keys that name where a secret lives rather than hold it (``secretFile``, ``apiKeyEnv``,
``passwordCommand``, ``secretsPrefix``, ``secretArn``): sensitive by the heuristic (the
gateway redacts them), but a value there is not a secret written out."""


def is_literal_secret(path: Sequence[str | int], value: Any) -> bool:
    """Whether ``value`` at ``path`` is a secret written out: a non-empty string, or a number,
    at a sensitive path, that is neither a ``${VAR}`` reference nor the gateway's redaction
    sentinel, under a key that does not merely name where the secret lives."""
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    if not is_sensitive_key_path(path):
        return False
    last = next((s for s in reversed(path) if isinstance(s, str)), "").lower()
    if last.endswith(_NOT_SECRET_SUFFIXES):
        return False
    if not isinstance(value, str):
        return True
    trimmed = value.strip()
    return bool(trimmed) and value != _GATEWAY_SENTINEL and not _ENV_REF.match(trimmed)


def redact_url(url: str) -> str:
    """``url`` with a password in its userinfo replaced (``wss://admin:<redacted>@host``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if 0 <= found < end:
            end = found
    authority = rest[:end]
    userinfo, at, host = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}:{REDACTED}@{host}{rest[end:]}"


def url_has_credentials(url: str) -> bool:
    """Whether ``url`` carries a password (``user:password@``) in its authority."""
    return redact_url(url) != url


def redact_value(path: Sequence[str | int], value: Any) -> Any:
    """``value`` (found at ``path``) with every literal secret in it replaced by
    :data:`REDACTED`; containers are copied, nothing is modified in place."""
    if isinstance(value, dict):
        return {k: redact_value((*path, k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value((*path, i), v) for i, v in enumerate(value)]
    if is_literal_secret(path, value):
        return REDACTED
    return value
