"""The one exception hierarchy of molthub-gitops, and the Problem type user errors carry.

Every error this project raises derives from :class:`MolthubError`. Third-party errors
(PyYAML, pydantic, jsonschema, pygit2, websockets, ...) are translated into these at the
edge where they occur, so callers never need to know which library failed.

Two families matter to callers:

* :class:`InputError` -- the user's input could not be processed (a broken repository, a bad
  option). It carries every :class:`Problem` found in one run; the CLI prints them and exits 2.
* :class:`GatewayError` and its subclasses -- talking to an OpenClaw Gateway failed in a way
  the caller can act on (authentication, pairing, a stale ``baseHash``, an invalid config,
  unavailability, a timeout). Messages never contain tokens or passwords.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AuthenticationFailed",
    "ConfigConflict",
    "GatewayError",
    "GatewayTimeout",
    "GatewayUnavailable",
    "GitError",
    "InputError",
    "InvalidConfig",
    "Location",
    "MolthubError",
    "PairingRequired",
    "Problem",
    "ProtocolError",
    "ProtocolMismatch",
    "ProviderError",
    "PushRejected",
    "RequestFailed",
    "SyncError",
]


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file of the config repository: path relative to its root, 1-based."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        if self.column <= 0:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the user's input: where, what, and what to do about it.

    ``code`` is a short stable identifier (``yaml-syntax``, ``duplicate-key``,
    ``unknown-kind``...), usable in tests and machine-readable output.
    """

    code: str
    message: str
    location: Location | None = None
    hint: str = ""
    related: tuple[Location, ...] = field(default=())

    def format(self) -> str:
        where = f"{self.location}: " if self.location is not None else ""
        text = f"{where}error[{self.code}]: {self.message}"
        for rel in self.related:
            text += f"\n  see also: {rel}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location or Location("")
        return (loc.file, loc.line, loc.column, self.code, self.message)


class MolthubError(Exception):
    """Base of every error molthub-gitops raises."""


class InputError(MolthubError):
    """The input could not be processed; holds every problem found (exit code 2)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(problems, key=Problem.sort_key))
        if not self.problems:
            raise ValueError("InputError needs at least one problem")
        super().__init__(self.format())

    def format(self) -> str:
        return "\n".join(p.format() for p in self.problems)

    @classmethod
    def single(
        cls, code: str, message: str, location: Location | None = None, hint: str = ""
    ) -> InputError:
        return cls([Problem(code, message, location, hint)])


# --------------------------------------------------------------------------- gateway errors


class GatewayError(MolthubError):
    """Talking to an OpenClaw Gateway failed. ``url`` names the gateway (never a secret)."""

    retryable: bool = False

    def __init__(self, message: str, *, url: str = "", details: dict[str, Any] | None = None):
        self.url = url
        self.details: dict[str, Any] = dict(details or {})
        prefix = f"{url}: " if url else ""
        super().__init__(prefix + message)


class AuthenticationFailed(GatewayError):
    """The gateway refused our token, password or device signature."""


class ProtocolMismatch(GatewayError):
    """The gateway speaks no protocol version in our supported range."""


class ProtocolError(GatewayError):
    """The gateway sent something that breaks the protocol (bad frame, wrong order)."""


class PairingRequired(GatewayError):
    """The gateway does not know our device yet; an operator must approve the pairing.

    ``request_id`` is the pairing request the operator approves with
    ``openclaw devices approve <request_id>`` (or the ``device.pair.approve`` method).
    """

    def __init__(self, message: str, *, request_id: str | None, url: str = "",
                 details: dict[str, Any] | None = None) -> None:
        self.request_id = request_id
        super().__init__(message, url=url, details=details)


class ConfigConflict(GatewayError):
    """The config on the gateway changed since we read it (stale ``baseHash``).

    Never resolved by overwriting: the caller re-reads and decides.
    """


class InvalidConfig(GatewayError):
    """The gateway rejected a config; ``issues`` holds its ``[{path, message}]`` list."""

    def __init__(self, message: str, *, issues: Sequence[dict[str, Any]] = (), url: str = "",
                 details: dict[str, Any] | None = None) -> None:
        self.issues: tuple[dict[str, Any], ...] = tuple(issues)
        super().__init__(message, url=url, details=details)


class GatewayUnavailable(GatewayError):
    """The gateway cannot be reached or says it cannot serve now (starting, restarting).

    ``retry_after`` (seconds) is the gateway's own hint when it gave one.
    """

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, url: str = "",
                 details: dict[str, Any] | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, url=url, details=details)


class GatewayTimeout(GatewayError):
    """A wait on the gateway ran past its timeout."""

    retryable = True


class RequestFailed(GatewayError):
    """The gateway answered a request with an error that no narrower class describes."""

    def __init__(self, message: str, *, code: str = "", url: str = "",
                 details: dict[str, Any] | None = None, retryable: bool = False) -> None:
        self.code = code
        self.retryable = retryable
        super().__init__(message, url=url, details=details)


# --------------------------------------------------------------------------- daemon errors


class GitError(MolthubError):
    """Cloning, fetching or pushing the config repository failed (pygit2's errors, translated).

    ``url`` is the repository's display URL (credentials removed); ``retryable`` says whether
    a later attempt may succeed (network, server busy) or needs the user (bad credentials,
    unknown branch).
    """

    def __init__(self, message: str, *, url: str = "", retryable: bool = True) -> None:
        self.url = url
        self.retryable = retryable
        prefix = f"{url}: " if url else ""
        super().__init__(prefix + message)


class PushRejected(GitError):
    """A push to the status branch was rejected as not fast-forward (someone else pushed)."""


class ProviderError(MolthubError):
    """A deployment provider could not ensure, describe or destroy a bot."""

    def __init__(self, message: str, *, provider: str = "", bot: str = "",
                 retryable: bool = True) -> None:
        self.provider = provider
        self.bot = bot
        self.retryable = retryable
        where = "/".join(x for x in (provider, bot) if x)
        super().__init__(f"{where}: {message}" if where else message)


class SyncError(MolthubError):
    """The sync daemon cannot do what was asked (an unknown fleet, a control action that does
    not fit the rollout's phase, a state file it cannot read). ``code`` is stable."""

    def __init__(self, message: str, *, code: str = "sync-error") -> None:
        self.code = code
        super().__init__(message)
