"""GatewayClient: one multiplexed WebSocket connection to an OpenClaw Gateway.

The server speaks first (``connect.challenge`` with a nonce); the client answers with one
``connect`` request (protocol 3..4, ``gateway-client``/``backend``, token or password, and a
signed ``device`` block when a :class:`DeviceIdentity` is given). After ``hello-ok`` requests
are multiplexed by id and events are fanned out to subscriptions.

Robustness rules:

* every wait has a timeout (connect, each request, close);
* ``1013 gateway starting`` and ``UNAVAILABLE`` (with ``retryAfterMs``) during connect are
  retried with capped exponential backoff within ``connect_timeout``; refused connections too,
  when ``reconnect`` is on;
* a tick watchdog closes a connection that stayed silent for two tick intervals;
* when the connection drops, in-flight requests fail at once with :class:`GatewayUnavailable`
  (``details["outcome_unknown"]``) and, with ``reconnect`` on, a background task reconnects;
* tokens and passwords never reach exception text, logs or ``repr``.
"""

# Timeouts are part of this API (every wait is bounded; callers pass their budget).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

import molthub_gitops
from molthub_gitops.errors import (
    AuthenticationFailed,
    GatewayError,
    GatewayTimeout,
    GatewayUnavailable,
    InputError,
    PairingRequired,
    ProtocolError,
    ProtocolMismatch,
)
from molthub_gitops.gateway.backoff import Backoff
from molthub_gitops.gateway.identity import DeviceIdentity
from molthub_gitops.gateway.protocol import (
    CLOSE_TICK_TIMEOUT,
    EventFrame,
    Hello,
    ResponseFrame,
    build_connect_params,
    encode_request,
    error_from_close,
    error_from_response,
    parse_frame,
    parse_hello,
)
from molthub_gitops.gateway.secrets import REDACTION_SENTINEL, Redactor, contains_redaction

__all__ = [
    "ApplyResult",
    "ConfigSnapshot",
    "Event",
    "EventSubscription",
    "GatewayClient",
    "ShutdownNotice",
    "display_url",
]

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024 * 1024
CLOSE_TIMEOUT = 2.0
MIN_ATTEMPT_S = 0.05  # a connect attempt with less time left than this is not started
FATAL_ERRORS = (AuthenticationFailed, ProtocolMismatch, PairingRequired, ProtocolError)


def display_url(url: str) -> str:
    """``url`` without userinfo or query (where credentials could hide)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _url_for_message(url: str) -> str:
    """``url`` with userinfo and query removed by plain text rules (it may not parse)."""
    text = url.split("?", 1)[0].split("#", 1)[0]
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    return f"{scheme}{sep}{rest.rsplit('@', 1)[-1]}"  # whatever precedes an @ may be a secret


def _check_url(url: object) -> None:
    """Raise the ``gateway-url`` :class:`InputError` unless ``url`` is a usable ws(s) URL."""
    hint = "use ws://host:port or wss://host:port (IPv6: ws://[::1]:port)"
    if not isinstance(url, str):
        raise InputError.single("gateway-url", "the gateway URL is not a string", hint=hint)
    reason = "malformed host"
    try:
        parts = urlsplit(url)
        reason = "the port must be a number from 0 to 65535"
        parts.port  # noqa: B018 - reading the port validates it (ValueError when it is bad)
    except ValueError:
        raise InputError.single(
            "gateway-url", f"not a valid gateway URL: {_url_for_message(url)!r} ({reason})",
            hint=hint,
        ) from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise InputError.single(
            "gateway-url", f"not a gateway WebSocket URL: {_url_for_message(url)!r}",
            hint=hint,
        )


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Event:
    """A gateway event: ``event`` name, ``payload``, and ``seq`` when the gateway numbers it."""

    event: str
    payload: Any
    seq: int | None = None


@dataclass(frozen=True)
class ShutdownNotice:
    """The last ``shutdown`` event: the gateway is stopping (and maybe restarting)."""

    reason: str
    restart_expected_ms: int | None
    received_at: float  # time.monotonic()
    boot_id: str | None


@dataclass(frozen=True)
class ConfigSnapshot:
    """``config.get``: the config file as the gateway sees it.

    ``parsed`` is the file as written, ``source_config`` the file with includes resolved;
    compare desired state with these (ignoring ``meta``). ``raw`` is the file text (sensitive
    values replaced by the gateway's redaction sentinel on newer versions).
    """

    path: str | None
    exists: bool
    hash: str | None
    parsed: Mapping[str, Any]
    source_config: Mapping[str, Any]
    valid: bool
    issues: tuple[Mapping[str, Any], ...]
    warnings: tuple[Mapping[str, Any], ...]
    raw: str | None = field(default=None, repr=False)
    payload: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def has_redactions(self) -> bool:
        """Whether the gateway redacted values (the sentinel means unknown, not changed)."""
        return contains_redaction(self.parsed) or (
            self.raw is not None and REDACTION_SENTINEL in self.raw
        )

    @classmethod
    def from_payload(cls, payload: Any) -> ConfigSnapshot:
        if not isinstance(payload, dict):
            raise ProtocolError("config.get answered without an object")
        parsed = payload.get("parsed")
        source = payload.get("sourceConfig")
        h = payload.get("hash")
        raw = payload.get("raw")
        return cls(
            path=payload.get("path") if isinstance(payload.get("path"), str) else None,
            exists=payload.get("exists") is not False,
            hash=h if isinstance(h, str) and h else None,
            parsed=parsed if isinstance(parsed, dict) else {},
            source_config=source if isinstance(source, dict) else (
                parsed if isinstance(parsed, dict) else {}),
            valid=payload.get("valid") is not False,
            issues=tuple(i for i in payload.get("issues") or () if isinstance(i, dict)),
            warnings=tuple(w for w in payload.get("warnings") or () if isinstance(w, dict)),
            raw=raw if isinstance(raw, str) else None,
            payload=payload,
        )


@dataclass(frozen=True)
class ApplyResult:
    """``config.apply`` / ``config.patch``: the write succeeded; ``hash`` is the new baseHash.

    ``restart_scheduled`` is true when the gateway will restart to apply the change (a new
    ``bootId`` follows); otherwise it hot-reloads.
    """

    ok: bool
    path: str | None
    hash: str | None
    config: Mapping[str, Any]
    restart_scheduled: bool
    requires_restart: bool
    noop: bool
    changed_paths: tuple[str, ...]
    payload: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_payload(cls, payload: Any) -> ApplyResult:
        if not isinstance(payload, dict):
            raise ProtocolError("config write answered without an object")
        restart = payload.get("restart")
        sentinel = payload.get("sentinel") if isinstance(payload.get("sentinel"), dict) else {}
        assert isinstance(sentinel, dict)
        sp = sentinel.get("payload") if isinstance(sentinel.get("payload"), dict) else {}
        assert isinstance(sp, dict)
        stats = sp.get("stats") if isinstance(sp.get("stats"), dict) else {}
        assert isinstance(stats, dict)
        restart_scheduled = isinstance(restart, dict) and restart.get("ok") is not False
        h = payload.get("hash")
        cfg = payload.get("config")
        return cls(
            ok=payload.get("ok") is not False,
            path=payload.get("path") if isinstance(payload.get("path"), str) else None,
            hash=h if isinstance(h, str) and h else None,
            config=cfg if isinstance(cfg, dict) else {},
            restart_scheduled=restart_scheduled,
            requires_restart=restart_scheduled or stats.get("requiresRestart") is True,
            noop=payload.get("noop") is True,
            changed_paths=tuple(
                p for p in payload.get("changedPaths") or () if isinstance(p, str)),
            payload=payload,
        )


# --------------------------------------------------------------------------- subscriptions


_END = object()


class EventSubscription:
    """Events from one client, filtered by name (none given: all events).

    An async iterator (``async for event in sub``) and an async context manager. The queue is
    bounded: when a slow consumer lets it fill, the oldest events are dropped and counted in
    ``dropped``. Iteration ends when the subscription or the client is closed; until then
    ``async for`` waits for the next event without a time limit (a dropped connection that
    the client does not reconnect does not end it). :meth:`next` is the bounded wait.
    """

    def __init__(self, client: GatewayClient, names: Sequence[str], maxsize: int = 1024) -> None:
        self._client = client
        self.names: frozenset[str] = frozenset(names)
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=maxsize)
        self.dropped = 0
        self.closed = False

    def __repr__(self) -> str:
        names = ",".join(sorted(self.names)) or "*"
        return f"EventSubscription({names}, queued={self._queue.qsize()}, dropped={self.dropped})"

    def wants(self, name: str) -> bool:
        return not self.names or name in self.names

    def _put(self, item: object) -> None:
        if self.closed:
            return
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self._queue.get_nowait()
                    self.dropped += 1

    def _end(self) -> None:
        self._put(_END)
        self.closed = True

    def close(self) -> None:
        if not self.closed:
            self._end()
        self._client._unsubscribe(self)

    async def next(self, timeout: float) -> Event:
        """The next event, or :class:`GatewayTimeout` after ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except TimeoutError:
            raise GatewayTimeout(
                f"no event {sorted(self.names) or ''} within {timeout:g}s",
                url=self._client.url,
            ) from None

    def __aiter__(self) -> EventSubscription:
        return self

    async def __anext__(self) -> Event:
        """The next event. ``async for`` waits without a time limit, as long as the
        subscription and its client are open: closing either ends the iteration
        (``StopAsyncIteration``) for every waiting consumer. Use :meth:`next` for a bounded
        wait."""
        if self.closed and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            self.closed = True
            # leave the end marker for other consumers waiting on this subscription
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_END)
            raise StopAsyncIteration
        assert isinstance(item, Event)
        return item

    async def __aenter__(self) -> EventSubscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- the client


class GatewayClient:
    """A connection to one OpenClaw Gateway. See the module docstring for behaviour."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        password: str | None = None,
        identity: DeviceIdentity | None = None,
        device_token: str | None = None,
        client_id: str = "gateway-client",
        client_mode: str = "backend",
        client_version: str = molthub_gitops.__version__,
        role: str = "operator",
        scopes: Sequence[str] = ("operator.admin",),
        min_protocol: int = 3,
        max_protocol: int = 4,
        connect_timeout: float = 10.0,
        request_timeout: float = 30.0,
        reconnect: bool = True,
        backoff: Backoff | None = None,
        platform: str = sys.platform,
        signature_version: str = "v3",
    ) -> None:
        _check_url(url)
        if min_protocol > max_protocol:
            raise ValueError("min_protocol must not exceed max_protocol")
        self._target = url
        self.url = display_url(url)
        self._token = token
        self._password = password
        self._identity = identity
        self._device_token = device_token
        if self._device_token is None and identity is not None:
            self._device_token = identity.device_token(self.url, role)
        self._redactor = Redactor([token, password, self._device_token])
        self._client_id = client_id
        self._client_mode = client_mode
        self._client_version = client_version
        self._role = role
        self._scopes = tuple(scopes)
        self._min_protocol = min_protocol
        self._max_protocol = max_protocol
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.reconnect = reconnect
        self._backoff = backoff or Backoff()
        self._platform = platform
        self._signature_version = signature_version

        self.hello: Hello | None = None
        self.connection_count = 0
        self.last_shutdown: ShutdownNotice | None = None
        self.last_error: GatewayError | None = None
        self._ws: ClientConnection | None = None
        self._pending: dict[str, tuple[str, asyncio.Future[ResponseFrame]]] = {}
        self._subs: set[EventSubscription] = set()
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._reconnector: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._id_prefix = secrets.token_hex(16)  # 32 hex digits, like uuid4().hex
        self._id_counter = itertools.count(1)
        self._last_frame_at = 0.0
        self._closing_reason: GatewayError | None = None
        self._closed = False

    # ---------------------------------------------------------------- introspection

    def __repr__(self) -> str:
        auth = "token" if self._token else "password" if self._password else (
            "device-token" if self._device_token else "none")
        state = "connected" if self.connected else "closed" if self._closed else "disconnected"
        proto = f", protocol={self.hello.protocol}" if self.hello else ""
        return f"GatewayClient({self.url!r}, {state}, auth={auth}{proto})"

    @property
    def connected(self) -> bool:
        return self._ws is not None and self.hello is not None

    @property
    def closed(self) -> bool:
        return self._closed

    def scrub(self, text: str) -> str:
        """``text`` with this client's secrets masked."""
        return self._redactor.scrub(text)

    # ---------------------------------------------------------------- connect / close

    async def __aenter__(self) -> GatewayClient:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self, *, timeout: float | None = None) -> Hello:
        """Connect (if not connected) and return ``hello-ok``.

        Retries ``gateway starting`` closes and ``UNAVAILABLE`` answers (honouring
        ``retryAfterMs``), and refused connections when ``reconnect`` is on, with backoff,
        until ``timeout`` (default ``connect_timeout``) runs out. Authentication, pairing and
        protocol errors are raised at once.
        """
        if self._closed:
            raise GatewayUnavailable("client is closed", url=self.url)
        if self.connected and not self._lock.locked():
            assert self.hello is not None
            return self.hello
        budget = self.connect_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        if self._lock.locked():
            try:
                async with asyncio.timeout(budget):
                    await self._lock.acquire()
            except TimeoutError:
                raise GatewayTimeout(
                    f"connect: another connect did not finish within {budget:g}s",
                    url=self.url,
                ) from None
        else:
            await self._lock.acquire()
        try:
            if self.connected:
                assert self.hello is not None
                return self.hello
            attempts = 0
            last: GatewayUnavailable | None = None
            while True:
                attempts += 1
                remaining = deadline - loop.time()
                if remaining <= MIN_ATTEMPT_S:
                    if last is not None:
                        raise GatewayUnavailable(
                            f"{_strip_url(str(last), self.url)} "
                            f"(gave up after {attempts - 1} attempts in {budget:g}s)",
                            retry_after=last.retry_after, url=self.url, details=last.details,
                        )
                    raise GatewayTimeout(f"connect: no hello within {budget:g}s", url=self.url)
                try:
                    hello = await self._connect_once(remaining)
                except FATAL_ERRORS as exc:
                    self.last_error = exc
                    raise
                except GatewayError as exc:
                    self.last_error = exc
                    if not isinstance(exc, GatewayUnavailable) or not (
                            self.reconnect or exc.details.get("starting") is True):
                        raise
                    last = exc
                    pause = max(self._backoff.next_delay(), exc.retry_after or 0.0)
                    # never sleep past the deadline: one last attempt just before it
                    pause = min(pause, max(deadline - loop.time() - MIN_ATTEMPT_S, 0.0))
                    log.debug("gateway %s: %s; retrying in %.2fs", self.url, exc, pause)
                    await asyncio.sleep(pause)
                    continue
                self._backoff.reset()
                return hello
        finally:
            self._lock.release()

    async def _open_socket(self, timeout: float) -> ClientConnection:
        try:
            return await ws_connect(
                self._target,
                open_timeout=max(timeout, 0.001),
                ping_interval=None,
                close_timeout=CLOSE_TIMEOUT,
                max_size=MAX_FRAME_BYTES,
                compression=None,
                proxy=None,
                user_agent_header=f"molthub-gitops/{molthub_gitops.__version__}",
            )
        except TimeoutError:
            raise GatewayTimeout(
                f"no WebSocket handshake within {timeout:.3g}s", url=self.url
            ) from None
        except websockets.InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise AuthenticationFailed(
                    f"gateway refused the WebSocket upgrade (HTTP {status})", url=self.url
                ) from None
            if status in (429, 502, 503, 504):
                raise GatewayUnavailable(
                    f"gateway refused the WebSocket upgrade (HTTP {status})", url=self.url
                ) from None
            raise ProtocolError(
                f"not a gateway: WebSocket upgrade answered HTTP {status}", url=self.url
            ) from None
        except websockets.InvalidMessage:
            # the peer closed the TCP connection mid-upgrade: seen while a gateway restarts
            raise GatewayUnavailable(
                "connection dropped during the WebSocket handshake", url=self.url
            ) from None
        except websockets.InvalidHandshake as exc:
            raise ProtocolError(
                f"not a gateway: bad WebSocket handshake ({exc.__class__.__name__})", url=self.url
            ) from None
        except ConnectionRefusedError:
            raise GatewayUnavailable("cannot connect: connection refused", url=self.url) from None
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
            raise GatewayUnavailable(f"cannot connect: {reason}", url=self.url) from None

    async def _recv_frame(self, ws: ClientConnection, deadline: float, what: str) -> Any:
        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise GatewayTimeout(f"connect: no {what} in time", url=self.url)
        try:
            async with asyncio.timeout(remaining):
                text = await ws.recv()
        except TimeoutError:
            raise GatewayTimeout(f"connect: no {what} in time", url=self.url) from None
        except websockets.ConnectionClosed as exc:
            raise self._close_error(exc) from None
        return parse_frame(text)

    def _close_error(self, exc: websockets.ConnectionClosed) -> GatewayError:
        rcvd = exc.rcvd
        code = rcvd.code if rcvd is not None else None
        reason = rcvd.reason if rcvd is not None else ""
        err = error_from_close(code, reason, url=self.url, scrub=self.scrub)
        if code == 1013:
            err.details["starting"] = True
        return err

    async def _connect_once(self, timeout: float) -> Hello:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        ws = await self._open_socket(timeout)
        try:
            frame = await self._recv_frame(ws, deadline, "connect.challenge")
            while not (isinstance(frame, EventFrame) and frame.event == "connect.challenge"):
                if isinstance(frame, ResponseFrame):
                    raise ProtocolError("gateway answered before the challenge", url=self.url)
                frame = await self._recv_frame(ws, deadline, "connect.challenge")
            payload = frame.payload if isinstance(frame.payload, dict) else {}
            nonce = payload.get("nonce")
            if not isinstance(nonce, str) or not nonce.strip():
                raise ProtocolError("connect.challenge carries no nonce", url=self.url)
            request_id = self._next_id()
            await ws.send(encode_request(request_id, "connect", self._connect_params(nonce)))
            frame = await self._recv_frame(ws, deadline, "hello-ok")
            while not (isinstance(frame, ResponseFrame) and frame.id == request_id):
                frame = await self._recv_frame(ws, deadline, "hello-ok")
            if not frame.ok:
                assert frame.error is not None
                err = error_from_response(frame.error, url=self.url, scrub=self.scrub)
                if isinstance(err, GatewayUnavailable):
                    err.details["starting"] = True
                raise err
            hello = parse_hello(frame.payload)
            if not self._min_protocol <= hello.protocol <= self._max_protocol:
                raise ProtocolMismatch(
                    f"gateway chose protocol {hello.protocol}, outside "
                    f"{self._min_protocol}..{self._max_protocol}", url=self.url)
        except BaseException:
            await self._close_socket(ws, 1000, "")
            raise
        if hello.auth.device_token and self._identity is not None:
            self._redactor.add(hello.auth.device_token)
            try:
                self._identity.store_device_token(
                    self.url, hello.auth.device_token, role=hello.auth.role or self._role,
                    scopes=hello.auth.scopes)
            except OSError as exc:
                log.warning("gateway %s: cannot store device token (%s)", self.url,
                            exc.strerror or exc.__class__.__name__)
        self._attach(ws, hello)
        return hello

    def _connect_params(self, nonce: str) -> dict[str, Any]:
        device = None
        if self._identity is not None:
            device = self._identity.device_block(
                client_id=self._client_id, client_mode=self._client_mode, role=self._role,
                scopes=self._scopes, token=self._token or self._device_token, nonce=nonce,
                signed_at_ms=int(time.time() * 1000), platform=self._platform,
                version=self._signature_version,
            )
        return build_connect_params(
            min_protocol=self._min_protocol, max_protocol=self._max_protocol,
            client_id=self._client_id, client_version=self._client_version,
            platform=self._platform, client_mode=self._client_mode, role=self._role,
            scopes=self._scopes, token=self._token, password=self._password,
            device_token=self._device_token if (self._identity is not None and not self._token)
            else None,
            device=device,
        )

    def _attach(self, ws: ClientConnection, hello: Hello) -> None:
        self._ws = ws
        self.hello = hello
        self.connection_count += 1
        self.last_error = None
        self._closing_reason = None
        self._last_frame_at = asyncio.get_running_loop().time()
        self._reader = asyncio.create_task(self._read_loop(ws), name=f"gateway-read {self.url}")
        self._arm_watchdog(ws, hello.policy.tick_interval_ms / 1000.0)
        log.debug("gateway %s: connected, protocol %s, boot %s", self.url, hello.protocol,
                  hello.boot_id)

    async def _close_socket(self, ws: ClientConnection, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await ws.close(code, reason)

    async def close(self) -> None:
        """Close the connection for good: pending requests fail, subscriptions end."""
        self._closed = True
        current = asyncio.current_task()
        if self._watchdog is not None:
            self._watchdog.cancel()
        task = self._reconnector
        if task is not None and task is not current and not task.done():
            task.cancel()
        ws = self._ws
        self._closing_reason = GatewayUnavailable("client closed", url=self.url)
        if ws is not None:
            await self._close_socket(ws, 1000, "client closing")
        reader = self._reader
        if reader is not None and reader is not current and not reader.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await asyncio.shield(reader)
            if not reader.done():
                reader.cancel()
        self._detach(self._closing_reason)
        for sub in list(self._subs):
            sub._end()
        self._subs.clear()

    def _detach(self, error: GatewayError) -> None:
        self._ws = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        pending, self._pending = self._pending, {}
        for method, fut in pending.values():
            if not fut.done():
                err = type(error)(
                    f"{method}: {_strip_url(str(error), self.url)}", url=self.url,
                    details={**error.details, "outcome_unknown": True},
                ) if isinstance(error, GatewayUnavailable) else error
                fut.set_exception(err)

    # ---------------------------------------------------------------- reading

    async def _read_loop(self, ws: ClientConnection) -> None:
        error: GatewayError | None = None
        try:
            async for text in ws:
                self._last_frame_at = asyncio.get_running_loop().time()
                try:
                    frame = parse_frame(text)
                except ProtocolError as exc:
                    log.warning("gateway %s: %s", self.url, exc)
                    continue
                if isinstance(frame, ResponseFrame):
                    entry = self._pending.pop(frame.id, None)
                    if entry is not None and not entry[1].done():
                        entry[1].set_result(frame)
                elif isinstance(frame, EventFrame):
                    self._dispatch(frame)
        except websockets.ConnectionClosed as exc:
            error = self._closing_reason or self._close_error(exc)
        except Exception as exc:
            error = GatewayUnavailable(
                f"connection failed ({exc.__class__.__name__})", url=self.url)
        finally:
            if error is None:
                error = self._closing_reason or self._close_error_from(ws)
            if self._ws is ws:
                self.hello = self.hello  # keep the last hello for inspection
                self._detach(error)
                self._ws = None
                if not self._closed:
                    log.info("gateway %s: connection lost: %s", self.url,
                             _strip_url(str(error), self.url))
                    self.last_error = error
                    if self.reconnect:
                        self._start_reconnect()

    def _close_error_from(self, ws: ClientConnection) -> GatewayError:
        code = ws.close_code
        reason = ws.close_reason or ""
        return error_from_close(code, reason, url=self.url, scrub=self.scrub)

    def _dispatch(self, frame: EventFrame) -> None:
        name = frame.event
        if name == "shutdown":
            payload = frame.payload if isinstance(frame.payload, dict) else {}
            expected = payload.get("restartExpectedMs")
            self.last_shutdown = ShutdownNotice(
                reason=str(payload.get("reason") or "gateway stopping"),
                restart_expected_ms=expected if isinstance(expected, int) else None,
                received_at=time.monotonic(),
                boot_id=self.hello.boot_id if self.hello else None,
            )
        if not self._subs:
            return
        event = Event(name, frame.payload, frame.seq)
        for sub in self._subs:
            if sub.wants(name):
                sub._put(event)

    def _arm_watchdog(self, ws: ClientConnection, interval: float) -> None:
        """Check every ``interval`` that a frame arrived in the last two intervals (a timer,
        not a task: cheap enough for thousands of connections)."""
        interval = max(interval, 0.01)
        loop = asyncio.get_running_loop()
        self._watchdog = loop.call_later(interval, self._watchdog_check, ws, interval)

    def _watchdog_check(self, ws: ClientConnection, interval: float) -> None:
        # a method, not a closure that re-arms itself: such a closure is a reference cycle
        # that keeps every closed client (and its socket) alive until a full GC pass
        if self._ws is not ws:
            return
        loop = asyncio.get_running_loop()
        silent = loop.time() - self._last_frame_at
        if silent > 2 * interval:
            log.warning("gateway %s: no tick for %.1fs, reconnecting", self.url, silent)
            self._closing_reason = GatewayUnavailable(
                f"connection dead: no tick for {silent:.1f}s", url=self.url)
            self._watchdog = None
            self._spawn_close(ws)
            return
        self._watchdog = loop.call_later(interval, self._watchdog_check, ws, interval)

    def _spawn_close(self, ws: ClientConnection) -> None:
        task = asyncio.get_running_loop().create_task(
            self._close_socket(ws, CLOSE_TICK_TIMEOUT, "tick timeout"))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ---------------------------------------------------------------- reconnecting

    def _start_reconnect(self) -> None:
        if self._reconnector is None or self._reconnector.done():
            self._reconnector = asyncio.create_task(
                self._reconnect_loop(), name=f"gateway-reconnect {self.url}")

    async def _reconnect_loop(self) -> None:
        while not self._closed and not self.connected:
            pause = self._backoff.next_delay()
            shutdown = self.last_shutdown
            if shutdown is not None and shutdown.restart_expected_ms:
                pause = max(pause, min(shutdown.restart_expected_ms / 1000.0, 1.0))
            await asyncio.sleep(pause)
            if self._closed or self.connected:
                return
            try:
                await self.connect()
            except FATAL_ERRORS as exc:
                log.warning("gateway %s: reconnect stopped: %s", self.url, exc)
                return
            except GatewayError as exc:
                log.debug("gateway %s: reconnect failed: %s", self.url, exc)

    # ---------------------------------------------------------------- requests

    def _next_id(self) -> str:
        """A request id unique per client (random prefix + counter; cheaper than uuid4)."""
        return f"{self._id_prefix}-{next(self._id_counter)}"

    async def _ensure_connected(self, deadline_budget: float) -> ClientConnection:
        if self._closed:
            raise GatewayUnavailable("client is closed", url=self.url)
        if not self.connected:
            if not self.reconnect and self.connection_count > 0:
                raise self.last_error or GatewayUnavailable("not connected", url=self.url)
            await self.connect(timeout=min(self.connect_timeout, deadline_budget))
        ws = self._ws
        if ws is None:
            raise GatewayUnavailable("not connected", url=self.url)
        return ws

    async def request(
        self, method: str, params: Mapping[str, Any] | None = None, *,
        timeout: float | None = None,
    ) -> Any:
        """Send one request and return its payload; gateway errors become typed exceptions."""
        budget = self.request_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        started = loop.time()
        ws = await self._ensure_connected(budget)
        request_id = self._next_id()
        fut: asyncio.Future[ResponseFrame] = loop.create_future()
        self._pending[request_id] = (method, fut)
        try:
            try:
                async with asyncio.timeout(max(budget - (loop.time() - started), 0.0)):
                    try:
                        await ws.send(encode_request(request_id, method, params))
                    except websockets.ConnectionClosed as exc:
                        raise self._close_error(exc) from None
                    frame = await fut
            except TimeoutError:
                raise GatewayTimeout(
                    f"{method}: no answer within {budget:g}s", url=self.url,
                    details={"method": method, "outcome_unknown": True},
                ) from None
        finally:
            self._pending.pop(request_id, None)
        if frame.ok:
            return frame.payload
        assert frame.error is not None
        error = error_from_response(frame.error, url=self.url, method=method, scrub=self.scrub)
        if "missing scope" in frame.error.message and self.hello is not None:
            granted = ", ".join(self.hello.auth.scopes) or "none"
            error.args = (
                f"{error.args[0]} (granted scopes: {granted}; remote and protocol-3 gateways "
                "grant operator scopes only to a paired device identity)",
            )
        raise error

    def subscribe(self, *events: str, maxsize: int = 1024) -> EventSubscription:
        """Events named ``events`` (all events when none are named), from now on."""
        sub = EventSubscription(self, events, maxsize=maxsize)
        if self._closed:
            sub._end()  # nothing will ever arrive: iteration ends at once
        else:
            self._subs.add(sub)
        return sub

    def _unsubscribe(self, sub: EventSubscription) -> None:
        self._subs.discard(sub)

    # ---------------------------------------------------------------- methods

    async def config_get(self, *, timeout: float | None = None) -> ConfigSnapshot:
        return ConfigSnapshot.from_payload(await self.request("config.get", {}, timeout=timeout))

    async def _write(
        self, method: str, config: Mapping[str, Any], base_hash: str | None, note: str | None,
        timeout: float | None,
    ) -> ApplyResult:
        params: dict[str, Any] = {"raw": json.dumps(config, ensure_ascii=False)}
        if base_hash:
            params["baseHash"] = base_hash
        if note:
            params["note"] = note
        return ApplyResult.from_payload(await self.request(method, params, timeout=timeout))

    async def config_apply(
        self, config: Mapping[str, Any], base_hash: str | None, *, note: str | None = None,
        timeout: float | None = None,
    ) -> ApplyResult:
        """Replace the whole config file. A stale ``base_hash`` raises ConfigConflict."""
        return await self._write("config.apply", config, base_hash, note, timeout)

    async def config_patch(
        self, patch: Mapping[str, Any], base_hash: str | None, *, note: str | None = None,
        timeout: float | None = None,
    ) -> ApplyResult:
        """RFC 7396 merge patch (``None`` deletes, lists replace)."""
        return await self._write("config.patch", patch, base_hash, note, timeout)

    async def config_schema(self, *, timeout: float | None = None) -> Mapping[str, Any]:
        payload = await self.request("config.schema", {}, timeout=timeout)
        if not isinstance(payload, dict):
            raise ProtocolError("config.schema answered without an object", url=self.url)
        return payload

    async def health(
        self, *, probe: bool = False, timeout: float | None = None
    ) -> Mapping[str, Any]:
        payload = await self.request("health", {"probe": True} if probe else {},
                                     timeout=timeout)
        if not isinstance(payload, dict):
            raise ProtocolError("health answered without an object", url=self.url)
        return payload


def _strip_url(text: str, url: str) -> str:
    prefix = f"{url}: "
    return text[len(prefix):] if url and text.startswith(prefix) else text
