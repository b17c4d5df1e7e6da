"""Shared helpers of the pool, observer and provider tests: rendered example bots, bots
with a custom gateway access, free ports and bounded waits."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import json
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from molthub_gitops.model.documents import GatewayAccess, SecretRef, Target
from molthub_gitops.render.engine import render_repository
from molthub_gitops.render.types import RenderedBot
from molthub_gitops.repo.load import load_directory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-repo"
SCHEMA_9 = ROOT / "schemas" / "openclaw" / "2026.9.6.json"


@functools.lru_cache(maxsize=1)
def example_bots() -> tuple[RenderedBot, ...]:
    """Every bot of example-repo, rendered (36 bots; fleets name docker, aws-ecs, existing)."""
    return render_repository(load_directory(EXAMPLE)).bots


@functools.lru_cache(maxsize=1)
def schema_9() -> Mapping[str, Any]:
    """The vendored OpenClaw 2026.9.6 config schema (one object: compiled once)."""
    result: Mapping[str, Any] = json.loads(SCHEMA_9.read_text(encoding="utf-8"))
    return result


def config_hash(config: Mapping[str, Any]) -> str:
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def make_bot(
    name: str = "bot-a",
    fleet: str = "fleet-a",
    *,
    url: str = "ws://127.0.0.1:9",
    auth: Literal["token", "password", "none"] = "token",
    secret: SecretRef | None = None,
    config: Mapping[str, Any] | None = None,
    version: str = "2026.9.6",
    provider: str = "existing",
    base: RenderedBot | None = None,
) -> RenderedBot:
    """A rendered bot (an example bot with the given identity, gateway access and config)."""
    template = base or example_bots()[0]
    if secret is None and auth != "none":
        secret = SecretRef(env="H3_TEST_TOKEN")
    cfg = dict(config) if config is not None else template.config
    return dataclasses.replace(
        template,
        name=name,
        fleet=fleet,
        gateway=GatewayAccess(url=url, auth=auth, secret=secret),
        gateway_url=url,
        config=cfg,
        config_hash=config_hash(cfg),
        openclaw_version=version,
        target=Target(provider=provider),
    )


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def eventually(predicate: Callable[[], bool], *, within: float = 10.0,
                     what: str = "condition") -> None:
    """Wait until ``predicate()`` holds; AssertionError after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not hold within {within}s")
        await asyncio.sleep(0.02)
