"""Gateway secrets: resolving a token from an environment variable or file, and redaction.

A :class:`Redactor` knows the secrets one client holds and replaces them in any text before
that text reaches an exception, a log record or output. ``REDACTION_SENTINEL`` is what newer
gateways put in ``config.get`` in place of sensitive values.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from molthub_gitops.errors import InputError, Location

__all__ = [
    "MASK",
    "REDACTION_SENTINEL",
    "Redactor",
    "contains_redaction",
    "resolve_secret",
]

MASK = "***"
REDACTION_SENTINEL = "__OPENCLAW_REDACTED__"


class Redactor:
    """Replaces known secret strings with ``***``. Secrets shorter than 4 chars are ignored
    (masking them would mangle ordinary text and they are no secret anyway)."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        for s in secrets:
            self.add(s)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def scrub_obj(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, Mapping):
            return {str(k): self.scrub_obj(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_obj(v) for v in value]
        return value


def contains_redaction(value: Any) -> bool:
    """Whether a config value holds the gateway's redaction sentinel anywhere."""
    if isinstance(value, str):
        return value == REDACTION_SENTINEL
    if isinstance(value, Mapping):
        return any(contains_redaction(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_redaction(v) for v in value)
    return False


def resolve_secret(
    *, env: str | None = None, file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None, what: str = "gateway token",
) -> str | None:
    """Read a secret named by reference: an environment variable or a file (first line).

    Returns ``None`` when neither is given. A named variable that is unset or empty, or a
    file that cannot be read, is an :class:`InputError` (the message names the reference,
    never the value).
    """
    if env is None and file is None:
        return None
    if env is not None:
        source = os.environ if environ is None else environ
        value = source.get(env, "")
        if not value.strip():
            raise InputError.single(
                "secret-env-missing",
                f"environment variable {env} (the {what}) is not set or empty",
                hint=f"export {env}=... before running",
            )
        return value.strip()
    assert file is not None
    path = Path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError.single(
            "secret-file-unreadable",
            f"cannot read the {what} file ({exc.strerror or exc.__class__.__name__})",
            Location(str(path)),
        ) from None
    except UnicodeDecodeError:  # the exception text quotes bytes of the secret: never shown
        raise InputError.single(
            "secret-file-unreadable",
            f"cannot read the {what} file (it is not UTF-8 text)",
            Location(str(path)),
            hint="write the secret as plain UTF-8 text, on the first line",
        ) from None
    value = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not value:
        raise InputError.single(
            "secret-file-empty", f"the {what} file is empty", Location(str(path))
        )
    return value
