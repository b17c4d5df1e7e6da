"""``molthub audit verify``: check the hash chain of the audit log on the status branch.

Exit codes: 0 the chain is intact, 1 it is broken (the first break is printed as
``file:line: message``), 2 the log could not be read (no such repository or branch).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from molthub_gitops.cli.git_remote import remote_options, status_branch_repo
from molthub_gitops.cli.output import (
    EXIT_ACTION,
    EXIT_OK,
    command_guard,
    print_error,
    write_stdout,
)

if TYPE_CHECKING:
    pass

__all__ = ["register"]


@click.group("audit", short_help="Check the audit log on the status branch.")
def audit_group() -> None:
    """The audit log the sync daemon writes to the status branch."""


@audit_group.command("verify", short_help="Check the audit log's hash chain.")
@click.option("--repo", "repo", default=".", show_default=True, metavar="PATH|URL",
              help="The config repository: a local path (its branch or origin's "
                   "remote-tracking branch is read, nothing is fetched) or a URL (fetched "
                   "into a temporary bare repository).")
@click.option("--branch", default="molthub-status", show_default=True,
              help="The status branch.")
@remote_options
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@command_guard
def verify_cmd(repo: str, branch: str, fmt: str, **remote: str | None) -> int:
    """Walk the audit segments of the status branch in order and check that every entry
    holds the hash of the one before it and its own hash matches its content: any edited,
    removed or reordered entry is reported with file:line."""
    from molthub_gitops.sync.statusbranch import AuditVerdict, verify_audit

    verdict: AuditVerdict
    with status_branch_repo(repo, branch, **remote) as (local, _, _):
        verdict = verify_audit(local, branch)

    if fmt == "json":
        write_stdout(json.dumps(verdict.to_json_dict(), indent=2) + "\n")
    elif verdict.ok:
        noun = "entry" if verdict.entries == 1 else "entries"
        tail = f", last hash {verdict.last_hash}" if verdict.last_hash else ""
        write_stdout(f"audit log intact: {verdict.entries} {noun}{tail} "
                     f"(branch {branch} at {(verdict.commit or '')[:12]})\n")
    else:
        first = verdict.breaks[0]
        print_error(f"{first.where}: {first.message}")
        write_stdout(f"audit log broken at {first.where} "
                     f"({verdict.entries} entries read)\n")
    return EXIT_OK if verdict.ok else EXIT_ACTION


def register(group: click.Group) -> None:
    """Add the ``audit`` group to the `molthub` group."""
    group.add_command(audit_group)
