"""The config repository as the daemon sees it: a bare pygit2 clone that follows one branch.

:class:`GitSource` clones the repository bare into ``workdir/repo.git`` and fetches only the
tracked branch (``+refs/heads/<branch>:refs/remotes/origin/<branch>``), so commits on any other
branch (the status branch included) never reach the sync loop. It speaks every transport
libgit2 does: plain paths and ``file://``, ``git://``, ``https://`` with a token and ``ssh://``
(or the scp form ``user@host:path``) with a key. Credentials live in :class:`GitCredentials`
(never printed) and reach libgit2 through :meth:`GitSource.callbacks`; the URL stored in the
clone's config has them removed. Every pygit2 error becomes a :class:`GitError` naming the
display URL, with every credential scrubbed from its text.

:class:`FetchTrigger` coalesces wake-ups (webhooks, the API, the poll timer) so a burst costs
one fetch; :func:`poll_delay` spreads polls with jitter. The API is blocking except
:meth:`FetchTrigger.wait`; async callers run it with ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import shutil
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2
from pygit2.enums import CredentialType, FetchPrune

from molthub_gitops.errors import GitError, InputError, Location
from molthub_gitops.gateway.secrets import Redactor, resolve_secret

__all__ = [
    "FetchTrigger",
    "GitCredentials",
    "GitSource",
    "credentials_from_refs",
    "display_repo_url",
    "poll_delay",
]

log = logging.getLogger("molthub.sync.source")

REMOTE = "origin"
_MAX_AUTH_ATTEMPTS = 2
_SSH_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git"})
_SCHEMES = _SSH_SCHEMES | {"file", "git", "http", "https"}
# ``[user@]host:path`` (scp-like ssh syntax): no scheme, no slash before the colon.
_SCP_RE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^@/:]+):(?!//)(?P<path>.+)$")


# --------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class GitCredentials:
    """How to authenticate to the config repository. ``repr``/``str`` never show secrets.

    https: Basic auth as ``username`` with ``token`` as password. ssh: the private key file
    ``ssh_key`` (its public half is ``ssh_pubkey``, or ``<ssh_key>.pub`` when that exists, or
    derived by libssh2), unlocked with ``ssh_passphrase`` when set.
    """

    token: str | None = field(default=None, repr=False)
    username: str = "x-access-token"
    ssh_key: Path | None = None
    ssh_pubkey: Path | None = None
    ssh_passphrase: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        # a token given as the URL's user name comes as username + empty token: hide it too
        user_is_secret = self.token == "" and bool(self.username)
        parts = ["username=<set>" if user_is_secret else f"username={self.username!r}"]
        parts.append("token=<set>" if self.token is not None else "token=None")
        if self.ssh_key is not None:
            parts.append(f"ssh_key={str(self.ssh_key)!r}")
        if self.ssh_pubkey is not None:
            parts.append(f"ssh_pubkey={str(self.ssh_pubkey)!r}")
        if self.ssh_passphrase is not None:
            parts.append("ssh_passphrase=<set>")
        return f"GitCredentials({', '.join(parts)})"

    __str__ = __repr__

    def secrets(self) -> list[str]:
        """The secret strings these credentials hold (for scrubbing text)."""
        user = self.username if self.token == "" else None
        return [s for s in (self.token, self.ssh_passphrase, user) if s]

    def public_key(self) -> Path | None:
        """The public key file to offer, if one is known."""
        if self.ssh_pubkey is not None:
            return self.ssh_pubkey
        if self.ssh_key is not None:
            beside = self.ssh_key.with_name(self.ssh_key.name + ".pub")
            if beside.is_file():
                return beside
        return None


def credentials_from_refs(
    *,
    token_env: str | None = None,
    token_file: str | None = None,
    ssh_key: str | None = None,
    environ: Mapping[str, str] | None = None,
    username: str = "x-access-token",
    ssh_passphrase_env: str | None = None,
) -> GitCredentials | None:
    """Build credentials from references (never from values on a command line).

    ``token_env`` / ``token_file`` name where the https token is; ``ssh_key`` is the path of a
    private key file; ``ssh_passphrase_env`` names the variable holding its passphrase.
    Returns ``None`` when nothing is referenced. A reference that is unset, empty or unreadable
    is an :class:`InputError` naming the reference, never a value.
    """
    if token_env is not None and token_file is not None:
        raise InputError.single(
            "git-token-ambiguous", "give the git token either by variable or by file, not both",
            hint="keep one of --git-token-env / --git-token-file")
    token = resolve_secret(env=token_env, file=token_file, environ=environ, what="git token")
    key_path: Path | None = None
    passphrase: str | None = None
    if ssh_key is not None:
        key_path = Path(ssh_key).expanduser()
        if not key_path.is_file():
            raise InputError.single(
                "ssh-key-missing", "the ssh private key file does not exist or is not a file",
                Location(str(key_path)),
                hint="give the path of a private key such as ~/.ssh/id_ed25519")
        passphrase = resolve_secret(env=ssh_passphrase_env, environ=environ,
                                    what="ssh key passphrase")
    elif ssh_passphrase_env is not None:
        raise InputError.single(
            "ssh-key-missing", "an ssh key passphrase was given without an ssh key",
            hint="give the key with --ssh-key")
    if token is None and key_path is None:
        return None
    return GitCredentials(token=token, username=username, ssh_key=key_path,
                          ssh_passphrase=passphrase)


# --------------------------------------------------------------------------- URLs


def _is_scp(url: str) -> bool:
    return "://" not in url and _SCP_RE.match(url) is not None and not Path(url).exists()


def _split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without user info (ssh keeps its user name), and the user and password found."""
    if "://" not in url:
        return url, None, None
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, sep, password = userinfo.partition(":")
    user_dec = urllib.parse.unquote(user) if user else None
    pass_dec = urllib.parse.unquote(password) if sep else None
    netloc = hostport
    if parts.scheme.lower() in _SSH_SCHEMES and user:
        netloc = f"{user}@{hostport}"
    clean = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, user_dec, pass_dec


def display_repo_url(url: str) -> str:
    """``url`` fit to show: ``user:password@`` removed (an ssh URL keeps its user name, which
    is no secret); plain paths and the scp form are returned as given."""
    try:
        return _split_userinfo(url)[0]
    except ValueError:  # unparsable: show nothing that might be a secret
        return "<unparsable repository URL>"


def _remote_url(url: str) -> str:
    """The URL stored in the clone's config: no credentials, plain paths made absolute."""
    if "://" in url or _is_scp(url):
        return display_repo_url(url)
    return str(Path(url).expanduser().resolve())


# --------------------------------------------------------------------------- callbacks


class _AuthRejected(Exception):
    """The server refused every credential we offered (raised inside a libgit2 callback)."""


class _NoCredentials(Exception):
    """The server asked for a credential type we have nothing for."""

    def __init__(self, wanted: str) -> None:
        self.wanted = wanted
        super().__init__(wanted)


class _DeadlinePassed(Exception):
    """A transfer ran past its deadline (raised inside a libgit2 progress callback)."""


class _Callbacks(pygit2.RemoteCallbacks):
    """Offers our credentials to libgit2, a bounded number of times, and enforces a deadline
    while data flows."""

    def __init__(self, credentials: GitCredentials | None, deadline: float | None) -> None:
        super().__init__()
        self._creds = credentials
        self._deadline = deadline
        self.auth_attempts = 0

    def credentials(
        self, url: str, username_from_url: str | None, allowed_types: CredentialType
    ) -> pygit2.UserPass | pygit2.Keypair | pygit2.Username:
        creds = self._creds
        if allowed_types & CredentialType.USERNAME:
            return pygit2.Username(username_from_url or "git")
        self.auth_attempts += 1
        if self.auth_attempts > _MAX_AUTH_ATTEMPTS:
            raise _AuthRejected()
        if allowed_types & CredentialType.SSH_KEY:
            if creds is None or creds.ssh_key is None:
                raise _NoCredentials("an ssh key")
            pub = creds.public_key()
            return pygit2.Keypair(username_from_url or "git", str(pub) if pub else None,
                                  str(creds.ssh_key), creds.ssh_passphrase or "")
        if allowed_types & CredentialType.USERPASS_PLAINTEXT:
            if creds is None or creds.token is None:
                raise _NoCredentials("a token")
            return pygit2.UserPass(creds.username, creds.token)
        raise _NoCredentials("a supported credential type")

    def _check_deadline(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise _DeadlinePassed()

    def transfer_progress(self, stats: Any) -> None:
        self._check_deadline()

    def sideband_progress(self, string: str) -> None:
        self._check_deadline()


# --------------------------------------------------------------------------- the source


def _set_socket_timeouts(connect_ms: int, io_ms: int) -> None:
    """libgit2 waits forever on a silent server unless told otherwise. The setting is
    process-wide: the last source to fetch sets it (a daemon has one source)."""
    settings: Any = pygit2.settings
    try:
        settings.server_connect_timeout = connect_ms
        settings.server_timeout = io_ms
    except (AttributeError, pygit2.GitError, ValueError):  # older libgit2: nothing to set
        pass


def _looks_like(text: str, *needles: str) -> bool:
    low = text.lower()
    return any(n in low for n in needles)


class GitSource:
    """A bare clone of the config repository that follows ``branch``. Blocking; thread-safe
    enough for one fetch at a time (the daemon runs each call with ``asyncio.to_thread``)."""

    def __init__(self, url: str, workdir: Path, *, branch: str = "main",
                 credentials: GitCredentials | None = None, fetch_timeout: float = 300.0,
                 connect_timeout: float = 10.0, io_timeout: float = 60.0) -> None:
        if not url.strip():
            raise InputError.single("repo-url-empty", "the repository URL is empty",
                                    hint="give --repo PATH or URL")
        if not branch or branch.startswith("-") or ".." in branch or branch.endswith("/"):
            raise InputError.single("branch-invalid", f"{branch!r} is not a valid branch name")
        scheme = url.partition("://")[0].lower() if "://" in url else ""
        if scheme and scheme not in _SCHEMES:
            raise InputError.single(
                "repo-url-scheme", f"the repository URL scheme {scheme!r} is not supported",
                hint="use a path, file://, git://, http(s):// or ssh:// (or user@host:path)")
        self.url = url
        self.workdir = Path(workdir)
        self.branch = branch
        self.repo_path = self.workdir / "repo.git"
        try:
            clean, user, password = _split_userinfo(url)
        except ValueError:
            raise InputError.single("repo-url-invalid", "the repository URL cannot be parsed",
                                    hint="check --repo") from None
        self.display_url = clean if "://" in url or _is_scp(url) else url
        self.remote_url = _remote_url(url)
        if credentials is None and (password is not None or
                                    (user and not self._is_ssh_url())):
            # https://user:token@host/... or https://token@host/...: keep it out of the config
            credentials = GitCredentials(
                token=password if password is not None else "",
                username=(user or "x-access-token") if password is not None else (user or ""))
        self.credentials = credentials
        self.fetch_timeout = fetch_timeout
        self._connect_ms = max(1, int(connect_timeout * 1000))
        self._io_ms = max(1, int(io_timeout * 1000))
        # https://TOKEN@host/...: the user name is the secret
        user_secret = user if user and password is None and not self._is_ssh_url() else None
        self._redactor = Redactor(self._secret_strings(password, user_secret))
        self._repo: pygit2.Repository | None = None

    def __repr__(self) -> str:
        return f"GitSource({self.display_url!r}, branch={self.branch!r})"

    # ----------------------------------------------------------------- helpers

    def _is_ssh_url(self) -> bool:
        if _is_scp(self.url):
            return True
        scheme = self.url.partition("://")[0].lower() if "://" in self.url else ""
        return scheme in _SSH_SCHEMES

    def _secret_strings(self, *from_url: str | None) -> list[str]:
        found: list[str] = []
        for s in [*from_url, *(self.credentials.secrets() if self.credentials else [])]:
            if s:
                found.extend({s, urllib.parse.quote(s, safe=""), urllib.parse.quote(s)})
        return found

    def scrub(self, text: str) -> str:
        """``text`` with the raw URL and every credential removed."""
        if self.url != self.display_url:
            text = text.replace(self.url, self.display_url)
        return self._redactor.scrub(text)

    def callbacks(self, *, deadline: float | None = None) -> pygit2.RemoteCallbacks:
        """Fresh libgit2 callbacks carrying our credentials (for fetch and push)."""
        return _Callbacks(self.credentials, deadline)

    def _error(self, action: str, exc: BaseException) -> GitError:
        """Translate a pygit2 failure; the text never holds a credential."""
        if isinstance(exc, _AuthRejected):
            return GitError(f"{action}: authentication failed (the server refused our "
                            "credentials; check the token or key and its access to this "
                            "repository)", url=self.display_url, retryable=False)
        if isinstance(exc, _NoCredentials):
            return GitError(f"{action}: the server asks for {exc.wanted}, but none is "
                            "configured", url=self.display_url, retryable=False)
        if isinstance(exc, _DeadlinePassed):
            return GitError(f"{action}: timed out after {self.fetch_timeout:g}s",
                            url=self.display_url, retryable=True)
        raw = self.scrub(str(exc) or exc.__class__.__name__)
        detail = raw.strip().rstrip(".")
        if isinstance(exc, pygit2.AuthError):
            return GitError(f"{action}: authentication failed ({detail})",
                            url=self.display_url, retryable=False)
        if isinstance(exc, pygit2.CertificateError):
            return GitError(f"{action}: the server's TLS certificate is not trusted ({detail})",
                            url=self.display_url, retryable=False)
        if _looks_like(raw, "401", "403", "authentication", "credentials", "auth replays",
                       "permission denied", "publickey"):
            return GitError(f"{action}: authentication failed ({detail})",
                            url=self.display_url, retryable=False)
        if _looks_like(raw, "404", "not found", "could not find repository",
                       "not a git repository", "does not appear to be", "unsupported url",
                       "unsupported url protocol", "invalid url", "malformed url"):
            return GitError(f"{action}: {detail}", url=self.display_url, retryable=False)
        return GitError(f"{action}: {detail}", url=self.display_url, retryable=True)

    def _tracking_ref(self, name: str) -> str:
        return f"refs/remotes/{REMOTE}/{name}"

    def _refspec(self, name: str) -> str:
        return f"+refs/heads/{name}:{self._tracking_ref(name)}"

    @property
    def repo(self) -> pygit2.Repository:
        """The bare clone (opened on first use)."""
        if self._repo is None:
            self.open()
        assert self._repo is not None
        return self._repo

    # ----------------------------------------------------------------- public API

    def open(self) -> None:
        """Clone bare into ``repo_path`` if absent (fetching ``branch``), else open it and make
        sure its origin points at our URL. Blocking."""
        if self.repo_path.exists():
            try:
                repo = pygit2.Repository(str(self.repo_path))
            except pygit2.GitError:
                log.warning("%s is not a usable clone (interrupted?); cloning again",
                            self.repo_path)
                shutil.rmtree(self.repo_path)
            else:
                if not repo.is_bare:
                    raise GitError(f"{self.repo_path} is not a bare clone; give the daemon a "
                                   "workdir of its own", url=self.display_url, retryable=False)
                self._repo = repo
                self._check_origin(repo)
                return
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            repo = pygit2.init_repository(str(self.repo_path), bare=True)
            repo.remotes.create(REMOTE, self.remote_url, self._refspec(self.branch))
        except (pygit2.GitError, ValueError, OSError) as exc:
            raise self._error("cannot create the local clone", exc) from None
        self._repo = repo
        try:
            self.fetch()
        except GitError:
            self._repo = None
            shutil.rmtree(self.repo_path, ignore_errors=True)
            raise

    def _check_origin(self, repo: pygit2.Repository) -> None:
        try:
            current = repo.remotes[REMOTE].url
        except (KeyError, pygit2.GitError):
            repo.remotes.create(REMOTE, self.remote_url, self._refspec(self.branch))
            return
        if current != self.remote_url:
            log.warning("the clone in %s followed %s; it now follows %s",
                        self.repo_path, display_repo_url(current or ""), self.display_url)
            repo.remotes.set_url(REMOTE, self.remote_url)

    def _local_path(self) -> Path | None:
        """The repository's folder when the URL is a plain path or ``file://``."""
        if self.remote_url.startswith("file://"):
            return Path(urllib.parse.unquote(urllib.parse.urlsplit(self.remote_url).path))
        if "://" in self.remote_url or _is_scp(self.remote_url):
            return None
        return Path(self.remote_url)

    def _fetch_refspec(self, name: str) -> None:
        repo = self.repo
        _set_socket_timeouts(self._connect_ms, self._io_ms)
        local = self._local_path()
        if local is not None and not local.exists():
            raise GitError("no repository at this path", url=self.display_url, retryable=False)
        deadline = time.monotonic() + self.fetch_timeout
        try:
            remote = repo.remotes[REMOTE]
            remote.fetch([self._refspec(name)], callbacks=self.callbacks(deadline=deadline),
                         prune=FetchPrune.PRUNE)
        except (pygit2.GitError, KeyError, ValueError, OSError, _AuthRejected,
                _NoCredentials, _DeadlinePassed) as exc:
            raise self._error(f"fetching branch {name!r} failed", exc) from None

    def _head_of(self, name: str) -> str | None:
        ref = self.repo.references.get(self._tracking_ref(name))
        if ref is None:
            return None
        try:
            return str(ref.peel(pygit2.Commit).id)
        except (pygit2.GitError, ValueError, KeyError):
            return None

    def fetch(self) -> str:
        """Fetch ``branch`` only; return its head commit id. A branch the remote lacks is a
        ``GitError(retryable=False)``. Blocking."""
        self._fetch_refspec(self.branch)
        head = self._head_of(self.branch)
        if head is None:
            raise GitError(f"branch {self.branch!r} does not exist in the repository (or "
                           "holds no commit); check --branch", url=self.display_url,
                           retryable=False)
        return head

    def fetch_branch(self, name: str) -> str | None:
        """Fetch another branch into ``refs/remotes/origin/<name>``; its head commit id, or
        ``None`` when the remote has no such branch (a stale local copy is pruned). Blocking."""
        self._fetch_refspec(name)
        return self._head_of(name)

    def head(self) -> str | None:
        """The tracked branch's head as last fetched (no network)."""
        return self._head_of(self.branch)


# --------------------------------------------------------------------------- triggers


class FetchTrigger:
    """Coalesces wake-ups: any number of :meth:`request` calls before the waiter runs give one
    wake-up carrying every reason. ``request`` may be called from the event loop's thread
    only (use ``loop.call_soon_threadsafe`` from others)."""

    def __init__(self) -> None:
        self._reasons: list[str] = []
        self._event = asyncio.Event()

    def request(self, reason: str) -> None:
        self._reasons.append(reason)
        self._event.set()

    @property
    def pending(self) -> int:
        return len(self._reasons)

    async def wait(self, timeout: float) -> list[str]:  # noqa: ASYNC109 (the ARCH5 API)
        """The reasons gathered since the last wake-up; ``[]`` when ``timeout`` passes first."""
        if not self._event.is_set():
            try:
                await asyncio.wait_for(self._event.wait(), timeout=max(timeout, 0.0))
            except TimeoutError:
                return []
        reasons, self._reasons = self._reasons, []
        self._event.clear()
        return reasons


def poll_delay(interval: float, jitter: float, rng: random.Random) -> float:
    """Seconds until the next poll: ``interval`` plus up to ``jitter * interval`` at random
    (so many daemons polling one server spread out)."""
    if interval <= 0:
        return 0.0
    return interval + rng.uniform(0.0, max(jitter, 0.0) * interval)
