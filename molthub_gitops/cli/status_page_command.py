"""``molthub status-page --out DIR``: the status page as static files, from the status branch.

Reads the status branch of a local repository (its own branch or origin's remote-tracking
copy, without fetching) or, for a URL, of a fresh bare clone of just that branch in a
temporary folder (deleted afterwards), and writes ``index.html``, ``status.json``,
``audit.json`` and ``static/`` into DIR, e.g. for GitHub Pages. The page is the daemon's live
page without auto-refresh, with a note naming the status-branch commit it was built from.
"""

from __future__ import annotations

from pathlib import Path

import click

from molthub_gitops.cli.git_remote import remote_options, status_branch_repo
from molthub_gitops.cli.output import EXIT_OK, command_guard

__all__ = ["register"]


@click.command("status-page",
               short_help="Build the status page as static files from the status branch.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write (created; replaced when it holds an earlier build).")
@click.option("--repo", default=".", show_default=True, metavar="PATH|URL",
              help="The config repository: a local path or a URL to fetch the branch from.")
@click.option("--branch", default="molthub-status", show_default=True,
              help="The status branch the sync daemon writes.")
@remote_options
@command_guard
def status_page_cmd(out_dir: Path, repo: str, branch: str, **remote: str | None) -> int:
    """Render the sync daemon's status page (fleets, bots, rollouts, recent audit) from the
    status branch into static files: index.html, status.json, audit.json and static/.
    Publish the folder with GitHub Pages or any web server."""
    from molthub_gitops.sync.clock import SystemClock, iso
    from molthub_gitops.sync.statusbranch import read_status_branch
    from molthub_gitops.web.static_site import build_static_site

    with status_branch_repo(repo, branch, **remote) as (repo_path, shown, commit):
        status, entries = read_status_branch(repo_path, branch)
        if status is None:
            from molthub_gitops.errors import InputError

            raise InputError.single(
                "no-status", f"branch {branch!r} of {shown} holds no status.json",
                hint="the sync daemon writes it on its first publish")
        files = build_static_site(status, entries, out_dir, source_commit=commit,
                                  generated_at=iso(SystemClock().now()))
    click.echo(f"wrote {len(files)} files to {out_dir}: {len(status.fleets)} fleets, "
               f"{len(status.bots)} bots, {len(entries)} audit entries "
               f"(branch {branch} at {(commit or 'unknown')[:12]})")
    return EXIT_OK


def register(group: click.Group) -> None:
    """Add the ``status-page`` command to the `molthub` group."""
    group.add_command(status_page_cmd)
