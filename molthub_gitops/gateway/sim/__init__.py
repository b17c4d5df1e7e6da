"""A protocol-faithful OpenClaw Gateway simulator over real WebSockets on loopback.

``SimulatedGateway`` imitates one bot's gateway (openclaw 2026.9.6 on protocol 4, 2026.3.31
on protocol 3); ``SimulatedFleet`` runs many in one event loop; ``SimFaults`` makes them
misbehave on purpose.
"""

from molthub_gitops.gateway.sim.faults import SimFaults
from molthub_gitops.gateway.sim.fleet import SimulatedFleet
from molthub_gitops.gateway.sim.redact import SENTINEL
from molthub_gitops.gateway.sim.server import SimulatedGateway, SimWrite

__all__ = ["SENTINEL", "SimFaults", "SimWrite", "SimulatedFleet", "SimulatedGateway"]
