"""`molthub demo`: the sync loop on a copy of example-repo, with a status page (see web.demo).

Exit codes: 0 after Ctrl-C/SIGTERM (everything cleaned up), 2 when the demo cannot start
(the port is taken, ``--real`` without an OpenClaw install).
"""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from molthub_gitops.cli.output import command_guard
from molthub_gitops.web.demo import DemoOptions, run_demo


@click.command("demo", short_help="Try the sync loop: example-repo on simulated gateways, "
                                  "with a status page.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port of the status page.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address of the status page.")
@click.option("--real", is_flag=True,
              help="Run the two bots of assistant-dev on real local OpenClaw gateways "
                   "(needs scripts/install-openclaw.sh); the rest stay simulated.")
@click.option("--time-scale", type=click.FloatRange(min=0.0001, max=1.0), default=0.01,
              show_default=True, help="Multiplier for bakes and pauses (0.01: 100x faster).")
@click.option("-v", "--verbose", is_flag=True, help="Log what the daemon does.")
@command_guard
def demo_command(port: int, host: str, real: bool, time_scale: float, verbose: bool) -> int:
    """Run the sync daemon on a copy of example-repo with simulated gateways.

    Copies example-repo into a temporary Git repository, rolls it out to simulated OpenClaw
    gateways, serves the status page on 127.0.0.1:8080 and prints how to commit a change and
    watch a canary. Runs until Ctrl-C, then cleans up.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    options = DemoOptions(host=host, port=port, real=real, time_scale=time_scale)
    return asyncio.run(run_demo(options, out=sys.stdout, err=sys.stderr))


def register(group: click.Group) -> None:
    """Add ``demo`` to the `molthub` group."""
    group.add_command(demo_command)
