"""The ``existing`` provider: bots run elsewhere; we only know how to reach their Gateway.

The endpoint is the rendered ``gateway.url`` plus the secret named by the fleet's
``gateway.secret`` reference, resolved from the daemon's environment (``env``) or a file
(``file``). A ``store`` reference needs a provider with a secret store (the cloud providers):
:class:`ProviderError`, not retryable. A reference that cannot be resolved (unset variable,
unreadable file) is an :class:`InputError` naming the reference, never a value.

``ensure`` changes nothing (it returns the endpoint), ``describe`` cannot see the runtime,
``destroy`` refuses (the bots are not ours to remove) and ``logs`` has none.

The secret resolver is injected (``resolve``): the registry passes
:func:`molthub_gitops.gateway.secrets.resolve_secret`, which lives above this layer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from molthub_gitops.errors import ProviderError
from molthub_gitops.providers.base import BotEndpoint, ProviderStatus

if TYPE_CHECKING:
    from molthub_gitops.render.types import RenderedBot

__all__ = ["ExistingProvider", "SecretResolver"]

log = logging.getLogger("molthub.providers.existing")


class SecretResolver(Protocol):
    """``resolve_secret``'s shape: the secret named by ``env`` or ``file`` (``None`` when
    neither is given); :class:`InputError` when the reference cannot be resolved."""

    def __call__(self, *, env: str | None = None, file: str | None = None,
                 environ: Mapping[str, str] | None = None, what: str = "gateway token",
                 ) -> str | None: ...


class ExistingProvider:
    """Bots that run elsewhere (see the module docstring)."""

    name = "existing"

    def __init__(self, environ: Mapping[str, str] | None = None, *,
                 resolve: SecretResolver) -> None:
        self._environ = environ
        self._resolve = resolve

    def __repr__(self) -> str:
        return "ExistingProvider()"

    async def endpoint(self, bot: RenderedBot) -> BotEndpoint:
        access = bot.gateway
        secret: str | None = None
        if access.auth != "none":
            ref = access.secret
            if ref is None:
                raise ProviderError(
                    f"gateway auth {access.auth} needs a secret reference", provider=self.name,
                    bot=bot.name, retryable=False)
            if ref.store is not None:
                raise ProviderError(
                    f"the gateway {access.auth} of this bot is a secret store reference; that "
                    "needs a provider with a secret store (use secret: {env: VAR} or "
                    "{file: PATH} with provider existing)",
                    provider=self.name, bot=bot.name, retryable=False)
            secret = self._resolve(env=ref.env, file=ref.file, environ=self._environ,
                                   what=f"gateway {access.auth} of bot {bot.name}")
        return BotEndpoint(bot=bot.name, fleet=bot.fleet, url=bot.gateway_url,
                           auth=access.auth, secret=secret)

    async def ensure(self, bot: RenderedBot) -> BotEndpoint:
        """Nothing to create: the bot runs elsewhere. Returns its endpoint."""
        return await self.endpoint(bot)

    async def describe(self, bot: RenderedBot) -> ProviderStatus:
        return ProviderStatus(
            bot=bot.name, exists=True, running=True,
            detail="runs elsewhere (provider existing): its runtime is not visible to "
                   "molthub; its Gateway reports its health")

    async def destroy(self, fleet: str, bot: str) -> None:
        raise ProviderError(
            "bots of provider existing run elsewhere; molthub does not remove them",
            provider=self.name, bot=bot, retryable=False)

    async def logs(self, bot: RenderedBot, *, lines: int = 100) -> str:
        log.debug("provider existing has no logs of bot %s (it runs elsewhere)", bot.name)
        return ""

    async def close(self) -> None:
        return None
