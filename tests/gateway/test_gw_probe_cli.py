"""`molthub gateway probe` as a real process against the simulator: output and exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from molthub_gitops.gateway.sim import SimulatedGateway

TOKEN = "probe-tok-4f0c-distinctive"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def gw() -> AsyncIterator[SimulatedGateway]:
    sim = SimulatedGateway(token=TOKEN, config={"gateway": {"mode": "local"}})
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


async def probe(*args: str, tmp_path: Path, **env_extra: str) -> tuple[int, str, str]:
    env = {**os.environ, "GW_TOKEN": TOKEN, "MOLTHUB_IDENTITY_DIR": str(tmp_path / "id"),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           **env_extra}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "molthub_gitops", "gateway", "probe", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=REPO)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    for text in (out.decode(), err.decode()):
        assert TOKEN not in text
        assert "Traceback" not in text
    return proc.returncode, out.decode(), err.decode()


async def test_healthy_gateway_exits_0(gw: SimulatedGateway, tmp_path: Path) -> None:
    code, out, err = await probe(gw.url, "--token-env", "GW_TOKEN", tmp_path=tmp_path)
    assert code == 0, err
    assert "status    healthy" in out
    assert "protocol  4" in out
    assert "version   2026.9.6" in out
    assert gw.config_hash in out
    assert f"boot id   {gw.boot_id}" in out
    assert (tmp_path / "id" / "device-key.pem").exists()  # identity created for reuse


async def test_json_output(gw: SimulatedGateway, tmp_path: Path) -> None:
    code, out, _ = await probe(gw.url, "--token-env", "GW_TOKEN", "-o", "json", "--no-device",
                               tmp_path=tmp_path)
    data = json.loads(out)
    assert code == 0
    assert data["reachable"]
    assert data["healthy"]
    assert data["config_hash"] == gw.config_hash
    assert data["protocol"] == 4
    assert data["health"]["ok"] is True
    assert data["error"] is None
    assert not (tmp_path / "id").exists()


async def test_unhealthy_gateway_exits_1(gw: SimulatedGateway, tmp_path: Path) -> None:
    gw.set_healthy(False)
    code, out, _ = await probe(gw.url, "--token-env", "GW_TOKEN", tmp_path=tmp_path)
    assert code == 1
    assert "status    UNHEALTHY" in out
    assert "health    NOT OK" in out


async def test_bad_token_exits_2_with_one_line(gw: SimulatedGateway, tmp_path: Path) -> None:
    code, out, err = await probe(gw.url, "--token-env", "BAD", tmp_path=tmp_path,
                                 BAD="wrong-wrong-wrong")
    assert code == 2
    assert out == ""
    assert err.strip().count("\n") == 0
    assert "authentication failed" in err
    assert "wrong-wrong-wrong" not in err


async def test_closed_port_exits_2(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = await probe(f"ws://127.0.0.1:{port}", "--token-env", "GW_TOKEN",
                               "--timeout", "2", tmp_path=tmp_path)
    assert code == 2
    assert "connection refused" in err


async def test_closed_port_json_is_still_json(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, _ = await probe(f"ws://127.0.0.1:{port}", "-o", "json", "--timeout", "2",
                               tmp_path=tmp_path)
    data = json.loads(out)
    assert code == 2
    assert data["reachable"] is False
    assert data["error_kind"] == "GatewayUnavailable"


@pytest.mark.parametrize(("args", "message"), [
    (["--token-env", "GW_TOKEN", "--password-env", "GW_TOKEN"], "not both"),
    (["--token-env", "UNSET_VARIABLE_X"], "UNSET_VARIABLE_X"),
])
async def test_bad_options_exit_2(gw: SimulatedGateway, tmp_path: Path, args: list[str],
                                  message: str) -> None:
    code, _, err = await probe(gw.url, *args, tmp_path=tmp_path)
    assert code == 2
    assert message in err


async def test_bad_url_exits_2(tmp_path: Path) -> None:
    code, _, err = await probe("http://example.invalid", tmp_path=tmp_path)
    assert code == 2
    assert "error[gateway-url]" in err


@pytest.mark.parametrize(("url", "words"), [
    ("ws://[::1", "malformed host"),
    ("ws://h:99999", "port must be a number"),
    ("ws://user:pw-hidden@h:99999/?token=tok-hidden", "port must be a number"),
])
async def test_unparseable_url_exits_2_without_traceback(tmp_path: Path, url: str,
                                                         words: str) -> None:
    code, out, err = await probe(url, "--no-device", tmp_path=tmp_path)
    assert code == 2
    assert out == ""
    assert "error[gateway-url]" in err
    assert words in err
    assert "hidden" not in err


async def test_encrypted_device_key_exits_2_naming_the_file(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    key_dir.mkdir()
    key = key_dir / "device-key.pem"
    key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass-phrase")))
    os.chmod(key, 0o600)
    code, out, err = await probe("ws://127.0.0.1:1", "--identity-dir", str(key_dir),
                                 tmp_path=tmp_path)
    assert code == 2
    assert out == ""
    assert f"{key}: error[device-key-invalid]" in err
    assert "encrypted with a password" in err
    assert f"move {key} away" in err


def test_ctrl_c_exits_130_quietly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO),
                                                         os.environ.get("PYTHONPATH", "")])}
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(30)
        port = server.getsockname()[1]
        proc = subprocess.Popen(  # a silent peer: the probe waits for the WebSocket upgrade
            [sys.executable, "-m", "molthub_gitops", "gateway", "probe",
             f"ws://127.0.0.1:{port}", "--no-device", "--timeout", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO,
            # SIGINT may be ignored when the test runner was started in the background
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            conn, _ = server.accept()  # the probe is inside its event loop now
            with conn:
                proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    assert proc.returncode == 130
    assert out == b""
    assert err == b"error: interrupted\n"
