"""Shared helpers of the in-process daemon tests: a simulated fleet fixture, the bots' URLs,
a daemon on a test repository, and a hand edit of one gateway's config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from e2e._support import ConfigRepo, environ, fleet_fixture, options

from molthub_gitops.gateway.sim import SimulatedFleet
from molthub_gitops.sync.daemon import Daemon
from molthub_gitops.sync.providers import ProviderRegistry

__all__ = ["edit_by_hand", "fleet_fixture", "make_daemon", "urls"]


def urls(sims: SimulatedFleet) -> dict[str, str]:
    return {name: gw.url for name, gw in sims.gateways.items()}


def make_daemon(repo: ConfigRepo, tmp_path: Path, **kwargs: Any) -> Daemon:
    return Daemon(options(repo, tmp_path / "work", **kwargs),
                  providers=ProviderRegistry(environ=environ()))


def edit_by_hand(sims: SimulatedFleet, bot: str, **defaults: Any) -> None:
    """Change ``agents.defaults`` of ``bot``'s gateway outside Git (an operator's edit)."""
    edited = dict(sims.gateways[bot].config)
    edited["agents"] = {"defaults": {**edited["agents"]["defaults"], **defaults}}
    sims.gateways[bot].edit_out_of_band(edited)
