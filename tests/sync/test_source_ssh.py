"""GitSource over ssh against a real OpenSSH server on loopback.

The ``sshd`` fixture runs ``sshd -D -e`` as the current user (root in CI) on 127.0.0.1 with a
host key, an ``authorized_keys`` file and a config of its own; the repositories are served by
the ``git-upload-pack`` / ``git-receive-pack`` of that user's login shell. The tests clone,
fetch and push the status branch with an ed25519 key (with and without a passphrase), check
that a wrong key or passphrase is a clear error without secrets, and that the server's host
key is verified: known (own file or ``~/.ssh/known_hosts``) works, unknown or changed is
refused with the commands that fix it, and the ``molthub plan`` command line exits 2 then.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2
import pytest

from molthub_gitops.errors import GitError
from molthub_gitops.sync.audit import AuditDraft
from molthub_gitops.sync.source import GitCredentials, GitSource, credentials_from_refs
from molthub_gitops.sync.state import DaemonStatus
from molthub_gitops.sync.statusbranch import StatusBranch

from .test_source import commit_file

PASSPHRASE = "correct-horse-ssh-7731"
START_LIMIT = 15.0  # seconds for sshd to answer
STOP_LIMIT = 5.0
# sshd's PATH for a session (Debian's default user PATH without the sbin folders)
SESSION_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


# --------------------------------------------------------------------------- the server


@dataclass
class Sshd:
    """A running sshd and the keys that go with it."""

    port: int
    user: str
    host_public: Path  # the server's host key (public half)
    key: Path  # authorized, no passphrase
    locked_key: Path  # authorized, PASSPHRASE
    stranger_key: Path  # not authorized
    log: Path

    def url(self, repo: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{repo}"

    def known_hosts(self, dest: Path, *, public: Path | None = None) -> Path:
        """A known_hosts file recording ``public`` (default: the real host key) for us."""
        kind, blob = (public or self.host_public).read_text().split()[:2]
        dest.write_text(f"[127.0.0.1]:{self.port} {kind} {blob}\n")
        return dest

    def logins(self) -> int:
        """How many logins sshd accepted so far."""
        return self.log.read_text(errors="replace").count("Accepted publickey")


def keygen(path: Path, passphrase: str = "", kind: str = "ed25519") -> Path:
    bits = ["-b", "2048"] if kind == "rsa" else []
    subprocess.run(["ssh-keygen", "-q", "-t", kind, *bits, "-N", passphrase, "-C", path.name,
                    "-f", str(path)], check=True, timeout=30, stdin=subprocess.DEVNULL)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config_check(sshd: str, config: Path) -> str:
    """``sshd -t``: the problems it reports ('' when the config is good)."""
    done = subprocess.run([sshd, "-t", "-f", str(config)], capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)
    return "" if done.returncode == 0 else (done.stderr + done.stdout).strip()


def _write_config(folder: Path, port: int, lines: list[str]) -> Path:
    config = folder / "sshd_config"
    config.write_text("\n".join([f"Port {port}", *lines]) + "\n")
    return config


def _wait_for_banner(proc: subprocess.Popen[bytes], port: int) -> bool:
    """Whether sshd answers with its banner within START_LIMIT (False: it exited)."""
    deadline = time.monotonic() + START_LIMIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as conn:
                conn.settimeout(2.0)
                if conn.recv(64).startswith(b"SSH-2.0-"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_LIMIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_LIMIT)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A real OpenSSH server on 127.0.0.1 letting the current user in with two keys."""
    binary = shutil.which("sshd") or shutil.which("sshd", path="/usr/sbin:/usr/local/sbin")
    if binary is None or shutil.which("ssh-keygen") is None:
        pytest.fail("sshd / ssh-keygen not found: install openssh-server (scripts/test.sh "
                    "does, as root, with apt-get)")
    upload_pack = shutil.which("git-upload-pack")
    if upload_pack is None or shutil.which("git-receive-pack") is None:
        pytest.fail("git-upload-pack / git-receive-pack not on PATH: the ssh tests serve "
                    "repositories with them")
    user = pwd.getpwuid(os.getuid()).pw_name
    folder = tmp_path_factory.mktemp("sshd")
    host_key = keygen(folder / "host_ed25519")
    key = keygen(folder / "client_ed25519")
    locked = keygen(folder / "locked_ed25519", PASSPHRASE)
    stranger = keygen(folder / "stranger_ed25519")
    authorized = folder / "authorized_keys"
    authorized.write_text(Path(f"{key}.pub").read_text() + Path(f"{locked}.pub").read_text())
    lines = ["ListenAddress 127.0.0.1", f"HostKey {host_key}", f"PidFile {folder / 'sshd.pid'}",
             f"AuthorizedKeysFile {authorized}", "PermitRootLogin prohibit-password",
             "StrictModes no", "UsePAM no", "PasswordAuthentication no",
             "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
             f"AllowUsers {user}", "LogLevel VERBOSE",
             # OpenSSH 9.8+ would lock 127.0.0.1 out for a while after the failing logins
             "PerSourcePenalties no"]
    git_dir = str(Path(upload_pack).parent)
    if git_dir not in SESSION_PATH:
        lines.append(f"SetEnv PATH={git_dir}:{':'.join(SESSION_PATH)}")
    log = folder / "sshd.log"
    problems = ""
    for _ in range(3):  # a port taken between choosing and binding: choose again
        port = _free_port()
        config = _write_config(folder, port, lines)
        problems = _config_check(binary, config)
        missing = re.search(r"Missing privilege separation directory: (\S+)", problems)
        if missing and os.getuid() == 0:
            Path(missing.group(1)).mkdir(mode=0o755, parents=True, exist_ok=True)
            problems = _config_check(binary, config)
        if "PerSourcePenalties" in problems:  # older OpenSSH: no such option, no penalties
            lines.remove("PerSourcePenalties no")
            config = _write_config(folder, port, lines)
            problems = _config_check(binary, config)
        if problems:
            pytest.fail(f"sshd rejects its test configuration: {problems}")
        with log.open("ab") as sink:
            proc = subprocess.Popen([binary, "-D", "-e", "-f", str(config)],
                                    stdin=subprocess.DEVNULL, stdout=sink, stderr=sink)
        if _wait_for_banner(proc, port):
            break
        _stop(proc)
    else:
        pytest.fail(f"sshd did not start on 127.0.0.1 within {START_LIMIT}s "
                    f"(user {user!r}): {log.read_text(errors='replace')[-2000:]}")
    try:
        yield Sshd(port=port, user=user, host_public=Path(f"{host_key}.pub"), key=key,
                   locked_key=locked, stranger_key=stranger, log=log)
    finally:
        _stop(proc)


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def upstream(tmp_path: Path) -> pygit2.Repository:
    repo = pygit2.init_repository(str(tmp_path / "served" / "config.git"), bare=True)
    commit_file(repo, "main", "molthub.yaml", "a: 1\n")
    return repo


def upstream_path(repo: pygit2.Repository) -> Path:
    return Path(repo.path).resolve()


def source_for(sshd: Sshd, upstream: pygit2.Repository, workdir: Path,
               **creds: object) -> GitSource:
    credentials = GitCredentials(**creds)  # type: ignore[arg-type]
    return GitSource(sshd.url(upstream_path(upstream)), workdir, credentials=credentials,
                     fetch_timeout=60.0, connect_timeout=10.0, io_timeout=30.0)


def draft(n: int) -> AuditDraft:
    return AuditDraft.model_validate({
        "actor": "molthub-sync", "action": "apply", "fleet": "alpha", "bot": f"b-{n}",
        "rollout_id": "alpha@x#1", "hash_after": f"h-{n}", "commit": "c" * 40,
        "time": "2026-11-26T16:00:00Z", "reason": f"over ssh {n}"})


def assert_no_secret(text: str) -> None:
    assert PASSPHRASE not in text
    assert "PRIVATE KEY" not in text


# --------------------------------------------------------------------------- transfers


def test_clone_and_fetch_over_ssh_with_a_key(sshd: Sshd, upstream: pygit2.Repository,
                                             tmp_path: Path) -> None:
    known = sshd.known_hosts(tmp_path / "known_hosts")
    source = source_for(sshd, upstream, tmp_path / "w", ssh_key=sshd.key,
                        ssh_known_hosts=known)
    source.open()
    assert source.repo.is_bare
    assert source.head() == str(upstream.references["refs/heads/main"].target)
    assert source.repo.remotes["origin"].url == sshd.url(upstream_path(upstream))

    newer = commit_file(upstream, "main", "molthub.yaml", "a: 2\n")
    assert source.fetch() == newer
    assert source.fetch_branch("absent") is None
    # the libgit2 home pointing at our known_hosts lives in the workdir, linking to the file
    assert (tmp_path / "w" / "ssh-home" / ".ssh" / "known_hosts").resolve() == known.resolve()


def test_hashed_known_hosts_entries_and_a_passphrase_protected_key(
        sshd: Sshd, upstream: pygit2.Repository, tmp_path: Path) -> None:
    # the entry as `ssh-keyscan -H` writes it: the host name hashed
    scan = subprocess.run(["ssh-keyscan", "-H", "-t", "ed25519", "-p", str(sshd.port),
                           "127.0.0.1"], capture_output=True, text=True, timeout=30, check=True)
    known = tmp_path / "known_hosts"
    known.write_text(scan.stdout)
    assert "127.0.0.1" not in scan.stdout
    creds = credentials_from_refs(ssh_key=str(sshd.locked_key), ssh_passphrase_env="KEY_PASS",
                                  ssh_known_hosts=str(known), environ={"KEY_PASS": PASSPHRASE})
    assert creds is not None
    assert PASSPHRASE not in repr(creds)
    source = GitSource(sshd.url(upstream_path(upstream)), tmp_path / "w", credentials=creds)
    source.open()
    assert source.head() == str(upstream.references["refs/heads/main"].target)


def test_wrong_passphrase_is_a_clear_error_without_the_passphrase(
        sshd: Sshd, upstream: pygit2.Repository, tmp_path: Path) -> None:
    source = source_for(sshd, upstream, tmp_path / "w", ssh_key=sshd.locked_key,
                        ssh_passphrase=PASSPHRASE + "-wrong",
                        ssh_known_hosts=sshd.known_hosts(tmp_path / "known_hosts"))
    with pytest.raises(GitError) as info:
        source.open()
    text = str(info.value)
    assert text.startswith(sshd.url(upstream_path(upstream)) + ": ")
    assert "authentication failed" in text or "passphrase" in text.lower(), text
    assert info.value.retryable is False
    assert_no_secret(text)
    assert not source.repo_path.exists()


def test_a_key_the_server_does_not_know_is_refused_clearly(
        sshd: Sshd, upstream: pygit2.Repository, tmp_path: Path) -> None:
    source = source_for(sshd, upstream, tmp_path / "w", ssh_key=sshd.stranger_key,
                        ssh_known_hosts=sshd.known_hosts(tmp_path / "known_hosts"))
    with pytest.raises(GitError) as info:
        source.open()
    text = str(info.value)
    assert text.startswith(sshd.url(upstream_path(upstream)) + ": fetching branch 'main' "
                           "failed: authentication failed")
    assert info.value.retryable is False
    assert_no_secret(text)


def test_a_missing_repository_over_ssh_is_not_retryable(
        sshd: Sshd, tmp_path: Path) -> None:
    url = sshd.url(tmp_path / "nothing-here.git")
    source = GitSource(url, tmp_path / "w", credentials=GitCredentials(
        ssh_key=sshd.key, ssh_known_hosts=sshd.known_hosts(tmp_path / "known_hosts")))
    with pytest.raises(GitError) as info:
        source.open()
    assert str(info.value).startswith(url + ": ")


def test_status_branch_publish_pushes_over_ssh(sshd: Sshd, upstream: pygit2.Repository,
                                               tmp_path: Path) -> None:
    known = sshd.known_hosts(tmp_path / "known_hosts")
    source = source_for(sshd, upstream, tmp_path / "w", ssh_key=sshd.locked_key,
                        ssh_passphrase=PASSPHRASE, ssh_known_hosts=known)
    source.open()
    branch = StatusBranch(source.repo_path, branch="molthub-status",
                          callbacks=source.callbacks, retry_delay=0.0)
    assert branch.load().commit is None
    status = DaemonStatus(repo=source.display_url, applied_commit=source.head())
    result = branch.publish(status, [draft(1), draft(2)], "status over ssh")
    assert result.commit is not None
    pushed = upstream.references["refs/heads/molthub-status"].peel(pygit2.Commit)
    assert str(pushed.id) == result.commit
    assert "status.json" in pushed.tree
    # a second writer sees it over ssh too
    again = StatusBranch(source.repo_path, branch="molthub-status", callbacks=source.callbacks)
    assert again.load().commit == result.commit

    # the host key changes under us: the push is refused, the remote branch stays put
    sshd.known_hosts(known, public=keygen(tmp_path / "impostor").with_suffix(".pub"))
    with pytest.raises(GitError) as info:
        branch.publish(status, [draft(3)], "must not land")
    assert "HOST KEY MISMATCH" in str(info.value)
    assert str(upstream.references["refs/heads/molthub-status"].target) == result.commit
    assert_no_secret(str(info.value))


# --------------------------------------------------------------------------- host keys


def _suggested_command(text: str, program: str) -> str:
    """The ``ssh-keyscan ... >> FILE`` command an error message suggests."""
    match = re.search(rf"({program} [^;()]*?>> \S+)", text)
    assert match, text
    return match.group(1)


def test_an_unknown_host_key_is_refused_with_how_to_add_it(
        sshd: Sshd, upstream: pygit2.Repository, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port + 1} "  # another server: no entry for ours
                     + " ".join(sshd.host_public.read_text().split()[:2]) + "\n")
    source = source_for(sshd, upstream, tmp_path / "w", ssh_key=sshd.key,
                        ssh_known_hosts=known)
    before = sshd.logins()
    with pytest.raises(GitError) as info:
        source.open()
    text = str(info.value)
    assert f"the ssh host key of [127.0.0.1]:{sshd.port} is unknown" in text
    assert f"{known} has no entry for it" in text
    assert info.value.retryable is False
    assert not source.repo_path.exists()
    assert sshd.logins() == before  # refused before any login

    # the suggested command works as given
    command = _suggested_command(text, "ssh-keyscan")
    assert command == f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {known}"
    subprocess.run(command, shell=True, check=True, timeout=30,
                   capture_output=True)
    source.open()
    assert source.head() == str(upstream.references["refs/heads/main"].target)


def test_a_changed_host_key_is_refused_loudly(sshd: Sshd, upstream: pygit2.Repository,
                                              tmp_path: Path) -> None:
    known = sshd.known_hosts(tmp_path / "known hosts",  # a space: commands quote it
                             public=keygen(tmp_path / "old_host").with_suffix(".pub"))
    source = source_for(sshd, upstream, tmp_path / "w", ssh_key=sshd.key,
                        ssh_known_hosts=known)
    with pytest.raises(GitError) as info:
        source.open()
    text = str(info.value)
    assert "HOST KEY MISMATCH" in text
    assert f"[127.0.0.1]:{sshd.port} does not match the key recorded for it in {known}" in text
    assert "man in the middle" in text
    assert info.value.retryable is False
    # the fix it suggests, run as given, brings the new key in
    fix = re.search(r"(ssh-keygen -R .*)$", text)
    assert fix, text
    assert shlex.quote(str(known)) in fix.group(1)
    subprocess.run(fix.group(1), shell=True, check=True, timeout=30,
                   capture_output=True)
    source.open()
    assert source.head() is not None


def test_a_recorded_key_of_another_type_is_a_mismatch_too(
        sshd: Sshd, upstream: pygit2.Repository, tmp_path: Path) -> None:
    """libgit2 asks the server only for the key types known_hosts has for it."""
    rsa = keygen(tmp_path / "rsa_host", kind="rsa")
    known = sshd.known_hosts(tmp_path / "known_hosts", public=rsa.with_suffix(".pub"))
    source = source_for(sshd, upstream, tmp_path / "w", ssh_key=sshd.key,
                        ssh_known_hosts=known)
    with pytest.raises(GitError) as info:
        source.open()
    assert "HOST KEY MISMATCH" in str(info.value)
    assert "(ssh-rsa)" in str(info.value)


def test_without_a_file_of_our_own_libgit2_checks_the_home_known_hosts(
        sshd: Sshd, upstream: pygit2.Repository, tmp_path: Path) -> None:
    """No --ssh-known-hosts: ~/.ssh/known_hosts of the libgit2 home directory ($HOME when
    the process started; a scratch home here), never 'accept anything'."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    settings = pygit2.settings
    previous = settings.homedir
    settings.homedir = str(home)
    try:
        source = source_for(sshd, upstream, tmp_path / "w", ssh_key=sshd.key)
        with pytest.raises(GitError) as info:
            source.open()
        default = home / ".ssh" / "known_hosts"
        assert f"({default} does not exist)" in str(info.value)
        assert "--ssh-known-hosts FILE" in str(info.value)
        sshd.known_hosts(default)
        source.open()
        assert source.head() == str(upstream.references["refs/heads/main"].target)
        # a source with a file of its own then one without: the home is given back
        own = source_for(sshd, upstream, tmp_path / "w2", ssh_key=sshd.key,
                         ssh_known_hosts=sshd.known_hosts(tmp_path / "own"))
        own.open()
        assert settings.homedir == str(tmp_path / "w2" / "ssh-home")
        assert source.fetch() == source.head()
        assert settings.homedir == str(home)
    finally:
        settings.homedir = previous


def test_no_known_hosts_at_all_refuses_the_host(sshd: Sshd, upstream: pygit2.Repository,
                                                tmp_path: Path) -> None:
    """A scratch home without ~/.ssh: the fetch must fail, not trust the server."""
    settings = pygit2.settings
    previous = settings.homedir
    settings.homedir = str(tmp_path / "empty-home")
    try:
        source = source_for(sshd, upstream, tmp_path / "w", ssh_key=sshd.key)
        with pytest.raises(GitError) as info:
            source.open()
        assert "is unknown" in str(info.value)
    finally:
        settings.homedir = previous


# --------------------------------------------------------------------------- command line


def _molthub(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "KEY_PASS": PASSPHRASE}
    return subprocess.run([sys.executable, "-m", "molthub_gitops", *args], env=env,
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_cli_plan_exits_2_on_an_unknown_host_and_works_once_known(
        sshd: Sshd, upstream: pygit2.Repository, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    base = ["plan", "--repo", sshd.url(upstream_path(upstream)), "--workdir",
            str(tmp_path / "w"), "--ssh-key", str(sshd.locked_key),
            "--ssh-passphrase-env", "KEY_PASS"]
    unknown = _molthub(*base, home=home)
    assert unknown.returncode == 2, unknown.stdout + unknown.stderr
    output = unknown.stdout + unknown.stderr
    default = home / ".ssh" / "known_hosts"
    assert f"the ssh host key of [127.0.0.1]:{sshd.port} is unknown" in output
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {default}" in output
    assert "Traceback" not in output
    assert_no_secret(output)

    # the default ~/.ssh/known_hosts of $HOME is used
    default.parent.mkdir()
    sshd.known_hosts(default)
    known = _molthub(*base, home=home)
    assert "host key" not in known.stdout + known.stderr
    assert "gate FAILED" in known.stdout, known.stdout + known.stderr  # fetched: no config
    assert known.returncode == 1

    # --ssh-known-hosts with a changed key: refused, exit 2, whatever ~/.ssh says
    changed = sshd.known_hosts(tmp_path / "pinned",
                               public=keygen(tmp_path / "old").with_suffix(".pub"))
    refused = _molthub(*base, "--ssh-known-hosts", str(changed), home=home)
    assert refused.returncode == 2
    assert "HOST KEY MISMATCH" in refused.stdout + refused.stderr
    assert_no_secret(refused.stdout + refused.stderr)


def test_cli_audit_verify_and_status_page_read_the_status_branch_over_ssh(
        sshd: Sshd, upstream: pygit2.Repository, tmp_path: Path) -> None:
    known = sshd.known_hosts(tmp_path / "known_hosts")
    source = source_for(sshd, upstream, tmp_path / "w", ssh_key=sshd.key, ssh_known_hosts=known)
    source.open()
    branch = StatusBranch(source.repo_path, branch="molthub-status",
                          callbacks=source.callbacks, retry_delay=0.0)
    branch.load()
    branch.publish(DaemonStatus(repo=source.display_url, applied_commit=source.head()),
                   [draft(1), draft(2)], "status over ssh")
    home = tmp_path / "home"
    home.mkdir()
    url = sshd.url(upstream_path(upstream))
    ssh = ["--repo", url, "--ssh-key", str(sshd.key)]
    verified = _molthub("audit", "verify", *ssh, "--ssh-known-hosts", str(known), home=home)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "audit log intact: 2 entries" in verified.stdout
    page = _molthub("status-page", "--out", str(tmp_path / "site"), *ssh,
                    "--ssh-known-hosts", str(known), home=home)
    assert page.returncode == 0, page.stdout + page.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    # no known_hosts entry for the server: refused, never read
    unknown = _molthub("audit", "verify", *ssh, home=home)
    assert unknown.returncode == 2
    assert "host key" in unknown.stdout + unknown.stderr
    assert "Traceback" not in unknown.stdout + unknown.stderr
