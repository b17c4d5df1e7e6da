"""Shared pieces of the daemon tests: a config repository in a real Git repository, a fleet of
simulated gateways it points at, daemon options, and bounded waits."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest_asyncio
import yaml

from molthub_gitops.errors import InputError
from molthub_gitops.gateway.sim import SimulatedFleet
from molthub_gitops.sync.daemon import DaemonOptions
from molthub_gitops.sync.state import DaemonStatus
from molthub_gitops.sync.statusbranch import read_status_branch

TOKEN = "e2e-gw-token-Vq3-not-for-logs-9931"
TOKEN_ENV = "MOLTHUB_E2E_GW_TOKEN"
API_TOKEN = "e2e-api-token-Kd8-never-shown-5512"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
    "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent",
}

INITIAL: dict[str, Any] = {
    "gateway": {"mode": "local", "auth": {"mode": "token", "token": "${OPENCLAW_GATEWAY_TOKEN}"}},
}
"""What every simulated gateway holds at the start (the gateway part of the template, so the
first rollout is a hot reload of `agents`)."""

REPOSITORY = """\
apiVersion: molthub/v1
kind: Repository
metadata:
  name: e2e
spec:
  openclawVersions: ["2026.9.6"]
  sync:
    interval: 1h
    selfHeal: {self_heal}
"""

TEMPLATE = """\
apiVersion: molthub/v1
kind: Template
metadata:
  name: basic
spec:
  parameters:
    greeting:
      type: string
      default: hello
  config:
    gateway:
      mode: local
      auth:
        mode: token
        token: "${OPENCLAW_GATEWAY_TOKEN}"
    agents:
      defaults:
        workspace: "/srv/openclaw/{{ bot.name }}/{{ params.greeting }}"
        thinkingDefault: low
        sandbox:
          mode: all
"""


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(["git", "-C", str(root), *args], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout.strip()


def fleet_doc(name: str, urls: Mapping[str, str], *, rollout: Mapping[str, Any] | None = None,
              self_heal: bool | None = None, suspended: bool = False,
              greeting: str = "hello") -> str:
    spec: dict[str, Any] = {
        "environment": "dev",
        "template": "basic",
        "parameters": {"greeting": greeting},
        "openclawVersion": "2026.9.6",
        "target": {"provider": "existing"},
        "gateway": {"url": "ws://127.0.0.1:9/{{ bot.name }}", "auth": "token",
                    "secret": {"env": TOKEN_ENV}},
        "rollout": dict(rollout or {"strategy": "all"}),
        "bots": [{"name": bot, "gatewayUrl": url} for bot, url in sorted(urls.items())],
    }
    sync: dict[str, Any] = {}
    if self_heal is not None:
        sync["selfHeal"] = self_heal
    if suspended:
        sync["suspended"] = True
    if sync:
        spec["sync"] = sync
    return yaml.safe_dump({"apiVersion": "molthub/v1", "kind": "Fleet",
                           "metadata": {"name": name}, "spec": spec}, sort_keys=False)


class ConfigRepo:
    """A config repository: a bare ``origin`` (what the daemon clones and pushes its status
    branch to) and a work tree (``root``) whose commits are pushed there."""

    def __init__(self, root: Path, *, self_heal: bool = False, subdir: str = "") -> None:
        self.root = root
        self.config = root / subdir if subdir else root
        self.origin = root.with_name(root.name + "-origin.git")
        root.mkdir(parents=True, exist_ok=True)
        git(root.parent, "init", "-q", "--bare", "-b", "main", str(self.origin))
        git(root, "init", "-q", "-b", "main")
        git(root, "remote", "add", "origin", str(self.origin))
        (self.config / "templates").mkdir(parents=True)
        (self.config / "fleets").mkdir()
        (self.config / "molthub.yaml").write_text(REPOSITORY.format(
            self_heal=str(self_heal).lower()))
        (self.config / "templates" / "basic.yaml").write_text(TEMPLATE)

    def set_fleet(self, name: str, urls: Mapping[str, str], **kwargs: Any) -> None:
        (self.config / "fleets" / f"{name}.yaml").write_text(fleet_doc(name, urls, **kwargs))

    def write(self, relative: str, text: str) -> None:
        """Write a file of the config repository (relative to its folder)."""
        (self.config / relative).write_text(text)

    def read(self, relative: str) -> str:
        return (self.config / relative).read_text()

    def commit(self, message: str = "change", *, push: bool = True) -> str:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "--allow-empty", "-m", message)
        if push:
            git(self.root, "push", "-q", "origin", "main")
        return git(self.root, "rev-parse", "HEAD")

    @property
    def url(self) -> str:
        return str(self.origin)


def start_fleet(names: Sequence[str], **kwargs: Any) -> SimulatedFleet:
    return SimulatedFleet(names=list(names), token=TOKEN, config=INITIAL, **kwargs)


def fleet_fixture(bots: Sequence[str]) -> Callable[[], AsyncIterator[SimulatedFleet]]:
    """A ``fleet`` fixture: simulated gateways named ``bots``, started and stopped."""

    @pytest_asyncio.fixture
    async def fleet() -> AsyncIterator[SimulatedFleet]:
        sims = start_fleet(bots)
        await sims.start()
        try:
            yield sims
        finally:
            await sims.stop()

    return fleet  # type: ignore[no-any-return]


def options(repo: ConfigRepo, workdir: Path, **kwargs: Any) -> DaemonOptions:
    """Daemon options for tests: no polling or periodic observation unless asked."""
    base: dict[str, Any] = {
        "repo": repo.url, "workdir": workdir, "listen": None,
        "interval": 3600.0, "observe_interval": 3600.0, "observe_timeout": 5.0,
        "replica": "e2e",
    }
    base.update(kwargs)
    return DaemonOptions(**base)


def environ() -> dict[str, str]:
    return {**os.environ, TOKEN_ENV: TOKEN}


async def wait_for(predicate: Callable[[], bool | Awaitable[bool]], *, timeout: float = 30.0,  # noqa: ASYNC109
                   interval: float = 0.05, what: str = "the condition") -> None:
    """Poll ``predicate`` until true; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if not isinstance(value, bool):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(interval)


def greeting_of(config: Mapping[str, Any]) -> Any:
    """The ``greeting`` parameter as the gateway holds it (last part of the workspace)."""
    workspace = config.get("agents", {}).get("defaults", {}).get("workspace")
    return workspace.rsplit("/", 1)[-1] if isinstance(workspace, str) else None


def audit_lines(repo_git: Path, branch: str = "molthub-status") -> list[dict[str, Any]]:
    """Every audit entry on the status branch of the repository at ``repo_git``."""
    listing = git(repo_git, "ls-tree", "-r", "--name-only", branch, "audit/")
    out: list[dict[str, Any]] = []
    for name in sorted(x for x in listing.splitlines() if x):
        text = git(repo_git, "show", f"{branch}:{name}")
        out.extend(json.loads(line) for line in text.splitlines() if line.strip())
    return out


def branch_status(repo: ConfigRepo) -> DaemonStatus | None:
    """The status on the status branch of ``repo``'s origin; None while the branch does not
    exist yet (the daemon's first publish has not landed) or holds no status."""
    try:
        status, _ = read_status_branch(repo.origin)
    except InputError:
        return None
    return status


class Served:
    """``web.serve.serve`` in this event loop on a free port: a real daemon behind a real
    HTTP server; ``url`` is its base URL. Stopped (bounded) on exit."""

    def __init__(self, opts: DaemonOptions, *, ready: bool = True) -> None:
        from molthub_gitops.sync.daemon import Daemon
        from molthub_gitops.sync.providers import ProviderRegistry

        self.options = opts
        self.daemon = Daemon(opts, providers=ProviderRegistry(environ=environ()))
        self.url = ""
        self._wait_ready = ready
        self._stop = asyncio.Event()
        self._task: asyncio.Task[int] | None = None

    async def __aenter__(self) -> Served:
        from molthub_gitops.web.serve import serve

        loop = asyncio.get_running_loop()
        listening: asyncio.Future[str] = loop.create_future()
        self._task = loop.create_task(serve(
            self.options, daemon=self.daemon, on_listening=listening.set_result,
            stop=self._stop, install_signals=False))
        if self.options.listen is not None:
            done, _ = await asyncio.wait({listening, self._task}, timeout=30,
                                         return_when=asyncio.FIRST_COMPLETED)
            if self._task in done:
                self._task.result()
            self.url = await asyncio.wait_for(listening, 1)
        if self._wait_ready:
            await wait_for(self.daemon.ready, timeout=60, what="the daemon to be ready")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await asyncio.wait_for(self._task, 60)


_CLI_SHIM = """\
from molthub_gitops.cli import COMMANDS, main
# the command table may not list these yet in a tree under construction: add them if missing
for name, module in (("sync", "sync_commands"), ("status", "sync_commands"),
                     ("rollout", "sync_commands"), ("audit", "audit_commands")):
    COMMANDS.setdefault(name, (module, ""))
main(prog_name="molthub")
"""


def molthub_argv(*args: str) -> list[str]:
    """The `molthub` command line run by this interpreter, with ``args``."""
    import sys

    return [sys.executable, "-c", _CLI_SHIM, *args]
