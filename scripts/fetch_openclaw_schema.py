#!/usr/bin/env python3
"""Vendor the OpenClaw config JSON Schema exactly as a real gateway reports it (``config.schema``).

Writes ``schemas/openclaw/<version>.json`` (the ``schema`` object only, sorted keys, indent 1,
UTF-8, trailing newline: the same gateway gives the same bytes) and
``schemas/openclaw/<version>.meta.json`` (version, the gateway's ``generatedAt``, this script).

Two ways to reach a gateway:
  fetch_openclaw_schema.py VERSION [VERSION...]
      starts each installed version (scripts/install-openclaw.sh) on a free loopback port with
      a throw-away HOME, fetches, stops it;
  fetch_openclaw_schema.py VERSION --url ws://HOST:PORT --token-env VAR
      asks an already running gateway of that version (the installed CLI of VERSION is the client).
The call goes through OpenClaw's own CLI (``openclaw gateway call config.schema``), which also
handles the device identity that protocol-3 gateways need before they grant config access.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from molthub_gitops.errors import GatewayError  # noqa: E402
from molthub_gitops.providers.openclaw_process import (  # noqa: E402
    OpenClawInstall,
    OpenClawProcess,
    find_openclaw,
    gateway_call,
)

SCRIPT = "scripts/fetch_openclaw_schema.py"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render_schema(schema: Any) -> str:
    """The vendored file's exact text."""
    return json.dumps(schema, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def write_outputs(out_dir: Path, version: str, payload: dict[str, Any]) -> tuple[Path, Path]:
    schema = payload.get("schema")
    if not isinstance(schema, dict) or "properties" not in schema:
        raise SystemExit(f"config.schema of {version} returned no schema object")
    reported = payload.get("version")
    if reported != version:
        raise SystemExit(f"asked for {version} but the gateway reports version {reported!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    schema_path = out_dir / f"{version}.json"
    meta_path = out_dir / f"{version}.meta.json"
    schema_path.write_text(render_schema(schema), encoding="utf-8")
    meta = {
        "version": version,
        "generatedAt": payload.get("generatedAt"),
        "source": "config.schema of a running openclaw gateway (payload.schema)",
        "fetchedBy": SCRIPT,
        "draft": schema.get("$schema"),
    }
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return schema_path, meta_path


async def fetch_started(install: OpenClawInstall) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"openclaw-schema-{install.version}-") as tmp:
        gateway = OpenClawProcess(install)
        try:
            await gateway.start(Path(tmp) / "home", free_port(), secrets.token_urlsafe(24),
                                config={"gateway": {"mode": "local"}})
            payload = await gateway.call("config.schema", time_limit=120.0)
        finally:
            await gateway.stop()
    if not isinstance(payload, dict):
        raise SystemExit(f"config.schema of {install.version} did not return an object")
    return payload


async def fetch_running(install: OpenClawInstall, url: str, token: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="openclaw-schema-cli-") as tmp:
        payload = await gateway_call(install, url, token, "config.schema", home=Path(tmp),
                                     time_limit=120.0)
    if not isinstance(payload, dict):
        raise SystemExit("config.schema did not return an object")
    return payload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="+", metavar="VERSION")
    parser.add_argument("--url", help="a running gateway of that VERSION (ws://host:port)")
    parser.add_argument("--token-env", default="OPENCLAW_GATEWAY_TOKEN",
                        help="environment variable holding its token (with --url)")
    parser.add_argument("--out", type=Path, default=REPO / "schemas" / "openclaw")
    parser.add_argument("--cache", type=Path, default=None,
                        help="OpenClaw install cache (default: $MOLTHUB_OPENCLAW_CACHE or "
                             ".cache/openclaw)")
    args = parser.parse_args(argv)
    if args.url and len(args.versions) != 1:
        parser.error("--url takes exactly one VERSION")
    for version in args.versions:
        install = find_openclaw(version, args.cache)
        if install is None:
            print(f"openclaw@{version} is not installed: run scripts/install-openclaw.sh {version}",
                  file=sys.stderr)
            return 2
        try:
            if args.url:
                token = os.environ.get(args.token_env, "")
                if not token:
                    print(f"set {args.token_env} to the gateway token", file=sys.stderr)
                    return 2
                payload = asyncio.run(fetch_running(install, args.url, token))
            else:
                payload = asyncio.run(fetch_started(install))
        except GatewayError as exc:
            print(f"openclaw@{version}: {exc}", file=sys.stderr)
            return 1
        schema_path, meta_path = write_outputs(args.out, version, payload)
        size = schema_path.stat().st_size
        print(f"{schema_path} ({size / 1e6:.2f} MB), {meta_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
