"""The ``local`` provider against a real OpenClaw 2026.9.6: one bot, started by ``ensure``,
reached through its endpoint by the Gateway client (read and write its config), restarted by
``ensure`` when a new config references a ``${VAR}`` the process lacks (the real gateway then
resolves it), and stopped by ``destroy`` with no process left. Its token is never in a repr,
an error or its log output. Without an install, ``ensure`` fails with a clear ProviderError.

One real gateway start (plus the restart the test asks for); a missing install FAILS the real
test (``run scripts/install-openclaw.sh``), as in the conformance suite."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest

from molthub_gitops.errors import ProviderError
from molthub_gitops.gateway.client import GatewayClient
from molthub_gitops.gateway.operations import apply, observe
from molthub_gitops.providers.local import LocalProvider, referenced_env_vars
from molthub_gitops.providers.openclaw_process import find_openclaw
from molthub_gitops.render.engine import render_repository
from molthub_gitops.render.types import RenderedBot
from molthub_gitops.repo.load import load_directory

VERSION = "2026.9.6"
NEW_VAR = "MOLTHUB_LOCAL_TEST_WORKSPACE"

REPOSITORY = """\
apiVersion: molthub/v1
kind: Repository
metadata:
  name: local-provider
spec:
  openclawVersions: ["2026.9.6"]
"""
TEMPLATE = """\
apiVersion: molthub/v1
kind: Template
metadata:
  name: basic
spec:
  config:
    gateway:
      mode: local
    agents:
      defaults:
        workspace: "{workspace}"
        thinkingDefault: low
"""
FLEET = """\
apiVersion: molthub/v1
kind: Fleet
metadata:
  name: local
spec:
  environment: dev
  template: basic
  openclawVersion: "2026.9.6"
  target:
    provider: local
  gateway:
    url: "ws://127.0.0.1:9/{{ bot.name }}"
    auth: none
  bots:
    - name: lp-1
"""


def render_bot(folder: Path, workspace: str) -> RenderedBot:
    """The one bot of a small config repository (provider ``local``), rendered."""
    (folder / "templates").mkdir(parents=True)
    (folder / "fleets").mkdir()
    (folder / "molthub.yaml").write_text(REPOSITORY)
    (folder / "templates" / "basic.yaml").write_text(TEMPLATE.format(workspace=workspace))
    (folder / "fleets" / "local.yaml").write_text(FLEET)
    [bot] = render_repository(load_directory(folder)).bots
    assert bot.target.provider == "local"
    return bot


def with_config(bot: RenderedBot, config: dict[str, Any]) -> RenderedBot:
    return dataclasses.replace(bot, config=config)


def workspace_of(config: Any) -> Any:
    return config.get("agents", {}).get("defaults", {}).get("workspace")


@pytest.mark.real_gateway
async def test_one_bot_starts_is_reached_restarts_for_a_new_variable_and_is_destroyed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    if find_openclaw(VERSION) is None:
        pytest.fail(f"openclaw@{VERSION} is not installed: run scripts/install-openclaw.sh",
                    pytrace=False)
    caplog.set_level(logging.DEBUG, logger="molthub")
    caplog.set_level(logging.DEBUG, logger="molthub_gitops")
    bot = render_bot(tmp_path / "cfg", str(tmp_path / "ws" / "one"))
    provider = LocalProvider(tmp_path / "gateways", ready_timeout=180.0)
    try:
        with pytest.raises(ProviderError, match="not started"):
            await provider.endpoint(bot)
        assert not (await provider.describe(bot)).exists

        endpoint = await provider.ensure(bot)
        token = endpoint.secret
        assert token
        assert endpoint.url.startswith("ws://127.0.0.1:")
        assert (endpoint.bot, endpoint.fleet, endpoint.auth) == ("lp-1", "local", "token")
        assert await provider.endpoint(bot) == endpoint
        first = provider.process(bot.name)
        assert first is not None
        home = tmp_path / "gateways" / "local" / "lp-1"
        assert first.home == home
        status = await provider.describe(bot)
        assert (status.exists, status.running) == (True, True)
        assert endpoint.url in status.detail
        # ensure of a running bot whose config needs nothing new: the same process
        assert await provider.ensure(bot) == endpoint
        assert provider.process(bot.name) is first

        # the Gateway client reaches it with the endpoint, reads and writes its config
        async with GatewayClient(endpoint.url, token=endpoint.secret, connect_timeout=60,
                                 request_timeout=60) as client:
            seen = await observe(client, timeout=60)
            assert seen.reachable, seen.error
            assert seen.server_version == VERSION
            assert seen.parsed.get("gateway", {}).get("mode") == "local"
            done = await apply(client, bot.config, seen.config_hash, timeout=120)
            assert not done.restarted
            held = await observe(client, timeout=60)
            assert workspace_of(held.parsed) == str(tmp_path / "ws" / "one")

            # a config with a ${VAR} the process lacks: the real gateway takes it, warns,
            # and leaves the reference unresolved ...
            needs_var = with_config(bot, {**bot.config, "agents": {"defaults": {
                "workspace": str(tmp_path / "ws") + "/${" + NEW_VAR + "}",
                "thinkingDefault": "low"}}})
            assert referenced_env_vars(needs_var.config) == {NEW_VAR}
            await apply(client, needs_var.config, held.config_hash, timeout=120)
            lacking = await client.request("config.get", {})
        assert workspace_of(lacking["resolved"]).endswith("${" + NEW_VAR + "}")
        assert any(NEW_VAR in w.get("message", "") for w in lacking.get("warnings") or [])

        # ... until ensure restarts the gateway with a value for it (same HOME and token;
        # the port is kept only when it can be bound again, so the test reads the new endpoint)
        again = await provider.ensure(needs_var)
        assert again == endpoint  # same port, token and URL after the restart
        assert await provider.endpoint(needs_var) == again
        second = provider.process(bot.name)
        assert second is not None
        assert second is not first
        assert second.home == home
        assert not first.leftover_pids()
        async with GatewayClient(again.url, token=again.secret, connect_timeout=60,
                                 request_timeout=60) as client:
            payload = await client.request("config.get", {})
        assert payload["hash"] == lacking["hash"]  # the config file was kept
        assert workspace_of(payload["parsed"]).endswith("${" + NEW_VAR + "}")
        assert workspace_of(payload["resolved"]) == str(
            tmp_path / "ws" / "molthub-local-molthub-local-test-workspace")
        assert not payload.get("warnings")
        # ensure with that config again: the process has the variable, no restart
        assert await provider.ensure(needs_var) == again
        assert provider.process(bot.name) is second

        log_tail = await provider.logs(bot, lines=200)
        assert log_tail.strip()
        for text in (log_tail, repr(provider), repr(endpoint), str(endpoint), repr(second),
                     repr(await provider.describe(bot)), caplog.text):
            assert token not in text

        await provider.destroy(bot.fleet, bot.name)
        assert provider.leftover_pids() == []
        assert not home.exists()
        assert not (await provider.describe(bot)).exists
        assert provider.process(bot.name) is None
        with pytest.raises(ProviderError, match="not started"):
            await provider.endpoint(bot)
        await provider.destroy(bot.fleet, bot.name)  # idempotent
    finally:
        await provider.close()
        assert provider.leftover_pids() == []


async def test_without_an_install_ensure_fails_clearly(tmp_path: Path) -> None:
    bot = render_bot(tmp_path / "cfg", str(tmp_path / "ws"))
    provider = LocalProvider(tmp_path / "gateways", cache_dir=tmp_path / "no-cache")
    with pytest.raises(ProviderError) as info:
        await provider.ensure(bot)
    assert info.value.retryable is False
    assert "openclaw 2026.9.6 is not installed" in str(info.value)
    assert "scripts/install-openclaw.sh 2026.9.6" in str(info.value)
    assert provider.process(bot.name) is None
    assert provider.leftover_pids() == []
    await provider.close()
