"""The real ``openclaw security audit --json`` as an oracle for the openclaw.* checks.

A handful of rendered configs (a secure bot and bots with one known weakness each) are written
to ``$HOME/.openclaw/openclaw.json`` of a fresh HOME and audited by the installed OpenClaw
2026.9.6. Every critical checkId the audit reports (and ``gateway.token_too_short``) must be
flagged by the rule types it maps to, and every mapped rule type we flag must be backed by the
audit. A missing install FAILS (run scripts/install-openclaw.sh), as in tests/conformance:
CI installs the gateway, so this never skips.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from molthub_gitops.model.documents import Rule
from molthub_gitops.policy.rules import RULE_TYPES, BotCheck
from molthub_gitops.providers.openclaw_process import OpenClawInstall, find_openclaw, run_cli
from molthub_gitops.render.types import RenderedBot

from .test_openclaw_checks import bot_with

pytestmark = pytest.mark.real_gateway

VERSION = "2026.9.6"

# audit checkId (pattern) -> our rule types, at least one of which must flag the config
ORACLE: dict[str, frozenset[str]] = {
    r"gateway\.bind_no_auth": frozenset({"openclaw.gatewayBindNoAuth"}),
    r"gateway\.http\.no_auth": frozenset({"openclaw.gatewayBindNoAuth",
                                          "openclaw.gatewayAuthRequired"}),
    r"gateway\.loopback_no_auth": frozenset({"openclaw.gatewayAuthRequired"}),
    r"gateway\.control_ui\.allowed_origins_(required|wildcard)": frozenset(
        {"openclaw.controlUiAllowedOrigins"}),
    r"gateway\.tailscale_funnel": frozenset({"openclaw.tailscaleFunnel"}),
    r"gateway\.token_too_short": frozenset({"openclaw.gatewayTokenLength"}),
    r"tools\.elevated\.allowFrom\.[^.]+\.wildcard": frozenset(
        {"openclaw.elevatedAllowFromWildcard"}),
    r"security\.exposure\.open_groups_with_elevated": frozenset(
        {"openclaw.openGroupsWithElevated"}),
    r"security\.exposure\.open_groups_with_(runtime_or_fs|control_plane_tools)": frozenset(
        {"openclaw.dmPolicyOpen", "openclaw.groupPolicyOpen"}),
    r"hooks\.token_reuse_gateway_token": frozenset({"openclaw.hooksTokenReuse"}),
}
ALWAYS_COMPARED = frozenset({"gateway.token_too_short"})
"""Non-critical checkIds compared all the same (the brief's short-token case)."""
STRICTER = frozenset({"openclaw.dmPolicyOpen", "openclaw.groupPolicyOpen"})
"""Rule types that flag more than the audit, on purpose: Molthub's baseline forbids open DM and
group policies outright; the 2026.9.6 audit reports them only together with exposed tools (its
channel plugins' ``channels.<id>.dm.open`` does not run offline)."""

ELEVATED_ON: dict[str, Any] = {"tools": {"elevated": {"enabled": True,
                                                      "allowFrom": {"telegram": ["123456789"]}}}}
CONFIGS: dict[str, dict[str, Any] | None] = {
    "secure": None,
    "bind-lan-without-auth": {"gateway": {"bind": "lan", "auth": {"mode": "none"}}},
    "short-token": {"gateway": {"auth": {"token": "only-16-chars-xx"}}},
    "open-dms": {"channels": {"telegram": {"dmPolicy": "open", "allowFrom": ["*"]}}},
    "elevated-wildcard": {"tools": {"elevated": {"enabled": True,
                                                 "allowFrom": {"telegram": ["*"]}}}},
    "open-groups-with-elevated": {"channels": {"telegram": {"groupPolicy": "open"}},
                                  **ELEVATED_ON},
}
EXPECTED_CRITICAL: dict[str, set[str]] = {
    "secure": set(),
    "bind-lan-without-auth": {"gateway.bind_no_auth", "gateway.http.no_auth",
                              "gateway.control_ui.allowed_origins_required"},
    "short-token": {"gateway.token_too_short"},
    "open-dms": set(),  # elevated tools are off (hardening) and the tool profile is messaging
    "elevated-wildcard": {"tools.elevated.allowFrom.telegram.wildcard"},
    "open-groups-with-elevated": {"security.exposure.open_groups_with_elevated"},
}


def installed() -> OpenClawInstall:
    install = find_openclaw(VERSION)
    if install is None:
        pytest.fail(f"openclaw@{VERSION} is not installed: run scripts/install-openclaw.sh",
                    pytrace=False)
    return install


def our_types(bot: RenderedBot) -> set[str]:
    """Mapped rule types that flag ``bot`` (default params)."""
    flagged = set()
    for name in set().union(*ORACLE.values()):
        check = RULE_TYPES[name].compile(Rule(id="t", type=name))
        assert isinstance(check, BotCheck)
        if check.check(bot):
            flagged.add(name)
    return flagged


def env_for(bot: RenderedBot) -> dict[str, str]:
    """A value for every ${VAR} in the config (the audit resolves them like the gateway)."""
    names = set(re.findall(r"\$\{([A-Z0-9_]+)\}", json.dumps(bot.config)))
    return {n: secrets.token_hex(24) for n in names}


async def audit(install: OpenClawInstall, config: Mapping[str, Any], home: Path,
                env: Mapping[str, str]) -> list[dict[str, Any]]:
    state = home / ".openclaw"
    state.mkdir(parents=True)
    state.chmod(0o700)
    path = state / "openclaw.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    path.chmod(0o600)
    result = await run_cli(install, ["security", "audit", "--json"], home=home,
                           time_limit=120.0, parse_json=True, env=env)
    assert isinstance(result.data, dict), (result.returncode, result.stderr[-800:])
    findings = result.data.get("findings")
    assert isinstance(findings, list)
    return findings


def compared(findings: list[dict[str, Any]]) -> set[str]:
    return {str(f["checkId"]) for f in findings
            if f.get("severity") == "critical" or f.get("checkId") in ALWAYS_COMPARED}


def mapped(check_id: str) -> frozenset[str]:
    for pattern, types in ORACLE.items():
        if re.fullmatch(pattern, check_id):
            return types
    return frozenset()


async def test_audit_and_our_checks_agree(tmp_path: Path) -> None:
    install = installed()
    bots = {name: bot_with(config) for name, config in CONFIGS.items()}
    results = await asyncio.gather(*(
        audit(install, bot.config, tmp_path / name, env_for(bot)) for name, bot in bots.items()))
    problems = []
    for (name, bot), findings in zip(bots.items(), results, strict=True):
        ids = compared(findings)
        if ids != EXPECTED_CRITICAL[name]:
            problems.append(f"{name}: the audit reports {sorted(ids)}, the test expects "
                            f"{sorted(EXPECTED_CRITICAL[name])}")
        ours = our_types(bot)
        for check_id in sorted(ids):
            types = mapped(check_id)
            if not types:
                problems.append(f"{name}: {check_id} maps to none of our rule types")
            elif not types & ours:
                problems.append(f"{name}: the audit reports {check_id}; none of "
                                f"{sorted(types)} flags it")
        backed = set().union(*(mapped(c) for c in ids)) if ids else set()
        for rule_type in sorted(ours - backed - STRICTER):
            problems.append(f"{name}: {rule_type} flags what the audit does not report")
    assert not problems, "\n".join(problems)
    assert our_types(bots["open-dms"]) == {"openclaw.dmPolicyOpen"}
    assert our_types(bots["secure"]) == set()
