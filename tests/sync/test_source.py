"""GitSource against real repositories (plain paths, file:// and a real `git daemon`),
credential handling, FetchTrigger coalescing and poll jitter."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pygit2.enums import CredentialType

from molthub_gitops.errors import GitError, InputError
from molthub_gitops.sync.source import (
    FetchTrigger,
    GitCredentials,
    GitSource,
    _recorded_key_types,
    credentials_from_refs,
    display_repo_url,
    poll_delay,
)

SIG = pygit2.Signature("test", "test@example.invalid", 1_700_000_000, 0)


# --------------------------------------------------------------------------- helpers


def commit_file(repo: pygit2.Repository, branch: str, path: str, content: str,
                *, parents: list[str] | None = None) -> str:
    """Commit one file onto ``refs/heads/<branch>`` of a (bare) repository; return its id."""
    ref_name = f"refs/heads/{branch}"
    if parents is None:
        ref = repo.references.get(ref_name)
        parents = [str(ref.target)] if ref is not None else []
    builder = repo.TreeBuilder()
    builder.insert(path, repo.create_blob(content.encode()), pygit2.GIT_FILEMODE_BLOB)
    tree = builder.write()
    oid = repo.create_commit(None, SIG, SIG, f"set {path}", tree,
                             [pygit2.Oid(hex=p) for p in parents])
    repo.references.create(ref_name, oid, force=True)
    return str(oid)


@pytest.fixture
def upstream(tmp_path: Path) -> pygit2.Repository:
    repo = pygit2.init_repository(str(tmp_path / "served" / "config.git"), bare=True)
    commit_file(repo, "main", "molthub.yaml", "a: 1\n")
    commit_file(repo, "molthub-status", "status.json", "{}\n", parents=[])
    return repo


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open within {limit}s")


@pytest.fixture
def git_daemon(upstream: pygit2.Repository) -> Iterator[str]:
    """A real `git daemon` serving the upstream's parent folder; yields git://.../config.git."""
    base = Path(upstream.path).parent
    port = free_port()
    proc = subprocess.Popen(
        ["git", "daemon", "--export-all", "--enable=receive-pack", f"--base-path={base}",
         f"--port={port}", "--listen=127.0.0.1", "--reuseaddr", str(base)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_port(port, proc)
        yield f"git://127.0.0.1:{port}/config.git"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def tracking_refs(source: GitSource) -> list[str]:
    return sorted(r for r in source.repo.references if r.startswith("refs/remotes/"))


# --------------------------------------------------------------------------- local transports


@pytest.mark.parametrize("form", ["plain", "file"])
def test_clone_is_bare_and_tracks_only_the_branch(
        tmp_path: Path, upstream: pygit2.Repository, form: str) -> None:
    path = Path(upstream.path)
    url = str(path) if form == "plain" else path.as_uri()
    source = GitSource(url, tmp_path / "work")
    source.open()
    assert source.repo_path == tmp_path / "work" / "repo.git"
    assert pygit2.Repository(str(source.repo_path)).is_bare
    head = str(upstream.references["refs/heads/main"].target)
    assert source.head() == head
    assert source.fetch() == head
    # the status branch is never fetched by the tracked-branch fetch
    assert tracking_refs(source) == ["refs/remotes/origin/main"]


def test_fetch_returns_new_commits_and_follows_force_pushes(
        tmp_path: Path, upstream: pygit2.Repository) -> None:
    source = GitSource(upstream.path, tmp_path / "work")
    source.open()
    second = commit_file(upstream, "main", "molthub.yaml", "a: 2\n")
    assert source.fetch() == second
    rewritten = commit_file(upstream, "main", "molthub.yaml", "a: 3\n", parents=[])
    assert source.fetch() == rewritten
    assert source.repo[rewritten].peel(pygit2.Commit).message == "set molthub.yaml"


def test_status_branch_commits_do_not_move_the_tracked_head(
        tmp_path: Path, upstream: pygit2.Repository) -> None:
    source = GitSource(upstream.path, tmp_path / "work", branch="main")
    head = source.fetch()
    commit_file(upstream, "molthub-status", "status.json", '{"x": 1}\n')
    assert source.fetch() == head
    assert "refs/remotes/origin/molthub-status" not in tracking_refs(source)


def test_fetch_branch_fetches_another_branch_and_prunes_a_deleted_one(
        tmp_path: Path, upstream: pygit2.Repository) -> None:
    source = GitSource(upstream.path, tmp_path / "work")
    source.open()
    status_head = str(upstream.references["refs/heads/molthub-status"].target)
    assert source.fetch_branch("molthub-status") == status_head
    assert source.fetch_branch("no-such-branch") is None
    upstream.references.delete("refs/heads/molthub-status")
    assert source.fetch_branch("molthub-status") is None
    assert "refs/remotes/origin/molthub-status" not in tracking_refs(source)
    # fetching the tracked branch leaves other tracking refs alone
    source.fetch_branch("main")
    commit_file(upstream, "other", "x", "1")
    source.fetch_branch("other")
    source.fetch()
    assert "refs/remotes/origin/other" in tracking_refs(source)


def test_missing_branch_is_a_clear_non_retryable_error(
        tmp_path: Path, upstream: pygit2.Repository) -> None:
    source = GitSource(upstream.path, tmp_path / "work", branch="nope")
    with pytest.raises(GitError) as info:
        source.open()
    assert info.value.retryable is False
    assert "branch 'nope' does not exist" in str(info.value)
    assert info.value.url == upstream.path
    # a failed first clone leaves nothing half-made behind
    assert not source.repo_path.exists()


def test_missing_repository_is_a_non_retryable_error(tmp_path: Path) -> None:
    source = GitSource(str(tmp_path / "absent.git"), tmp_path / "work")
    with pytest.raises(GitError) as info:
        source.open()
    assert info.value.retryable is False
    assert str(info.value) == f"{tmp_path / 'absent.git'}: no repository at this path"
    by_url = GitSource((tmp_path / "absent.git").as_uri(), tmp_path / "work")
    with pytest.raises(GitError, match="no repository at this path"):
        by_url.open()


def test_branch_deleted_upstream_after_clone(tmp_path: Path, upstream: pygit2.Repository) -> None:
    source = GitSource(upstream.path, tmp_path / "work")
    source.open()
    upstream.references.delete("refs/heads/main")
    with pytest.raises(GitError) as info:
        source.fetch()
    assert info.value.retryable is False
    assert source.head() is None


def test_reopen_uses_the_existing_clone_without_network(
        tmp_path: Path, upstream: pygit2.Repository) -> None:
    first = GitSource(upstream.path, tmp_path / "work")
    head = first.fetch()
    moved = tmp_path / "moved.git"
    Path(upstream.path).rename(moved)
    second = GitSource(str(moved), tmp_path / "work")
    second.open()  # no fetch: works although the old URL is gone
    assert second.head() == head
    # the origin now follows the new URL
    assert second.repo.remotes["origin"].url == str(moved)
    assert second.fetch() == head


def test_a_broken_clone_is_replaced(tmp_path: Path, upstream: pygit2.Repository) -> None:
    work = tmp_path / "work"
    (work / "repo.git").mkdir(parents=True)
    (work / "repo.git" / "garbage").write_text("not a repository")
    source = GitSource(upstream.path, work)
    source.open()
    assert source.fetch() == str(upstream.references["refs/heads/main"].target)


def test_a_non_bare_repository_in_the_workdir_is_refused(
        tmp_path: Path, upstream: pygit2.Repository) -> None:
    pygit2.init_repository(str(tmp_path / "work" / "repo.git"), bare=False)
    source = GitSource(upstream.path, tmp_path / "work")
    with pytest.raises(GitError, match="not a bare clone") as info:
        source.open()
    assert info.value.retryable is False


def test_bad_constructor_input_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        GitSource("  ", tmp_path)
    with pytest.raises(InputError):
        GitSource("/x", tmp_path, branch="a..b")
    with pytest.raises(InputError, match="'ftp' is not supported"):
        GitSource("ftp://h/r.git", tmp_path)


# --------------------------------------------------------------------------- git daemon


def test_git_daemon_clone_fetch_and_missing_branch(
        tmp_path: Path, upstream: pygit2.Repository, git_daemon: str) -> None:
    source = GitSource(git_daemon, tmp_path / "work")
    source.open()
    assert source.head() == str(upstream.references["refs/heads/main"].target)
    newer = commit_file(upstream, "main", "fleet.yaml", "b: 1\n")
    assert source.fetch() == newer
    assert source.fetch_branch("molthub-status") == str(
        upstream.references["refs/heads/molthub-status"].target)
    assert source.fetch_branch("ghost") is None

    missing = GitSource(git_daemon, tmp_path / "work2", branch="ghost")
    with pytest.raises(GitError) as info:
        missing.open()
    assert info.value.retryable is False
    assert "'ghost'" in str(info.value)


def test_git_daemon_push_with_source_callbacks(
        tmp_path: Path, upstream: pygit2.Repository, git_daemon: str) -> None:
    """The status branch writer pushes with GitSource.callbacks(); over git:// that works."""
    source = GitSource(git_daemon, tmp_path / "work")
    source.open()
    theirs = source.fetch_branch("molthub-status")
    assert theirs is not None
    local = commit_file(source.repo, "molthub-status", "status.json", '{"ok": true}\n',
                        parents=[theirs])
    source.repo.remotes["origin"].push(["refs/heads/molthub-status:refs/heads/molthub-status"],
                                       callbacks=source.callbacks())
    assert str(upstream.references["refs/heads/molthub-status"].target) == local


def test_git_daemon_unknown_repository(tmp_path: Path, git_daemon: str) -> None:
    source = GitSource(git_daemon.replace("config.git", "absent.git"), tmp_path / "work")
    with pytest.raises(GitError) as info:
        source.open()
    assert "absent.git" in str(info.value)


def test_connection_refused_is_retryable_and_scrubbed(tmp_path: Path) -> None:
    port = free_port()
    token = "tok-9f8e7d6c5b4a"
    source = GitSource(f"http://bot:{token}@127.0.0.1:{port}/config.git", tmp_path / "work")
    with pytest.raises(GitError) as info:
        source.open()
    text = str(info.value)
    assert info.value.retryable is True
    assert token not in text
    assert token not in repr(info.value)
    assert f"http://127.0.0.1:{port}/config.git" in text
    assert source.display_url == f"http://127.0.0.1:{port}/config.git"
    assert token not in repr(source)


# --------------------------------------------------------------------------- URLs, credentials


@pytest.mark.parametrize(("url", "shown"), [
    ("https://x-access-token:ghp_secret@github.com/o/r.git", "https://github.com/o/r.git"),
    ("https://ghp_secret@github.com/o/r.git", "https://github.com/o/r.git"),
    ("https://user:p%40ss@host:8443/r.git?x=1", "https://host:8443/r.git?x=1"),
    ("ssh://git:ghp_secret@host:2222/o/r.git", "ssh://git@host:2222/o/r.git"),
    ("ssh://git@host/o/r.git", "ssh://git@host/o/r.git"),
    ("git@github.com:o/r.git", "git@github.com:o/r.git"),
    ("git://127.0.0.1:9418/r.git", "git://127.0.0.1:9418/r.git"),
    ("file:///srv/r.git", "file:///srv/r.git"),
    ("/srv/r.git", "/srv/r.git"),
])
def test_display_repo_url(url: str, shown: str) -> None:
    assert display_repo_url(url) == shown


def test_token_in_url_becomes_credentials_and_stays_out_of_config(tmp_path: Path) -> None:
    source = GitSource("https://bot:ghp_secret@example.invalid/o/r.git", tmp_path)
    assert source.credentials is not None
    assert source.credentials.token == "ghp_secret"
    assert source.credentials.username == "bot"
    assert source.remote_url == "https://example.invalid/o/r.git"
    assert "ghp_secret" not in repr(source.credentials)
    assert "ghp_secret" not in str(source.credentials)
    assert source.scrub("failed: https://bot:ghp_secret@example.invalid/o/r.git ghp_secret") \
        == "failed: https://example.invalid/o/r.git ***"


def test_token_as_url_user_name_is_treated_as_a_secret(tmp_path: Path) -> None:
    source = GitSource("https://ghp_tokenAsUser42@example.invalid/o/r.git", tmp_path)
    assert source.credentials is not None
    assert source.credentials.username == "ghp_tokenAsUser42"
    assert source.display_url == "https://example.invalid/o/r.git"
    assert "ghp_tokenAsUser42" not in source.scrub("denied for ghp_tokenAsUser42")
    assert "ghp_tokenAsUser42" not in repr(source)
    assert "ghp_tokenAsUser42" not in repr(source.credentials)


def test_credentials_repr_never_shows_secrets() -> None:
    creds = GitCredentials(token="tok-abcdef", ssh_key=Path("/k"), ssh_passphrase="pass-xyz")
    for text in (repr(creds), str(creds), f"{creds}"):
        assert "tok-abcdef" not in text
        assert "pass-xyz" not in text
        assert "<set>" in text


def test_credentials_from_refs(tmp_path: Path) -> None:
    assert credentials_from_refs(environ={}) is None
    creds = credentials_from_refs(token_env="GIT_TOKEN", environ={"GIT_TOKEN": "tok-1234\n"})
    assert creds is not None
    assert creds.token == "tok-1234"
    assert creds.username == "x-access-token"
    token_file = tmp_path / "token"
    token_file.write_text("tok-file-5678\n")
    from_file = credentials_from_refs(token_file=str(token_file))
    assert from_file is not None
    assert from_file.token == "tok-file-5678"


def test_credentials_from_refs_failures_name_the_reference_only(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        credentials_from_refs(token_env="GIT_TOKEN", environ={"GIT_TOKEN": " "})
    assert "GIT_TOKEN" in str(info.value)
    with pytest.raises(InputError):
        credentials_from_refs(token_file=str(tmp_path / "absent"))
    with pytest.raises(InputError, match="not both"):
        credentials_from_refs(token_env="A", token_file="b", environ={"A": "x"})
    with pytest.raises(InputError) as key_info:
        credentials_from_refs(ssh_key=str(tmp_path / "id_absent"))
    assert key_info.value.problems[0].code == "ssh-key-missing"
    with pytest.raises(InputError):
        credentials_from_refs(ssh_passphrase_env="PASS", environ={"PASS": "x"})
    with pytest.raises(InputError) as hosts_info:
        credentials_from_refs(ssh_known_hosts=str(tmp_path / "known_absent"))
    assert hosts_info.value.problems[0].code == "ssh-known-hosts-missing"
    assert "ssh-keyscan" in str(hosts_info.value)


def test_known_hosts_alone_makes_credentials(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    creds = credentials_from_refs(ssh_known_hosts=str(known))
    assert creds is not None
    assert creds.ssh_known_hosts == known
    assert creds.ssh_key is None
    assert f"ssh_known_hosts={str(known)!r}" in repr(creds)
    source = GitSource("ssh://git@git.example.invalid/o/r.git", tmp_path / "w",
                       credentials=creds)
    assert source.known_hosts_file() == known
    assert GitSource(str(tmp_path), tmp_path / "w2").known_hosts_file() is None


def test_known_hosts_lookup_patterns(tmp_path: Path) -> None:
    """The host lookup that tells an unknown host from a changed key (the key itself is
    compared by libssh2): plain, wildcard, negated and hashed host patterns."""
    salt = b"0123456789abcdefghij"
    digest = hmac.new(salt, b"[git.example.org]:2222", hashlib.sha1).digest()
    hashed = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
    lines = [
        "# comment", "",
        "git.example.org,10.0.0.1 ssh-ed25519 AAAA",
        "*.example.net,!bad.example.net ecdsa-sha2-nistp256 AAAA",
        f"{hashed} ssh-rsa AAAA",
        "@cert-authority *.example.org ssh-ed25519 AAAA",
        "[git.example.org]:2222 ssh-ed25519 AAAA",
        "broken-line",
    ]
    path = tmp_path / "known_hosts"
    path.write_text("\n".join(lines) + "\n")
    assert _recorded_key_types(path, "git.example.org") == ["ssh-ed25519"]
    assert _recorded_key_types(path, "GIT.example.org") == ["ssh-ed25519"]
    assert _recorded_key_types(path, "[git.example.org]:2222") == ["ssh-rsa", "ssh-ed25519"]
    assert _recorded_key_types(path, "a.example.net") == ["ecdsa-sha2-nistp256"]
    assert _recorded_key_types(path, "bad.example.net") == []
    assert _recorded_key_types(path, "other.example.org") == []
    assert _recorded_key_types(path, "[10.0.0.1]:22") == []
    assert _recorded_key_types(tmp_path / "absent", "git.example.org") is None


def make_ssh_key(folder: Path, *, with_pub: bool = True) -> Path:
    key = Ed25519PrivateKey.generate()
    private = folder / "id_ed25519"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.OpenSSH,
                                          serialization.NoEncryption()))
    private.chmod(0o600)
    if with_pub:
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH)
        (folder / "id_ed25519.pub").write_bytes(public + b" test\n")
    return private


def test_ssh_key_reference_builds_a_keypair_for_ssh_urls(tmp_path: Path) -> None:
    private = make_ssh_key(tmp_path)
    creds = credentials_from_refs(ssh_key=str(private), ssh_passphrase_env="KEY_PASS",
                                  environ={"KEY_PASS": "phrase-0042"})
    assert creds is not None
    assert creds.ssh_key == private
    assert creds.public_key() == tmp_path / "id_ed25519.pub"
    source = GitSource("ssh://git@git.example.invalid/o/r.git", tmp_path / "w",
                       credentials=creds)
    callbacks = source.callbacks()
    cred = callbacks.credentials("ssh://git@git.example.invalid/o/r.git", "git",
                                 CredentialType.SSH_KEY)
    assert isinstance(cred, pygit2.Keypair)
    assert cred.credential_tuple == ("git", str(tmp_path / "id_ed25519.pub"), str(private),
                                     "phrase-0042")
    assert cred.credential_type == CredentialType.SSH_KEY
    # libgit2 asks for the user name first when the URL has none
    asked = callbacks.credentials("ssh://git.example.invalid/o/r.git", None,
                                  CredentialType.USERNAME)
    assert isinstance(asked, pygit2.Username)
    # scp form: the user name comes from the URL
    scp = GitSource("deploy@git.example.invalid:o/r.git", tmp_path / "w2", credentials=creds)
    pair = scp.callbacks().credentials("deploy@git.example.invalid:o/r.git", "deploy",
                                       CredentialType.SSH_KEY)
    assert isinstance(pair, pygit2.Keypair)
    assert pair.credential_tuple[0] == "deploy"
    assert "phrase-0042" not in repr(creds)


def test_ssh_key_without_pub_file_lets_libssh2_derive_it(tmp_path: Path) -> None:
    private = make_ssh_key(tmp_path, with_pub=False)
    creds = credentials_from_refs(ssh_key=str(private))
    assert creds is not None
    assert creds.public_key() is None
    cred = GitSource("ssh://git@h/r.git", tmp_path / "w", credentials=creds).callbacks() \
        .credentials("ssh://git@h/r.git", "git", CredentialType.SSH_KEY)
    assert isinstance(cred, pygit2.Keypair)
    assert cred.credential_tuple[1] is None


def test_ssh_transport_failure_is_scrubbed(tmp_path: Path) -> None:
    """No sshd here: a real libssh2 connection to a closed port fails cleanly."""
    private = make_ssh_key(tmp_path)
    creds = GitCredentials(ssh_key=private, ssh_passphrase="phrase-7777")
    port = free_port()
    source = GitSource(f"ssh://git@127.0.0.1:{port}/config.git", tmp_path / "w",
                       credentials=creds)
    with pytest.raises(GitError) as info:
        source.open()
    assert info.value.retryable is True
    assert "phrase-7777" not in str(info.value)
    assert f"ssh://git@127.0.0.1:{port}/config.git" in str(info.value)


def test_userpass_callback_gives_up_after_repeated_rejections(tmp_path: Path) -> None:
    source = GitSource("https://h.invalid/r.git", tmp_path,
                       credentials=GitCredentials(token="tok-abcdef"))
    callbacks = source.callbacks()
    for _ in range(2):
        cred = callbacks.credentials("https://h.invalid/r.git", None,
                                     CredentialType.USERPASS_PLAINTEXT)
        assert isinstance(cred, pygit2.UserPass)
        assert cred.credential_tuple == ("x-access-token", "tok-abcdef")
    with pytest.raises(Exception) as info:  # noqa: PT011 (a private class, surfaced by libgit2)
        callbacks.credentials("https://h.invalid/r.git", None, CredentialType.USERPASS_PLAINTEXT)
    assert "tok-abcdef" not in str(info.value)


# --------------------------------------------------------------------------- trigger, jitter


async def test_trigger_coalesces_a_burst_into_one_wake() -> None:
    trigger = FetchTrigger()
    for i in range(10):
        trigger.request(f"webhook {i}")
    assert await trigger.wait(5.0) == [f"webhook {i}" for i in range(10)]
    assert await trigger.wait(0.01) == []


async def test_trigger_wakes_a_waiter_and_collects_requests_made_meanwhile() -> None:
    trigger = FetchTrigger()
    waiter = asyncio.create_task(trigger.wait(10.0))
    await asyncio.sleep(0)
    for i in range(10):
        trigger.request(f"r{i}")
    reasons = await asyncio.wait_for(waiter, 10.0)
    assert reasons == [f"r{i}" for i in range(10)]
    assert trigger.pending == 0
    trigger.request("later")
    assert await trigger.wait(5.0) == ["later"]


async def test_trigger_timeout_returns_empty() -> None:
    trigger = FetchTrigger()
    assert await trigger.wait(0.02) == []
    assert await trigger.wait(0) == []
    assert await trigger.wait(-1) == []


def test_poll_delay_adds_bounded_seeded_jitter() -> None:
    delays = [poll_delay(60.0, 0.1, random.Random(7)) for _ in range(3)]
    assert delays[0] == delays[1] == delays[2]  # same seed, same delay
    rng = random.Random(42)
    many = [poll_delay(60.0, 0.1, rng) for _ in range(200)]
    assert all(60.0 <= d <= 66.0 for d in many)
    assert len(set(many)) > 100
    assert max(many) > 64.0
    assert min(many) < 62.0
    assert poll_delay(60.0, 0.0, rng) == 60.0
    assert poll_delay(0.0, 0.5, rng) == 0.0
    assert poll_delay(10.0, -1.0, rng) == 10.0
