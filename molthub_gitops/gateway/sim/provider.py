"""The ``simulated`` provider: one in-process :class:`SimulatedGateway` per bot.

``ensure(bot)`` starts the bot's simulated gateway on 127.0.0.1 the first time (a free port,
a random token or password held in memory only, the OpenClaw generation of the fleet's
``openclawVersion``) and returns its endpoint; later calls return the same endpoint. The
gateways stay up until :meth:`SimulatedProvider.destroy` or :meth:`~SimulatedProvider.close`.

Each gateway gets an environment holding every ``${VAR}`` its desired config references,
with a dummy value, so the simulator's check for unresolvable references passes (the real
values are the bot's business, not ours); ``ensure`` adds variables a newer config
references. Pass one ``schema`` object to validate configs like a real gateway: it is
compiled once for every gateway.

:meth:`SimulatedProvider.gateway` hands out the gateway itself, for tests and the demo's
fault buttons (``set_healthy``, ``edit_out_of_band``, ``restart``, ``stop``...).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from molthub_gitops.errors import ProviderError
from molthub_gitops.gateway.sim.server import SimulatedGateway
from molthub_gitops.providers.base import BotEndpoint, ProviderStatus

if TYPE_CHECKING:
    from molthub_gitops.render.types import RenderedBot

__all__ = ["SimulatedProvider", "env_references"]

Auth = Literal["token", "password", "none"]
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PROBE_TIMEOUT = 2.0


def env_references(config: Mapping[str, Any]) -> set[str]:
    """Names of the ``${VAR}`` references anywhere in ``config``."""
    return set(_ENV_REF.findall(json.dumps(config, ensure_ascii=False)))


def _protocol_range(version: str) -> tuple[int, int]:
    """2026.9 and later speak protocol 4 (and 3); older ones only 3."""
    match = re.match(r"^v?(\d+)\.(\d+)", version)
    if match is not None and (int(match.group(1)), int(match.group(2))) < (2026, 9):
        return (3, 3)
    return (3, 4)


class _Bot:
    __slots__ = ("auth", "env", "fleet", "gateway", "secret")

    def __init__(self, gateway: SimulatedGateway, fleet: str, auth: Auth, secret: str | None,
                 env: dict[str, str]) -> None:
        self.gateway = gateway
        self.fleet = fleet
        self.auth = auth
        self.secret = secret
        self.env = env


class SimulatedProvider:
    """Simulated gateways per bot (see the module docstring)."""

    name = "simulated"

    def __init__(self, *, schema: Mapping[str, Any] | None = None,
                 tick_interval_ms: int = 30000, host: str = "127.0.0.1",
                 env_value: str = "simulated-value") -> None:
        self.schema = schema
        self.tick_interval_ms = tick_interval_ms
        self.host = host
        self.env_value = env_value
        self._bots: dict[str, _Bot] = {}
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"SimulatedProvider({len(self._bots)} gateways)"

    # ---------------------------------------------------------------- accessors

    def gateway(self, bot_name: str) -> SimulatedGateway:
        """The simulated gateway of ``bot_name`` (ProviderError when it was not ensured)."""
        entry = self._bots.get(bot_name)
        if entry is None:
            raise ProviderError("no simulated gateway (ensure() starts it)",
                                provider=self.name, bot=bot_name, retryable=False)
        return entry.gateway

    @property
    def bots(self) -> list[str]:
        """Names of the bots with a gateway, sorted."""
        return sorted(self._bots)

    def _endpoint(self, name: str, entry: _Bot) -> BotEndpoint:
        return BotEndpoint(bot=name, fleet=entry.fleet, url=entry.gateway.url,
                           auth=entry.auth, secret=entry.secret)

    # ---------------------------------------------------------------- Provider

    async def ensure(self, bot: RenderedBot) -> BotEndpoint:
        """Start the bot's gateway unless it runs; return its endpoint."""
        wanted = env_references(bot.config)
        async with self._lock:
            entry = self._bots.get(bot.name)
            if entry is None:
                entry = await self._start(bot, wanted)
                self._bots[bot.name] = entry
            else:
                # the gateway holds this dict: new references of a newer config resolve too
                for var in wanted - entry.env.keys():
                    entry.env[var] = self.env_value
            return self._endpoint(bot.name, entry)

    async def _start(self, bot: RenderedBot, wanted: set[str]) -> _Bot:
        auth = bot.gateway.auth
        secret = None if auth == "none" else secrets.token_urlsafe(24)
        env = dict.fromkeys(sorted(wanted), self.env_value)
        gateway = SimulatedGateway(
            token=secret if auth == "token" else None,
            password=secret if auth == "password" else None,
            version=bot.openclaw_version or "2026.9.6",
            protocol_range=_protocol_range(bot.openclaw_version or ""),
            schema=self.schema,
            tick_interval_ms=self.tick_interval_ms,
            name=bot.name,
            env=env,
        )
        try:
            await gateway.start(self.host)
        except OSError as exc:
            raise ProviderError(
                f"cannot start a simulated gateway ({exc.strerror or type(exc).__name__})",
                provider=self.name, bot=bot.name) from None
        return _Bot(gateway, bot.fleet, auth, secret, env)

    async def endpoint(self, bot: RenderedBot) -> BotEndpoint:
        entry = self._bots.get(bot.name)
        if entry is None:
            raise ProviderError("no simulated gateway yet (ensure() starts it)",
                                provider=self.name, bot=bot.name)
        return self._endpoint(bot.name, entry)

    async def describe(self, bot: RenderedBot) -> ProviderStatus:
        entry = self._bots.get(bot.name)
        if entry is None:
            return ProviderStatus(bot=bot.name, exists=False, running=False,
                                  detail="no simulated gateway")
        gateway = entry.gateway
        running = await _listening(gateway.host, gateway.port)
        detail = f"simulated OpenClaw {gateway.version} at {gateway.url}"
        if gateway.restarting:
            detail += " (restarting)"
        return ProviderStatus(bot=bot.name, exists=True, running=running, detail=detail)

    async def destroy(self, fleet: str, bot: str) -> None:
        """Stop and forget the bot's gateway (idempotent)."""
        async with self._lock:
            entry = self._bots.pop(bot, None)
        if entry is not None:
            await entry.gateway.stop()

    async def logs(self, bot: RenderedBot, *, lines: int = 100) -> str:
        """The gateway's config writes, one line each (no config values, no secrets)."""
        entry = self._bots.get(bot.name)
        if entry is None or lines <= 0:
            return ""
        out = []
        for write in entry.gateway.writes[-lines:]:
            paths = ",".join(write.changed_paths[:20])
            out.append(f"{write.ts_ms} {write.method} hash={write.hash} reload={write.reload}"
                       f" paths={paths}")
        return "\n".join(out) + ("\n" if out else "")

    async def close(self) -> None:
        """Stop every gateway."""
        async with self._lock:
            entries = list(self._bots.values())
            self._bots.clear()
        await asyncio.gather(*(e.gateway.stop() for e in entries), return_exceptions=True)


async def _listening(host: str, port: int) -> bool:
    """Whether something accepts TCP connections at ``host:port`` (bounded wait)."""
    if port <= 0:
        return False
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT):
            _reader, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(_PROBE_TIMEOUT):
            await writer.wait_closed()
    return True
