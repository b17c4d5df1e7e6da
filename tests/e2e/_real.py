"""Shared pieces of the tests against a real OpenClaw gateway: start one (a missing install
FAILS, as in the conformance suite: these tests are part of CI, never skipped), a config
repository whose bot points at it, and the real `molthub` command line as a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from molthub_gitops.providers.openclaw_process import (
    OpenClawInstall,
    OpenClawProcess,
    find_openclaw,
)

from ._support import TOKEN_ENV, ConfigRepo

VERSION = "2026.9.6"
SEED_CONFIG: dict[str, Any] = {"gateway": {"mode": "local"}}
REPO_ROOT = Path(__file__).resolve().parents[2]

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
        token: "${{OPENCLAW_GATEWAY_TOKEN}}"
    agents:
      defaults:
        workspace: "{workspaces}/{{{{ bot.name }}}}/{{{{ params.greeting }}}}"
        thinkingDefault: low
        sandbox:
          mode: non-main
"""
"""No channels (a channel without network blocks restarts); the greeting parameter is the
last part of the agent workspace, a value the real gateway keeps as written."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_install() -> OpenClawInstall:
    install = find_openclaw(VERSION)
    if install is None:
        pytest.fail(f"openclaw@{VERSION} is not installed: run scripts/install-openclaw.sh",
                    pytrace=False)
    return install


@dataclass
class RealGateway:
    """One running `openclaw gateway run`; ``token`` is its gateway token (never shown)."""

    proc: OpenClawProcess
    token: str

    @property
    def url(self) -> str:
        return self.proc.url

    async def config_get(self) -> dict[str, Any]:
        """`openclaw gateway call config.get --json` (OpenClaw's own CLI as a second client)."""
        payload = await self.proc.call("config.get", time_limit=60.0)
        assert isinstance(payload, dict), payload
        return payload


@contextlib.asynccontextmanager
async def real_gateway(home: Path) -> AsyncIterator[RealGateway]:
    """Start one real gateway (bounded: 180 s) and stop it, checking nothing is left running."""
    install = require_install()
    token = "gw-e2e-" + secrets.token_urlsafe(24)
    proc = OpenClawProcess(install)
    try:
        await proc.start(home, free_port(), token, config=SEED_CONFIG, ready_timeout=180.0)
        yield RealGateway(proc, token)
    finally:
        await proc.stop()
        leftovers = proc.leftover_pids()
        assert not leftovers, f"openclaw processes left running: {leftovers}"


def real_repo(root: Path, bot: str, url: str, *, greeting: str = "v1",
              self_heal: bool = False) -> ConfigRepo:
    """A config repository with one fleet ``alpha`` and one `existing` bot at ``url``."""
    repo = ConfigRepo(root, self_heal=self_heal)
    workspaces = root.parent / "workspaces"
    repo.write("templates/basic.yaml", TEMPLATE.format(workspaces=workspaces))
    repo.set_fleet("alpha", {bot: url}, greeting=greeting)
    return repo


@dataclass
class CliRun:
    argv: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


async def molthub(*args: str, env: dict[str, str], timeout: float = 300.0,  # noqa: ASYNC109
                  cwd: Path | None = None) -> CliRun:
    """``python -m molthub_gitops ARGS`` (the `molthub` entry point) in a subprocess."""
    argv = [sys.executable, "-m", "molthub_gitops", *args]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env, cwd=str(cwd or REPO_ROOT), start_new_session=True)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"molthub {' '.join(args)} ran past {timeout:g} s") from None
    assert proc.returncode is not None
    return CliRun(argv, proc.returncode, out.decode(), err.decode())


def sync_env(token: str, tmp: Path) -> dict[str, str]:
    """The environment of `molthub sync`: the gateway token in the fleet's secret variable,
    a private HOME and cache (nothing of the developer's own leaks in)."""
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MOLTHUB_")},
        TOKEN_ENV: token, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
