"""Which provider deploys a bot: the registry the daemon asks per bot.

A fleet names its provider in ``target.provider``. Implemented now: ``existing``
(:class:`~molthub_gitops.providers.existing.ExistingProvider`, secrets resolved from the
daemon's environment or files) and ``simulated``
(:class:`~molthub_gitops.gateway.sim.provider.SimulatedProvider`, in-process simulated
gateways). The other names (``local``, ``docker``, the cloud providers) are a
:class:`ProviderError` until they arrive, unless one was plugged in with
:meth:`ProviderRegistry.register` (the demo's ``--real`` mode plugs in ``local``).

``override`` makes every fleet use one provider whatever its target says (the demo runs the
example repository, whose fleets name docker and aws-ecs, on simulated gateways).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, get_args

from molthub_gitops.errors import ProviderError
from molthub_gitops.gateway.secrets import resolve_secret
from molthub_gitops.gateway.sim.provider import SimulatedProvider
from molthub_gitops.model.documents import Target
from molthub_gitops.providers.base import Provider
from molthub_gitops.providers.existing import ExistingProvider

if TYPE_CHECKING:
    from molthub_gitops.render.types import RenderedBot

__all__ = ["IMPLEMENTED", "ProviderRegistry", "known_providers"]

IMPLEMENTED = ("existing", "simulated")


def known_providers() -> tuple[str, ...]:
    """Every provider name a fleet's ``target.provider`` may hold."""
    annotation = Target.model_fields["provider"].annotation
    return tuple(get_args(annotation))


class ProviderRegistry:
    """Providers by name, made on first use and kept until :meth:`close`."""

    def __init__(self, *, override: str | None = None,
                 environ: Mapping[str, str] | None = None,
                 simulated: SimulatedProvider | None = None) -> None:
        self._environ = environ
        self._providers: dict[str, Provider] = {}
        if simulated is not None:
            self._providers["simulated"] = simulated
        self.override = override
        if override is not None:
            self._check(override, bot="")

    def __repr__(self) -> str:
        return f"ProviderRegistry(override={self.override!r}, open={sorted(self._providers)})"

    def register(self, name: str, provider: Provider) -> None:
        """Use ``provider`` for fleets that name ``name`` (or for every fleet when ``name`` is
        the override)."""
        self._providers[name] = provider

    def _check(self, name: str, *, bot: str) -> None:
        if name in self._providers or name in IMPLEMENTED:
            return
        if name not in known_providers():
            raise ProviderError(f"unknown provider {name!r}; use existing or simulated",
                                provider=name, bot=bot, retryable=False)
        raise ProviderError(
            f"provider {name} arrives with the cloud providers; use existing or simulated",
            provider=name, bot=bot, retryable=False)

    def get(self, name: str) -> Provider:
        """The provider called ``name`` (ProviderError when it is not implemented)."""
        provider = self._providers.get(name)
        if provider is not None:
            return provider
        self._check(name, bot="")
        if name == "existing":
            provider = ExistingProvider(self._environ, resolve=resolve_secret)
        else:
            provider = SimulatedProvider()
        self._providers[name] = provider
        return provider

    def name_for(self, bot: RenderedBot) -> str:
        """The provider name that deploys ``bot`` (the override, else its fleet's target)."""
        return self.override or bot.target.provider

    def for_bot(self, bot: RenderedBot) -> Provider:
        """The provider that deploys ``bot``; ProviderError (not retryable) for a provider
        that is not implemented yet."""
        name = self.name_for(bot)
        if name not in self._providers:
            self._check(name, bot=bot.name)
        return self.get(name)

    async def close(self) -> None:
        """Close every provider the registry holds (also one passed in)."""
        providers = list(self._providers.values())
        self._providers.clear()
        for provider in providers:
            await provider.close()
