"""Gateway client benchmark: prints figures, asserts nothing.

1. Request round trips per second over one connection, to the simulator and to a real
   OpenClaw gateway side by side (sequential, and with 32 requests in flight). The real gateway
   is started here through molthub_gitops.providers.openclaw_process when it is installed.
2. connect + config.get + health against N simulated gateways (default 1,000) with bounded
   concurrency, several rounds: round 1 cold (fresh gateways), then warm rounds (new
   connections and clients each time). Wall seconds, CPU seconds (and the part spent in the
   garbage collector), peak RSS; the fleet runs in this process (one core for both sides)
   and in a child process (its own core). Goal: 1,000 observed in under 2 s.

Usage: python bench/gateway.py [--gateways 1000] [--concurrency 200] [--requests 2000]
                               [--rounds 5] [--fleet in-process|child|both]
                               [--distinct-configs] [--gc-freeze] [--skip-round-trips]
                               [--no-real] [--version 2026.9.6]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import secrets
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def fleet_config(args: argparse.Namespace) -> dict[str, Any]:
    """How the fleet is built: identical files (a fresh fleet) or one distinct file each."""
    if args.distinct_configs:
        return {"config_for": lambda name: {"gateway": {"mode": "local"},
                                            "agents": {"defaults": {"workspace": f"/w/{name}"}}}}
    return {"config": {"gateway": {"mode": "local"}}}


def settle_heap(args: argparse.Namespace) -> None:
    """With --gc-freeze: once set up, move the process's objects out of the collector's
    sight, as a long-running server or daemon does after start-up (full collections then
    scan only new objects). Off by default."""
    if args.gc_freeze:
        gc.collect()
        gc.freeze()


class GcClock:
    """CPU seconds spent in the cyclic garbage collector (gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started
            self.collections += 1

    def read(self) -> tuple[float, int]:
        return self.seconds, self.collections


async def serve_fleet(args: argparse.Namespace) -> None:
    """Child mode: run the fleet, print its URLs; answer each stdin line with CPU seconds."""
    fleet = SimulatedFleet(args.serve_fleet, token_for=lambda _name: args.token,
                           **fleet_config(args))
    await fleet.start()
    settle_heap(args)
    print(" ".join(fleet.url_for(name) for name in fleet.gateways), flush=True)
    loop = asyncio.get_running_loop()
    gc_clock = GcClock()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "cpu":
        gc_seconds, _ = gc_clock.read()
        print(f"{time.process_time():.4f} {gc_seconds:.4f} {peak_rss_mb():.1f}", flush=True)
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


@dataclass
class Round:
    ok: int
    wall: float
    cpu: float  # this process
    gc: float  # this process
    peer_cpu: float | None = None  # the fleet's process, when it has its own
    peer_gc: float | None = None


def summarize(label: str, n: int, rounds: list[Round], rss: str) -> None:
    def cpu_text(r: Round) -> str:
        if r.peer_cpu is None:
            return f"CPU {r.cpu:5.2f} s (GC {r.gc:4.2f})"
        return (f"CPU client {r.cpu:4.2f} (GC {r.gc:4.2f}) + fleet {r.peer_cpu:4.2f} "
                f"(GC {r.peer_gc or 0:4.2f}) s")

    print(f"-- {label}")
    for index, r in enumerate(rounds):
        kind = "cold" if index == 0 else "warm"
        goal = "met" if n / r.wall > 500 and r.ok == n else "NOT met"  # 1,000 in < 2 s
        print(f"   round {index + 1} ({kind}) {r.ok:>5,}/{n:,} in {r.wall:5.2f} s "
              f"{n / r.wall:6,.0f}/s  {cpu_text(r)}  goal (> 500/s): {goal}")
    warm = rounds[1:]
    if warm:
        walls = sorted(r.wall for r in warm)
        cpus = sorted(r.cpu + (r.peer_cpu or 0.0) for r in warm)
        print(f"   warm rounds: wall min {walls[0]:.2f} / median {statistics.median(walls):.2f} s;"
              f" total CPU min {cpus[0]:.2f} / median {statistics.median(cpus):.2f} s "
              f"({1000 * statistics.median(cpus) / n:.2f} ms per gateway)")
    print(f"   peak RSS {rss}")


async def bench_fleet_in_process(args: argparse.Namespace, token: str, gc_clock: GcClock
                                 ) -> None:
    n = args.gateways
    fleet = SimulatedFleet(n, token_for=lambda _name: token, **fleet_config(args))
    await fleet.start()
    settle_heap(args)
    rounds: list[Round] = []
    try:
        urls = [fleet.url_for(name) for name in fleet.gateways]
        for _ in range(args.rounds):
            cpu, (gc_s, _c) = time.process_time(), gc_clock.read()
            ok, elapsed = await observe_all(urls, token, args.concurrency)
            rounds.append(Round(ok, elapsed, time.process_time() - cpu,
                                gc_clock.read()[0] - gc_s))
    finally:
        await fleet.stop()
    summarize("fleet and client in one process (one event loop, one core)", n, rounds,
              f"{peak_rss_mb():.0f} MB (both)")


async def bench_fleet_child(args: argparse.Namespace, token: str, gc_clock: GcClock) -> None:
    n = args.gateways
    extra = ["--distinct-configs"] if args.distinct_configs else []
    extra += ["--gc-freeze"] if args.gc_freeze else []
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve-fleet", str(n), "--token", token, *extra,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert child.stdin is not None
    assert child.stdout is not None
    stdin, stdout = child.stdin, child.stdout

    async def child_cpu() -> tuple[float, float, float]:
        stdin.write(b"cpu\n")
        await stdin.drain()
        cpu, gc_s, rss = (await asyncio.wait_for(stdout.readline(), 60)).decode().split()
        return float(cpu), float(gc_s), float(rss)

    rounds: list[Round] = []
    child_rss = 0.0
    try:
        urls = (await asyncio.wait_for(stdout.readline(), 120)).decode().split()
        settle_heap(args)
        for _ in range(args.rounds):
            peer_cpu, peer_gc, _rss = await child_cpu()
            cpu, (gc_s, _c) = time.process_time(), gc_clock.read()
            ok, elapsed = await observe_all(urls, token, args.concurrency)
            client_cpu, client_gc = time.process_time() - cpu, gc_clock.read()[0] - gc_s
            peer_cpu2, peer_gc2, child_rss = await child_cpu()
            rounds.append(Round(ok, elapsed, client_cpu, client_gc, peer_cpu2 - peer_cpu,
                                peer_gc2 - peer_gc))
    finally:
        stdin.close()
        await asyncio.wait_for(child.wait(), 60)
    summarize("client here, fleet in a child process (two processes)", n, rounds,
              f"client {peak_rss_mb():.0f} MB, fleet {child_rss:.0f} MB")


async def bench_fleet(args: argparse.Namespace) -> None:
    n = args.gateways
    files = "one distinct config file each" if args.distinct_configs else "identical config files"
    files += ", heaps frozen after set-up (gc.freeze)" if args.gc_freeze else ""
    print(f"\n== connect + config.get + health against {n:,} simulated gateways "
          f"(concurrency {args.concurrency}, {files}, {args.rounds} rounds)")
    print("   round 1 is cold: fresh gateways, nothing built yet; later rounds reconnect "
          "(new connections, new clients)")
    load_before = os.getloadavg()
    token = secrets.token_urlsafe(24)
    gc_clock = GcClock()
    if args.fleet in ("in-process", "both"):
        await bench_fleet_in_process(args, token, gc_clock)
    if args.fleet in ("child", "both"):
        await bench_fleet_child(args, token, gc_clock)
    print(f"load average before {' '.join(f'{x:.1f}' for x in load_before)}, after "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs "
          "(figures are wall-clock and process CPU; other work on the machine inflates both)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateways", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--version", default="2026.9.6")
    parser.add_argument("--no-real", action="store_true", help="skip the real gateway")
    parser.add_argument("--rounds", type=int, default=5,
                        help="observe the whole fleet this many times (round 1 is cold)")
    parser.add_argument("--fleet", choices=("in-process", "child", "both"), default="both",
                        help="where the simulated fleet runs")
    parser.add_argument("--distinct-configs", action="store_true",
                        help="give every gateway its own config file (no shared views)")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="gc.freeze() each process once set up (fleet started)")
    parser.add_argument("--skip-round-trips", action="store_true",
                        help="only the fleet benchmark")
    parser.add_argument("--serve-fleet", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fleet:
        await serve_fleet(args)
        return
    if not args.skip_round_trips:
        await bench_round_trips(args)
    await bench_fleet(args)


if __name__ == "__main__":
    asyncio.run(main())
