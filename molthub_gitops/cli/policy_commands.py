"""``molthub policy rules``: the reference of every built-in rule and rule type."""

from __future__ import annotations

import json

import click

from molthub_gitops.cli.output import EXIT_OK, command_guard, write_stdout

__all__ = ["register"]


@click.group("policy", short_help="List the policy rules and rule types.")
def policy_group() -> None:
    """Policy packs and rule types."""


@policy_group.command("rules", short_help="Print the built-in packs and every rule type.")
@click.option("-o", "--output", "fmt", type=click.Choice(["markdown", "json"]),
              default="markdown", show_default=True)
@command_guard
def rules_cmd(fmt: str) -> int:
    """Print every built-in pack with its rules (what, why, how to fix) and every rule type
    with its parameters. The Markdown is docs/policy-rules.md."""
    from molthub_gitops.policy.reference import rule_reference_json, rule_reference_markdown

    if fmt == "json":
        write_stdout(json.dumps(rule_reference_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        write_stdout(rule_reference_markdown())
    return EXIT_OK


def register(group: click.Group) -> None:
    """Add the ``policy`` group to the `molthub` group."""
    group.add_command(policy_group)
