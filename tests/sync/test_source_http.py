"""GitSource over smart HTTP with a token: a real `git http-backend` behind a small aiohttp
Basic-auth shim on loopback. GitSource is blocking, so the tests call it through
asyncio.to_thread, as the daemon does."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime
import hmac
import ipaddress
import os
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pygit2
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from molthub_gitops.errors import GitError
from molthub_gitops.sync.source import GitCredentials, GitSource

from .test_source import commit_file

T = TypeVar("T")
USER = "x-access-token"
TOKEN = "ghp_shimToken0123456789"


@dataclass
class Shim:
    root: Path
    home: Path
    auth_failures: int = 0
    chunked_requests: int = 0
    methods: list[str] = field(default_factory=list)
    url: str = ""

    def user(self, header: str) -> str | None:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if user == USER and hmac.compare_digest(password.encode(), TOKEN.encode()):
            return user
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.methods.append(request.method)
        user = self.user(request.headers.get("Authorization", ""))
        if user is None:
            self.auth_failures += 1
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="git"'})
        if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.chunked_requests += 1
        body = await request.read()  # aiohttp decodes a chunked body
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query_string,
            "REQUEST_METHOD": request.method,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user,
            "REMOTE_ADDR": "127.0.0.1",
        }
        if "Content-Encoding" in request.headers:
            env["HTTP_CONTENT_ENCODING"] = request.headers["Content-Encoding"]
        if "Git-Protocol" in request.headers:
            env["GIT_PROTOCOL"] = request.headers["Git-Protocol"]
        proc = await asyncio.create_subprocess_exec(
            "git", "http-backend", env=env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(body), timeout=30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return web.Response(status=504, text="http-backend timed out")
        sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, payload = out.partition(sep)
        status = 200
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        return web.Response(status=status, body=payload, headers=headers)


@contextlib.asynccontextmanager
async def serve_shim(tmp_path: Path, ssl_context: ssl.SSLContext | None = None
                     ) -> AsyncIterator[Shim]:
    root = tmp_path / "served"
    upstream = pygit2.init_repository(str(root / "config.git"), bare=True)
    commit_file(upstream, "main", "molthub.yaml", "a: 1\n")
    commit_file(upstream, "molthub-status", "status.json", "{}\n", parents=[])
    home = tmp_path / "home"
    home.mkdir()
    state = Shim(root=root, home=home)
    app = web.Application(client_max_size=64 << 20)
    app.router.add_route("*", "/{tail:.*}", state.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=ssl_context)
    scheme = "https" if ssl_context is not None else "http"
    state.url = f"{scheme}://127.0.0.1:{server.port}/config.git"
    try:
        yield state
    finally:
        await server.close()


@pytest.fixture
async def shim(tmp_path: Path) -> AsyncIterator[Shim]:
    async with serve_shim(tmp_path) as state:
        yield state


def make_tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "molthub test CA")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                            crl_sign=True, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_pem = folder / "ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_pem = folder / "server.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = folder / "server.key"
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return ca_pem, cert_pem, key_pem


@pytest.fixture
async def tls_shim(tmp_path: Path) -> AsyncIterator[tuple[Shim, Path]]:
    ca_pem, cert_pem, key_pem = make_tls_files(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_pem, key_pem)
    async with serve_shim(tmp_path, context) as state:
        yield state, ca_pem


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.wait_for(asyncio.to_thread(fn, *args), timeout=60)


def upstream_of(shim: Shim) -> pygit2.Repository:
    return pygit2.Repository(str(shim.root / "config.git"))


async def test_token_credentials_clone_and_fetch(tmp_path: Path, shim: Shim) -> None:
    source = GitSource(shim.url, tmp_path / "work", credentials=GitCredentials(token=TOKEN))
    await in_thread(source.open)
    upstream = upstream_of(shim)
    assert source.head() == str(upstream.references["refs/heads/main"].target)
    newer = commit_file(upstream, "main", "fleet.yaml", "b: 2\n")
    assert await in_thread(source.fetch) == newer
    assert await in_thread(source.fetch_branch, "molthub-status") == str(
        upstream.references["refs/heads/molthub-status"].target)
    assert await in_thread(source.fetch_branch, "ghost") is None
    assert TOKEN not in (source.repo_path / "config").read_text()


async def test_token_in_the_url_works_and_never_reaches_disk(tmp_path: Path, shim: Shim) -> None:
    url = shim.url.replace("http://", f"http://{USER}:{TOKEN}@")
    source = GitSource(url, tmp_path / "work")
    assert TOKEN not in source.display_url
    await in_thread(source.open)
    assert source.repo.remotes["origin"].url == shim.url
    for path in source.repo_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


async def test_wrong_token_is_a_non_retryable_error_without_the_token(
        tmp_path: Path, shim: Shim) -> None:
    wrong = "ghp_wrongToken9876543210"
    source = GitSource(shim.url.replace("http://", f"http://{USER}:{wrong}@"), tmp_path / "work")
    with pytest.raises(GitError) as info:
        await in_thread(source.open)
    text = f"{info.value} {info.value!r} {info.value.url}"
    assert info.value.retryable is False
    assert "authentication failed" in str(info.value)
    assert wrong not in text
    assert TOKEN not in text
    assert str(info.value).startswith(shim.url)
    assert 1 <= shim.auth_failures <= 4  # bounded retries, no loop
    assert not source.repo_path.exists()

    explicit = GitSource(shim.url, tmp_path / "work2", credentials=GitCredentials(token=wrong))
    with pytest.raises(GitError) as info2:
        await in_thread(explicit.open)
    assert info2.value.retryable is False
    assert wrong not in str(info2.value)


async def test_no_credentials_when_the_server_wants_them(tmp_path: Path, shim: Shim) -> None:
    source = GitSource(shim.url, tmp_path / "work")
    with pytest.raises(GitError, match="asks for a token") as info:
        await in_thread(source.open)
    assert info.value.retryable is False


async def test_push_through_the_shim_with_source_callbacks(tmp_path: Path, shim: Shim) -> None:
    """libgit2 pushes with a chunked body; the status-branch writer uses these callbacks."""
    source = GitSource(shim.url, tmp_path / "work", credentials=GitCredentials(token=TOKEN))
    await in_thread(source.open)
    theirs = await in_thread(source.fetch_branch, "molthub-status")
    assert theirs is not None
    ours = commit_file(source.repo, "molthub-status", "status.json", '{"n": 1}\n',
                       parents=[theirs])

    def push() -> None:
        source.repo.remotes["origin"].push(
            ["refs/heads/molthub-status:refs/heads/molthub-status"],
            callbacks=source.callbacks())

    await in_thread(push)
    assert str(upstream_of(shim).references["refs/heads/molthub-status"].target) == ours
    assert "POST" in shim.methods
    assert shim.chunked_requests >= 1  # the shim decoded libgit2's chunked upload


async def test_https_with_a_token_and_a_trusted_ca(
        tmp_path: Path, tls_shim: tuple[Shim, Path]) -> None:
    """Real TLS: libgit2 verifies the server against the CA that pygit2 is told to trust (what
    SSL_CERT_FILE does for the daemon); an untrusted certificate is a clear, final error."""
    shim, ca_pem = tls_shim
    assert shim.url.startswith("https://")
    untrusted = GitSource(shim.url, tmp_path / "w1", credentials=GitCredentials(token=TOKEN))
    with pytest.raises(GitError, match="certificate") as info:
        await in_thread(untrusted.open)
    assert info.value.retryable is False
    assert TOKEN not in str(info.value)

    settings: Any = pygit2.settings
    settings.ssl_cert_file = str(ca_pem)
    try:
        source = GitSource(shim.url, tmp_path / "w2", credentials=GitCredentials(token=TOKEN))
        await in_thread(source.open)
        newer = commit_file(upstream_of(shim), "main", "fleet.yaml", "c: 3\n")
        assert await in_thread(source.fetch) == newer
        wrong = GitSource(shim.url, tmp_path / "w3",
                          credentials=GitCredentials(token="ghp_bad000000000"))
        with pytest.raises(GitError, match="authentication failed") as bad:
            await in_thread(wrong.open)
        assert "ghp_bad000000000" not in str(bad.value)
    finally:
        del settings.ssl_cert_file  # back to the system's trust store


@pytest.mark.parametrize("scheme", ["http", "git"])
async def test_a_silent_server_times_out_instead_of_hanging(tmp_path: Path, scheme: str) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accept, never answer; ends when the client gives up
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        source = GitSource(f"{scheme}://bot:{TOKEN}@127.0.0.1:{port}/config.git",
                           tmp_path / "work", io_timeout=1.0)
        with pytest.raises(GitError, match="timed out") as info:
            await in_thread(source.open)
        assert info.value.retryable is True
        assert TOKEN not in str(info.value)
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 10)
