"""Reading a status branch from a path or a URL, for ``audit verify`` and ``status-page``.

:func:`remote_options` adds the credential options both commands take (an https token from an
environment variable or a file; an ssh key, its passphrase, and the known_hosts file the ssh
server's host key must be in), and :func:`status_branch_repo` yields a local repository
holding the branch: the path itself (nothing fetched), or for a URL a fresh bare clone of just
that branch in a temporary folder, fetched by the same :class:`GitSource` as the daemon (so
ssh host keys are checked the same way), deleted afterwards.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["local_commit", "remote_options", "status_branch_repo"]

F = TypeVar("F", bound=Callable[..., Any])


def remote_options(fn: F) -> F:
    """Add ``--git-token-env`` (also ``--token-env``), ``--git-token-file``, ``--ssh-key``,
    ``--ssh-passphrase-env`` and ``--ssh-known-hosts``."""
    options = [
        click.option("--git-token-env", "--token-env", "git_token_env", metavar="VAR",
                     default=None,
                     help="Environment variable holding an https token for --repo URL."),
        click.option("--git-token-file", metavar="FILE", default=None,
                     help="File holding an https token for --repo URL."),
        click.option("--ssh-key", metavar="FILE", default=None,
                     help="Private key file for an ssh --repo URL."),
        click.option("--ssh-passphrase-env", metavar="VAR", default=None,
                     help="Environment variable holding the ssh key's passphrase."),
        click.option("--ssh-known-hosts", metavar="FILE", default=None,
                     help="known_hosts file the ssh server's host key must be in "
                          "(default ~/.ssh/known_hosts)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def local_commit(repo_path: Path, branch: str) -> str | None:
    """The commit a local read of ``branch`` sees: the branch itself, else origin's copy."""
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


@contextlib.contextmanager
def status_branch_repo(repo: str, branch: str, *, git_token_env: str | None = None,
                       git_token_file: str | None = None, ssh_key: str | None = None,
                       ssh_passphrase_env: str | None = None,
                       ssh_known_hosts: str | None = None
                       ) -> Iterator[tuple[Path, str, str | None]]:
    """(local repository, how to name it in messages, the branch's commit) for ``repo``."""
    from molthub_gitops.sync.source import GitSource, credentials_from_refs
    from molthub_gitops.sync.statusbranch import is_url

    credentials = credentials_from_refs(
        token_env=git_token_env, token_file=git_token_file, ssh_key=ssh_key,
        ssh_passphrase_env=ssh_passphrase_env, ssh_known_hosts=ssh_known_hosts)
    if not is_url(repo):
        yield Path(repo), repo, local_commit(Path(repo), branch)
        return
    with tempfile.TemporaryDirectory(prefix="molthub-status-branch-") as scratch:
        source = GitSource(repo, Path(scratch), branch=branch, credentials=credentials)
        source.open()  # a bare clone of the status branch only; GitError when it is missing
        yield source.repo_path, source.display_url, source.head()
