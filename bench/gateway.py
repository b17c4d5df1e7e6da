"""Gateway client benchmark: prints figures, asserts nothing.

1. Request round trips per second over one connection, to the simulator and to a real
   OpenClaw gateway side by side (sequential, and with 32 requests in flight). The real gateway
   is started here through molthub_gitops.providers.openclaw_process when it is installed.
2. connect + config.get + health against N simulated gateways (default 1,000) with bounded
   concurrency: total seconds and peak RSS. Goal: 1,000 observed in under 2 s.

Usage: python bench/gateway.py [--gateways 1000] [--concurrency 200] [--requests 2000]
                               [--no-real] [--version 2026.9.6]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from molthub_gitops.gateway.client import GatewayClient
from molthub_gitops.gateway.identity import DeviceIdentity
from molthub_gitops.gateway.operations import observe_url
from molthub_gitops.gateway.sim import SimulatedFleet, SimulatedGateway


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def round_trips(url: str, token: str, requests: int, *, method: str = "health",
                      identity: DeviceIdentity | None = None) -> tuple[float, float]:
    """(sequential req/s, req/s with 32 in flight) over one connection."""
    async with GatewayClient(url, token=token, identity=identity, connect_timeout=60,
                             request_timeout=60) as client:
        for _ in range(20):  # warm up
            await client.request(method, {})
        started = time.perf_counter()
        for _ in range(requests):
            await client.request(method, {})
        sequential = requests / (time.perf_counter() - started)

        window = asyncio.Semaphore(32)

        async def one() -> None:
            async with window:
                await client.request(method, {})

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        pipelined = requests / (time.perf_counter() - started)
    return sequential, pipelined


async def with_real_gateway(version: str, action: Callable[[str, str], Awaitable[None]]
                            ) -> str | None:
    """Run ``action(url, token)`` against a freshly started real gateway; a reason if not."""
    try:
        from molthub_gitops.providers.openclaw_process import OpenClawProcess, find_openclaw
    except ImportError:
        return "real gateway harness not available"
    install = find_openclaw(version)
    if install is None:
        return f"real gateway not installed (openclaw@{version}; scripts/install-openclaw.sh)"
    token = secrets.token_urlsafe(24)
    proc = OpenClawProcess(install)
    with tempfile.TemporaryDirectory(prefix="bench-gw-") as home:
        try:
            await proc.start(Path(home), free_port(), token,
                             config={"gateway": {"mode": "local"}}, ready_timeout=180)
            await action(proc.url, token)
        finally:
            await proc.stop()
    return None


async def bench_round_trips(args: argparse.Namespace) -> None:
    print(f"== round trips over one connection ({args.requests} x `health`)")
    token = secrets.token_urlsafe(24)
    rows: list[tuple[str, str, str]] = []
    async with SimulatedGateway(token=token, config={"gateway": {"mode": "local"}}) as sim:
        seq, pipe = await round_trips(sim.url, token, args.requests)
        rows.append(("simulator", f"{seq:,.0f}", f"{pipe:,.0f}"))
    if args.no_real:
        rows.append((f"real {args.version}", "skipped (--no-real)", ""))
    else:
        figures: dict[str, tuple[float, float]] = {}

        async def measure(url: str, real_token: str) -> None:
            figures["real"] = await round_trips(url, real_token, args.requests,
                                                identity=DeviceIdentity.generate())

        reason = await with_real_gateway(args.version, measure)
        if reason is not None:
            rows.append((f"real {args.version}", reason, ""))
        else:
            seq, pipe = figures["real"]
            rows.append((f"real {args.version}", f"{seq:,.0f}", f"{pipe:,.0f}"))
    print(f"{'peer':<18} {'sequential req/s':>18} {'32 in flight req/s':>20}")
    for name, seq_text, pipe_text in rows:
        print(f"{name:<18} {seq_text:>18} {pipe_text:>20}")


async def serve_fleet(n: int, token: str) -> None:
    """Child mode: run ``n`` simulated gateways, print their URLs, stop when stdin closes."""
    fleet = SimulatedFleet(n, token_for=lambda _name: token,
                           config={"gateway": {"mode": "local"}})
    await fleet.start()
    print(" ".join(fleet.url_for(name) for name in fleet.gateways), flush=True)
    cpu = time.process_time()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    print(f"{time.process_time() - cpu:.3f}", flush=True)
    await fleet.stop()


async def observe_all(urls: list[str], token: str, concurrency: int) -> tuple[int, float]:
    window = asyncio.Semaphore(concurrency)

    async def one(url: str) -> bool:
        async with window:
            obs = await observe_url(url, token=token, timeout=30)
            return obs.reachable and obs.config_hash is not None

    started = time.perf_counter()
    results = await asyncio.gather(*(one(url) for url in urls))
    return sum(results), time.perf_counter() - started


def cpu_seconds() -> float:
    return time.process_time()


def report(label: str, n: int, ok: int, elapsed: float, rss: str) -> None:
    goal = "met" if elapsed < 2.0 and ok == n else "NOT met"
    print(f"{label:<34} {ok:>5,}/{n:,} in {elapsed:6.2f} s  {n / elapsed:7,.0f} /s  "
          f"peak RSS {rss}  goal (< 2 s / 1,000): {goal}")


async def bench_fleet(args: argparse.Namespace) -> None:
    n = args.gateways
    print(f"\n== connect + config.get + health against {n:,} simulated gateways "
          f"(concurrency {args.concurrency})")
    token = secrets.token_urlsafe(24)

    # a) the fleet in a child process (its own core), the client here
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve-fleet", str(n), "--token", token,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        line = await asyncio.wait_for(child.stdout.readline(), 120)
        urls = line.decode().split()
        cpu = cpu_seconds()
        ok, elapsed = await observe_all(urls, token, args.concurrency)
        client_cpu = cpu_seconds() - cpu
        child.stdin.write(b"done\n")
        await child.stdin.drain()
        fleet_cpu = float((await asyncio.wait_for(child.stdout.readline(), 60)).decode() or 0)
        report("client here, fleet in a child", n, ok, elapsed,
               f"{peak_rss_mb():.0f} MB (client process)")
        print(f"{'':<34} CPU seconds: client {client_cpu:.2f}, fleet {fleet_cpu:.2f} "
              f"({1000 * client_cpu / n:.2f} / {1000 * fleet_cpu / n:.2f} ms per gateway)")
    finally:
        child.stdin.close()
        await asyncio.wait_for(child.wait(), 60)

    # b) fleet and client in this one process and event loop
    fleet = SimulatedFleet(n, token_for=lambda _name: token,
                           config={"gateway": {"mode": "local"}})
    await fleet.start()
    try:
        urls = [fleet.url_for(name) for name in fleet.gateways]
        cpu = cpu_seconds()
        ok, elapsed = await observe_all(urls, token, args.concurrency)
        both_cpu = cpu_seconds() - cpu
    finally:
        await fleet.stop()
    report("fleet and client in one process", n, ok, elapsed,
           f"{peak_rss_mb():.0f} MB (both)")
    print(f"{'':<34} CPU seconds: {both_cpu:.2f} ({1000 * both_cpu / n:.2f} ms per gateway)")
    print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs (figures are wall-clock; other work on the machine "
          "inflates them)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateways", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--version", default="2026.9.6")
    parser.add_argument("--no-real", action="store_true", help="skip the real gateway")
    parser.add_argument("--serve-fleet", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fleet:
        await serve_fleet(args.serve_fleet, args.token)
        return
    await bench_round_trips(args)
    await bench_fleet(args)


if __name__ == "__main__":
    asyncio.run(main())
