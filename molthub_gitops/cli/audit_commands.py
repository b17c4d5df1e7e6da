"""``molthub audit verify``: check the hash chain of the audit log on the status branch.

Exit codes: 0 the chain is intact, 1 it is broken (the first break is printed as
``file:line: message``), 2 the log could not be read (no such repository or branch).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from molthub_gitops.cli.output import (
    EXIT_ACTION,
    EXIT_OK,
    command_guard,
    print_error,
    write_stdout,
)
from molthub_gitops.errors import InputError

if TYPE_CHECKING:
    import pygit2

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
@click.option("--token-env", metavar="NAME", default=None,
              help="For an https URL: the environment variable holding an access token.")
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@command_guard
def verify_cmd(repo: str, branch: str, token_env: str | None, fmt: str) -> int:
    """Walk the audit segments of the status branch in order and check that every entry
    holds the hash of the one before it and its own hash matches its content: any edited,
    removed or reordered entry is reported with file:line."""
    from molthub_gitops.sync.statusbranch import (
        AuditVerdict,
        fetch_status_branch,
        is_url,
        verify_audit,
    )

    verdict: AuditVerdict
    if is_url(repo):
        callbacks = _callbacks(token_env)
        with tempfile.TemporaryDirectory(prefix="molthub-audit-") as tmp:
            local = fetch_status_branch(repo, Path(tmp) / "repo.git", branch,
                                        callbacks=callbacks)
            verdict = verify_audit(local, branch)
    else:
        verdict = verify_audit(Path(repo), branch)

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


def _callbacks(token_env: str | None) -> pygit2.RemoteCallbacks | None:
    """Credentials for fetching an https URL: a token from the environment."""
    if not token_env:
        return None
    token = os.environ.get(token_env)
    if not token:
        raise InputError.single("unset-token", f"--token-env {token_env}: the variable is "
                                "not set (or empty)", hint=f"export {token_env}=<token>")
    import pygit2

    return pygit2.RemoteCallbacks(credentials=pygit2.UserPass("x-access-token", token))


def register(group: click.Group) -> None:
    """Add the ``audit`` group to the `molthub` group."""
    group.add_command(audit_group)
