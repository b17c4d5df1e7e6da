"""The daemon's aiohttp application: status page, JSON API, metrics, health, control, webhooks.

Routes (:func:`create_app`):

* ``GET /`` the status page (meta refresh, no script); ``GET /static/{file}`` its CSS and icon;
* ``GET /api/status`` the :class:`DaemonStatus` as camelCase JSON;
* ``GET /api/audit?limit=&fleet=&bot=`` ``{"entries": [...]}``, oldest first, at most ``limit``
  (1..1000, default 100) of the newest entries matching the filters;
* ``GET /metrics`` Prometheus text; ``GET /healthz`` 200 while live (503 otherwise);
  ``GET /readyz`` 200 once ready (503 before);
* ``POST /api/fleets/{fleet}/{pause|resume|promote|abort|rollback}`` with an optional JSON body
  ``{"full": bool, "to": commit, "reason": str, "actor": name}`` and
  ``Authorization: Bearer <token>``: 403 when no token is configured (control disabled), 401
  (``WWW-Authenticate: Bearer``) for a missing or wrong token (compared in constant time),
  404 unknown fleet, 409 an action that does not fit the rollout's phase, 200
  ``{"fleet": FleetStatus}``;
* the webhook receivers of :mod:`molthub_gitops.web.webhooks`.

Every response carries a strict Content-Security-Policy (no script, styles and images from the
page's own origin only), ``X-Content-Type-Options: nosniff`` and frame denial. As a last line
of defence, the API token and webhook secrets are masked in every page and API body (the status
model never holds them in the first place).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from molthub_gitops.errors import SyncError
from molthub_gitops.gateway.secrets import Redactor
from molthub_gitops.sync.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from molthub_gitops.web.pages import STATIC_FILES, render_page, static_file
from molthub_gitops.web.ports import CONTROL_ACTIONS, DaemonPort
from molthub_gitops.web.webhooks import WebhookSecrets, add_webhook_routes

__all__ = ["CONTENT_SECURITY_POLICY", "CONTROL_TIMEOUT", "create_app"]

log = logging.getLogger("molthub.web.app")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
CONTROL_TIMEOUT = 30.0
"""Seconds a control request may take before it answers 504 (the action may still happen)."""
CONTROL_MAX_BODY = 16 * 1024
AUDIT_MAX_LIMIT = 1000
PAGE_AUDIT_LIMIT = 50
_ACTOR_RE = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_SYNC_ERROR_STATUS = {"unknown-fleet": 404, "bad-phase": 409}


def _json_response(data: Any, *, status: int = 200, redactor: Redactor,
                   headers: dict[str, str] | None = None) -> web.Response:
    text = redactor.scrub(json.dumps(data, ensure_ascii=False, indent=None))
    return web.Response(text=text, status=status, content_type="application/json",
                        headers=headers)


class _Handlers:
    def __init__(self, port: DaemonPort, *, api_token: str | None, redactor: Redactor,
                 refresh_seconds: int, control_timeout: float) -> None:
        self.port = port
        self.control_timeout = control_timeout
        self._token = api_token.encode("utf-8") if api_token else None
        self.redactor = redactor
        self.refresh_seconds = refresh_seconds

    def error(self, status: int, message: str, *,
              headers: dict[str, str] | None = None) -> web.Response:
        return _json_response({"error": message}, status=status, redactor=self.redactor,
                              headers=headers)

    # ------------------------------------------------------------------ read-only

    async def page(self, request: web.Request) -> web.Response:
        html = render_page(self.port.status(), self.port.recent_audit(PAGE_AUDIT_LIMIT),
                           live=True, refresh_seconds=self.refresh_seconds)
        return web.Response(text=self.redactor.scrub(html), content_type="text/html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.Response(body=static_file(name),
                            headers={"Content-Type": STATIC_FILES[name],
                                     "Cache-Control": "public, max-age=300"})

    async def api_status(self, request: web.Request) -> web.Response:
        return _json_response(self.port.status().to_json_dict(), redactor=self.redactor)

    async def api_audit(self, request: web.Request) -> web.Response:
        raw = request.query.get("limit", "100")
        try:
            limit = int(raw)
        except ValueError:
            return self.error(400, "limit must be a whole number from 1 to 1000")
        if not 1 <= limit <= AUDIT_MAX_LIMIT:
            return self.error(400, "limit must be a whole number from 1 to 1000")
        fleet = request.query.get("fleet")
        bot = request.query.get("bot")
        filtered = fleet is not None or bot is not None
        entries = self.port.recent_audit(AUDIT_MAX_LIMIT if filtered else limit)
        if fleet is not None:
            entries = [e for e in entries if e.fleet == fleet]
        if bot is not None:
            entries = [e for e in entries if e.bot == bot]
        entries = sorted(entries, key=lambda e: e.seq)[-limit:]
        return _json_response({"entries": [e.to_json_dict() for e in entries]},
                              redactor=self.redactor)

    async def metrics(self, request: web.Request) -> web.Response:
        text = self.port.metrics.render(self.port.status())
        return web.Response(text=self.redactor.scrub(text),
                            headers={"Content-Type": METRICS_CONTENT_TYPE})

    async def healthz(self, request: web.Request) -> web.Response:
        live = self.port.live()
        return _json_response({"live": live}, status=200 if live else 503,
                              redactor=self.redactor)

    async def readyz(self, request: web.Request) -> web.Response:
        ready = self.port.ready()
        return _json_response({"ready": ready}, status=200 if ready else 503,
                              redactor=self.redactor)

    # ------------------------------------------------------------------ control

    def _authorised(self, request: web.Request) -> web.Response | None:
        """None when the request carries the API token; else the error response to send."""
        if self._token is None:
            return self.error(403, "control is disabled: the daemon has no API token "
                                   "(start it with one to pause, resume, promote, abort or "
                                   "roll back over the API)")
        header = request.headers.get("Authorization", "")
        scheme, _, credentials = header.partition(" ")
        given = credentials.strip().encode("utf-8")
        ok = scheme.lower() == "bearer" and bool(given)
        # compare even when the scheme is wrong, so timing says nothing about the token
        same = hmac.compare_digest(given, self._token)
        if ok and same:
            return None
        challenge = 'Bearer realm="molthub"'
        if header:
            challenge += ', error="invalid_token"'
        return self.error(401, "a valid bearer token is required",
                          headers={"WWW-Authenticate": challenge})

    async def control(self, request: web.Request) -> web.Response:
        denied = self._authorised(request)
        if denied is not None:
            return denied
        fleet = request.match_info["fleet"]
        action = request.match_info["action"]
        if action not in CONTROL_ACTIONS:
            return self.error(404, f"unknown action (one of {', '.join(CONTROL_ACTIONS)})")
        parsed = await self._control_body(request)
        if isinstance(parsed, web.Response):
            return parsed
        full, to, reason, actor = parsed
        try:
            fleet_status = await asyncio.wait_for(
                self.port.control(fleet, action, actor=actor, full=full, to=to, reason=reason),
                self.control_timeout)
        except SyncError as exc:
            return self.error(_SYNC_ERROR_STATUS.get(exc.code, 400), str(exc))
        except TimeoutError:
            return self.error(504, f"the daemon did not confirm '{action}' within "
                                   f"{self.control_timeout:g} s; check the fleet's status")
        return _json_response({"fleet": fleet_status.to_json_dict()}, redactor=self.redactor)

    async def _control_body(self, request: web.Request
                            ) -> tuple[bool, str | None, str, str] | web.Response:
        if request.content_length is not None and request.content_length > CONTROL_MAX_BODY:
            return self.error(413, f"the body is larger than {CONTROL_MAX_BODY} bytes")
        body = await request.content.read(CONTROL_MAX_BODY + 1)
        while body and len(body) <= CONTROL_MAX_BODY:
            more = await request.content.read(CONTROL_MAX_BODY + 1 - len(body))
            if not more:
                break
            body += more
        if len(body) > CONTROL_MAX_BODY:
            return self.error(413, f"the body is larger than {CONTROL_MAX_BODY} bytes")
        data: Any = {}
        if body.strip():
            try:
                data = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                return self.error(400, "the body must be a JSON object")
        if not isinstance(data, dict):
            return self.error(400, "the body must be a JSON object")
        full = data.get("full", False)
        to = data.get("to")
        reason = data.get("reason", "")
        name = data.get("actor")
        if not isinstance(full, bool):
            return self.error(400, "'full' must be true or false")
        if to is not None and (not isinstance(to, str) or not 1 <= len(to) <= 200):
            return self.error(400, "'to' must be a commit id")
        if not isinstance(reason, str) or len(reason) > 500:
            return self.error(400, "'reason' must be text of at most 500 characters")
        if name is not None and (not isinstance(name, str) or not _ACTOR_RE.match(name)):
            return self.error(400, "'actor' must be 1-64 letters, digits or . _ @ -")
        actor = f"api:{name}" if name else "api"
        return full, to, self.redactor.scrub(reason), actor


def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    response.headers.setdefault("Cache-Control", "no-store")


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    _security_headers(request, response)


def _error_middleware(redactor: Redactor) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("internal error serving %s %s: %s", request.method, request.path,
                      type(exc).__name__)
            return _json_response({"error": "internal error"}, status=500, redactor=redactor)

    return middleware


def create_app(port: DaemonPort, *, api_token: str | None, webhook_secrets: WebhookSecrets,
               branch: str, status_branch: str, refresh_seconds: int = 5,
               control_timeout: float = CONTROL_TIMEOUT) -> web.Application:
    """The aiohttp application serving ``port`` (see the module docstring for the routes).

    ``api_token`` None (or empty) disables the control API (403). ``refresh_seconds`` 0 turns
    the page's auto-refresh off. ``control_timeout``: seconds a control action may take
    before the request answers 504.
    """
    redactor = Redactor([api_token, webhook_secrets.github, webhook_secrets.gitlab,
                         webhook_secrets.generic])
    handlers = _Handlers(port, api_token=api_token or None, redactor=redactor,
                         refresh_seconds=refresh_seconds, control_timeout=control_timeout)
    app = web.Application(middlewares=[_error_middleware(redactor)],
                          client_max_size=(1 << 20) + 1024)
    app.on_response_prepare.append(_on_prepare)
    app.router.add_get("/", handlers.page)
    app.router.add_get("/static/{name}", handlers.static)
    app.router.add_get("/api/status", handlers.api_status)
    app.router.add_get("/api/audit", handlers.api_audit)
    app.router.add_get("/metrics", handlers.metrics)
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/readyz", handlers.readyz)
    app.router.add_post("/api/fleets/{fleet}/{action}", handlers.control)
    add_webhook_routes(app, secrets=webhook_secrets, on_event=port.on_webhook, branch=branch,
                       status_branch=status_branch, count=port.metrics.webhook)
    return app
