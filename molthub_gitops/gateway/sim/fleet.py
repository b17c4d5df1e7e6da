"""Many simulated gateways in one process and event loop, each on its own loopback port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from molthub_gitops.gateway.sim.server import SimulatedGateway

__all__ = ["SimulatedFleet"]

_START_BATCH = 200


def _raise_fd_limit(needed: int) -> None:
    """Lift the soft open-files limit towards the hard one when a fleet needs it."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class SimulatedFleet:
    """A set of :class:`SimulatedGateway` objects started and stopped together.

    Pass ``count`` (names ``bot-0001``...) or ``names``; ``token_for(name)`` gives each its
    token and ``config_for(name)`` its own initial config (instead of one ``config`` for all);
    every other keyword goes to each gateway (pass one shared ``schema`` object: it is
    compiled once for the whole fleet). Gateways whose files are identical share the views
    built from them (see ``configstore.SharedViews``) until one of them is written.
    """

    def __init__(
        self,
        count: int | None = None,
        *,
        names: Sequence[str] | None = None,
        token_for: Callable[[str], str] | None = None,
        config_for: Callable[[str], Mapping[str, Any] | None] | None = None,
        **gateway_kwargs: Any,
    ) -> None:
        if config_for is not None and "config" in gateway_kwargs:
            raise ValueError("pass config or config_for, not both")
        if names is None:
            if count is None:
                raise ValueError("SimulatedFleet needs count or names")
            width = max(4, len(str(count)))
            names = [f"bot-{i:0{width}d}" for i in range(1, count + 1)]
        elif count is not None and count != len(names):
            raise ValueError("count and names disagree")
        if len(set(names)) != len(names):
            raise ValueError("gateway names must be unique")
        self.gateways: dict[str, SimulatedGateway] = {}
        for name in names:
            kwargs = dict(gateway_kwargs)
            if token_for is not None:
                kwargs["token"] = token_for(name)
            if config_for is not None:
                kwargs["config"] = config_for(name)
            self.gateways[name] = SimulatedGateway(name=name, **kwargs)

    def url_for(self, name: str) -> str:
        """The WebSocket URL of gateway ``name`` (KeyError for an unknown name)."""
        return self.gateways[name].url

    def __len__(self) -> int:
        return len(self.gateways)

    async def start(self, host: str = "127.0.0.1") -> None:
        """Start every gateway (concurrently, in batches); on failure stop those started."""
        _raise_fd_limit(len(self.gateways) * 4 + 256)
        gateways = list(self.gateways.values())
        try:
            for index in range(0, len(gateways), _START_BATCH):
                batch = gateways[index : index + _START_BATCH]
                await asyncio.gather(*(gw.start(host) for gw in batch))
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop every gateway."""
        await asyncio.gather(*(gw.stop() for gw in self.gateways.values()), return_exceptions=True)

    async def __aenter__(self) -> SimulatedFleet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
