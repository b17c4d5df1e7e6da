"""Sync daemon benchmark: prints figures beside their goals, asserts nothing.

Generates a config repository (fleets with provider ``existing``; each bot's ``gatewayUrl``
points at a simulated gateway run by ``python -m molthub_gitops.gateway.sim --count N`` in
separate processes, so the daemon has this process to itself; the gateway token comes from
an environment variable), runs the real :class:`~molthub_gitops.sync.daemon.Daemon` with its
HTTP server in this process and measures:

1. initial sync: every bot gets its config (a percentage rollout per fleet; for reference);
2. no-op reconcile pass: with nothing to do, one pass observing and classifying every bot
   (the daemon's own ``Metrics.observe_pass``, median of the passes of ``--noop-runs``
   ``run_once`` calls; each call also fetches, plans and flushes, shown as "run_once");
3. percentage rollout (10% batches, no bake) of a change to every bot: from the commit to
   every fleet's rollout Succeeded;
4. webhook to first canary applied: every fleet switches to a canary strategy with a change;
   from a signed POST to ``/hooks/github`` to the first canary bot's result ``applied`` (the
   daemon runs its real loop: fetch, gate, observe, apply, health gate);
5. peak RSS of this process (``resource.getrusage``; the simulators run elsewhere).

Each size runs in a fresh child process, so its peak RSS is its own. Goals on this machine:
no-op pass over 1,000 bots < 3 s, rollout to 1,000 bots < 20 s, webhook to first apply
< 0.5 s, RSS < 300 MB at 10,000 bots.

    python bench/sync.py [--bots 1000] [--rss-bots 10000] [--fleets N] [--sim-procs N]
                         [--concurrency 64] [--noop-runs 3] [--quick] [--keep DIR]

``--quick`` skips the second (``--rss-bots``) run and does one no-op run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN_ENV = "MOLTHUB_BENCH_GATEWAY_TOKEN"  # a variable name
WEBHOOK_SECRET = "bench-webhook-secret"  # a throwaway secret for loopback
SCHEMA = ROOT / "schemas" / "openclaw" / "2026.9.6.json"
PUSH_PAYLOAD = ROOT / "tests" / "data" / "github-push-payload.json"
GOALS = {"noop": 3.0, "rollout": 20.0, "webhook": 0.5, "rss": 300.0}
WAIT_LIMIT = 900.0  # no measurement waits longer than this


# --------------------------------------------------------------------------- repository


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "molthub/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def _dump(path: Path, docs: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False, width=120),
                    encoding="utf-8")


def template_doc(timeout_seconds: int) -> dict[str, Any]:
    """A template about the size of example-repo's (the simulators run without an env, so the
    one ``${VAR}`` reference is not checked)."""
    return _doc("Template", "bench", {
        "description": "Synthetic bot for the sync benchmark.",
        "parameters": {"tone": {"type": "string", "default": "friendly"}},
        "config": {
            "gateway": {"mode": "local", "bind": "loopback", "reload": {"mode": "hybrid"},
                        "auth": {"mode": "token", "token": "${OPENCLAW_GATEWAY_TOKEN}"},
                        "controlUi": {"enabled": False}},
            "agents": {
                "defaults": {
                    "workspace": "/srv/openclaw/{{ bot.name }}/workspace",
                    "timeoutSeconds": timeout_seconds,
                    "thinkingDefault": "low",
                    "model": {"primary": "anthropic/claude-sonnet-4-5",
                              "fallbacks": ["openai/gpt-5.4-mini"]},
                    "sandbox": {"mode": "non-main"},
                },
                "entries": {"main": {
                    "name": "Bench {{ bot.name }}",
                    "description": "A {{ params.tone }} assistant of {{ fleet.name }}",
                    "identity": {"name": "Bench", "emoji": "B"},
                }},
            },
            "logging": {"level": "info", "consoleStyle": "json",
                        "redactPatterns": ["sk-[A-Za-z0-9]{20,}", "xox[abp]-[A-Za-z0-9-]+"]},
            "session": {"dmScope": "per-channel-peer",
                        "reset": {"mode": "idle", "idleMinutes": 240}},
            "tools": {"deny": ["gateway", "cron"], "elevated": {"enabled": False},
                      "fs": {"workspaceOnly": True}},
            "commands": {"bash": False, "config": False},
            "discovery": {"mdns": {"mode": "off"}},
        },
    })


def fleet_doc(name: str, bots: list[tuple[str, str]], rollout: dict[str, Any]) -> dict[str, Any]:
    return _doc("Fleet", name, {
        "environment": "dev",
        "template": "bench",
        "openclawVersion": "2026.9.6",
        "target": {"provider": "existing"},
        "gateway": {"url": "ws://127.0.0.1:9", "auth": "token", "secret": {"env": TOKEN_ENV}},
        "rollout": rollout,
        "bots": [{"name": bot, "gatewayUrl": url} for bot, url in bots],
    })


PERCENTAGE = {"strategy": "percentage", "batch": "10%", "healthTimeout": "2m",
              "failureThreshold": 0}
CANARY = {"strategy": "canary", "canary": {"count": 1, "bake": "1h"}, "batch": "10%",
          "healthTimeout": "2m", "failureThreshold": 0}


def write_repo(root: Path, urls: list[str], fleets: int, *, timeout_seconds: int,
               rollout: dict[str, Any]) -> None:
    """(Re)write the whole repository: N bots over ``fleets`` fleets."""
    _dump(root / "molthub.yaml", [_doc("Repository", "bench", {
        "policy": {"packs": ["security-baseline"], "failOn": "error"},
        "openclawVersions": ["2026.9.6"],
        "sync": {"interval": "1h", "selfHeal": False, "prune": False},
    })])
    _dump(root / "templates" / "bench.yaml", [template_doc(timeout_seconds)])
    width = max(5, len(str(len(urls))))
    names = [f"bot-{i:0{width}d}" for i in range(1, len(urls) + 1)]
    per = [len(urls) // fleets + (1 if f < len(urls) % fleets else 0) for f in range(fleets)]
    start = 0
    for f, count in enumerate(per):
        pairs = list(zip(names[start:start + count], urls[start:start + count], strict=True))
        start += count
        _dump(root / "fleets" / f"fleet-{f:03d}.yaml",
              [fleet_doc(f"fleet-{f:03d}", pairs, rollout)])


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
    out = subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                         text=True, env=env, timeout=120)
    return out.stdout.strip()


def commit_all(root: Path, message: str) -> str:
    """Commit everything and push it to ``origin`` (the bare repository the daemon watches:
    the daemon pushes its status branch there, and libgit2 cannot push into a work tree)."""
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    git(root, "push", "-q", "origin", "main")
    return git(root, "rev-parse", "HEAD")


# --------------------------------------------------------------------------- simulators


class SimFleets:
    """``python -m molthub_gitops.gateway.sim`` child processes; stops them on exit."""

    def __init__(self, count: int, procs: int, token: str) -> None:
        self.count = count
        self.procs = max(1, min(procs, count))
        self.token = token
        self.children: list[subprocess.Popen[str]] = []
        self.urls: list[str] = []

    def start(self, timeout: float = 600.0) -> None:
        env = {**os.environ, TOKEN_ENV: self.token,
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        per = [self.count // self.procs + (1 if i < self.count % self.procs else 0)
               for i in range(self.procs)]
        for n in per:
            self.children.append(subprocess.Popen(
                [sys.executable, "-m", "molthub_gitops.gateway.sim", "--count", str(n),
                 "--token-env", TOKEN_ENV, "--schema", str(SCHEMA)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env))
        deadline = time.monotonic() + timeout
        for child in self.children:
            assert child.stdout is not None
            line = _readline(child, deadline)
            urls = json.loads(line)["gateways"]
            self.urls.extend(urls[name] for name in sorted(urls))

    def stop(self) -> None:
        for child in self.children:
            with contextlib.suppress(OSError):
                if child.stdin is not None:
                    child.stdin.close()  # the simulator serves until stdin closes
        for child in self.children:
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=30)


def _readline(child: subprocess.Popen[str], deadline: float) -> str:
    import selectors

    assert child.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(child.stdout, selectors.EVENT_READ)
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(timeout=left):
            raise TimeoutError("the simulators did not report their URLs in time")
    line = child.stdout.readline()
    if not line:
        raise RuntimeError(f"a simulator process exited with code {child.wait(timeout=30)}")
    return line


# --------------------------------------------------------------------------- measuring


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


async def wait_until(check: Callable[[], bool], *, poll: float, limit: float = WAIT_LIMIT
                     ) -> float:
    """Seconds until ``check()`` holds (polling every ``poll`` s); TimeoutError past limit."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > limit:
            raise TimeoutError(f"condition not met within {limit:.0f} s")
        await asyncio.sleep(poll)
    return time.perf_counter() - started


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def signed_push(body: bytes) -> dict[str, str]:
    digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": f"sha256={digest}"}


def push_body(commit: str) -> bytes:
    try:
        payload = json.loads(PUSH_PAYLOAD.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        payload = {}
    payload.update({"ref": "refs/heads/main", "after": commit})
    return json.dumps(payload).encode()


async def measure(args: argparse.Namespace, bots: int, *, full: bool) -> dict[str, Any]:
    """Every figure for one size, in this process (see the module docstring)."""
    import aiohttp

    from molthub_gitops.sync.daemon import Daemon, DaemonOptions
    from molthub_gitops.sync.metrics import Metrics
    from molthub_gitops.web.serve import serve
    from molthub_gitops.web.webhooks import WebhookSecrets

    class PassTimer(Metrics):
        """The daemon's metrics, also keeping each observe pass's seconds."""

        def __init__(self) -> None:
            super().__init__()
            self.passes: list[float] = []

        def observe_pass(self, seconds: float) -> None:
            self.passes.append(seconds)
            super().observe_pass(seconds)

    fleets = args.fleets or max(1, bots // 100)
    procs = args.sim_procs or (2 if bots > 2000 else 1)
    token = secrets.token_urlsafe(24)
    os.environ[TOKEN_ENV] = token
    figures: dict[str, Any] = {"bots": bots, "fleets": fleets, "sim_procs": procs}
    work = Path(args.keep) / f"bench-{bots}" if args.keep else Path(
        tempfile.mkdtemp(prefix=f"molthub-bench-sync-{bots}-"))
    if args.keep:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    repo = work / "config"
    repo.mkdir()
    sims = SimFleets(bots, procs, token)
    started = time.perf_counter()
    try:
        sims.start()
        figures["sims_start_s"] = time.perf_counter() - started
        origin = work / "origin.git"
        git(work, "init", "-q", "--bare", "--initial-branch=main", str(origin))
        git(repo, "init", "-q", "--initial-branch=main")
        git(repo, "remote", "add", "origin", str(origin))
        write_repo(repo, sims.urls, fleets, timeout_seconds=120, rollout=PERCENTAGE)
        commit_all(repo, "initial")
        port = free_port()
        metrics = PassTimer()
        options = DaemonOptions(
            repo=str(origin), workdir=work / "daemon", listen=f"127.0.0.1:{port}",
            interval=3600.0, observe_interval=3600.0, concurrency=args.concurrency,
            webhook_secrets=WebhookSecrets(github=WEBHOOK_SECRET))
        daemon = Daemon(options, metrics=metrics)

        def fleets_done(commit: str) -> bool:
            status = daemon.status()
            return all(f.last_synced_commit == commit for f in status.fleets.values())

        # 1. initial sync
        t0 = time.perf_counter()
        status = await daemon.run_once()
        figures["initial_s"] = time.perf_counter() - t0
        figures["initial_states"] = {k: v for k, v in status.counts().items() if v}

        # 2. no-op passes
        runs: list[float] = []
        passes: list[float] = []
        for _ in range(args.noop_runs):
            before = len(metrics.passes)
            t0 = time.perf_counter()
            await daemon.run_once()
            runs.append(time.perf_counter() - t0)
            passes.extend(metrics.passes[before:])
        figures["noop_pass_s"] = _median(passes) if passes else None
        figures["noop_run_once_s"] = _median(runs) if runs else None
        figures["noop_states"] = {k: v for k, v in daemon.status().counts().items() if v}

        if full:
            # 3. percentage rollout of a change to every bot
            write_repo(repo, sims.urls, fleets, timeout_seconds=150, rollout=PERCENTAGE)
            change = commit_all(repo, "every bot: timeoutSeconds 150")
            t0 = time.perf_counter()
            once = asyncio.ensure_future(daemon.run_once())
            try:
                await wait_until(lambda: fleets_done(change), poll=0.02)
                figures["rollout_s"] = time.perf_counter() - t0
            finally:
                await asyncio.wait_for(once, WAIT_LIMIT)
            figures["rollout_states"] = {k: v for k, v in daemon.status().counts().items()
                                         if v}

            # 4. webhook -> first canary applied, with the daemon's real loop and server
            stop = asyncio.Event()
            server = asyncio.ensure_future(
                serve(options, daemon=daemon, stop=stop, install_signals=False))
            try:
                url = f"http://127.0.0.1:{port}"
                async with aiohttp.ClientSession() as http:
                    await wait_until(lambda: server.done() or _listening(port), poll=0.05,
                                     limit=60)
                    if server.done():
                        server.result()
                    write_repo(repo, sims.urls, fleets, timeout_seconds=180, rollout=CANARY)
                    canary = commit_all(repo, "every fleet: canary first, timeoutSeconds 180")
                    body = push_body(canary)

                    def canary_applied() -> bool:
                        for fleet in daemon.status().fleets.values():
                            rollout = fleet.rollout
                            if rollout is None or rollout.commit != canary or not rollout.waves:
                                continue
                            first = rollout.waves[0].bots
                            if any(rollout.results.get(b) is not None
                                   and rollout.results[b].result == "applied" for b in first):
                                return True
                        return False

                    t0 = time.perf_counter()
                    async with http.post(f"{url}/hooks/github", data=body,
                                         headers=signed_push(body)) as resp:
                        figures["webhook_status"] = resp.status
                        answered = time.perf_counter() - t0
                    await wait_until(canary_applied, poll=0.002, limit=120)
                    figures["webhook_s"] = time.perf_counter() - t0
                    figures["webhook_answer_s"] = answered
            finally:
                stop.set()
                await asyncio.wait_for(server, 120)
        else:
            await daemon.stop()
        figures["rss_mb"] = rss_mb()
        try:
            figures["status_commits"] = int(git(origin, "rev-list", "--count",
                                                "molthub-status"))
        except subprocess.CalledProcessError:
            figures["status_commits"] = 0
    finally:
        sims.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return figures


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run_child(args: argparse.Namespace, bots: int, full: bool) -> dict[str, Any]:
    """One size in a fresh process (its own peak RSS)."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--measure-only", str(bots),
            "--noop-runs", str(args.noop_runs), "--concurrency", str(args.concurrency)]
    if args.fleets:
        argv += ["--fleets", str(args.fleets)]
    if args.sim_procs:
        argv += ["--sim-procs", str(args.sim_procs)]
    if args.keep:
        argv += ["--keep", str(args.keep)]
    if not full:
        argv.append("--no-full")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=3 * WAIT_LIMIT,
                          check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"the {bots}-bot run failed (exit {proc.returncode})")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _fmt(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.3f} {unit}" if unit == "s" else f"{value:.0f} {unit}"


def print_table(results: list[dict[str, Any]]) -> None:
    print("== molthub sync daemon (simulated gateways in separate processes)")
    for r in results:
        print(f"   {r['bots']:,} bots in {r['fleets']} fleets, simulators in {r['sim_procs']} "
              f"process(es) (started in {r['sims_start_s']:.1f} s); initial sync "
              f"{r['initial_s']:.2f} s -> {r['initial_states']}; "
              f"{r.get('status_commits', 0)} commits on the status branch")
    rows: list[tuple[str, str, str, str]] = []
    for r in results:
        n = f"{r['bots']:,}"
        rows.append((f"no-op reconcile pass ({n} bots)", _fmt(r.get("noop_pass_s"), "s"),
                     f"< {GOALS['noop']:.0f} s at 1,000",
                     f"run_once {_fmt(r.get('noop_run_once_s'), 's')}"))
        if "rollout_s" in r:
            rows.append((f"percentage rollout, 10% batches ({n} bots)",
                         _fmt(r["rollout_s"], "s"), f"< {GOALS['rollout']:.0f} s at 1,000",
                         f"{r.get('rollout_states')}"))
        if "webhook_s" in r:
            rows.append((f"webhook -> first canary applied ({n} bots)",
                         _fmt(r["webhook_s"], "s"), f"< {GOALS['webhook']} s",
                         f"HTTP {r.get('webhook_status')} in "
                         f"{_fmt(r.get('webhook_answer_s'), 's')}"))
        rows.append((f"daemon peak RSS ({n} bots)", _fmt(r.get("rss_mb"), "MB"),
                     f"< {GOALS['rss']:.0f} MB at 10,000", ""))
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'measured':>12}  {'goal':<20}  note")
    for name, value, goal, note in rows:
        print(f"{name:<{width}}  {value:>12}  {goal:<20}  {note}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bots", type=int, default=1000, help="bots of the full run")
    ap.add_argument("--rss-bots", type=int, default=10_000,
                    help="bots of the second run (initial sync, no-op pass, RSS); 0 skips it")
    ap.add_argument("--fleets", type=int, default=0, help="fleets (default: bots / 100)")
    ap.add_argument("--sim-procs", type=int, default=0,
                    help="simulator processes (default: 1, 2 above 2,000 bots)")
    ap.add_argument("--concurrency", type=int, default=64,
                    help="the daemon's gateway concurrency (its default: 64)")
    ap.add_argument("--noop-runs", type=int, default=3, help="run_once calls with nothing to do")
    ap.add_argument("--quick", action="store_true",
                    help="skip the --rss-bots run; one no-op run")
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it")
    ap.add_argument("--measure-only", type=int, metavar="BOTS", help=argparse.SUPPRESS)
    ap.add_argument("--no-full", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.rss_bots = 0
        args.noop_runs = 1
    if args.measure_only:
        figures = asyncio.run(measure(args, args.measure_only, full=not args.no_full))
        print(json.dumps(figures))
        return 0
    results = [run_child(args, args.bots, True)]
    if args.rss_bots:
        results.append(run_child(args, args.rss_bots, False))
    print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
