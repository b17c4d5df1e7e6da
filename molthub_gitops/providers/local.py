"""The ``local`` provider: one real OpenClaw gateway process per bot, on this machine.

Each bot gets ``openclaw gateway run`` (through
:class:`~molthub_gitops.providers.openclaw_process.OpenClawProcess`) with its own ``HOME``
(``<workdir>/<fleet>/<bot>``), its own loopback port and a random token kept in memory only.
The gateway starts from a minimal config file (``{"gateway": {"mode": "local"}}``); the sync
daemon then rolls the bot's rendered config out to it like to any other gateway.

A rendered config holds ``${VAR}`` references that a bot's runtime resolves from its
environment. A local bot has no secret store, so every variable its config references gets a
dummy value (``molthub-local-<var>``); ``OPENCLAW_GATEWAY_TOKEN`` is the gateway's real token.
When a later config references a variable the running process lacks, ``ensure`` restarts the
process with it (same ``HOME``, port and token).

What was measured with openclaw 2026.9.6 on a machine without internet: a gateway whose
config has chat channels with dummy tokens (Telegram, Slack) still reports itself healthy,
but a change that needs a restart (``gateway.port``, ``gateway.bind``, ``gateway.auth.mode``)
then hangs for minutes while the channel fails to reach its service. Configs meant for local
gateways without network should carry no ``channels`` (``molthub demo --real`` removes them
for the fleet it runs locally).

Ready waits, stops and log reads are bounded; tokens never reach logs, errors or reprs.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shutil
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from molthub_gitops.errors import GatewayError, ProviderError
from molthub_gitops.providers.base import BotEndpoint, ProviderStatus
from molthub_gitops.providers.openclaw_process import (
    OpenClawInstall,
    OpenClawProcess,
    find_openclaw,
)

if TYPE_CHECKING:
    from molthub_gitops.render.types import RenderedBot

__all__ = ["SEED_CONFIG", "LocalProvider", "dummy_env", "referenced_env_vars"]

log = logging.getLogger("molthub.providers.local")

SEED_CONFIG: Mapping[str, Any] = {"gateway": {"mode": "local"}}
"""The config file a new local gateway starts from (the daemon rolls the real one out)."""

_TOKEN_VAR = "OPENCLAW_GATEWAY_TOKEN"  # noqa: S105 - a variable name, not a secret
_VAR_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def referenced_env_vars(config: Any) -> set[str]:
    """Names of every ``${VAR}`` referenced anywhere in ``config`` (strings in maps and lists)."""
    found: set[str] = set()
    stack: list[Any] = [config]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "${" in value:
                found.update(_VAR_REF.findall(value))
        elif isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return found


def dummy_env(names: set[str] | frozenset[str]) -> dict[str, str]:
    """A dummy value for each variable (the gateway token excepted: the process sets it)."""
    return {n: f"molthub-local-{n.lower().replace('_', '-')}" for n in sorted(names)
            if n != _TOKEN_VAR}


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class _Instance:
    """One bot's gateway process and what it was started with."""

    fleet: str
    bot: str
    install: OpenClawInstall
    home: Path
    port: int
    token: str = field(repr=False)
    env_names: frozenset[str] = frozenset()
    process: OpenClawProcess | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def endpoint(self) -> BotEndpoint:
        return BotEndpoint(bot=self.bot, fleet=self.fleet, url=self.url, auth="token",
                           secret=self.token)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running


class LocalProvider:
    """Runs each bot as a real ``openclaw gateway run`` child process (see the module doc).

    ``workdir`` holds one ``HOME`` per bot. ``cache_dir`` is where the OpenClaw installs live
    (default: :func:`~molthub_gitops.providers.openclaw_process.default_cache_dir`).
    ``ready_timeout`` bounds each start.
    """

    name = "local"

    def __init__(self, workdir: Path, *, cache_dir: Path | None = None,
                 ready_timeout: float = 180.0, stop_grace: float = 15.0,
                 seed_config: Mapping[str, Any] | None = None) -> None:
        self.workdir = Path(workdir)
        self.cache_dir = cache_dir
        self.ready_timeout = ready_timeout
        self.stop_grace = stop_grace
        self.seed_config: Mapping[str, Any] = seed_config if seed_config is not None \
            else SEED_CONFIG
        self._instances: dict[str, _Instance] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._stopped: list[OpenClawProcess] = []  # kept to check that nothing is left

    def __repr__(self) -> str:
        running = sum(1 for i in self._instances.values() if i.running)
        return f"LocalProvider({str(self.workdir)!r}, {running} running)"

    # ------------------------------------------------------------------ helpers

    def _lock(self, bot: str) -> asyncio.Lock:
        lock = self._locks.get(bot)
        if lock is None:
            lock = self._locks[bot] = asyncio.Lock()
        return lock

    def _install(self, bot: RenderedBot) -> OpenClawInstall:
        install = find_openclaw(bot.openclaw_version, self.cache_dir)
        if install is None:
            raise ProviderError(
                f"openclaw {bot.openclaw_version} is not installed here "
                f"(run scripts/install-openclaw.sh {bot.openclaw_version})",
                provider=self.name, bot=bot.name, retryable=False)
        return install

    def process(self, bot: str) -> OpenClawProcess | None:
        """The running gateway process of ``bot`` (for tests and out-of-band checks)."""
        instance = self._instances.get(bot)
        return instance.process if instance is not None and instance.running else None

    async def _start(self, instance: _Instance, *, first: bool) -> None:
        process = OpenClawProcess(instance.install)
        try:
            await process.start(
                instance.home, instance.port, instance.token,
                config=self.seed_config if first else None,
                ready_timeout=self.ready_timeout,
                env=dummy_env(instance.env_names),
            )
        except (GatewayError, OSError) as exc:
            # start() has stopped the process already; the message names the log, not secrets
            text = str(exc).replace(instance.token, "***")
            raise ProviderError(f"the local gateway did not start: {text}",
                                provider=self.name, bot=instance.bot) from None
        instance.process = process
        log.info("local gateway of %s runs on %s (openclaw %s)", instance.bot, instance.url,
                 instance.install.version)

    async def _stop(self, instance: _Instance) -> None:
        process, instance.process = instance.process, None
        if process is not None:
            self._stopped.append(process)
            await process.stop(grace=self.stop_grace)

    # ------------------------------------------------------------------ Provider

    async def ensure(self, bot: RenderedBot) -> BotEndpoint:
        """Start the bot's gateway unless it runs (restart it when the config needs
        environment variables the process lacks); return its endpoint."""
        needed = frozenset(referenced_env_vars(bot.config) - {_TOKEN_VAR})
        async with self._lock(bot.name):
            instance = self._instances.get(bot.name)
            if instance is not None and instance.running and needed <= instance.env_names:
                return instance.endpoint()
            install = self._install(bot)
            first = instance is None
            if instance is None:
                home = self.workdir / bot.fleet / bot.name
                home.mkdir(parents=True, exist_ok=True)
                instance = _Instance(fleet=bot.fleet, bot=bot.name, install=install, home=home,
                                     port=_free_port("127.0.0.1"),
                                     token=secrets.token_urlsafe(24), env_names=needed)
                self._instances[bot.name] = instance
            else:
                await self._stop(instance)
                instance.install = install
                instance.env_names = instance.env_names | needed
                if not _port_free(instance.port):  # keep the port unless taken meanwhile
                    instance.port = _free_port("127.0.0.1")
            await self._start(instance, first=first)
            return instance.endpoint()

    async def endpoint(self, bot: RenderedBot) -> BotEndpoint:
        """The endpoint of a started bot (ProviderError when it was never started)."""
        instance = self._instances.get(bot.name)
        if instance is None:
            raise ProviderError("not started yet (ensure it first)", provider=self.name,
                                bot=bot.name)
        return instance.endpoint()

    async def describe(self, bot: RenderedBot) -> ProviderStatus:
        instance = self._instances.get(bot.name)
        if instance is None:
            return ProviderStatus(bot=bot.name, exists=False, running=False,
                                  detail="no local gateway")
        running = instance.running
        detail = f"openclaw {instance.install.version} on {instance.url}" if running \
            else "stopped"
        return ProviderStatus(bot=bot.name, exists=instance.home.exists(), running=running,
                              detail=detail)

    async def destroy(self, fleet: str, bot: str) -> None:
        """Stop the bot's gateway (every process it spawned) and remove its HOME."""
        async with self._lock(bot):
            instance = self._instances.pop(bot, None)
            if instance is None:
                return
            await self._stop(instance)
            await asyncio.to_thread(shutil.rmtree, instance.home, True)

    async def logs(self, bot: RenderedBot, *, lines: int = 100) -> str:
        """The last ``lines`` lines of the gateway's output (its token scrubbed)."""
        instance = self._instances.get(bot.name)
        if instance is None:
            return ""
        path = instance.home / "gateway.log"

        def read() -> str:
            try:
                data = path.read_bytes()[-(lines * 2000 + 1):]
            except OSError:
                return ""
            return data.decode("utf-8", "replace")

        text = (await asyncio.to_thread(read)).replace(instance.token, "***")
        tail = text.splitlines()[-lines:] if lines > 0 else []
        return "\n".join(tail) + ("\n" if tail else "")

    async def close(self) -> None:
        """Stop every gateway this provider started (HOMEs stay; the caller owns workdir)."""
        instances = list(self._instances.values())
        await asyncio.gather(*(self._stop(i) for i in instances), return_exceptions=True)

    def leftover_pids(self) -> list[int]:
        """Processes of any gateway started here that are still alive (to check a stop)."""
        processes = [*self._stopped, *(i.process for i in self._instances.values()
                                       if i.process is not None)]
        return sorted({pid for p in processes for pid in p.leftover_pids()})


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # a port whose last connections linger in TIME_WAIT is free to listen on again
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
