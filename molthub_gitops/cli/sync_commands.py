"""`molthub sync`, `molthub status` and `molthub rollout ...`: run the daemon and talk to it.

* ``sync`` runs the daemon against a config repository (serving the status page, API and
  webhooks unless ``--no-listen``); ``--once`` reconciles once to the end and exits 0 (all
  good), 1 (the gate or a rollout failed) or 2 (could not run).
* ``plan`` is ``sync --once --dry-run`` that prints what would happen: per fleet, the rollout
  that would start (waves) and the config paths that would change on each bot.
* ``status`` prints the daemon's status, from its API (``--server``) or from the status
  branch of a local repository (``--repo``).
* ``rollout pause|resume|promote|abort|rollback FLEET`` asks the daemon's API (bearer token
  from an environment variable); ``rollout list FLEET`` shows the fleet's rollouts. Exit 0
  done, 1 the daemon refused it for this fleet (unknown fleet, wrong phase), 2 it could not be
  asked (unreachable, bad or missing token).

Secrets come only from environment variables or files named by the options, never from an
option's value, and never appear in the output.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import click

from molthub_gitops.cli.output import EXIT_ACTION, EXIT_INPUT, EXIT_OK, command_guard, print_error
from molthub_gitops.errors import InputError
from molthub_gitops.model.documents import parse_duration

__all__ = ["register"]

DEFAULT_SERVER = "http://127.0.0.1:8080"
TOKEN_ENV = "MOLTHUB_API_TOKEN"  # noqa: S105 - a variable name, not a secret
HTTP_TIMEOUT = 30.0


def _duration(option: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise InputError.single("bad-option", f"{option}: {exc}") from None
    if value <= 0:
        raise InputError.single("bad-option", f"{option} must be more than 0")
    return value


def _env_secret(option: str, name: str | None) -> str | None:
    if not name:
        return None
    value = os.environ.get(name)
    if not value:
        raise InputError.single(
            "unset-secret", f"{option} {name}: the environment variable is not set or empty",
            hint=f"export {name}=... before running molthub")
    return value


def _default_workdir(repo: str, branch: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha256(f"{repo}\x00{branch}".encode()).hexdigest()[:16]
    return Path(base) / "molthub" / "sync" / key


def _repo_argument(repo: str) -> str:
    """A local path made absolute (the daemon's clone keeps it as its origin)."""
    if "://" in repo or (":" in repo and not Path(repo).exists()):
        return repo
    return str(Path(repo).expanduser().resolve())


def _source_options(fn: Any) -> Any:
    """The options naming the config repository and how to reach it and its gateways
    (shared by ``sync`` and ``plan``)."""
    options = [
        click.option("--repo", required=True, metavar="URL|PATH",
                     help="The config repository: a path, file://, git://, https:// or "
                          "ssh:// URL."),
        click.option("--branch", default="main", show_default=True, help="Branch to follow."),
        click.option("--path", "subdir", default="", metavar="SUBDIR",
                     help="Folder of the config repository inside the Git repository."),
        click.option("--status-branch", metavar="B",
                     help="Branch for status and audit (default: the Repository's "
                          "statusBranch)."),
        click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
                     help="Where the daemon keeps its clone (default: "
                          "~/.cache/molthub/sync/...)."),
        click.option("--git-token-env", metavar="VAR",
                     help="Environment variable holding an https token for the repository."),
        click.option("--git-token-file", metavar="FILE", help="File holding an https token."),
        click.option("--ssh-key", metavar="FILE",
                     help="Private key file for ssh:// repositories."),
        click.option("--ssh-passphrase-env", metavar="VAR",
                     help="Environment variable holding the passphrase of --ssh-key."),
        click.option("--ssh-known-hosts", metavar="FILE",
                     help="OpenSSH known_hosts file holding the ssh server's host key "
                          "(default: ~/.ssh/known_hosts); an unknown or changed key is "
                          "refused."),
        click.option("--provider-override", type=click.Choice(["simulated"]),
                     help="Run every fleet on this provider (demos, tests)."),
        click.option("--concurrency", type=click.IntRange(min=1), default=64,
                     show_default=True, help="Gateways talked to at once."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command("sync",
               short_help="Run the sync daemon: Git -> gateways, staged rollouts, status.")
@_source_options
@click.option("--interval", metavar="DURATION",
              help="Poll interval, e.g. 2m (default: the Repository's sync.interval).")
@click.option("--observe-interval", default="30s", show_default=True, metavar="DURATION",
              help="How often every bot is observed.")
@click.option("--listen", default="127.0.0.1:8080", show_default=True, metavar="HOST:PORT",
              help="Address of the status page, API and webhooks.")
@click.option("--no-listen", is_flag=True, help="Serve nothing over HTTP.")
@click.option("--once", is_flag=True,
              help="Reconcile once (roll out to the end), print a summary and exit.")
@click.option("--dry-run", is_flag=True,
              help="Write nothing (neither gateways nor the status branch); show what would "
                   "happen.")
@click.option("--api-token-env", metavar="VAR",
              help="Environment variable holding the bearer token of the control API "
                   "(without it, control actions are disabled).")
@click.option("--github-secret-env", metavar="VAR",
              help="Environment variable holding the GitHub webhook secret.")
@click.option("--gitlab-token-env", metavar="VAR",
              help="Environment variable holding the GitLab webhook token.")
@click.option("--webhook-secret-env", metavar="VAR",
              help="Environment variable holding the generic webhook HMAC secret.")
@click.option("--time-scale", type=click.FloatRange(min=0.0001), default=1.0, hidden=True,
              help="Multiply bake times and pauses (tests and demos).")
@click.option("-v", "--verbose", is_flag=True, help="Log more (debug level).")
@command_guard
def sync_command(repo: str, branch: str, subdir: str, status_branch: str | None,
                 interval: str | None, observe_interval: str, listen: str, no_listen: bool,
                 once: bool, dry_run: bool, workdir: Path | None, git_token_env: str | None,
                 git_token_file: str | None, ssh_key: str | None,
                 ssh_passphrase_env: str | None, ssh_known_hosts: str | None,
                 api_token_env: str | None,
                 github_secret_env: str | None, gitlab_token_env: str | None,
                 webhook_secret_env: str | None, provider_override: str | None,
                 concurrency: int, time_scale: float, verbose: bool) -> int:
    """Run the sync daemon: follow a branch of the config repository and keep every bot's
    Gateway on it, with staged rollouts, status and audit on the status branch."""
    from molthub_gitops.sync.daemon import DaemonOptions
    from molthub_gitops.sync.source import credentials_from_refs
    from molthub_gitops.web.serve import parse_listen, run_sync
    from molthub_gitops.web.webhooks import WebhookSecrets

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    listen_at: str | None = None if no_listen or once else listen
    if listen_at is not None:
        parse_listen(listen_at)
    credentials = credentials_from_refs(token_env=git_token_env, token_file=git_token_file,
                                        ssh_key=ssh_key, ssh_passphrase_env=ssh_passphrase_env,
                                        ssh_known_hosts=ssh_known_hosts)
    secrets = WebhookSecrets(
        github=_env_secret("--github-secret-env", github_secret_env),
        gitlab=_env_secret("--gitlab-token-env", gitlab_token_env),
        generic=_env_secret("--webhook-secret-env", webhook_secret_env))
    source = _repo_argument(repo)
    options = DaemonOptions(
        repo=source, workdir=(workdir or _default_workdir(source, branch)).resolve(),
        branch=branch, path=subdir.strip("/"), status_branch=status_branch,
        interval=_duration("--interval", interval),
        observe_interval=_duration("--observe-interval", observe_interval) or 30.0,
        listen=listen_at, once=once, dry_run=dry_run, credentials=credentials,
        api_token=_env_secret("--api-token-env", api_token_env), webhook_secrets=secrets,
        provider_override=provider_override, time_scale=time_scale, concurrency=concurrency)
    options.workdir.mkdir(parents=True, exist_ok=True)
    return run_sync(options)


@click.command("plan",
               short_help="What a sync would do now, per fleet and bot (writes nothing).")
@_source_options
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("-v", "--verbose", is_flag=True, help="Log what is done (to stderr).")
@command_guard
def plan_command(repo: str, branch: str, subdir: str, status_branch: str | None,
                 workdir: Path | None, git_token_env: str | None, git_token_file: str | None,
                 ssh_key: str | None, ssh_passphrase_env: str | None,
                 ssh_known_hosts: str | None, provider_override: str | None, concurrency: int,
                 output: str, verbose: bool) -> int:
    """What `molthub sync` would do now, without doing it: fetch the branch, gate its head,
    observe every bot's Gateway and print, per fleet, the rollout that would start (wave by
    wave) and the config paths that would change on each bot. Writes nothing, neither to a
    gateway nor to the status branch. Exit 0: nothing to do; 1: a rollout would start or the
    head fails the gate; 2: could not run."""
    from molthub_gitops.sync.daemon import DaemonOptions
    from molthub_gitops.sync.source import credentials_from_refs
    from molthub_gitops.web.serve import run_plan

    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    credentials = credentials_from_refs(token_env=git_token_env, token_file=git_token_file,
                                        ssh_key=ssh_key, ssh_passphrase_env=ssh_passphrase_env,
                                        ssh_known_hosts=ssh_known_hosts)
    source = _repo_argument(repo)
    options = DaemonOptions(
        repo=source, workdir=(workdir or _default_workdir(source, branch)).resolve(),
        branch=branch, path=subdir.strip("/"), status_branch=status_branch, listen=None,
        once=True, dry_run=True, credentials=credentials, provider_override=provider_override,
        concurrency=concurrency)
    options.workdir.mkdir(parents=True, exist_ok=True)
    return run_plan(options, output=output)


# --------------------------------------------------------------------------- HTTP client


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _error_text(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:300]
    if isinstance(data, dict):
        for key in ("error", "message", "reason"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return json.dumps(data)[:300]


def _request(url: str, *, method: str = "GET", token: str | None = None,
             body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise _Refused(exc.code, _error_text(exc.read())) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputError.single(
            "daemon-unreachable", f"cannot reach the daemon at {_origin(url)}: {reason}",
            hint="is `molthub sync` running there? pass its address with --server") from None


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def _server(url: str) -> str:
    if "://" not in url:
        url = "http://" + url
    return url.rstrip("/")


def _read_status(server: str | None, repo: Path | None, branch: str) -> Any:
    from molthub_gitops.sync.state import DaemonStatus

    if repo is not None:
        from molthub_gitops.sync.statusbranch import read_status_branch

        status, _ = read_status_branch(repo, branch)
        if status is None:
            raise InputError.single(
                "no-status", f"{repo}: branch {branch} holds no status yet",
                hint="has `molthub sync` run against this repository?")
        return status
    try:
        data = _request(_server(server or DEFAULT_SERVER) + "/api/status")
    except _Refused as exc:
        raise InputError.single("daemon-refused",
                                f"the daemon answered {exc.code}: {exc}") from None
    return DaemonStatus.model_validate(data)


def _status_text(status: Any) -> str:
    from molthub_gitops.web.serve import summary_lines

    lines = summary_lines(status)
    if status.bots:
        lines.append("")
        width = max(len(name) for name in status.bots)
        for name, bot in sorted(status.bots.items()):
            extra = f" drift: {', '.join(bot.drift[:3])}" if bot.drift else ""
            if bot.last_error:
                extra += f" error: {bot.last_error[:120]}"
            lines.append(f"{name:<{width}}  {bot.fleet:<16} {bot.state:<11} "
                         f"{bot.health:<9} {bot.reported_version or '-':<10}{extra}")
    return "\n".join(lines)


@click.command("status",
               short_help="Show fleets, bots and rollouts (daemon API or status branch).")
@click.option("--server", metavar="URL", help=f"The daemon's address (default {DEFAULT_SERVER}).")
@click.option("--repo", type=click.Path(path_type=Path),
              help="Read the status branch of this local repository instead.")
@click.option("--branch", default="molthub-status", show_default=True,
              help="The status branch (with --repo).")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@command_guard
def status_command(server: str | None, repo: Path | None, branch: str, output: str) -> int:
    """Show fleets, bots and rollouts: from the daemon's API or from the status branch."""
    if server is not None and repo is not None:
        raise InputError.single("conflicting-options", "use --server or --repo, not both")
    status = _read_status(server, repo, branch)
    if output == "json":
        click.echo(json.dumps(status.to_json_dict(), indent=2, sort_keys=True))
    else:
        click.echo(_status_text(status))
    return EXIT_OK


# --------------------------------------------------------------------------- rollout


@click.group("rollout",
             short_help="Pause, resume, promote, abort or roll back a fleet's rollout.")
def rollout_group() -> None:
    """Pause, resume, promote, abort or roll back a fleet's rollout (via the daemon's API)."""


def _server_options(fn: Any) -> Any:
    fn = click.option("--server", metavar="URL", default=DEFAULT_SERVER, show_default=True,
                      help="The daemon's address.")(fn)
    return click.option("--token-env", default=TOKEN_ENV, show_default=True, metavar="VAR",
                        help="Environment variable holding the API bearer token.")(fn)


def _control(fleet: str, action: str, server: str, token_env: str,
             body: dict[str, Any]) -> int:
    token = os.environ.get(token_env)
    if not token:
        raise InputError.single(
            "unset-secret", f"{token_env} is not set: the control API needs its bearer token",
            hint=f"export {token_env}=... (the token the daemon got with --api-token-env)")
    url = (f"{_server(server)}/api/fleets/{urllib.parse.quote(fleet, safe='')}/"
           f"{action}")
    try:
        data = _request(url, method="POST", token=token, body=body)
    except _Refused as exc:
        if exc.code == 401:
            print_error(f"the daemon refused the token in {token_env} (401)")
            return EXIT_INPUT
        if exc.code == 403:
            print_error("control actions are disabled on this daemon (it runs without "
                        "--api-token-env) (403)")
            return EXIT_INPUT
        if exc.code == 404:
            print_error(f"unknown fleet {fleet!r}: {exc}")
            return EXIT_ACTION
        if exc.code == 409:
            print_error(f"cannot {action} {fleet} now: {exc}")
            return EXIT_ACTION
        print_error(f"the daemon answered {exc.code}: {exc}")
        return EXIT_INPUT
    found = data.get("fleet") if isinstance(data, dict) else None
    found = found if isinstance(found, dict) else {}
    rollout = found.get("rollout")
    text = f"{action}: {fleet}"
    if isinstance(rollout, dict):
        text += f" (rollout {rollout.get('id')} {rollout.get('phase')})"
    if found.get("pinnedCommit"):
        text += f"; pinned to {str(found['pinnedCommit'])[:12]}"
    click.echo(text)
    return EXIT_OK


def _add_action(name: str, doc: str, *, full: bool = False, to: bool = False) -> None:
    @click.argument("fleet")
    @click.option("--reason", default="", help="Why (recorded in the audit log).")
    @_server_options
    @command_guard
    def action(fleet: str, reason: str, server: str, token_env: str, **extra: Any) -> int:
        body: dict[str, Any] = {"reason": reason, "actor": "cli"}
        if extra.get("full"):
            body["full"] = True
        if extra.get("to"):
            body["to"] = extra["to"]
        return _control(fleet, name, server, token_env, body)

    action.__doc__ = doc
    command = action
    if full:
        command = click.option("--full", is_flag=True,
                               help="Roll every remaining bot out in one wave.")(command)
    if to:
        command = click.option("--to", metavar="COMMIT",
                               help="Commit to go back to (default: the fleet's previous "
                                    "synced commit).")(command)
    rollout_group.command(name, help=doc)(command)


_add_action("pause", "Pause FLEET's rollout at the next wave boundary.")
_add_action("resume", "Resume FLEET's paused rollout (or unpin a rolled-back fleet, or retry "
                      "a failed commit).")
_add_action("promote", "Skip the canary bake of FLEET's rollout (--full: all at once).",
            full=True)
_add_action("abort", "Abort FLEET's rollout and put the changed bots back.")
_add_action("rollback", "Roll FLEET back to an older commit and pin it there.", to=True)


@rollout_group.command("list")
@click.argument("fleet")
@click.option("--server", metavar="URL", default=DEFAULT_SERVER, show_default=True,
              help="The daemon's address.")
@click.option("--repo", type=click.Path(path_type=Path),
              help="Read the status branch of this local repository instead.")
@click.option("--branch", default="molthub-status", show_default=True,
              help="The status branch (with --repo).")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@command_guard
def list_command(fleet: str, server: str, repo: Path | None, branch: str, output: str) -> int:
    """Show FLEET's current rollout and its recent history."""
    status = _read_status(None if repo is not None else server, repo, branch)
    found = status.fleets.get(fleet)
    if found is None:
        print_error(f"unknown fleet {fleet!r}")
        return EXIT_ACTION
    if output == "json":
        click.echo(json.dumps(found.to_json_dict(), indent=2, sort_keys=True))
        return EXIT_OK
    rollout = found.rollout
    if rollout is not None:
        wave, waves = rollout.progress()
        click.echo(f"current  {rollout.id}  {rollout.kind}  {rollout.phase}  "
                   f"wave {wave} of {waves}  {rollout.reason}".rstrip())
    else:
        click.echo("current  -")
    if found.pinned_commit:
        click.echo(f"pinned   {found.pinned_commit[:12]} (until the branch moves past "
                   f"{(found.pinned_head or '-')[:12]})")
    if found.last_failed_commit:
        click.echo(f"failed   {found.last_failed_commit[:12]}  {found.last_failed_reason}")
    for item in found.history:
        click.echo(f"{item.finished_at or '-':<20}  {item.id}  {item.kind}  {item.phase}  "
                   f"{item.bots} bots, {item.failures} failed  {item.reason}".rstrip())
    return EXIT_OK


def register(group: click.Group) -> None:
    """Add ``sync``, ``plan``, ``status`` and ``rollout`` to the `molthub` group."""
    group.add_command(sync_command)
    group.add_command(plan_command)
    group.add_command(status_command)
    group.add_command(rollout_group)
