"""Webhook receivers: GitHub, GitLab and a generic HMAC hook that wake the daemon's fetch.

A webhook never carries content we trust: after its signature checks out, the payload is read
only for the event type and the pushed ``ref``, and an accepted delivery just calls
``on_event`` (the daemon then fetches the branch itself). Routes (``POST``):

* ``/hooks/github``  -- ``X-Hub-Signature-256: sha256=<hmac>``, ``X-GitHub-Event``,
  ``X-GitHub-Delivery`` (de-duplicated); ``ping`` is answered with ``{"pong": true}``.
* ``/hooks/gitlab``  -- ``X-Gitlab-Token`` (the shared secret), ``X-Gitlab-Event``;
  ``Idempotency-Key`` / ``X-Gitlab-Event-UUID`` de-duplicated.
* ``/hooks/generic`` -- ``X-Molthub-Signature: sha256=<hmac>``, optional ``X-Molthub-Event``
  and ``X-Molthub-Delivery``; the body is an optional JSON object with an optional ``ref``.

Answers: 404 when that provider has no secret configured, 413 over the body cap (the body is
read in chunks and never beyond ``max_body + 1`` bytes, whatever ``Content-Length`` says),
401 bad or missing signature, 400 unreadable JSON, 200 ``{"pong": true}``, 200
``{"duplicate": true}`` for a delivery seen before, 200 ``{"ignored": why}`` for a push to
another branch (the status branch included) or an event that is no push, and 202
``{"accepted": true}`` after calling ``on_event``. Signatures are compared in constant time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import urllib.parse
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = [
    "DeliveryCache",
    "WebhookEvent",
    "WebhookSecrets",
    "add_webhook_routes",
    "verify_generic",
    "verify_github",
    "verify_gitlab",
]

log = logging.getLogger("molthub.web.webhooks")

_READ_CHUNK = 64 * 1024
_SIG_PREFIX = "sha256="


@dataclass(frozen=True)
class WebhookSecrets:
    """The shared secret of each webhook provider; ``None`` (or empty) disables its route.
    ``repr`` shows which are set, never their values."""

    github: str | None = field(default=None, repr=False)
    gitlab: str | None = field(default=None, repr=False)
    generic: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        set_ = [n for n in ("github", "gitlab", "generic") if getattr(self, n)]
        return f"WebhookSecrets(configured={set_})"

    __str__ = __repr__


@dataclass(frozen=True)
class WebhookEvent:
    """An authenticated delivery that asks for a fetch. ``ref`` is what the sender says was
    pushed (``refs/heads/main``) or ``None``; it is a hint, never trusted for content."""

    provider: str
    delivery: str
    event: str
    ref: str | None


# --------------------------------------------------------------------------- verification


def _hmac_matches(body: bytes, header: str | None, secret: str) -> bool:
    if header is None or not secret:
        return False
    given = header.strip()
    if not given.lower().startswith(_SIG_PREFIX):
        return False
    given_hex = given[len(_SIG_PREFIX):].strip().lower().encode("utf-8", "replace")
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().encode("ascii")
    return hmac.compare_digest(expected, given_hex)


def verify_github(body: bytes, header: str | None, secret: str) -> bool:
    """Whether ``X-Hub-Signature-256`` (``sha256=<hex>``) is the HMAC-SHA256 of ``body``."""
    return _hmac_matches(body, header, secret)


def verify_gitlab(header: str | None, secret: str) -> bool:
    """Whether ``X-Gitlab-Token`` equals the shared secret (constant-time comparison)."""
    if header is None or not secret:
        return False
    return hmac.compare_digest(header.encode("utf-8", "replace"), secret.encode("utf-8"))


def verify_generic(body: bytes, header: str | None, secret: str) -> bool:
    """Whether ``X-Molthub-Signature`` (``sha256=<hex>``) is the HMAC-SHA256 of ``body``."""
    return _hmac_matches(body, header, secret)


class DeliveryCache:
    """Remembers the last ``capacity`` delivery ids (oldest forgotten first)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = max(1, capacity)
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, delivery: object) -> bool:
        return delivery in self._ids

    def seen(self, delivery: str) -> bool:
        """True when ``delivery`` was seen before; records it either way."""
        if delivery in self._ids:
            self._ids.move_to_end(delivery)
            return True
        self._ids[delivery] = None
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return False


# --------------------------------------------------------------------------- reading


class _TooLarge(Exception):
    pass


async def _read_capped(request: web.Request, cap: int, limit_s: float) -> bytes:
    """The body, read in chunks; :class:`_TooLarge` as soon as it passes ``cap`` bytes (we
    never read more than ``cap + 1``), whatever ``Content-Length`` claims."""
    declared = request.content_length
    if declared is not None and declared > cap:
        raise _TooLarge()
    buf = bytearray()
    async with asyncio.timeout(limit_s):
        while True:
            chunk = await request.content.read(min(_READ_CHUNK, cap + 1 - len(buf)))
            if not chunk:
                break
            buf += chunk
            if len(buf) > cap:
                raise _TooLarge()
    return bytes(buf)


def _parse_json(body: bytes, content_type: str, *, empty_ok: bool) -> dict[str, Any] | None:
    """The payload as a JSON object (GitHub may send it form-encoded as ``payload=``);
    ``None`` when it is not one."""
    if not body.strip():
        return {} if empty_ok else None
    try:
        text = body.decode("utf-8")
        if content_type == "application/x-www-form-urlencoded":
            fields = urllib.parse.parse_qs(text, strict_parsing=True)
            text = fields.get("payload", [""])[0]
        value = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


# --------------------------------------------------------------------------- routes


@dataclass
class _Receiver:
    secrets: WebhookSecrets
    on_event: Callable[[WebhookEvent], None]
    branch: str
    status_branch: str
    max_body: int
    count: Callable[[str, str], None] | None
    read_timeout: float
    deliveries: DeliveryCache

    def _answer(self, provider: str, result: str, status: int,
                body: dict[str, Any]) -> web.Response:
        if self.count is not None:
            try:
                self.count(provider, result)
            except Exception:  # metrics must never break a delivery
                log.exception("webhook counter failed")
        return web.json_response(body, status=status)

    def _ref_verdict(self, ref: Any) -> str | None:
        """Why a push to ``ref`` is ignored, or ``None`` when it is our branch."""
        if not isinstance(ref, str) or not ref:
            return "push without a ref"
        if ref == f"refs/heads/{self.branch}":
            return None
        if ref == f"refs/heads/{self.status_branch}":
            return "push to the status branch"
        if ref.startswith("refs/heads/"):
            return f"push to another branch (tracking {self.branch})"
        return "push to a tag or other ref, not a branch"

    async def _body(self, provider: str, request: web.Request
                    ) -> bytes | web.Response:
        try:
            return await _read_capped(request, self.max_body, self.read_timeout)
        except _TooLarge:
            log.warning("%s webhook: body over %d bytes refused", provider, self.max_body)
            return self._answer(provider, "too-large", 413,
                                {"error": f"body larger than {self.max_body} bytes"})
        except TimeoutError:
            return self._answer(provider, "bad-request", 408, {"error": "body read timed out"})

    def _finish(self, provider: str, delivery: str, event: str, payload: dict[str, Any],
                *, is_push: bool) -> web.Response:
        if delivery and self.deliveries.seen(f"{provider}:{delivery}"):
            log.info("%s webhook: delivery %s seen before", provider, delivery[:80])
            return self._answer(provider, "duplicate", 200, {"duplicate": True})
        ref_value = payload.get("ref")
        ref = ref_value if isinstance(ref_value, str) else None
        if not is_push:
            return self._answer(provider, "ignored", 200,
                                {"ignored": f"event {event[:60]!r} is not a push"})
        if provider != "generic" or "ref" in payload:
            why = self._ref_verdict(ref_value)
            if why is not None:
                return self._answer(provider, "ignored", 200, {"ignored": why})
        self.on_event(WebhookEvent(provider=provider, delivery=delivery, event=event, ref=ref))
        return self._answer(provider, "accepted", 202, {"accepted": True})

    def _not_configured(self, provider: str) -> web.Response:
        return self._answer(provider, "unauthorized", 404,
                            {"error": f"no {provider} webhook secret is configured"})

    def _unauthorized(self, provider: str) -> web.Response:
        log.warning("%s webhook: bad or missing signature", provider)
        return self._answer(provider, "unauthorized", 401,
                            {"error": "bad or missing signature"})

    def _bad_json(self, provider: str) -> web.Response:
        return self._answer(provider, "bad-request", 400,
                            {"error": "the body is not a JSON object"})

    async def github(self, request: web.Request) -> web.Response:
        secret = self.secrets.github
        if not secret:
            return self._not_configured("github")
        body = await self._body("github", request)
        if isinstance(body, web.Response):
            return body
        if not verify_github(body, request.headers.get("X-Hub-Signature-256"), secret):
            return self._unauthorized("github")
        payload = _parse_json(body, request.content_type, empty_ok=False)
        if payload is None:
            return self._bad_json("github")
        event = request.headers.get("X-GitHub-Event", "")
        if not event:
            return self._answer("github", "bad-request", 400,
                                {"error": "X-GitHub-Event header missing"})
        if event == "ping":
            return self._answer("github", "ping", 200, {"pong": True})
        delivery = request.headers.get("X-GitHub-Delivery", "")
        return self._finish("github", delivery, event, payload, is_push=event == "push")

    async def gitlab(self, request: web.Request) -> web.Response:
        secret = self.secrets.gitlab
        if not secret:
            return self._not_configured("gitlab")
        body = await self._body("gitlab", request)
        if isinstance(body, web.Response):
            return body
        if not verify_gitlab(request.headers.get("X-Gitlab-Token"), secret):
            return self._unauthorized("gitlab")
        payload = _parse_json(body, request.content_type, empty_ok=False)
        if payload is None:
            return self._bad_json("gitlab")
        event = request.headers.get("X-Gitlab-Event", "")
        kind = payload.get("object_kind") or payload.get("event_name")
        is_push = kind == "push" if isinstance(kind, str) else event == "Push Hook"
        delivery = (request.headers.get("Idempotency-Key")
                    or request.headers.get("X-Gitlab-Event-UUID") or "")
        return self._finish("gitlab", delivery, event or str(kind or ""), payload,
                            is_push=is_push)

    async def generic(self, request: web.Request) -> web.Response:
        secret = self.secrets.generic
        if not secret:
            return self._not_configured("generic")
        body = await self._body("generic", request)
        if isinstance(body, web.Response):
            return body
        if not verify_generic(body, request.headers.get("X-Molthub-Signature"), secret):
            return self._unauthorized("generic")
        payload = _parse_json(body, request.content_type, empty_ok=True)
        if payload is None:
            return self._bad_json("generic")
        event = request.headers.get("X-Molthub-Event", "push")
        delivery = request.headers.get("X-Molthub-Delivery", "")
        return self._finish("generic", delivery, event, payload, is_push=event == "push")


def add_webhook_routes(
    app: web.Application,
    *,
    secrets: WebhookSecrets,
    on_event: Callable[[WebhookEvent], None],
    branch: str,
    status_branch: str,
    max_body: int = 1 << 20,
    count: Callable[[str, str], None] | None = None,
    read_timeout: float = 30.0,
    deliveries: DeliveryCache | None = None,
) -> None:
    """Register ``POST /hooks/github``, ``/hooks/gitlab`` and ``/hooks/generic`` on ``app``.

    ``on_event`` is called (on the event loop) for each accepted delivery; ``count(provider,
    result)`` feeds metrics with result in accepted|duplicate|ignored|ping|unauthorized|
    too-large|bad-request.
    """
    receiver = _Receiver(secrets=secrets, on_event=on_event, branch=branch,
                         status_branch=status_branch, max_body=max(0, max_body), count=count,
                         read_timeout=read_timeout,
                         deliveries=deliveries if deliveries is not None else DeliveryCache())
    handlers: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
        "/hooks/github": receiver.github,
        "/hooks/gitlab": receiver.gitlab,
        "/hooks/generic": receiver.generic,
    }
    for path, handler in handlers.items():
        app.router.add_post(path, handler)
