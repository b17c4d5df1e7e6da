"""`molthub demo`: the whole sync loop on a copy of example-repo, on simulated gateways.

:func:`run_demo` copies the bundled example repository into a new temporary Git repository
(one commit, "initial"), runs the sync daemon on it with every fleet on in-process simulated
OpenClaw gateways (provider override ``simulated``) and serves the status page, API and
``/metrics`` on ``127.0.0.1:8080``. Bakes and pauses run 100 times faster (time scale 0.01),
and the canary bakes of the first rollout are skipped (the demo promotes them), so every bot is
Synced within seconds. It then prints how to commit a change to the temporary repository and
watch a canary roll out (the daemon polls it every few seconds), and runs until SIGINT or
SIGTERM, when it stops the gateways and removes the temporary directory.

``--real`` runs the bots of one small fleet (``assistant-dev``, two bots) on real local
OpenClaw gateways (provider ``local``) and the rest on simulated ones. Without network a chat
channel blocks a real gateway's restarts for minutes, so the demo's copy adds an overlay that
removes that fleet's ``channels`` and ``bindings``.

The API token printed is made up for this run; it only lives in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import shlex
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pygit2

from molthub_gitops.errors import MolthubError, ProviderError, SyncError
from molthub_gitops.gateway.sim.provider import SimulatedProvider
from molthub_gitops.providers.local import LocalProvider
from molthub_gitops.providers.openclaw_process import find_openclaw
from molthub_gitops.render.types import RenderedBot
from molthub_gitops.repo.resources import example_repo_dir, schemas_dir
from molthub_gitops.sync.daemon import Daemon, DaemonOptions
from molthub_gitops.sync.providers import ProviderRegistry
from molthub_gitops.sync.state import DaemonStatus
from molthub_gitops.web.serve import serve

__all__ = [
    "REAL_FLEET",
    "REAL_VERSION",
    "DemoOptions",
    "DemoProviders",
    "make_demo_repo",
    "run_demo",
]

log = logging.getLogger("molthub.web.demo")

REAL_FLEET = "assistant-dev"
"""The fleet ``--real`` runs on real gateways: two bots, OpenClaw 2026.9.6."""
REAL_VERSION = "2026.9.6"
ACTOR = "molthub-demo"
CHANGE_FILE = "profiles/env-prod.yaml"
CHANGE_FROM = "maxTokens: 4096"
CHANGE_TO = "maxTokens: 2048"
SYNCED_WAIT = 300.0
"""Seconds the demo waits for the first rollout before printing its guide anyway."""
REAL_SYNCED_WAIT = 600.0

_REAL_OVERLAY = f"""\
# Added by `molthub demo --real`: the bots of {REAL_FLEET} run on real OpenClaw gateways on
# this machine, without network; a chat channel that cannot reach its service blocks a real
# gateway's restarts for minutes, so these bots run without their channels.
apiVersion: molthub/v1
kind: Overlay
metadata:
  name: demo-real-gateways
spec:
  description: molthub demo --real runs {REAL_FLEET} on local gateways without chat channels.
  selector:
    fleets: [{REAL_FLEET}]
  priority: 1000
  config:
    channels: null
    bindings: null
"""


@dataclass(frozen=True)
class DemoOptions:
    """What ``molthub demo`` was asked for."""

    host: str = "127.0.0.1"
    port: int = 8080
    real: bool = False
    time_scale: float = 0.01
    poll_interval: float = 3.0
    observe_interval: float = 10.0
    openclaw_cache: Path | None = None
    """Where the real OpenClaw installs are (default: the package's ``.cache/openclaw``)."""


class DemoProviders(ProviderRegistry):
    """Every bot on simulated gateways, except the bots of ``real_fleet`` on ``local``."""

    def __init__(self, simulated: SimulatedProvider, local: LocalProvider | None = None,
                 real_fleet: str = REAL_FLEET) -> None:
        super().__init__(override="simulated", simulated=simulated)
        self.real_fleet = real_fleet if local is not None else None
        if local is not None:
            self.register("local", local)

    def name_for(self, bot: RenderedBot) -> str:
        if self.real_fleet is not None and bot.fleet == self.real_fleet:
            return "local"
        return super().name_for(bot)


def make_demo_repo(dest: Path, remote: Path, *, real: bool = False,
                   source: Path | None = None) -> str:
    """Copy example-repo (or ``source``) to ``dest`` as a new Git repository on ``main`` with
    one commit ("initial") and push it to a new bare repository ``remote`` (what the daemon
    watches: libgit2 cannot push the status branch into a repository with a work tree).
    ``dest``'s ``main`` tracks ``origin/main`` there, so ``git push`` needs no arguments.
    ``real`` adds the overlay of ``--real``. Returns the commit id."""
    shutil.copytree(source or example_repo_dir(), dest,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store"))
    if real:
        (dest / "overlays" / "demo-real-gateways.yaml").write_text(_REAL_OVERLAY,
                                                                  encoding="utf-8")
    try:
        repo = pygit2.init_repository(str(dest), initial_head="main")
        repo.config["user.name"] = "molthub demo"
        repo.config["user.email"] = "demo@molthub.invalid"
        repo.index.add_all()
        repo.index.write()
        tree = repo.index.write_tree()
        author = pygit2.Signature("molthub demo", "demo@molthub.invalid")
        commit = repo.create_commit("HEAD", author, author, "initial", tree, [])
        pygit2.init_repository(str(remote), bare=True, initial_head="main")
        origin = repo.remotes.create("origin", str(remote))
        origin.push(["refs/heads/main:refs/heads/main"])
        origin.fetch()
        repo.branches.local["main"].upstream = repo.branches.remote["origin/main"]
    except (pygit2.GitError, OSError, KeyError) as exc:
        raise SyncError(f"cannot create the demo repository in {dest}: {exc}",
                        code="demo-repo") from None
    return str(commit)


def _port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or None when it can."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot resolve {host}: {exc.strerror or exc}"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def _load_schema() -> dict[str, Any] | None:
    path = schemas_dir() / "openclaw" / f"{REAL_VERSION}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _counts_text(status: DaemonStatus) -> str:
    return ", ".join(f"{n} {state}" for state, n in status.counts().items() if n) or "no bots"


def _all_synced(status: DaemonStatus) -> bool:
    return bool(status.bots) and all(b.state == "Synced" for b in status.bots.values())


class _Printer:
    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def __call__(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()


async def _promote_initial(daemon: Daemon, commit: str, done: Callable[[], bool],
                           say: _Printer, limit: float) -> bool:
    """Promote the canaries of the first rollout (skip their bakes) until every bot is
    Synced; False when that took longer than ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    promoted: set[str] = set()
    while not done():
        status = daemon.status()
        if daemon.ready() and _all_synced(status):
            return True
        for name, fleet in sorted(status.fleets.items()):
            rollout = fleet.rollout
            if (rollout is None or rollout.terminal or rollout.commit != commit
                    or rollout.strategy != "canary" or name in promoted):
                continue
            try:
                await daemon.control(name, "promote", actor=ACTOR, full=True,
                                     reason="demo: skip the bake of the first rollout")
            except SyncError:
                continue  # ended meanwhile; the next look decides
            promoted.add(name)
            say(f"  first rollout of {name}: canary promoted (the demo skips the first bake)")
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.25)
    return False


def _guide(say: _Printer, *, url: str, token: str, config: Path, options: DemoOptions,
           status: DaemonStatus, real_bots: list[str]) -> None:
    scale = options.time_scale
    speed = f"{1 / scale:.0f}x" if scale > 0 else "instantly"
    say()
    say(f"molthub demo is running: {len(status.bots)} bots in {len(status.fleets)} fleets "
        f"({_counts_text(status)})")
    say(f"  status page   {url}/   (JSON: {url}/api/status, Prometheus: {url}/metrics)")
    say(f"  config repo   {config}   (a clone of {config.parent / 'fleet.git'}, which the "
        f"daemon polls every {options.poll_interval:.0f} s)")
    say(f"  API token     {token}   (made up for this run)")
    say(f"  time          bakes and pauses run {speed} faster in the demo: a 30m canary bake "
        f"takes {30 * 60 * scale:.0f} s")
    if real_bots:
        say(f"  real gateways {', '.join(real_bots)} run on real OpenClaw {REAL_VERSION} "
            "processes (provider local); every other bot is simulated")
    say()
    say("Commit a change to the production profile and watch each prod fleet's canary go "
        "first:")
    say(f"  cd {shlex.quote(str(config))} && "
        f"sed -i.bak 's/{CHANGE_FROM}/{CHANGE_TO}/' {CHANGE_FILE} "
        f"&& rm {CHANGE_FILE}.bak && git commit -qam 'prod: smaller answers' && git push -q")
    say(f"Then open {url}/ : support-prod-eu updates support-eu-01 and support-eu-02, bakes "
        f"{30 * 60 * scale:.0f} s, then the rest 25% at a time; the other prod fleets follow "
        "their own canaries.")
    say("Skip a bake, or pause a rollout, from another terminal:")
    say(f"  MOLTHUB_API_TOKEN={token} molthub rollout promote support-prod-eu --server {url}")
    say(f"  MOLTHUB_API_TOKEN={token} molthub rollout pause support-prod-us --server {url}")
    say(f"  molthub status --server {url}")
    say()
    say("Press Ctrl-C to stop; the demo stops its gateways and removes its temporary files.")


async def run_demo(options: DemoOptions, *, out: IO[str], err: IO[str],
                   stop: asyncio.Event | None = None, install_signals: bool = True) -> int:
    """Run the demo until SIGINT/SIGTERM (or ``stop``); the exit code (0, or 2 when it cannot
    start: the port is taken, ``--real`` without an OpenClaw install)."""
    say = _Printer(out)
    complain = _Printer(err)
    if options.real and find_openclaw(REAL_VERSION, options.openclaw_cache) is None:
        complain(f"error: --real needs OpenClaw {REAL_VERSION} installed, and it is not.")
        complain("  install it (Node 24 from PyPI and openclaw from npm, about two minutes):")
        complain(f"    bash scripts/install-openclaw.sh {REAL_VERSION}")
        complain("  (or point MOLTHUB_OPENCLAW_CACHE at an existing install), or run "
                 "`molthub demo` without --real")
        return 2
    problem = _port_problem(options.host, options.port)
    if problem is not None:
        complain(f"error: {problem}")
        complain("  another program (another molthub demo?) uses it; pick a free port with "
                 "--port, e.g. molthub demo --port 8081")
        return 2
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if install_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
    tmp = Path(tempfile.mkdtemp(prefix="molthub-demo-"))
    try:
        return await _run(options, tmp, stop, say, complain)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await asyncio.to_thread(shutil.rmtree, tmp, True)
        say(f"molthub demo: stopped; removed {tmp}")


async def _run(options: DemoOptions, tmp: Path, stop: asyncio.Event, say: _Printer,
               complain: _Printer) -> int:
    config = tmp / "config"
    remote = tmp / "fleet.git"
    initial = await asyncio.to_thread(make_demo_repo, config, remote, real=options.real)
    token = secrets.token_urlsafe(18)
    simulated = SimulatedProvider(schema=_load_schema())
    local = LocalProvider(tmp / "gateways", cache_dir=options.openclaw_cache) \
        if options.real else None
    providers = DemoProviders(simulated, local)
    daemon_options = DaemonOptions(
        repo=str(remote), workdir=tmp / "daemon", listen=f"{options.host}:{options.port}",
        interval=options.poll_interval, observe_interval=options.observe_interval,
        api_token=token, provider_override="simulated", time_scale=options.time_scale)
    daemon = Daemon(daemon_options, providers=providers)
    say(f"molthub demo: example-repo copied to {config} (commit {initial[:12]} \"initial\", "
        f"pushed to {remote})")
    say(f"molthub demo: bakes and pauses run {1 / options.time_scale:.0f}x faster "
        f"(time scale {options.time_scale:g})")
    if options.real:
        say(f"molthub demo: starting real OpenClaw {REAL_VERSION} gateways for {REAL_FLEET} "
            "(10-40 s each)")
    bound: list[str] = []

    def listening(url: str) -> None:
        bound.append(url)
        say(f"molthub demo: status page on {url}/ ; first rollout under way")

    server = asyncio.ensure_future(serve(daemon_options, daemon=daemon,
                                         on_listening=listening, stop=stop,
                                         install_signals=False))
    limit = REAL_SYNCED_WAIT if options.real else SYNCED_WAIT
    try:
        synced = await _promote_initial(daemon, initial, lambda: server.done() or stop.is_set(),
                                        say, limit)
        if not server.done() and not stop.is_set():
            status = daemon.status()
            if not synced:
                say(f"molthub demo: not every bot is Synced after {limit:.0f} s "
                    f"({_counts_text(status)}); see the page")
            real_bots = sorted(b for b, s in status.bots.items() if s.fleet == REAL_FLEET) \
                if options.real else []
            _guide(say, url=bound[0] if bound else
                   f"http://{options.host}:{options.port}", token=token, config=config,
                   options=options, status=status, real_bots=real_bots)
        code = await server
    except MolthubError as exc:
        complain(f"error: {exc}")
        code = 2
    finally:
        if not server.done():
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server, 120)
        with contextlib.suppress(ProviderError, OSError):
            await providers.close()  # the daemon closes them too; again is harmless
        if local is not None:
            leftovers = local.leftover_pids()
            if leftovers:
                complain(f"warning: OpenClaw processes still running: {leftovers}")
    return code
