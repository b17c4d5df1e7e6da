"""The openclaw.* rule types on real rendered bots: what each flags, what it leaves alone,
where it points, and that its messages never carry a secret or a bot name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import yaml

from molthub_gitops.model.documents import Rule
from molthub_gitops.policy import openclaw_checks
from molthub_gitops.policy.rules import RULE_TYPES, BotCheck, RuleDefinitionError, Violation
from molthub_gitops.render.types import RenderedBot

from .policyhelpers import render, repo_from_files, with_base


def fleet_yaml(bots: Mapping[str, Mapping[str, Any] | None], *, env: str = "dev",
               target: Mapping[str, Any] | None = None, auth: str = "token",
               version: str = "2026.9.6") -> str:
    gateway: dict[str, Any] = {"url": "wss://{{ bot.name }}.bots.internal:18789", "auth": auth}
    if auth != "none":
        gateway["secret"] = {"env": "GW_TOKEN"}
    spec: dict[str, Any] = {
        "environment": env, "template": "telegram", "profiles": ["hardening"],
        "openclawVersion": version, "gateway": gateway,
        "bots": [{"name": n, **({"config": c} if c else {})} for n, c in bots.items()],
    }
    if target is not None:
        spec["target"] = dict(target)
    return yaml.safe_dump({"apiVersion": "molthub/v1", "kind": "Fleet",
                           "metadata": {"name": env}, "spec": spec}, sort_keys=False)


def bots_with(bots: Mapping[str, Mapping[str, Any] | None], **fleet: Any
              ) -> dict[str, RenderedBot]:
    """Render the base repository with the dev fleet replaced by ``bots`` (name -> own config)."""
    files = with_base({"fleets/dev.yaml": fleet_yaml(bots, **fleet)})
    return {b.name: b for b in render(repo_from_files(files)) if b.fleet == "dev"}


def bot_with(config: Mapping[str, Any] | None = None, **fleet: Any) -> RenderedBot:
    return bots_with({"b": config}, **fleet)["b"]


def compile_rule(rule_type: str, params: Mapping[str, Any] | None = None) -> BotCheck:
    rule = Rule(id="t", type=rule_type, params=dict(params or {}))
    check = RULE_TYPES[rule_type].compile(rule)
    assert isinstance(check, BotCheck)
    return check


def violations(rule_type: str, bot: RenderedBot, params: Mapping[str, Any] | None = None
               ) -> list[Violation]:
    return list(compile_rule(rule_type, params).check(bot))


def paths(found: Sequence[Violation]) -> list[str]:
    return [".".join(str(p) for p in v.path) for v in found]


# --------------------------------------------------------------------------- registry


def test_every_type_is_registered_documented_and_rejects_a_path() -> None:
    assert len(openclaw_checks.OPENCLAW_RULE_TYPES) >= 25
    for name in openclaw_checks.OPENCLAW_RULE_TYPES:
        rule_type = RULE_TYPES[name]
        assert name.startswith("openclaw.")
        assert rule_type.category == "openclaw"
        assert rule_type.summary.endswith(".")
        assert not rule_type.needs_path
        with pytest.raises(RuleDefinitionError, match="takes no path"):
            rule_type.compile(Rule(id="x", type=name, path="gateway.bind"))
        with pytest.raises(RuleDefinitionError) as info:
            rule_type.compile(Rule(id="x", type=name, params={"bogus": 1}))
        assert info.value.param == "bogus"


@pytest.mark.parametrize(("rule_type", "params", "param"), [
    ("openclaw.gatewayTokenLength", {"minLength": "long"}, "minLength"),
    ("openclaw.gatewayTokenLength", {"minLength": 0}, "minLength"),
    ("openclaw.sandboxRequired", {"modes": ["everything"]}, "modes"),
    ("openclaw.sandboxRequired", {"modes": "all"}, "modes"),
    ("openclaw.toolProfile", {"required": "yes"}, "required"),
    ("openclaw.toolProfile", {"forbidden": ["huge"]}, "forbidden"),
    ("openclaw.modelGuardrails", {"maxTemperature": True}, "maxTemperature"),
    ("openclaw.resourceLimits", {"maxCpu": -1}, "maxCpu"),
    ("openclaw.dangerousTools", {"commands": ["", "op"]}, "commands"),
])
def test_bad_params_are_rule_definition_errors(rule_type: str, params: dict[str, Any],
                                               param: str) -> None:
    with pytest.raises(RuleDefinitionError) as info:
        RULE_TYPES[rule_type].compile(Rule(id="x", type=rule_type, params=params))
    assert info.value.param == param


def test_model_guardrails_needs_something_to_check() -> None:
    with pytest.raises(RuleDefinitionError, match="at least one"):
        RULE_TYPES["openclaw.modelGuardrails"].compile(
            Rule(id="x", type="openclaw.modelGuardrails"))


def test_config_checks_name_their_sections() -> None:
    assert compile_rule("openclaw.gatewayBindNoAuth").sections == frozenset({"gateway"})
    assert compile_rule("openclaw.openGroupsWithElevated").sections == frozenset(
        {"channels", "tools"})
    assert compile_rule("openclaw.imagePinned").sections is None


# --------------------------------------------------------------------------- gateway


@pytest.mark.parametrize(("gateway", "flagged"), [
    ({"bind": "lan", "auth": {"mode": "none"}}, True),
    ({"bind": "custom", "customBindHost": "10.0.0.5", "auth": {"mode": "token", "token": ""}},
     True),
    ({"bind": "tailnet", "auth": {"mode": "password"}}, True),
    ({"bind": "lan"}, False),  # the base's ${OPENCLAW_GATEWAY_TOKEN} token
    ({"bind": "lan", "auth": {"mode": "trusted-proxy"}}, False),
    ({"bind": "loopback", "auth": {"mode": "none"}}, False),
])
def test_bind_no_auth(gateway: dict[str, Any], flagged: bool) -> None:
    found = violations("openclaw.gatewayBindNoAuth", bot_with({"gateway": gateway}))
    assert paths(found) == (["gateway.bind"] if flagged else [])


def test_bind_no_auth_counts_a_secret_reference_object_as_auth() -> None:
    ref = {"source": "env", "provider": "default", "id": "OPENCLAW_GATEWAY_TOKEN"}
    bot = bot_with({"gateway": {"bind": "lan", "auth": {"mode": "token", "token": ref}}})
    assert violations("openclaw.gatewayBindNoAuth", bot) == []
    assert violations("openclaw.plaintextSecrets", bot) == []


def test_auth_required_on_loopback_only() -> None:
    off = bot_with({"gateway": {"auth": {"mode": "none"}}})
    assert paths(violations("openclaw.gatewayAuthRequired", off)) == ["gateway.auth.mode"]
    exposed = bot_with({"gateway": {"bind": "lan", "auth": {"mode": "none"}}})
    assert violations("openclaw.gatewayAuthRequired", exposed) == []
    no_password = bot_with({"gateway": {"auth": {"mode": "password"}}})
    assert paths(violations("openclaw.gatewayAuthRequired", no_password)) == [
        "gateway.auth.password"]
    assert violations("openclaw.gatewayAuthRequired", bot_with()) == []


def test_token_length_judges_literals_only() -> None:
    short = bot_with({"gateway": {"auth": {"token": "abc123"}}})
    (v,) = violations("openclaw.gatewayTokenLength", short)
    assert v.path == ("gateway", "auth", "token")
    assert "6 characters" in v.message
    assert "abc123" not in v.message + v.hint
    long_enough = bot_with({"gateway": {"auth": {"token": "x" * 24}}})
    assert violations("openclaw.gatewayTokenLength", long_enough) == []
    assert violations("openclaw.gatewayTokenLength", long_enough, {"minLength": 32}) != []
    assert violations("openclaw.gatewayTokenLength", bot_with()) == []  # ${VAR}
    password = bot_with({"gateway": {"auth": {"mode": "password", "password": "hunter2"}}})
    (p,) = violations("openclaw.gatewayTokenLength", password)
    assert p.path == ("gateway", "auth", "password")
    assert "hunter2" not in p.message


def test_password_in_config() -> None:
    literal = bot_with({"gateway": {"auth": {"mode": "password", "password": "p" * 30}}})
    assert paths(violations("openclaw.gatewayPasswordInConfig", literal)) == [
        "gateway.auth.password"]
    ref = bot_with({"gateway": {"auth": {"mode": "password",
                                         "password": "${OPENCLAW_GATEWAY_PASSWORD}"}}})
    assert violations("openclaw.gatewayPasswordInConfig", ref) == []


@pytest.mark.parametrize(("gateway", "expected"), [
    ({"bind": "lan"}, ["gateway.bind"]),
    ({"bind": "auto"}, ["gateway.bind"]),
    ({"bind": "custom", "customBindHost": "0.0.0.0"}, ["gateway.customBindHost"]),
    ({"bind": "custom", "customBindHost": "10.1.2.3"}, []),
    ({"bind": "tailnet"}, []),
    ({}, []),
])
def test_bind_all_interfaces(gateway: dict[str, Any], expected: list[str]) -> None:
    bot = bot_with({"gateway": gateway} if gateway else None)
    assert paths(violations("openclaw.gatewayBindAllInterfaces", bot)) == expected


def test_control_ui_insecure_flags_each_setting() -> None:
    bot = bot_with({"gateway": {"controlUi": {
        "dangerouslyDisableDeviceAuth": True, "dangerouslyAllowHostHeaderOriginFallback": True}}})
    assert paths(violations("openclaw.controlUiInsecureAuth", bot)) == [
        "gateway.controlUi.dangerouslyDisableDeviceAuth",
        "gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback"]
    safe = bot_with({"gateway": {"controlUi": {"dangerouslyDisableDeviceAuth": False}}})
    assert violations("openclaw.controlUiInsecureAuth", safe) == []


def test_control_ui_allowed_origins() -> None:
    exposed = bot_with({"gateway": {"bind": "tailnet"}})  # Control UI on by default
    assert paths(violations("openclaw.controlUiAllowedOrigins", exposed)) == [
        "gateway.controlUi"]
    listed = bot_with({"gateway": {"bind": "tailnet", "controlUi": {
        "allowedOrigins": ["https://control.example.com"]}}})
    assert violations("openclaw.controlUiAllowedOrigins", listed) == []
    off = bot_with({"gateway": {"bind": "tailnet", "controlUi": {"enabled": False}}})
    assert violations("openclaw.controlUiAllowedOrigins", off) == []
    wildcard = bot_with({"gateway": {"controlUi": {"allowedOrigins": ["*"]}}})
    assert paths(violations("openclaw.controlUiAllowedOrigins", wildcard)) == [
        "gateway.controlUi.allowedOrigins.0"]
    assert violations("openclaw.controlUiAllowedOrigins", bot_with()) == []  # loopback


def test_tailscale_funnel() -> None:
    funnel = bot_with({"gateway": {"tailscale": {"mode": "funnel"}}})
    assert paths(violations("openclaw.tailscaleFunnel", funnel)) == ["gateway.tailscale.mode"]
    serve = bot_with({"gateway": {"tailscale": {"mode": "serve"}}})
    assert violations("openclaw.tailscaleFunnel", serve) == []


# --------------------------------------------------------------------------- channels


def test_open_policies_are_found_per_account() -> None:
    bot = bot_with({"channels": {"telegram": {
        "dmPolicy": "open", "allowFrom": ["*"],
        "accounts": {"alerts": {"groupPolicy": "open"}, "ops": {"dmPolicy": "open",
                                                                 "allowFrom": ["*"]}}}}})
    assert paths(violations("openclaw.dmPolicyOpen", bot)) == [
        "channels.telegram.accounts.ops.dmPolicy", "channels.telegram.dmPolicy"]
    assert paths(violations("openclaw.groupPolicyOpen", bot)) == [
        "channels.telegram.accounts.alerts.groupPolicy"]
    assert paths(violations("openclaw.allowFromWildcard", bot)) == [
        "channels.telegram.allowFrom.0", "channels.telegram.accounts.ops.allowFrom.0"]
    assert violations("openclaw.dmPolicyOpen", bot_with()) == []


def test_group_allow_from_wildcard_and_numbers() -> None:
    bot = bot_with({"channels": {"telegram": {"groupAllowFrom": [123456, "*"]}}})
    assert paths(violations("openclaw.allowFromWildcard", bot)) == [
        "channels.telegram.groupAllowFrom.1"]


def test_channel_allowlist_needs_senders() -> None:
    empty = bot_with({"channels": {"telegram": {"dmPolicy": "allowlist"}}})
    assert paths(violations("openclaw.channelAllowlist", empty)) == ["channels.telegram.dmPolicy"]
    listed = bot_with({"channels": {"telegram": {"dmPolicy": "allowlist",
                                                 "allowFrom": ["123456789"]}}})
    assert violations("openclaw.channelAllowlist", listed) == []


# --------------------------------------------------------------------------- elevated


def test_open_groups_with_elevated_counts_elevated_on_by_default() -> None:
    # the base's hardening profile turns elevated off; a bot may turn it back on
    on = bot_with({"channels": {"telegram": {"groupPolicy": "open"}},
                   "tools": {"elevated": {"enabled": True}}})
    assert paths(violations("openclaw.openGroupsWithElevated", on)) == [
        "channels.telegram.groupPolicy"]
    off = bot_with({"channels": {"telegram": {"groupPolicy": "open"}}})
    assert violations("openclaw.openGroupsWithElevated", off) == []


def test_elevated_default_is_on_when_unset() -> None:
    files = with_base({"fleets/dev.yaml": fleet_yaml({"b": {"channels": {"telegram": {
        "dmPolicy": "open", "allowFrom": ["*"]}}}})})
    files["profiles/hardening.yaml"] = files["profiles/hardening.yaml"].replace(
        b"      elevated:\n        enabled: false\n", b"")
    (bot,) = [b for b in render(repo_from_files(files)) if b.name == "b"]
    assert "elevated" not in bot.config["tools"]
    assert paths(violations("openclaw.openGroupsWithElevated", bot)) == [
        "channels.telegram.dmPolicy"]


def test_elevated_wildcard_and_allow_from() -> None:
    wildcard = bot_with({"tools": {"elevated": {"enabled": True,
                                                "allowFrom": {"telegram": ["1", "*"]}}}})
    assert paths(violations("openclaw.elevatedAllowFromWildcard", wildcard)) == [
        "tools.elevated.allowFrom.telegram.1"]
    assert violations("openclaw.elevatedNeedsAllowFrom", wildcard) == []
    disabled = bot_with({"tools": {"elevated": {"enabled": False,
                                                "allowFrom": {"telegram": ["*"]}}}})
    assert violations("openclaw.elevatedAllowFromWildcard", disabled) == []
    nobody = bot_with({"tools": {"elevated": {"enabled": True, "allowFrom": {"telegram": []}}}})
    assert paths(violations("openclaw.elevatedNeedsAllowFrom", nobody)) == [
        "tools.elevated.enabled"]


# --------------------------------------------------------------------------- secrets


PLANTED = {
    "channels": {"telegram": {"botToken": "123456:PLANTED-bot-token"}},
    "env": {"vars": {"OPENAI_API_KEY": "sk-PLANTEDplantedPLANTED"}},
    "skills": {"entries": {"weather": {"apiKey": "PLANTED-weather-key"}}},
}


def test_plaintext_secrets_are_found_and_never_shown() -> None:
    bot = bot_with(PLANTED)
    found = violations("openclaw.plaintextSecrets", bot)
    assert paths(found) == ["channels.telegram.botToken", "env.vars.OPENAI_API_KEY",
                            "skills.entries.weather.apiKey"]
    for v in found:
        assert "PLANTED" not in v.message + v.hint
        assert "b" not in v.message.split()  # no bot name


def test_env_references_and_counters_are_not_secrets() -> None:
    bot = bot_with({"env": {"vars": {"OPENAI_API_KEY": "${OPENAI_API_KEY}"}},
                    "secrets": {"defaults": {"env": "default"}}})
    assert violations("openclaw.plaintextSecrets", bot) == []  # maxTokens: 4096 in the base


def test_plaintext_verdicts_are_reused_per_section_content() -> None:
    bots = bots_with({"a": PLANTED, "b": PLANTED, "c": None})
    check = compile_rule("openclaw.plaintextSecrets")
    first = check.check(bots["a"])
    second = check.check(bots["b"])
    assert paths(first) == paths(second)
    assert len(first) == 3
    assert check.check(bots["c"]) == []


def test_hooks_token_length_and_reuse() -> None:
    short = bot_with({"hooks": {"enabled": True, "token": "tiny"}})
    (v,) = violations("openclaw.hooksTokenLength", short)
    assert v.path == ("hooks", "token")
    assert "tiny" not in v.message
    disabled = bot_with({"hooks": {"enabled": False, "token": "tiny"}})
    assert violations("openclaw.hooksTokenLength", disabled) == []
    reused = bot_with({"hooks": {"enabled": True, "token": "${OPENCLAW_GATEWAY_TOKEN}"}})
    assert paths(violations("openclaw.hooksTokenReuse", reused)) == ["hooks.token"]
    own = bot_with({"hooks": {"enabled": True, "token": "${OPENCLAW_HOOKS_TOKEN}"}})
    assert violations("openclaw.hooksTokenReuse", own) == []


def test_redaction_off_on_the_older_schema() -> None:
    files = with_base({
        "fleets/dev.yaml": fleet_yaml({"b": {"logging": {"redactSensitive": "off"}}},
                                      version="2026.3.31"),
        "molthub.yaml": "apiVersion: molthub/v1\nkind: Repository\nmetadata: {name: r}\n"
                        "spec: {openclawVersions: ['2026.9.6', '2026.3.31']}\n"})
    (bot,) = [b for b in render(repo_from_files(files)) if b.name == "b"]
    assert paths(violations("openclaw.redactionOff", bot)) == ["logging.redactSensitive"]
    assert violations("openclaw.redactionOff", bot_with()) == []


# --------------------------------------------------------------------------- sandbox, tools


def test_sandbox_required_modes_and_agents() -> None:
    base = bot_with()  # hardening: mode all
    assert violations("openclaw.sandboxRequired", base) == []
    non_main = bot_with({"agents": {"defaults": {"sandbox": {"mode": "non-main"}}}})
    assert violations("openclaw.sandboxRequired", non_main) == []
    (v,) = violations("openclaw.sandboxRequired", non_main, {"modes": ["all"]})
    assert "non-main" in v.message
    agent_off = bot_with({"agents": {"entries": {"main": {"sandbox": {"mode": "off"}}}}})
    assert paths(violations("openclaw.sandboxRequired", agent_off)) == [
        "agents.entries.main.sandbox.mode"]


def test_sandbox_hardening() -> None:
    assert violations("openclaw.sandboxHardening", bot_with()) == []
    loose = bot_with({"agents": {"defaults": {"sandbox": {"docker": {
        "readOnlyRoot": False, "capDrop": ["NET_RAW"], "network": "host",
        "dangerouslyAllowExternalBindSources": True}}}}})
    assert paths(violations("openclaw.sandboxHardening", loose)) == [
        "agents.defaults.sandbox.docker.readOnlyRoot", "agents.defaults.sandbox.docker.capDrop",
        "agents.defaults.sandbox.docker.network",
        "agents.defaults.sandbox.docker.dangerouslyAllowExternalBindSources"]
    off = bot_with({"agents": {"defaults": {"sandbox": {"mode": "off",
                                                        "docker": {"readOnlyRoot": False}}}}})
    assert violations("openclaw.sandboxHardening", off) == []


def test_tool_profile() -> None:
    full = bot_with({"tools": {"profile": "full", "byProvider": {"openai": {"profile": "full"}}}})
    assert paths(violations("openclaw.toolProfile", full)) == [
        "tools.profile", "tools.byProvider.openai.profile"]
    assert violations("openclaw.toolProfile", bot_with(), {"required": True}) == []


def test_dangerous_tools_everywhere_they_can_hide() -> None:
    bot = bot_with({"tools": {"alsoAllow": ["read", "bw"], "exec": {"safeBins": ["gopass"]}},
                    "skills": {"entries": {"1password": {"enabled": True}}}})
    assert paths(violations("openclaw.dangerousTools", bot)) == [
        "tools.alsoAllow.1", "tools.exec.safeBins.0", "skills.entries.1password"]
    assert violations("openclaw.dangerousTools", bot, {"commands": ["curl"]}) == []
    assert violations("openclaw.dangerousTools", bot_with()) == []


def test_unpinned_skills() -> None:
    bot = bot_with({"skills": {"load": {"extraDirs": ["/opt/vetted/skills", "/tmp/skills"]},
                               "install": {"allowUploadedArchives": True},
                               "workshop": {"approvalPolicy": "auto"}}})
    found = violations("openclaw.unpinnedSkills", bot, {"trustedDirs": ["/opt/vetted/*"]})
    assert paths(found) == ["skills.load.extraDirs.1", "skills.install.allowUploadedArchives",
                            "skills.workshop.approvalPolicy"]


def test_model_guardrails() -> None:
    bot = bot_with({"agents": {"defaults": {
        "params": {"temperature": 1.4, "maxTokens": 100000},
        "models": {"openai/gpt-5.4": {"params": {"temperature": 0.2}}}}}})
    found = violations("openclaw.modelGuardrails", bot, {"maxTemperature": 1.0,
                                                          "maxTokens": 32768})
    assert paths(found) == ["agents.defaults.params.temperature",
                            "agents.defaults.params.maxTokens"]
    assert violations("openclaw.modelGuardrails", bot_with(), {"requireMaxTokens": True}) == []


# --------------------------------------------------------------------------- target


DIGEST = "ghcr.io/openclaw/openclaw:2026.9.6@sha256:" + "0f" * 32


def test_image_pinned() -> None:
    tag = bot_with(target={"provider": "docker", "settings": {"image": "openclaw:latest"}})
    (v,) = violations("openclaw.imagePinned", tag)
    assert v.subject == "target"
    assert v.path == ("settings", "image")
    pinned = bot_with(target={"provider": "docker", "settings": {"image": DIGEST}})
    assert violations("openclaw.imagePinned", pinned) == []
    missing = bot_with(target={"provider": "aws-ecs", "settings": {}})
    assert "names no image" in violations("openclaw.imagePinned", missing)[0].message
    assert violations("openclaw.imagePinned", bot_with()) == []  # existing: not ours to run


def test_resource_limits() -> None:
    params = {"minCpu": 256, "maxCpu": 4096, "minMemory": 512, "maxMemory": 16384}
    ok = bot_with(target={"provider": "docker", "settings": {"cpu": 512, "memory": "1g"}})
    assert violations("openclaw.resourceLimits", ok, params) == []
    bad = bot_with(target={"provider": "docker", "settings": {"cpu": 8192, "memory": "64Mi"}})
    assert [v.message for v in violations("openclaw.resourceLimits", bad, params)] == [
        "cpu 8192 is above 4096", "memory 64 MiB is below 512 MiB"]
    unset = bot_with(target={"provider": "docker", "settings": {}})
    assert paths(violations("openclaw.resourceLimits", unset, params)) == [
        "settings.cpu", "settings.memory"]


@pytest.mark.parametrize(("settings", "expected"), [
    ({}, []),
    ({"configFileMode": "0600", "stateDirMode": "0700"}, []),
    ({"configFileMode": 0o600, "stateDirMode": "700"}, []),
    ({"configFileMode": "0644"}, ["configFileMode 0644 grants more than 0600"]),
    ({"stateDirMode": "0o755"}, ["stateDirMode 0755 grants more than 0700"]),
    ({"configFileMode": "rw-------"}, ["configFileMode is not a file mode"]),
])
def test_file_modes(settings: dict[str, Any], expected: list[str]) -> None:
    bot = bot_with(target={"provider": "local", "settings": settings})
    assert [v.message for v in violations("openclaw.fileModes", bot)] == expected


def test_file_modes_ignore_providers_that_write_no_files() -> None:
    bot = bot_with(target={"provider": "aws-ecs", "settings": {"configFileMode": "0666"}})
    assert violations("openclaw.fileModes", bot) == []


def test_token_rotation() -> None:
    unset = bot_with()
    assert "no rotation period" in violations("openclaw.tokenRotation", unset)[0].message
    fine = bot_with(target={"settings": {"tokenRotationDays": 30}})
    assert violations("openclaw.tokenRotation", fine) == []
    slow = bot_with(target={"settings": {"tokenRotationDays": 120}})
    assert "120 days" in violations("openclaw.tokenRotation", slow)[0].message
    assert violations("openclaw.tokenRotation", slow, {"maxDays": 180}) == []
    no_auth = bot_with(auth="none")
    assert violations("openclaw.tokenRotation", no_auth) == []


def test_plaintext_prefilter_never_skips_a_sensitive_path() -> None:
    """The plaintext check skips a section when its text cannot hold a sensitive key path;
    for every path the heuristic calls sensitive, the prefilter must let the section through."""
    import itertools
    import json

    from molthub_gitops.model.sensitive import is_sensitive_path
    from molthub_gitops.policy.openclaw_checks import _may_hold_secret

    keys = ["botToken", "token", "maxTokens", "api", "key", "apiKey", "api_key", "passwordFile",
            "password", "Secret", "encryptKey", "privateKey", "serviceAccount", "localService",
            "env", "mode", "contextTokens", "tokenCount", "hooks", "x"]
    checked = 0
    for depth in (1, 2, 3):
        for combo in itertools.product(keys, repeat=depth):
            for name in ("channels", "gateway", "apiToken"):
                path = ".".join((name, *combo))
                value: object = "literal"
                for key in reversed(combo):
                    value = {key: value}
                text = json.dumps(value, sort_keys=True, separators=(",", ":"))
                if is_sensitive_path(path):
                    checked += 1
                    assert _may_hold_secret(name, text), path
    assert checked > 1000
    assert not _may_hold_secret("agents", '{"defaults":{"params":{"maxTokens":4096}}}')
    assert not _may_hold_secret("agents", '{"defaults":{"workspace":"/srv/a"}}')
    assert _may_hold_secret("channels", '{"telegram":{"botToken":"x"}}')
