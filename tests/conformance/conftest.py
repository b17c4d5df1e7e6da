"""The `gateway` fixture: one conformance suite, run against the simulator and real gateways.

Params:
  sim             molthub_gitops.gateway.sim.SimulatedGateway (emulating openclaw 2026.9.6)
  sim-2026.3.31   the simulator emulating openclaw 2026.3.31 (protocol 3)
  real-2026.9.6   a real `openclaw gateway run` of 2026.9.6 (protocol 4)
  real-2026.3.31  a real `openclaw gateway run` of 2026.3.31 (protocol 3)

Each backend starts once per test session (a real gateway takes 10-40 s to start) with a seeded
config file ``{"gateway": {"mode": "local"}}``; tests put it in a known state themselves.
A missing real install FAILS the test with the message "run scripts/install-openclaw.sh": the
real params are part of CI, never skipped.
"""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from molthub_gitops.gateway.client import GatewayClient
from molthub_gitops.gateway.identity import DeviceIdentity
from molthub_gitops.providers.openclaw_process import OpenClawProcess, find_openclaw

REPO = Path(__file__).resolve().parents[2]
SEED_CONFIG: dict[str, Any] = {"gateway": {"mode": "local"}}
SIM_TICK_MS = 2000  # the real tick is 30 s; the suite waits 1.5 intervals, whatever they are
# version -> the protocol that version speaks (documented in the gateway reference)
REAL_VERSIONS: dict[str, int] = {"2026.9.6": 4, "2026.3.31": 3}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class GatewayUnderTest:
    """One gateway the suite runs against, with the hooks for symmetric assertions."""

    kind: str  # "sim" | "real"
    version: str
    protocol: int  # the protocol this gateway speaks (a client offering 3..4 gets this)
    url: str
    token: str = field(repr=False)
    read_config_out_of_band: Callable[[], Awaitable[dict[str, Any]]] = field(repr=False)
    backend: Any = field(repr=False)

    @property
    def has_boot_id(self) -> bool:
        """Protocol 3 gateways report no ``server.bootId``."""
        return self.protocol >= 4

    @property
    def restarts_on_every_write(self) -> bool:
        """Protocol 3 gateways restart after every successful config.apply / config.patch."""
        return self.protocol == 3

    @property
    def emits_config_changed(self) -> bool:
        """``config.changed`` events exist from protocol 4 on."""
        return self.protocol >= 4

    def client(self, **options: Any) -> GatewayClient:
        """A new client with its own device identity (protocol 3 needs one for config access,
        and its write rate limit is counted per device)."""
        options.setdefault("token", self.token)
        options.setdefault("identity", DeviceIdentity.generate())
        options.setdefault("connect_timeout", 60.0)
        options.setdefault("request_timeout", 60.0)
        return GatewayClient(self.url, **options)


# ------------------------------------------------------------------------- real gateways


async def _start_real(version: str, tmp_path_factory: pytest.TempPathFactory
                      ) -> AsyncIterator[GatewayUnderTest]:
    install = find_openclaw(version)
    if install is None:
        pytest.fail(f"openclaw@{version} is not installed: run scripts/install-openclaw.sh",
                    pytrace=False)
    home = tmp_path_factory.mktemp(f"openclaw-{version}")
    token = secrets.token_urlsafe(24)
    proc = OpenClawProcess(install)
    try:
        await proc.start(home, _free_port(), token, config=SEED_CONFIG, ready_timeout=180.0)

        async def read() -> dict[str, Any]:
            payload = await proc.call("config.get", time_limit=60.0)
            assert isinstance(payload, dict)
            return payload

        yield GatewayUnderTest(kind="real", version=version, protocol=REAL_VERSIONS[version],
                               url=proc.url, token=token, read_config_out_of_band=read,
                               backend=proc)
    finally:
        await proc.stop()
        leftovers = proc.leftover_pids()
        assert not leftovers, f"openclaw processes left running: {leftovers}"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def real_gateway_2026_9_6(
        tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GatewayUnderTest]:
    async for gw in _start_real("2026.9.6", tmp_path_factory):
        yield gw


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def real_gateway_2026_3_31(
        tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GatewayUnderTest]:
    async for gw in _start_real("2026.3.31", tmp_path_factory):
        yield gw


# ------------------------------------------------------------------------- simulator


async def _start_sim(version: str, protocol: int) -> AsyncIterator[GatewayUnderTest]:
    from molthub_gitops.gateway.sim import SimulatedGateway

    token = secrets.token_urlsafe(24)
    schema = json.loads(
        (REPO / "schemas" / "openclaw" / f"{version}.json").read_text(encoding="utf-8"))
    gw = SimulatedGateway(token=token, version=version, protocol_range=(3, protocol),
                          config=SEED_CONFIG, schema=schema, tick_interval_ms=SIM_TICK_MS)
    await gw.start()
    try:
        async def read() -> dict[str, Any]:
            payload = gw.config_payload()
            assert isinstance(payload, dict)
            return payload

        yield GatewayUnderTest(kind="sim", version=version, protocol=protocol, url=gw.url,
                               token=token, read_config_out_of_band=read, backend=gw)
    finally:
        await gw.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sim_gateway_2026_9_6() -> AsyncIterator[GatewayUnderTest]:
    async for gw in _start_sim("2026.9.6", 4):
        yield gw


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sim_gateway_2026_3_31() -> AsyncIterator[GatewayUnderTest]:
    async for gw in _start_sim("2026.3.31", 3):
        yield gw


# ------------------------------------------------------------------------- the fixture

GATEWAY_PARAMS = [
    pytest.param("sim", id="sim"),
    pytest.param("sim-2026.3.31", id="sim-2026.3.31"),
    *(pytest.param(f"real-{v}", id=f"real-{v}", marks=pytest.mark.real_gateway)
      for v in REAL_VERSIONS),
]


@pytest.fixture(params=GATEWAY_PARAMS)
def gateway(request: pytest.FixtureRequest) -> GatewayUnderTest:
    name = request.param
    if name == "sim":
        gw = request.getfixturevalue("sim_gateway_2026_9_6")
    elif name.startswith("sim-"):
        gw = request.getfixturevalue("sim_gateway_" + name.removeprefix("sim-").replace(".", "_"))
    else:
        gw = request.getfixturevalue("real_gateway_" + name.removeprefix("real-").replace(".", "_"))
    assert isinstance(gw, GatewayUnderTest)
    return gw
