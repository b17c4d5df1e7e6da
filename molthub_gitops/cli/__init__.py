"""The `molthub` command line: a click group whose subcommands live in sibling modules.

Each module holds thin commands (parse options, call one function, map the result to an
exit code): 0 clean, 1 something to act on, 2 the input could not be processed.

The group is lazy: a command's module (and what it pulls in: pydantic models, pygit2,
jsonschema, websockets) is imported only when that command runs or its own help is asked
for. :data:`COMMANDS` names each command's module and short help, so ``molthub --help``
lists the commands without importing them; each module still adds its commands with
``register(group)``.
"""

from __future__ import annotations

import importlib

import click

from molthub_gitops import __version__

__all__ = ["COMMANDS", "LazyGroup", "main"]

COMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("audit_commands", "Check the audit log on the status branch."),
    "demo": ("demo_command",
             "Try the sync loop: example-repo on simulated gateways, with a status page."),
    "diff": ("validate_commands", "What a change does to each bot's rendered config."),
    "explain": ("repo_commands", "Show which layers set a config value, with file:line."),
    "gateway": ("gateway_commands", "Talk to one OpenClaw Gateway directly."),
    "init": ("repo_commands", "Create a new config repository from the bundled example."),
    "render": ("repo_commands", "Print bots' rendered OpenClaw configs."),
    "status-page": ("status_page_command",
                    "Build the status page as static files from the status branch."),
    "rollout": ("sync_commands",
                "Pause, resume, promote, abort or roll back a fleet's rollout."),
    "schema": ("schema_command",
               "Write the draft-07 JSON Schemas of the documents (for editors and CI)."),
    "plan": ("sync_commands", "What a sync would do now, per fleet and bot (writes nothing)."),
    "policy": ("policy_commands", "List the policy rules and rule types."),
    "status": ("sync_commands", "Show fleets, bots and rollouts (daemon API or status branch)."),
    "sync": ("sync_commands", "Run the sync daemon: Git -> gateways, staged rollouts, status."),
    "validate": ("validate_commands", "Render, schema-check and policy-check every bot."),
}
"""Command name -> (module in this package that registers it, short help for listings)."""


class LazyGroup(click.Group):
    """A group that imports a command's module only when the command itself is needed."""

    lazy: dict[str, tuple[str, str]] = COMMANDS
    """Command name -> (module in this package, short help) of the commands not yet loaded."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.lazy, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = self.commands.get(cmd_name)
        if found is not None or cmd_name not in self.lazy:
            return found
        module = importlib.import_module(f"{__name__}.{self.lazy[cmd_name][0]}")
        scratch = click.Group()
        module.register(scratch)
        for name, command in scratch.commands.items():
            self.add_command(command, name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, from the table (no module is imported)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is not None:
                if command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:
                stub = click.Command(name, help=self.lazy[name][1])
                rows.append((name, stub.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="molthub")
def main() -> None:
    """GitOps for fleets of OpenClaw bots: render, validate and sync them from Git."""
