"""The seam between the web app and the daemon: what the status page and the API need.

:class:`DaemonPort` is a protocol; the daemon (``sync.daemon.Daemon``) implements it
structurally (``sync`` may not import ``web``), and tests use a small in-memory version.
"""

from __future__ import annotations

from typing import Protocol

from molthub_gitops.sync.audit import AuditEntry
from molthub_gitops.sync.metrics import Metrics
from molthub_gitops.sync.state import DaemonStatus, FleetStatus
from molthub_gitops.web.webhooks import WebhookEvent

__all__ = ["CONTROL_ACTIONS", "DaemonPort"]

CONTROL_ACTIONS: tuple[str, ...] = ("pause", "resume", "promote", "abort", "rollback")
"""The control actions of ``POST /api/fleets/{fleet}/{action}``."""


class DaemonPort(Protocol):
    """What the web app asks of the daemon."""

    metrics: Metrics

    def status(self) -> DaemonStatus:
        """The current status (live: volatile fields included)."""
        ...

    def recent_audit(self, limit: int = 100) -> list[AuditEntry]:
        """The last ``limit`` audit entries, oldest first."""
        ...

    def live(self) -> bool:
        """The daemon's loops are running (``/healthz``)."""
        ...

    def ready(self) -> bool:
        """Cloned, status branch loaded, first observation pass done (``/readyz``)."""
        ...

    async def control(self, fleet: str, action: str, *, actor: str, full: bool = False,
                      to: str | None = None, reason: str = "") -> FleetStatus:
        """Pause, resume, promote, abort or roll back a fleet's rollout.

        Raises :class:`~molthub_gitops.errors.SyncError` with ``code`` ``unknown-fleet``
        (HTTP 404) or ``bad-phase`` (HTTP 409); any other code is HTTP 400.
        """
        ...

    def on_webhook(self, event: WebhookEvent) -> None:
        """A verified webhook delivery asks for a fetch (never blocks)."""
        ...
