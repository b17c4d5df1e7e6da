"""Run the sync daemon with its HTTP face: the daemon, the aiohttp app, signals, shutdown.

:func:`serve` starts the status page / API / webhook server first (so ``/healthz`` answers
and ``/readyz`` says 503 while the repository is cloned), then the daemon, and runs until
SIGTERM or SIGINT: the daemon stops (rollout tasks end, the status is flushed to the status
branch), then the server closes. :func:`run_sync` is what ``molthub sync`` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from typing import IO, Any

from aiohttp import web

from molthub_gitops.errors import InputError, Problem
from molthub_gitops.sync.daemon import Daemon, DaemonOptions
from molthub_gitops.sync.state import DaemonStatus
from molthub_gitops.web.app import create_app
from molthub_gitops.web.webhooks import WebhookSecrets

__all__ = [
    "parse_listen",
    "plan_data",
    "plan_lines",
    "run_plan",
    "run_sync",
    "serve",
    "summary_lines",
]

log = logging.getLogger("molthub.web.serve")

_SHUTDOWN_TIMEOUT = 30.0


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8080`` for IPv6) -> (host, port); InputError otherwise."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise InputError.single(
            "bad-option", f"--listen {text!r} is not host:port",
            hint="for example --listen 127.0.0.1:8080 (port 0 picks a free one)")
    return host, int(port)


def summary_lines(status: DaemonStatus) -> list[str]:
    """A short text summary of a status (what ``--once`` prints)."""
    lines = [f"repository {status.repo} ({status.branch})",
             f"head {(status.head_commit or '-')[:12]}  in force "
             f"{(status.applied_commit or '-')[:12]}"]
    gate = status.gate
    if gate is not None and not gate.ok:
        lines.append(f"gate FAILED on {gate.commit[:12]}:")
        lines.extend(f"  {p}" for p in gate.problems)
    counts = ", ".join(f"{n} {s}" for s, n in status.counts().items() if n)
    lines.append(f"bots: {counts or 'none'}")
    for name, fleet in sorted(status.fleets.items()):
        rollout = fleet.rollout
        text = f"  {name}: synced {(fleet.last_synced_commit or '-')[:12]}"
        if rollout is not None:
            wave, waves = rollout.progress()
            text += f"; rollout {rollout.id} {rollout.phase} (wave {wave} of {waves})"
            if rollout.reason:
                text += f": {rollout.reason}"
        if fleet.last_failed_commit:
            text += f"; failed {fleet.last_failed_commit[:12]}: {fleet.last_failed_reason}"
        lines.append(text)
    return lines


_PLAN_PATHS = 8
"""Changed config paths shown per bot in ``molthub plan``'s text."""


def plan_data(status: DaemonStatus) -> dict[str, Any]:
    """What a sync would do now (the status of a dry run), as JSON: per fleet, the rollout
    that would start (strategy and waves) and each bot's state and changed config paths."""
    fleets: dict[str, Any] = {}
    for name, fleet in sorted(status.fleets.items()):
        rollout = fleet.rollout
        planned = rollout is not None and rollout.reason == "dry-run"
        bots = {}
        for bot_name in fleet.bots:
            bot = status.bots.get(bot_name)
            if bot is None:
                continue
            bots[bot_name] = {"state": bot.state, "health": bot.health,
                              "changes": list(bot.drift), "changeCount": bot.drift_count,
                              "error": bot.last_error}
        fleets[name] = {
            "strategy": fleet.strategy, "suspended": fleet.suspended,
            "syncedCommit": fleet.last_synced_commit,
            "failedCommit": fleet.last_failed_commit,
            "rollout": None if not planned or rollout is None else {
                "kind": rollout.kind, "commit": rollout.commit,
                "waves": [{"index": w.index, "kind": w.kind, "bots": list(w.bots),
                           "bakeSeconds": w.bake_seconds} for w in rollout.waves]},
            "bots": bots,
        }
    gate = status.gate
    return {"repo": status.repo, "branch": status.branch, "head": status.head_commit,
            "inForce": status.applied_commit,
            "gate": None if gate is None else {"commit": gate.commit, "ok": gate.ok,
                                               "problems": list(gate.problems)},
            "fleets": fleets}


def plan_lines(status: DaemonStatus) -> list[str]:
    """``molthub plan``'s text: the rollouts a sync would start, wave by wave, and what would
    change on each bot; fleets with nothing to do take one line."""
    lines = [f"repository {status.repo} ({status.branch}): head "
             f"{(status.head_commit or '-')[:12]}, in force {(status.applied_commit or '-')[:12]}"]
    gate = status.gate
    if gate is not None and not gate.ok:
        lines.append(f"gate FAILED on {gate.commit[:12]} (it would not be applied):")
        lines.extend(f"  {p}" for p in gate.problems)
    for name, fleet in sorted(status.fleets.items()):
        rollout = fleet.rollout
        bots = [status.bots[b] for b in fleet.bots if b in status.bots]
        unreachable = [b for b in bots if b.state == "Unreachable"]
        if rollout is None or rollout.reason != "dry-run":
            why = "suspended, " if fleet.suspended else ""
            if fleet.last_failed_commit and fleet.last_failed_commit == (
                    fleet.pinned_commit or status.applied_commit):
                why += f"commit {fleet.last_failed_commit[:12]} failed and is not retried, "
            lines.append(f"{name}: nothing to roll out ({why}{len(bots)} bot(s): "
                         + ", ".join(f"{n} {s}" for s, n in _states(bots)) + ")")
        else:
            lines.append(f"{name}: {rollout.kind} rollout of {len(rollout.results)} bot(s) to "
                         f"{rollout.commit[:12]}, strategy {rollout.strategy}, "
                         f"{len(rollout.waves)} wave(s)")
            for wave in rollout.waves:
                bake = f", bake {wave.bake_seconds:g}s" if wave.bake_seconds else ""
                lines.append(f"  wave {wave.index} ({wave.kind}{bake}): {', '.join(wave.bots)}")
            for bot in bots:
                if bot.name not in rollout.results:
                    continue
                shown = ", ".join(bot.drift[:_PLAN_PATHS])
                more = bot.drift_count - min(len(bot.drift), _PLAN_PATHS)
                if more > 0:
                    shown += f" (+{more} more)"
                lines.append(f"    {bot.name} [{bot.state}]: {shown or 'config to write'}")
        for bot in unreachable:
            lines.append(f"  {bot.name} is unreachable: {bot.last_error or 'no answer'}")
    return lines


def _states(bots: list[Any]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for bot in bots:
        counts[bot.state] = counts.get(bot.state, 0) + 1
    return sorted(counts.items())


def _plan_code(status: DaemonStatus) -> int:
    """0 nothing to do, 1 a rollout would start or the gate fails."""
    if status.gate is not None and not status.gate.ok:
        return 1
    return 1 if any(f.rollout is not None and f.rollout.reason == "dry-run"
                    for f in status.fleets.values()) else 0


def _once_code(status: DaemonStatus) -> int:
    if status.gate is not None and not status.gate.ok:
        return 1
    for fleet in status.fleets.values():
        if fleet.last_failed_commit is not None:
            return 1
    return 0


async def serve(options: DaemonOptions, *, daemon: Daemon | None = None,
                on_listening: Callable[[str], None] | None = None,
                stop: asyncio.Event | None = None, install_signals: bool = True) -> int:
    """Run the daemon (and its HTTP server unless ``options.listen`` is None) until a signal
    or ``stop`` is set; 0 on a clean stop. ``on_listening`` gets the server's base URL."""
    daemon = daemon or Daemon(options)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if install_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
    runner: web.AppRunner | None = None
    run_task: asyncio.Task[None] | None = None
    try:
        if options.listen is not None:
            host, port = parse_listen(options.listen)
            secrets = options.webhook_secrets or WebhookSecrets()
            app = create_app(daemon, api_token=options.api_token, webhook_secrets=secrets,
                             branch=options.branch,
                             status_branch=options.status_branch or "molthub-status")
            runner = web.AppRunner(app, handle_signals=False, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, host, port)
            try:
                await site.start()
            except OSError as exc:
                raise InputError([Problem(
                    "listen-failed", f"cannot listen on {options.listen}: {exc.strerror}",
                    hint="pick another --listen address, or --no-listen")]) from None
            bound = _bound(runner, host, port)
            if on_listening is not None:
                on_listening(bound)
        start = loop.create_task(daemon.start())
        stopped = loop.create_task(stop.wait())
        await asyncio.wait({start, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not start.done():
            start.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await start
            return 0
        stopped.cancel()
        start.result()  # raises what start() raised
        run_task = loop.create_task(daemon.run())
        stopped = loop.create_task(stop.wait())
        await asyncio.wait({run_task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if run_task.done():
            run_task.result()
        return 0
    finally:
        if run_task is not None and not run_task.done():
            await asyncio.wait_for(daemon.stop(), _SHUTDOWN_TIMEOUT)
            run_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(run_task, _SHUTDOWN_TIMEOUT)
        else:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(daemon.stop(), _SHUTDOWN_TIMEOUT)
        if runner is not None:
            await runner.cleanup()
        for sig in installed:
            loop.remove_signal_handler(sig)


def _bound(runner: web.AppRunner, host: str, port: int) -> str:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            shown = f"[{address[0]}]" if ":" in str(address[0]) else str(address[0])
            return f"http://{shown}:{address[1]}"
    return f"http://{host}:{port}"


async def _once(options: DaemonOptions, out: IO[str]) -> int:
    daemon = Daemon(options)
    try:
        status = await daemon.run_once()
    finally:
        await daemon.stop()
    out.write("\n".join(summary_lines(status)) + "\n")
    return _once_code(status)


async def _plan(options: DaemonOptions, out: IO[str], output: str) -> int:
    daemon = Daemon(options)
    try:
        await daemon.start()
        status = daemon.status()
    finally:
        await daemon.stop()
    if output == "json":
        out.write(json.dumps(plan_data(status), indent=2, sort_keys=True) + "\n")
    else:
        out.write("\n".join(plan_lines(status)) + "\n")
    return _plan_code(status)


def run_plan(options: DaemonOptions, *, output: str = "text", out: IO[str] | None = None
             ) -> int:
    """``molthub plan``: fetch, gate, observe every bot, and print the rollouts a sync would
    start (``options.dry_run`` must be set: nothing is written anywhere)."""
    if not options.dry_run:
        raise ValueError("run_plan needs a dry-run DaemonOptions")
    return asyncio.run(_plan(options, out if out is not None else sys.stdout, output))


def run_sync(options: DaemonOptions, *, out: IO[str] | None = None) -> int:
    """``molthub sync``: ``--once`` runs one reconcile to the end and prints a summary (exit 0,
    or 1 when the gate failed or a rollout failed); otherwise serve until a signal."""
    stream = out if out is not None else sys.stdout
    if options.once:
        return asyncio.run(_once(options, stream))

    def listening(url: str) -> None:
        stream.write(f"molthub sync: serving the status page on {url}\n")
        stream.flush()

    return asyncio.run(serve(options, on_listening=listening))
