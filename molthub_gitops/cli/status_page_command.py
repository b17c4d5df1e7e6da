"""``molthub status-page --out DIR``: the status page as static files, from the status branch.

Reads the status branch of a local repository (its own branch or origin's remote-tracking
copy, without fetching) or, for a URL, of a fresh bare clone of just that branch in a
temporary folder (deleted afterwards), and writes ``index.html``, ``status.json``,
``audit.json`` and ``static/`` into DIR, e.g. for GitHub Pages. The page is the daemon's live
page without auto-refresh, with a note naming the status-branch commit it was built from.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from molthub_gitops.cli.output import EXIT_OK, command_guard

__all__ = ["register"]


def _local_commit(repo_path: Path, branch: str) -> str | None:
    """The commit ``read_status_branch`` reads: the branch itself, else origin's copy."""
    import pygit2

    try:
        found = pygit2.discover_repository(str(repo_path))
        if found is None:
            return None
        repo = pygit2.Repository(found)
        for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
            if ref in repo.references:
                return str(repo.references[ref].peel(pygit2.Commit).id)
    except (pygit2.GitError, KeyError, ValueError):
        return None
    return None


@click.command("status-page",
               short_help="Build the status page as static files from the status branch.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write (created; replaced when it holds an earlier build).")
@click.option("--repo", default=".", show_default=True, metavar="PATH|URL",
              help="The config repository: a local path or a URL to fetch the branch from.")
@click.option("--branch", default="molthub-status", show_default=True,
              help="The status branch the sync daemon writes.")
@click.option("--git-token-env", metavar="VAR", default=None,
              help="Environment variable holding an https token for --repo URL.")
@click.option("--git-token-file", metavar="FILE", default=None,
              help="File holding an https token for --repo URL.")
@click.option("--ssh-key", metavar="FILE", default=None,
              help="Private key file for an ssh --repo URL.")
@command_guard
def status_page_cmd(out_dir: Path, repo: str, branch: str, git_token_env: str | None,
                    git_token_file: str | None, ssh_key: str | None) -> int:
    """Render the sync daemon's status page (fleets, bots, rollouts, recent audit) from the
    status branch into static files: index.html, status.json, audit.json and static/.
    Publish the folder with GitHub Pages or any web server."""
    from molthub_gitops.sync.clock import SystemClock, iso
    from molthub_gitops.sync.source import GitSource, credentials_from_refs
    from molthub_gitops.sync.statusbranch import is_url, read_status_branch
    from molthub_gitops.web.static_site import build_static_site

    credentials = credentials_from_refs(token_env=git_token_env, token_file=git_token_file,
                                        ssh_key=ssh_key)
    with tempfile.TemporaryDirectory(prefix="molthub-status-page-") as scratch:
        if is_url(repo):
            source = GitSource(repo, Path(scratch), branch=branch, credentials=credentials)
            source.open()  # a bare clone of the status branch only; GitError when it is missing
            repo_path = source.repo_path
            shown = source.display_url
            commit = source.head()
        else:
            repo_path = Path(repo)
            shown = repo
            commit = _local_commit(repo_path, branch)
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
