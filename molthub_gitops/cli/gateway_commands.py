"""`molthub gateway ...`: talk to one OpenClaw Gateway directly (``probe``).

``probe`` prints protocol, server version, config hash and a health summary. Exit codes:
0 reachable and healthy, 1 reachable but unhealthy, 2 unreachable, refused, bad auth or bad
input (an invalid URL, an unset token variable, an unreadable device key), 130 interrupted.
Failures go to stderr through :func:`~molthub_gitops.cli.output.command_guard`: one line or
one problem, never a traceback, never the token.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import click

from molthub_gitops.cli.output import (
    EXIT_ACTION,
    EXIT_INPUT,
    EXIT_OK,
    command_guard,
    print_error,
)
from molthub_gitops.errors import InputError
from molthub_gitops.gateway.identity import DeviceIdentity
from molthub_gitops.gateway.operations import Observation, observe_url
from molthub_gitops.gateway.secrets import resolve_secret

IDENTITY_ENV = "MOLTHUB_IDENTITY_DIR"


def default_identity_dir() -> Path:
    """``$MOLTHUB_IDENTITY_DIR``, else ``~/.molthub/device``."""
    configured = os.environ.get(IDENTITY_ENV, "").strip()
    return Path(configured) if configured else Path.home() / ".molthub" / "device"


def _health_line(obs: Observation) -> str:
    health = obs.health
    if health is None:
        return "unknown"
    parts = ["ok" if health.ok else "NOT OK"]
    if health.channels_ok or health.channels_failed:
        text = f"channels {len(health.channels_ok)} ok"
        if health.channels_failed:
            text += f", {len(health.channels_failed)} failed ({', '.join(health.channels_failed)})"
        parts.append(text)
    else:
        parts.append("no channels")
    if health.degraded:
        parts.append("degraded: " + ", ".join(health.degraded_reasons))
    return "; ".join(parts)


def render_text(obs: Observation) -> str:
    config = obs.config_hash or "-"
    extras = []
    if obs.config_path:
        extras.append(obs.config_path)
    if obs.config_exists is False:
        extras.append("no file yet")
    if obs.config_valid is False:
        extras.append("INVALID")
    if extras:
        config += f" ({', '.join(extras)})"
    rows = [
        ("gateway", obs.url),
        ("status", "healthy" if obs.healthy else "UNHEALTHY"),
        ("protocol", str(obs.protocol)),
        ("version", obs.server_version or "-"),
        ("boot id", obs.boot_id or "-"),
        ("config", config),
        ("health", _health_line(obs)),
    ]
    return "\n".join(f"{name:<9} {value}" for name, value in rows)


@click.group("gateway")
def gateway_group() -> None:
    """Talk to one OpenClaw Gateway directly."""


@gateway_group.command("probe")
@click.argument("url")
@click.option("--token-env", metavar="VAR", help="Environment variable holding the token.")
@click.option("--password-env", metavar="VAR",
              help="Environment variable holding the password.")
@click.option("--identity-dir", type=click.Path(file_okay=False, path_type=Path),
              help=f"Device identity directory (default ${IDENTITY_ENV} or ~/.molthub/device).")
@click.option("--no-device", is_flag=True,
              help="Connect without a device identity (loopback protocol-4 gateways only).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds for the whole probe (connect, config.get and health).")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@command_guard
def probe(
    url: str, token_env: str | None, password_env: str | None, identity_dir: Path | None,
    no_device: bool, timeout: float, output: str,
) -> int:
    """Connect to the gateway at URL and report protocol, version, config hash and health.

    Exit 0 healthy, 1 reachable but unhealthy, 2 unreachable, refused or bad input.
    """
    if token_env and password_env:
        raise InputError.single(
            "conflicting-options", "use either --token-env or --password-env, not both",
            hint="a gateway checks one shared secret: pass the one it is configured with",
        )
    token = resolve_secret(env=token_env) if token_env else None
    password = resolve_secret(env=password_env, what="gateway password") \
        if password_env else None
    identity = None
    if not no_device:
        try:
            identity = DeviceIdentity.load_or_create(identity_dir or default_identity_dir())
        except OSError as exc:
            click.echo(f"warning: no device identity ({exc.strerror}); connecting without",
                       err=True)
    obs = asyncio.run(observe_url(url, token=token, password=password, identity=identity,
                                  timeout=timeout))
    if output == "json":
        click.echo(json.dumps(obs.as_dict(), indent=2, sort_keys=True))
    elif obs.reachable:
        click.echo(render_text(obs))
    if not obs.reachable:
        if output == "text":
            print_error(obs.error or "gateway unreachable")
        return EXIT_INPUT
    return EXIT_OK if obs.healthy else EXIT_ACTION


def register(group: click.Group) -> None:
    """Add ``gateway`` to the `molthub` group."""
    group.add_command(gateway_group)
