"""The config repository as the daemon sees it: a bare pygit2 clone that follows one branch.

:class:`GitSource` clones the repository bare into ``workdir/repo.git`` and fetches only the
tracked branch (``+refs/heads/<branch>:refs/remotes/origin/<branch>``), so commits on any other
branch (the status branch included) never reach the sync loop. It speaks every transport
libgit2 does: plain paths and ``file://``, ``git://``, ``https://`` with a token and ``ssh://``
(or the scp form ``user@host:path``) with a key. Credentials live in :class:`GitCredentials`
(never printed) and reach libgit2 through :meth:`GitSource.callbacks` (used for fetch and for
the status branch's push); the URL stored in the clone's config has them removed. Every pygit2
error becomes a :class:`GitError` naming the display URL, with every credential scrubbed from
its text.

ssh (libgit2's libssh2 transport, tested against a real OpenSSH server): the user name comes
from the URL (``ssh://git@host/...``, default ``git``); the key is a private key file that
libssh2 reads (the tests use OpenSSH-format ed25519 keys, with and without a passphrase), its
passphrase read from an environment variable; agent, password and keyboard-interactive logins
are not used.

ssh host keys are always verified, never accepted blindly (pygit2's own default accepts any
ssh host key; :class:`_Callbacks` replaces it). libgit2 matches the server's key against an
OpenSSH ``known_hosts`` file (plain or hashed entries; ``[host]:port`` for a port other than
22): ``GitCredentials.ssh_known_hosts`` (``--ssh-known-hosts FILE``) when given, else
``~/.ssh/known_hosts`` of the user running the daemon (libgit2's home directory, from
``$HOME`` at start). A host with no entry is refused with the ``ssh-keyscan`` command that adds
one; a host whose recorded key differs is refused loudly as a possible interception, with the
``ssh-keygen -R`` command to use if the change is expected. Neither is retried on its own. The
file is read again on every connection. libgit2 reads ``known_hosts`` only below its home
directory, so a file of our own is reached by pointing libgit2's (process-wide) home directory
at ``workdir/ssh-home`` (``.ssh/known_hosts`` there links to the file) before each transfer; a
source without it restores the previous home. One process, one ssh configuration at a time.

:class:`FetchTrigger` coalesces wake-ups (webhooks, the API, the poll timer) so a burst costs
one fetch; :func:`poll_delay` spreads polls with jitter. The API is blocking except
:meth:`FetchTrigger.wait`; async callers run it with ``asyncio.to_thread``.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import os
import random
import re
import shlex
import shutil
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2
from pygit2.enums import CredentialType, FetchPrune, Option

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
    derived by libssh2), unlocked with ``ssh_passphrase`` when set; the server's host key is
    checked against the OpenSSH ``known_hosts`` file ``ssh_known_hosts``, or against
    ``~/.ssh/known_hosts`` when that is ``None`` (see the module docstring).
    """

    token: str | None = field(default=None, repr=False)
    username: str = "x-access-token"
    ssh_key: Path | None = None
    ssh_pubkey: Path | None = None
    ssh_passphrase: str | None = field(default=None, repr=False)
    ssh_known_hosts: Path | None = None

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
        if self.ssh_known_hosts is not None:
            parts.append(f"ssh_known_hosts={str(self.ssh_known_hosts)!r}")
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
    ssh_known_hosts: str | None = None,
) -> GitCredentials | None:
    """Build credentials from references (never from values on a command line).

    ``token_env`` / ``token_file`` name where the https token is; ``ssh_key`` is the path of a
    private key file; ``ssh_passphrase_env`` names the variable holding its passphrase;
    ``ssh_known_hosts`` is the OpenSSH ``known_hosts`` file the ssh server's key must be in
    (default: ``~/.ssh/known_hosts``). Returns ``None`` when nothing is referenced. A
    reference that is unset, empty or unreadable is an :class:`InputError` naming the
    reference, never a value.
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
    known_hosts: Path | None = None
    if ssh_known_hosts is not None:
        known_hosts = Path(ssh_known_hosts).expanduser().absolute()
        if not known_hosts.is_file():
            raise InputError.single(
                "ssh-known-hosts-missing",
                "the ssh known_hosts file does not exist or is not a file",
                Location(str(known_hosts)),
                hint="create it with the server's key: ssh-keyscan [-p PORT] HOST > FILE "
                     "(check the fingerprint with the server's administrator)")
    if token is None and key_path is None and known_hosts is None:
        return None
    return GitCredentials(token=token, username=username, ssh_key=key_path,
                          ssh_passphrase=passphrase, ssh_known_hosts=known_hosts)


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


def _ssh_host_port(url: str) -> tuple[str, int]:
    """Host and port of an ssh URL (``ssh://[user@]host[:port]/path`` or ``[user@]host:path``)."""
    if "://" in url:
        parts = urllib.parse.urlsplit(url)
        return parts.hostname or "", parts.port or 22
    match = _SCP_RE.match(url)
    return (match.group("host") if match else ""), 22


def _remote_url(url: str) -> str:
    """The URL stored in the clone's config: no credentials, plain paths made absolute."""
    if "://" in url or _is_scp(url):
        return display_repo_url(url)
    return str(Path(url).expanduser().resolve())


# --------------------------------------------------------------------------- ssh host keys


def _known_host_name(host: str, port: int) -> str:
    """How OpenSSH names ``host:port`` in ``known_hosts``."""
    return host if port == 22 else f"[{host}]:{port}"


def _pattern_matches(pattern: str, name: str) -> bool:
    """Whether a ``known_hosts`` host pattern (plain with ``*``/``?``, or hashed
    ``|1|salt|hmac``) names ``name``."""
    if pattern.startswith("|1|"):
        pieces = pattern.split("|")
        if len(pieces) != 4:
            return False
        try:
            salt = base64.b64decode(pieces[2], validate=True)
            digest = base64.b64decode(pieces[3], validate=True)
        except (ValueError, binascii.Error):
            return False
        mine = hmac.new(salt, name.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(mine, digest)
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name, flags=re.IGNORECASE) is not None


def _recorded_key_types(path: Path, name: str) -> list[str] | None:
    """The key types ``known_hosts`` file ``path`` records for host ``name`` (``[]``: none);
    ``None`` when the file cannot be read."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found: list[str] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[0].startswith(("#", "@")):
            continue  # blank, comment, malformed, @cert-authority / @revoked
        patterns = fields[0].split(",")
        if any(p.startswith("!") and _pattern_matches(p[1:], name) for p in patterns):
            continue
        if any(not p.startswith("!") and _pattern_matches(p, name) for p in patterns):
            found.append(fields[1])
    return found


@dataclass(frozen=True)
class _HostKeyCheck:
    """The ssh server we expect and the ``known_hosts`` file libgit2 checks its key against."""

    host: str
    port: int
    file: Path
    own_file: bool  # --ssh-known-hosts (else libgit2's ~/.ssh/known_hosts)

    @property
    def name(self) -> str:
        return _known_host_name(self.host, self.port)

    def _keyscan(self) -> str:
        port = f"-p {self.port} " if self.port != 22 else ""
        return f"ssh-keyscan {port}{shlex.quote(self.host)} >> {shlex.quote(str(self.file))}"

    def recorded(self) -> list[str]:
        return _recorded_key_types(self.file, self.name) or []

    def rejection(self) -> _HostKeyRejected:
        """Why the server's key was refused, and what to do about it."""
        recorded = _recorded_key_types(self.file, self.name)
        if recorded:
            return _HostKeyRejected(self.mismatch_text(recorded))
        where = "does not exist" if recorded is None else "has no entry for it"
        text = (f"the ssh host key of {self.name} is unknown ({self.file} {where}); refusing "
                "to connect to an unverified server. Check the server's key fingerprint "
                f"with its administrator, then add it: {self._keyscan()}")
        if not self.own_file:
            text += " (or keep the keys in a file of your own and pass --ssh-known-hosts FILE)"
        else:
            text += " (the file given with --ssh-known-hosts)"
        return _HostKeyRejected(text)

    def mismatch_text(self, recorded: list[str]) -> str:
        types = ", ".join(sorted(set(recorded)))
        name = shlex.quote(self.name)
        return (f"HOST KEY MISMATCH: the ssh host key of {self.name} does not match the key "
                f"recorded for it in {self.file} ({types}): the server's key was replaced, or "
                "someone is intercepting the connection (man in the middle). Refusing to "
                "connect. If the key was changed on purpose, check the new fingerprint with "
                f"the server's administrator, then replace the entry: ssh-keygen -R {name} "
                f"-f {shlex.quote(str(self.file))} && {self._keyscan()}")


_home_lock = threading.Lock()
# while a source points libgit2's home at its own known_hosts: (the home before, the one set)
_home_swap: list[tuple[str | None, str]] = []


def _current_home() -> str | None:
    settings: Any = pygit2.settings
    return settings.homedir  # type: ignore[no-any-return]


def _point_libgit2_home(home: Path | None) -> None:
    """Make libgit2 read ``.ssh/known_hosts`` below ``home`` (``None``: below the home
    directory it had before, normally ``$HOME``). Process-wide. A home changed meanwhile by
    someone else is left alone."""
    settings: Any = pygit2.settings
    option: Any = pygit2.option
    with _home_lock:
        if _home_swap and _current_home() != _home_swap[-1][1]:
            _home_swap.clear()  # changed by someone else: theirs now, nothing to restore
        if home is None:
            if _home_swap:
                option(Option.SET_HOMEDIR, _home_swap.pop()[0] or None)
            return
        before = _home_swap.pop()[0] if _home_swap else _current_home()
        settings.homedir = str(home)
        _home_swap.append((before, _current_home() or str(home)))


def _libgit2_home() -> str:
    """The home directory libgit2 reads ``.ssh/known_hosts`` from when we do not interfere."""
    try:
        with _home_lock:
            current = _current_home()
            if _home_swap and current == _home_swap[-1][1]:
                return _home_swap[-1][0] or ""
            return current or ""
    except (AttributeError, pygit2.GitError, ValueError):  # libgit2 < 1.9
        return os.path.expanduser("~")


# --------------------------------------------------------------------------- callbacks


class _AuthRejected(pygit2.GitError):
    """The server refused every credential we offered (raised inside a libgit2 callback;
    a ``pygit2.GitError`` so that every caller of a fetch or push sees a git failure)."""

    def __init__(self) -> None:
        super().__init__("authentication failed: the server refused our credentials")


class _NoCredentials(pygit2.GitError):
    """The server asked for a credential type we have nothing for."""

    def __init__(self, wanted: str) -> None:
        self.wanted = wanted
        super().__init__(f"the server asks for {wanted}, but none is configured")


class _DeadlinePassed(pygit2.GitError):
    """A transfer ran past its deadline (raised inside a libgit2 progress callback)."""

    def __init__(self) -> None:
        super().__init__("timed out")


class _HostKeyRejected(pygit2.GitError):
    """The ssh server's host key is not the one ``known_hosts`` records (or none is)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class _Callbacks(pygit2.RemoteCallbacks):
    """Offers our credentials to libgit2, a bounded number of times, enforces a deadline while
    data flows, and refuses an ssh server whose host key libgit2 did not find in
    ``known_hosts`` (pygit2's default would accept any ssh host key)."""

    def __init__(self, credentials: GitCredentials | None, deadline: float | None,
                 host_check: _HostKeyCheck | None = None) -> None:
        super().__init__()
        self._creds = credentials
        self._deadline = deadline
        self._host_check = host_check
        self.auth_attempts = 0

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        # ssh: ``valid`` is libgit2's verdict from known_hosts (an exact host+port+key match);
        # https: the TLS library's verdict. Either way a False is never overridden.
        if valid:
            return True
        if self._host_check is None:
            return False
        raise self._host_check.rejection()

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
        self._ssh_host, self._ssh_port = "", 22
        if self._is_ssh_url():
            try:
                self._ssh_host, self._ssh_port = _ssh_host_port(url)
            except ValueError:
                raise InputError.single("repo-url-invalid",
                                        "the repository URL's port is not a number",
                                        hint="check --repo") from None
        self._host_check: _HostKeyCheck | None = None

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
        """Fresh libgit2 callbacks carrying our credentials and our ssh host key check (for
        fetch and push; call it right before the transfer: for ssh it points libgit2 at the
        ``known_hosts`` file to use)."""
        return _Callbacks(self.credentials, deadline, self._prepare_host_check())

    def known_hosts_file(self) -> Path | None:
        """The ``known_hosts`` file the ssh server's key is checked against (``None``: not
        an ssh URL)."""
        if not self._is_ssh_url():
            return None
        own = self.credentials.ssh_known_hosts if self.credentials else None
        if own is not None:
            return own
        return Path(_libgit2_home() or "~") / ".ssh" / "known_hosts"

    def _prepare_host_check(self) -> _HostKeyCheck | None:
        """For ssh: make libgit2 check host keys against our ``known_hosts`` file."""
        if not self._is_ssh_url():
            return None
        own = self.credentials.ssh_known_hosts if self.credentials else None
        if own is None:
            _point_libgit2_home(None)
        else:
            home = self.workdir / "ssh-home"
            link = home / ".ssh" / "known_hosts"
            try:
                link.parent.mkdir(parents=True, exist_ok=True)
                if not (link.is_symlink() and os.readlink(link) == str(own)):
                    scratch = link.with_name(f".known_hosts.{os.getpid()}")
                    scratch.unlink(missing_ok=True)
                    scratch.symlink_to(own)
                    os.replace(scratch, link)
                _point_libgit2_home(home)
            except OSError as exc:
                raise GitError(f"cannot use the ssh known_hosts file {own} (linking it from "
                               f"{link}: {exc.strerror or exc})", url=self.display_url,
                               retryable=False) from None
            except (AttributeError, pygit2.GitError, ValueError):
                raise GitError("--ssh-known-hosts needs libgit2 1.9 or later (pygit2 1.17+); "
                               "put the key in ~/.ssh/known_hosts instead",
                               url=self.display_url, retryable=False) from None
        file = self.known_hosts_file()
        assert file is not None
        check = _HostKeyCheck(self._ssh_host, self._ssh_port, file, own_file=own is not None)
        self._host_check = check
        return check

    def _error(self, action: str, exc: BaseException) -> GitError:
        """Translate a pygit2 failure; the text never holds a credential."""
        if isinstance(exc, _HostKeyRejected):
            return GitError(f"{action}: {exc.message}", url=self.display_url, retryable=False)
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
        check = self._host_check
        if check is not None and _looks_like(raw, "exchange encryption keys",
                                             "no matching host key"):
            # libgit2 asks only for the key types known_hosts records: a server that no
            # longer has such a key fails the key exchange before any key is compared
            recorded = check.recorded()
            if recorded:
                return GitError(f"{action}: {check.mismatch_text(recorded)}",
                                url=self.display_url, retryable=False)
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
