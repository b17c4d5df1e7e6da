"""The client against a real `openclaw gateway run` (2026.9.6, protocol 4): device signatures,
`molthub gateway probe`, and an apply across a real restart. One gateway for the module."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import stat
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from molthub_gitops.errors import AuthenticationFailed, PairingRequired, RequestFailed
from molthub_gitops.gateway.client import GatewayClient
from molthub_gitops.gateway.identity import DeviceIdentity
from molthub_gitops.gateway.operations import apply, config_contains, observe
from molthub_gitops.providers.openclaw_process import (
    OpenClawInstall,
    OpenClawProcess,
    find_openclaw,
)

pytestmark = [pytest.mark.real_gateway, pytest.mark.asyncio(loop_scope="module")]
VERSION = "2026.9.6"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Real:
    url: str
    token: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def real(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Real]:
    install = find_openclaw(VERSION)
    if install is None:
        pytest.fail(f"openclaw@{VERSION} is not installed: run scripts/install-openclaw.sh",
                    pytrace=False)
    token = "gw-real-" + secrets.token_urlsafe(18)
    proc = OpenClawProcess(install)
    try:
        await proc.start(tmp_path_factory.mktemp("gw-real"), _free_port(), token,
                         config={"gateway": {"mode": "local"}}, ready_timeout=180.0)
        yield Real(proc.url, token)
    finally:
        await proc.stop()
        assert not proc.leftover_pids()


class _TamperedIdentity(DeviceIdentity):
    def sign(self, payload: str) -> str:
        return super().sign(payload + "|tampered")


async def test_device_signatures_are_verified(real: Real) -> None:
    for version in ("v3", "v2"):
        identity = DeviceIdentity.generate()
        async with GatewayClient(real.url, token=real.token, identity=identity,
                                 signature_version=version, connect_timeout=60) as client:
            assert client.hello is not None
            assert client.hello.protocol == 4
    bad = _TamperedIdentity(DeviceIdentity.generate()._key)
    with pytest.raises(AuthenticationFailed, match="device signature invalid") as info:
        async with GatewayClient(real.url, token=real.token, identity=bad, connect_timeout=60):
            pass
    assert info.value.details["details"]["code"] == "DEVICE_AUTH_SIGNATURE_INVALID"
    assert real.token not in str(info.value)


async def _probe(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "molthub_gitops", "gateway", "probe", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=REPO)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_probe_cli_against_the_real_gateway(real: Real, tmp_path: Path) -> None:
    env = {**os.environ, "GW_TOKEN": real.token, "BAD_TOKEN": "not-the-token-123",
           "MOLTHUB_IDENTITY_DIR": str(tmp_path / "id"),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    code, out, err = await _probe(real.url, "--token-env", "GW_TOKEN", env=env)
    assert code == 0, err
    assert "protocol  4" in out
    assert f"version   {VERSION}" in out
    assert "hmac-sha256:v1:" in out
    assert "health    ok" in out
    code, out, err = await _probe(real.url, "--token-env", "BAD_TOKEN", env=env)
    assert code == 2
    assert "token mismatch" in err
    assert "Traceback" not in err
    for text in (out, err):
        assert real.token not in text
        assert "not-the-token-123" not in text


async def test_apply_across_a_real_restart(real: Real) -> None:
    async with GatewayClient(real.url, token=real.token, identity=DeviceIdentity.generate(),
                             connect_timeout=60) as client:
        before = await observe(client)
        desired = {"gateway": {"mode": "local", "tailscale": {"mode": "off"}}}
        outcome = await apply(client, desired, before.config_hash, timeout=120)
        assert outcome.restarted
        assert outcome.boot_id_after != before.boot_id
        after = await observe(client)
        assert after.config_hash == outcome.hash
        assert config_contains(after.parsed, desired)
        assert after.boot_id == outcome.boot_id_after


# --------------------------------------------------------------------------- a remote gateway


class _LanInstall(OpenClawInstall):
    """The same install, started with ``--bind lan`` so that non-loopback clients reach it."""

    def command(self, *args: str) -> list[str]:
        return super().command(*("lan" if a == "loopback" else a for a in args))


def _lan_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))  # no packet is sent; picks the outgoing interface
        address = str(s.getsockname()[0])
    if address.startswith("127."):
        pytest.fail("this machine has no non-loopback IPv4 address for the remote test")
    return address


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def remote(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Real, str]]:
    install = find_openclaw(VERSION)
    if install is None:
        pytest.fail(f"openclaw@{VERSION} is not installed: run scripts/install-openclaw.sh",
                    pytrace=False)
    lan = _LanInstall(install.version, install.node, install.entry)
    token = "gw-lan-" + secrets.token_urlsafe(18)
    proc = OpenClawProcess(lan)
    port = _free_port()
    try:
        await proc.start(tmp_path_factory.mktemp("gw-lan"), port, token,
                         config={"gateway": {"mode": "local"}}, ready_timeout=180.0)
        yield Real(proc.url, token), f"ws://{_lan_address()}:{port}"
    finally:
        await proc.stop()
        assert not proc.leftover_pids()


async def test_remote_pairing_and_device_token_reuse(remote: tuple[Real, str],
                                                      tmp_path: Path) -> None:
    local, url = remote
    # token only, from a non-loopback address: connected, but without operator scopes
    async with GatewayClient(url, token=local.token, connect_timeout=60) as client:
        assert client.hello is not None
        assert client.hello.auth.scopes == ()
        with pytest.raises(RequestFailed, match="paired device identity"):
            await client.config_get()
    # with a device identity: pairing required, with the request to approve
    identity = DeviceIdentity.load_or_create(tmp_path / "id")
    with pytest.raises(PairingRequired) as info:
        async with GatewayClient(url, token=local.token, identity=identity, connect_timeout=60):
            pass
    request_id = info.value.request_id
    assert request_id
    assert f"openclaw devices approve {request_id}" in str(info.value)
    assert info.value.details["details"]["deviceId"] == identity.device_id
    # an admin on the gateway host approves it
    async with GatewayClient(local.url, token=local.token, connect_timeout=60) as admin:
        await admin.request("device.pair.approve", {"requestId": request_id})
    async with GatewayClient(url, token=local.token, identity=identity,
                             connect_timeout=60) as client:
        assert client.hello is not None
        issued = client.hello.auth.device_token
        assert issued
        await client.config_get()
    tokens = tmp_path / "id" / "device-tokens.json"
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    # the next run needs no shared token: the kept device token is enough
    again = DeviceIdentity.load_or_create(tmp_path / "id")
    assert again.device_token(url) == issued
    async with GatewayClient(url, identity=again, connect_timeout=60) as client:
        assert client.hello is not None
        assert client.hello.auth.method == "device-token"
        assert (await client.config_get()).hash
        assert issued not in repr(client)
