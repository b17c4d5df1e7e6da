"""The provider interface: where a bot runs, and how the daemon reaches its Gateway.

A provider makes sure a bot runs (``ensure``), says how it is doing (``describe``), removes it
(``destroy``, only when pruning is on), tells the daemon how to reach its Gateway
(``endpoint``) and fetches its logs (``logs``). The daemon picks one per fleet from
``target.provider`` through a registry (``molthub_gitops.sync.providers``).

Providers implemented now: ``existing`` (bots run elsewhere; the rendered ``gateway.url`` and
the fleet's secret reference are all we know) and ``simulated`` (in-process simulated gateways
over real WebSockets, in :mod:`molthub_gitops.gateway.sim.provider`). The cloud providers
(docker, aws-ecs, azure-aci, gcp-cloud-run, digitalocean) and ``local`` implement the same
protocol later. Secrets reach a provider only as :class:`BotEndpoint` values in memory; its
``repr`` never shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from molthub_gitops.render.types import RenderedBot

__all__ = ["BotEndpoint", "Provider", "ProviderStatus"]


@dataclass(frozen=True)
class BotEndpoint:
    """How to reach one bot's Gateway: its URL and the credential to present.

    ``secret`` is the resolved token or password (per ``auth``); it never appears in
    ``repr`` or ``str``. ``url`` may carry no credentials (``display_url`` strips them).
    """

    bot: str
    fleet: str
    url: str
    auth: Literal["token", "password", "none"] = "token"
    secret: str | None = field(default=None, repr=False)

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies one connection in a pool (bot, url, auth kind)."""
        return (self.bot, self.url, self.auth)


@dataclass(frozen=True)
class ProviderStatus:
    """What a provider knows of one bot's runtime (not of its config)."""

    bot: str
    exists: bool
    running: bool
    detail: str = ""


class Provider(Protocol):
    """One deployment target. Every method is async and bounded by the provider's own
    timeouts; failures raise :class:`~molthub_gitops.errors.ProviderError` (a secret that
    cannot be resolved: :class:`~molthub_gitops.errors.InputError`)."""

    name: str

    async def ensure(self, bot: RenderedBot) -> BotEndpoint:
        """Make sure the bot runs (create or update its runtime) and return its endpoint."""
        ...

    async def describe(self, bot: RenderedBot) -> ProviderStatus:
        """Whether the bot's runtime exists and runs."""
        ...

    async def destroy(self, fleet: str, bot: str) -> None:
        """Remove the bot's runtime (prune). Idempotent."""
        ...

    async def endpoint(self, bot: RenderedBot) -> BotEndpoint:
        """How to reach the bot's Gateway, without changing anything."""
        ...

    async def logs(self, bot: RenderedBot, *, lines: int = 100) -> str:
        """The last ``lines`` lines of the bot's log (secrets scrubbed)."""
        ...

    async def close(self) -> None:
        """Release what the provider holds (connections, in-process gateways)."""
        ...
