"""Many gateways in one process, and the fleet's stand-alone entry point."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from simclient import REPO, TOKEN, connect_params, connected, get, openclaw_schema

from molthub_gitops.gateway.sim import SimulatedFleet, SimulatedGateway
from molthub_gitops.gateway.sim.schema import compile_schema


async def test_fleet_gives_each_gateway_its_port_token_and_state() -> None:
    fleet = SimulatedFleet(
        names=["alpha", "beta"],
        token_for=lambda name: f"token-{name}",
        config={"gateway": {"mode": "local"}},
    )
    async with fleet:
        assert len(fleet) == 2
        assert set(fleet.gateways) == {"alpha", "beta"}
        assert fleet.url_for("alpha") != fleet.url_for("beta")
        alpha = await connected(
            fleet.gateways["alpha"], connect_params(auth={"token": "token-alpha"})
        )
        beta = await connected(fleet.gateways["beta"], connect_params(auth={"token": "token-beta"}))
        assert alpha.hello["server"]["bootId"] != beta.hello["server"]["bootId"]
        fleet.gateways["alpha"].edit_out_of_band(
            {"gateway": {"mode": "local"}, "cron": {"enabled": True}}
        )
        assert (await get(alpha))["hash"] != (await get(beta))["hash"]
        await alpha.close()
        await beta.close()
        with pytest.raises(KeyError):
            fleet.url_for("gamma")


async def test_many_gateways_share_one_compiled_schema_and_answer_concurrently() -> None:
    schema = openclaw_schema()
    async with SimulatedFleet(60, token_for=lambda _: TOKEN, schema=schema) as fleet:
        names = list(fleet.gateways)
        assert names[0] == "bot-0001"
        assert names[-1] == "bot-0060"
        compiled = {id(gw.store.schema) for gw in fleet.gateways.values()}
        assert compiled == {id(compile_schema(schema))}

        async def observe(gw: SimulatedGateway) -> str:
            client = await connected(gw)
            payload = await get(client)
            health = await client.request("health", {})
            assert health["payload"]["ok"] is True
            await client.close()
            hash_: str = payload["hash"]
            return hash_

        hashes = await asyncio.gather(*(observe(gw) for gw in fleet.gateways.values()))
        assert len(hashes) == 60
        # same (missing) file everywhere, but every install has its own revision key
        assert len(set(hashes)) == 60
    assert all(gw.connections == 0 for gw in fleet.gateways.values())


def test_fleet_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="count or names"):
        SimulatedFleet()
    with pytest.raises(ValueError, match="unique"):
        SimulatedFleet(names=["a", "a"])
    with pytest.raises(ValueError, match="disagree"):
        SimulatedFleet(3, names=["a"])


async def test_fleet_in_its_own_process() -> None:
    env = dict(os.environ, SIM_TOKEN=TOKEN, PYTHONPATH=str(REPO))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "molthub_gitops.gateway.sim",
        "--count",
        "3",
        "--token-env",
        "SIM_TOKEN",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdin is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        info = json.loads(line)
        assert info["pid"] == proc.pid
        assert len(info["gateways"]) == 3
        sim = SimulatedGateway()  # only for the helper's URL attribute
        sim.host, sim.port = "127.0.0.1", int(info["gateways"]["bot-0001"].rsplit(":", 1)[1])
        client = await connected(sim)
        assert (await client.request("health", {}))["ok"]
        await client.close()
        proc.stdin.close()
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_entry_point_refuses_a_missing_token_variable() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_SUCH_SIM_TOKEN"}
    env["PYTHONPATH"] = str(REPO)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "molthub_gitops.gateway.sim",
        "--token-env",
        "NO_SUCH_SIM_TOKEN",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert out == b""
    assert b"NO_SUCH_SIM_TOKEN is not set" in err
    assert b"Traceback" not in err


async def test_entry_point_until_signal_ignores_stdin() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "molthub_gitops.gateway.sim",
        "--until-signal",
        "--protocol",
        "3",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        assert list(info["gateways"]) == ["bot-0001"]
        await asyncio.sleep(0.2)
        assert proc.returncode is None  # stdin at EOF did not stop it
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
