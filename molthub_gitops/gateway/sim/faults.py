"""Fault knobs of a simulated gateway: a mutable dataclass tests may change while it runs."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SimFaults"]


@dataclass
class SimFaults:
    """What a :class:`~molthub_gitops.gateway.sim.SimulatedGateway` does wrong, on purpose.

    Every field is read at the moment it matters, so a test can flip a knob while clients are
    connected. One-shot knobs (``drop_connection_on``, ``fail_next_apply``,
    ``unhealthy_after_apply``) reset themselves after they fired.
    """

    refuse_auth: bool = False
    """Every ``connect`` fails exactly like a wrong token (or password), then close 1008."""
    response_delay_s: float = 0.0
    """Delay before every response to a request after the handshake."""
    drop_connection_on: str | None = None
    """Abort the socket (no response, no close frame) when this method arrives; fires once."""
    fail_next_apply: str | None = None
    """The next config.apply/patch/set fails with ``UNAVAILABLE`` and this message; fires once."""
    unhealthy_after_apply: bool = False
    """After the next successful write, ``health`` reports ``ok: false`` (until ``set_healthy``)."""
    restart_duration_s: float = 2.0
    """How long a restart answers ``connect`` with UNAVAILABLE and close 1013 "gateway starting"."""
    restart_refuse_s: float = 0.0
    """Before the 1013 window, a restart stops listening this long (connections refused)."""
    restart_delay_s: float = 0.05
    """Delay between a restart-requiring write's response and the ``shutdown`` event."""
    protocol_range: tuple[int, int] = (3, 4)
    """The protocols this gateway speaks; the highest one is its current protocol."""
    require_pairing: bool = False
    """Treat the gateway as remote: ``device`` is required and unknown devices need approval."""
    write_rate_limit: int | None = None
    """Writes per 60 s per method and client; ``None`` = the version's real default; 0 = off."""
