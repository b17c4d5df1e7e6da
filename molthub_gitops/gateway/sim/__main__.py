"""Run a simulated fleet in its own process: ``python -m molthub_gitops.gateway.sim``.

Prints one JSON line ``{"gateways": {name: url, ...}, "pid": N}`` on stdout once every gateway
listens, then serves until stdin closes or SIGTERM/SIGINT arrives (``--until-signal``: only
the signals). Benchmarks use this to
keep the simulators off the client's CPU core. The token is read from an environment
variable (``--token-env``), never from the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from molthub_gitops.gateway.sim.fleet import SimulatedFleet


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m molthub_gitops.gateway.sim", description=__doc__
    )
    parser.add_argument("--count", type=int, default=1, help="number of gateways (default 1)")
    parser.add_argument("--token-env", default="", help="environment variable holding the token")
    parser.add_argument(
        "--schema", type=Path, help="OpenClaw config schema JSON to validate against"
    )
    parser.add_argument("--version", default="2026.9.6", help="OpenClaw version to imitate")
    parser.add_argument("--protocol", type=int, choices=(3, 4), default=4, help="highest protocol")
    parser.add_argument("--tick-ms", type=int, default=30000, help="tick interval in ms")
    parser.add_argument(
        "--until-signal",
        action="store_true",
        help="ignore stdin; serve until SIGTERM/SIGINT (for runs with stdin at /dev/null)",
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> int:
    kwargs: dict[str, Any] = {
        "version": args.version,
        "protocol_range": (3, args.protocol),
        "tick_interval_ms": args.tick_ms,
    }
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            print(f"error: environment variable {args.token_env} is not set", file=sys.stderr)
            return 2
        kwargs["token"] = token
    if args.schema is not None:
        try:
            kwargs["schema"] = json.loads(args.schema.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"error: cannot read schema {args.schema}: {exc}", file=sys.stderr)
            return 2
    fleet = SimulatedFleet(args.count, **kwargs)
    await fleet.start()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    watch_stdin = not args.until_signal
    if watch_stdin:
        loop.add_reader(sys.stdin.fileno(), lambda: done.set() if not sys.stdin.read(1) else None)
    urls = {name: gw.url for name, gw in fleet.gateways.items()}
    print(json.dumps({"gateways": urls, "pid": os.getpid()}), flush=True)
    try:
        await done.wait()
    finally:
        if watch_stdin:
            loop.remove_reader(sys.stdin.fileno())
        await fleet.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = _parse(argv)
    if args.count < 1:
        print("error: --count must be at least 1", file=sys.stderr)
        return 2
    return asyncio.run(_serve(args))


if __name__ == "__main__":
    raise SystemExit(main())
