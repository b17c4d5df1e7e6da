"""A pool of Gateway connections: one reusable client per bot endpoint, bounded concurrency.

The daemon observes every bot on each pass and applies configs during rollouts. Opening a
WebSocket (challenge, connect, hello) costs more than the two requests of an observation,
so :class:`GatewayPool` keeps one :class:`~molthub_gitops.gateway.client.GatewayClient` per
:attr:`BotEndpoint.key` open between calls:

* clients are created with ``reconnect=False`` (no background reconnect tasks for
  thousands of idle bots) and the pool's device ``identity`` when it has one (protocol-3
  gateways grant operator scopes only to a device identity); a client whose connection
  dropped or that was closed is dropped and a new one is made on the next call; so is one
  whose endpoint secret changed (a rotated token);
* beyond ``max_idle`` clients, the least recently used idle ones are closed;
* a semaphore bounds how many operations run at once (waiting for it does not count
  against an operation's timeout);
* :meth:`observe_many` pauses Python's cyclic garbage collector while it runs (see
  :func:`collector_paused`): a pass decodes thousands of large ``config.get`` answers, and
  each allocation burst would make the collector traverse the whole heap again;
* :meth:`observe` never raises a :class:`GatewayError`: failures come back as
  ``Observation(reachable=False)`` with scrubbed text and ``error_kind``; :meth:`apply`
  passes on the errors of :func:`molthub_gitops.gateway.operations.apply`.

Secrets stay in the clients (memory); they never reach logs or error text.
"""

# Timeouts are part of this API (every wait is bounded; callers pass their budget).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from molthub_gitops.errors import GatewayError, InputError
from molthub_gitops.gateway import operations
from molthub_gitops.gateway.client import GatewayClient, display_url
from molthub_gitops.gateway.identity import DeviceIdentity
from molthub_gitops.gateway.operations import ApplyOutcome, Observation
from molthub_gitops.gateway.secrets import Redactor
from molthub_gitops.providers.base import BotEndpoint

__all__ = ["GatewayPool", "collector_paused"]

log = logging.getLogger("molthub.sync.pool")

_Key = tuple[str, str, str]

_gc_holds = 0
_gc_was_enabled = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic garbage collector for the body; overlapping holds (concurrent
    passes) are counted and the collector comes back, if it was on, when the last one ends.
    Reference counting still frees everything meanwhile."""
    global _gc_holds, _gc_was_enabled
    if _gc_holds == 0:
        _gc_was_enabled = gc.isenabled()
        gc.disable()
    _gc_holds += 1
    try:
        yield
    finally:
        _gc_holds -= 1
        if _gc_holds == 0 and _gc_was_enabled:
            gc.enable()


class _Entry:
    """A pooled client, the secret it was made with, and how many operations use it."""

    __slots__ = ("client", "in_use", "secret")

    def __init__(self, client: GatewayClient, secret: str | None) -> None:
        self.client = client
        self.secret = secret
        self.in_use = 0

    def usable(self, secret: str | None) -> bool:
        client = self.client
        if client.closed or self.secret != secret:
            return False
        # a client that was connected and lost its connection is not reused (no reconnect)
        return client.connected or client.connection_count == 0


class GatewayPool:
    """Pooled :class:`GatewayClient` objects per endpoint; see the module docstring."""

    def __init__(
        self,
        *,
        concurrency: int = 64,
        max_idle: int = 1024,
        connect_timeout: float = 10.0,
        request_timeout: float = 30.0,
        identity: DeviceIdentity | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if max_idle < 0:
            raise ValueError("max_idle must not be negative")
        self.concurrency = concurrency
        self.max_idle = max_idle
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.identity = identity
        self._client_options = dict(client_options or {})
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()
        self._semaphore = asyncio.Semaphore(concurrency)
        self._closing: set[asyncio.Task[None]] = set()
        self.clients_created = 0
        """How many clients this pool has made (for tests and metrics)."""
        self.active = 0
        """Operations running now."""
        self.peak_active = 0
        """The most operations that ran at once."""

    def __repr__(self) -> str:
        return (f"GatewayPool({len(self._entries)} clients, concurrency={self.concurrency}, "
                f"max_idle={self.max_idle})")

    def __len__(self) -> int:
        return len(self._entries)

    # ---------------------------------------------------------------- clients

    def _new_client(self, endpoint: BotEndpoint) -> GatewayClient:
        token = endpoint.secret if endpoint.auth == "token" else None
        password = endpoint.secret if endpoint.auth == "password" else None
        client = GatewayClient(
            endpoint.url, token=token, password=password, identity=self.identity,
            reconnect=False,
            connect_timeout=self.connect_timeout, request_timeout=self.request_timeout,
            **self._client_options,
        )
        self.clients_created += 1
        return client

    def _checkout(self, endpoint: BotEndpoint) -> _Entry:
        key = endpoint.key
        entry = self._entries.get(key)
        if entry is not None and not entry.usable(endpoint.secret):
            del self._entries[key]
            if not entry.in_use:  # else the last user closes it (_checkin)
                self._close_later(entry)
            entry = None
        if entry is None:
            entry = _Entry(self._new_client(endpoint), endpoint.secret)
            self._entries[key] = entry
        else:
            self._entries.move_to_end(key)
        entry.in_use += 1
        self.active += 1
        self.peak_active = max(self.peak_active, self.active)
        return entry

    def _checkin(self, endpoint: BotEndpoint, entry: _Entry) -> None:
        entry.in_use -= 1
        self.active -= 1
        if entry.in_use == 0:
            pooled = self._entries.get(endpoint.key) is entry
            if not pooled or entry.client.closed or not entry.client.connected:
                if pooled:
                    del self._entries[endpoint.key]
                self._close_later(entry)
        self._evict()

    def _evict(self) -> None:
        """Close the least recently used idle clients beyond ``max_idle``."""
        excess = len(self._entries) - self.max_idle
        if excess <= 0:
            return
        for key in list(self._entries):
            if excess <= 0:
                break
            entry = self._entries[key]
            if entry.in_use:
                continue
            del self._entries[key]
            log.debug("closing the idle client of %s (more than %d pooled)",
                      entry.client.url, self.max_idle)
            self._close_later(entry)
            excess -= 1

    def _close_later(self, entry: _Entry) -> None:
        client = entry.client
        if client.closed and not client.connected:
            return
        task = asyncio.get_running_loop().create_task(client.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # ---------------------------------------------------------------- operations

    async def observe(self, endpoint: BotEndpoint, *, timeout: float = 10.0) -> Observation:
        """Observe one bot's gateway within ``timeout`` seconds (after a slot is free).

        Never raises a :class:`GatewayError`: a failure is ``Observation(reachable=False)``
        with scrubbed ``error`` and ``error_kind`` (the exception class name). An endpoint
        URL that is not a gateway URL comes back the same way (``error_kind="InputError"``).
        """
        async with self._semaphore:
            try:
                entry = self._checkout(endpoint)
            except InputError as exc:
                return _unreachable(endpoint, exc)
            try:
                return await operations.observe(entry.client, timeout=timeout)
            except GatewayError as exc:
                return Observation(
                    url=entry.client.url, reachable=False, error=entry.client.scrub(str(exc)),
                    error_kind=type(exc).__name__, observed_at=time.time())
            finally:
                self._checkin(endpoint, entry)

    async def observe_many(
        self, endpoints: Sequence[BotEndpoint], *, timeout: float = 10.0
    ) -> dict[str, Observation]:
        """Observe every endpoint (at most ``concurrency`` at once); keyed by bot name."""
        with collector_paused():
            results = await asyncio.gather(
                *(self.observe(e, timeout=timeout) for e in endpoints))
        return {e.bot: r for e, r in zip(endpoints, results, strict=True)}

    async def apply(
        self,
        endpoint: BotEndpoint,
        desired: Mapping[str, Any],
        base_hash: str | None,
        *,
        timeout: float,
        note: str | None = None,
    ) -> ApplyOutcome:
        """:func:`molthub_gitops.gateway.operations.apply` over the pooled client: write
        ``desired`` guarded by ``base_hash``, wait for the new hash and health within
        ``timeout``. Raises its errors (``ConfigConflict``, ``InvalidConfig``,
        ``ApplyNotHealthy``, ``GatewayTimeout``, ``GatewayUnavailable``, ...)."""
        async with self._semaphore:
            entry = self._checkout(endpoint)
            try:
                return await operations.apply(
                    entry.client, desired, base_hash, timeout=timeout, note=note)
            finally:
                self._checkin(endpoint, entry)

    async def close(self) -> None:
        """Close every client (each close is bounded by the client's own timeouts). The pool
        stays usable: a later call opens new clients."""
        entries = list(self._entries.values())
        self._entries.clear()
        closers = [e.client.close() for e in entries]
        pending = list(self._closing)
        await asyncio.gather(*closers, *pending, return_exceptions=True)


def _unreachable(endpoint: BotEndpoint, exc: InputError) -> Observation:
    redactor = Redactor([endpoint.secret])
    return Observation(url=display_url(endpoint.url), reachable=False,
                       error=redactor.scrub(str(exc)), error_kind=type(exc).__name__,
                       observed_at=time.time())
