"""Fixtures of the simulator tests: a 2026.9.6-like and a 2026.3.31-like gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from simclient import TOKEN, Device, openclaw_schema

from molthub_gitops.gateway.sim import SimulatedGateway


@pytest_asyncio.fixture
async def gw() -> AsyncIterator[SimulatedGateway]:
    """A 2026.9.6-like gateway with the vendored schema and a small config."""
    sim = SimulatedGateway(
        token=TOKEN,
        schema=openclaw_schema(),
        config={"gateway": {"mode": "local"}, "messages": {"ackReactionScope": "all"}},
    )
    sim.faults.restart_duration_s = 0.3
    sim.faults.restart_delay_s = 0.0
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest_asyncio.fixture
async def legacy() -> AsyncIterator[SimulatedGateway]:
    """A 2026.3.31-like gateway (protocol 3)."""
    sim = SimulatedGateway(
        token=TOKEN,
        version="2026.3.31",
        protocol_range=(3, 3),
        config={"gateway": {"mode": "local"}},
    )
    sim.faults.restart_duration_s = 0.3
    sim.faults.restart_delay_s = 0.0
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
def device() -> Device:
    return Device()
