"""The client's cheap paths keep their behaviour: frames, ids, and no reference cycles.

A fleet manager opens and closes thousands of connections; a closed client must be freed by
reference counting alone (a cycle keeps the client, its socket and its last hello alive
until a full garbage collection, which grows with the heap), and the shared JSON encoder
must write exactly what a per-call ``json.dumps`` wrote.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from molthub_gitops.gateway.client import GatewayClient
from molthub_gitops.gateway.operations import observe
from molthub_gitops.gateway.protocol import encode_request
from molthub_gitops.gateway.sim import SimulatedGateway

TOKEN = "perf-path-token-0123456789"


@pytest.fixture
async def gw() -> AsyncIterator[SimulatedGateway]:
    sim = SimulatedGateway(token=TOKEN, config={"gateway": {"mode": "local"}})
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    """Only reference counting frees objects while the test runs."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@pytest.mark.parametrize(
    "params",
    [None, {}, {"probe": True}, {"raw": '{"a": "é \\u2603"}', "baseHash": "h", "note": "ü"}],
)
def test_encode_request_writes_what_json_dumps_wrote(params: dict[str, Any] | None) -> None:
    expected = json.dumps(
        {"type": "req", "id": "abc-1", "method": "config.apply", "params": dict(params or {})},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert encode_request("abc-1", "config.apply", params) == expected


def test_request_ids_are_a_random_prefix_and_a_counter() -> None:
    one = GatewayClient("ws://127.0.0.1:1", token=TOKEN)
    two = GatewayClient("ws://127.0.0.1:1", token=TOKEN)
    first, second = one._next_id(), one._next_id()
    assert re.fullmatch(r"[0-9a-f]{32}-1", first)
    assert second == first[:-1] + "2"
    assert two._next_id()[:32] != first[:32]


@pytest.mark.usefixtures("no_cyclic_gc")
async def test_a_closed_client_is_freed_without_the_cycle_collector(
    gw: SimulatedGateway,
) -> None:
    client = GatewayClient(gw.url, token=TOKEN, reconnect=False, connect_timeout=5,
                           request_timeout=5)
    observation = await observe(client, timeout=5)
    assert observation.reachable
    assert observation.config_hash == gw.config_hash
    ws = client._ws
    assert ws is not None
    client_ref, ws_ref = weakref.ref(client), weakref.ref(ws)
    await client.close()
    del client, ws
    assert client_ref() is None
    assert ws_ref() is None


@pytest.mark.usefixtures("no_cyclic_gc")
async def test_a_closed_gateway_connection_is_freed_without_the_cycle_collector(
    gw: SimulatedGateway,
) -> None:
    async with GatewayClient(gw.url, token=TOKEN, connect_timeout=5) as client:
        await client.config_get()
        conns = list(gw._conns)
        assert len(conns) == 1
        conn_ref = weakref.ref(conns[0].ws)
        del conns
    for _ in range(50):  # the server side finishes its handler after the close handshake
        if conn_ref() is None:
            break
        await asyncio.sleep(0.01)
    assert conn_ref() is None
