"""The policy packs shipped with molthub: ``security-baseline`` and ``production-guardrails``.

Built from Python data as :class:`~molthub_gitops.model.documents.PolicyPack` objects (the
pure core reads no files). ``security-baseline`` applies to every bot and holds the critical
and high checks of ``openclaw security audit`` plus Molthub's baseline; ``production-guardrails``
applies to ``prod`` and holds the stricter ones. Every rule says what it checks, why, and how
to fix a finding; ``docs/policy-rules.md`` is generated from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from molthub_gitops.model.documents import PolicyPack

__all__ = ["BUILTIN_PACKS", "PRODUCTION_GUARDRAILS", "SECURITY_BASELINE"]

SECURITY_BASELINE = "security-baseline"
PRODUCTION_GUARDRAILS = "production-guardrails"


def _rule(id: str, type: str, severity: str, description: str, rationale: str, fix: str,
          **extra: Any) -> dict[str, Any]:
    return {"id": id, "type": type, "severity": severity, "description": description,
            "rationale": rationale, "fix": fix, **extra}


_BASELINE_RULES: list[dict[str, Any]] = [
    _rule("gateway-bind-no-auth", "openclaw.gatewayBindNoAuth", "error",
          "The gateway listens beyond loopback without a token or password "
          "(audit: gateway.bind_no_auth).",
          "Anyone who can reach the port gets operator access: config writes, tool runs, "
          "every connected channel.",
          "Set gateway.auth.mode: token and gateway.auth.token: ${OPENCLAW_GATEWAY_TOKEN}, "
          "or bind the gateway to loopback.", waivable=False),
    _rule("gateway-auth-required", "openclaw.gatewayAuthRequired", "error",
          "A loopback gateway has a token or password (audit: gateway.loopback_no_auth).",
          "Local processes, a reverse proxy or the Control UI reach a loopback gateway; without "
          "auth any of them is an operator.",
          "Set gateway.auth.mode: token and gateway.auth.token: ${OPENCLAW_GATEWAY_TOKEN}."),
    _rule("gateway-token-length", "openclaw.gatewayTokenLength", "error",
          "A gateway token or password written in the config has at least 24 characters "
          "(audit: gateway.token_too_short).",
          "Short shared secrets can be guessed; the gateway is full-admin to whoever holds "
          "the token.",
          "Generate a long random token (openssl rand -hex 32), keep it in the secret store "
          "and reference it as ${OPENCLAW_GATEWAY_TOKEN}.",
          params={"minLength": 24}),
    _rule("gateway-password-in-config", "openclaw.gatewayPasswordInConfig", "warning",
          "The gateway password is not written in the config "
          "(audit: config.secrets.gateway_password_in_config).",
          "A password in the config file is in Git, in backups and in every copy of the file.",
          "Use gateway.auth.password: ${OPENCLAW_GATEWAY_PASSWORD}, or token auth."),
    _rule("gateway-bind-all-interfaces", "openclaw.gatewayBindAllInterfaces", "info",
          "The gateway listens on every interface (bind lan/auto or 0.0.0.0).",
          "Every network the host is on can reach the port; fine behind a private network "
          "with token auth, worth knowing everywhere else.",
          "Bind to loopback or the tailnet, or to one private address with bind: custom."),
    _rule("control-ui-insecure-auth", "openclaw.controlUiInsecureAuth", "error",
          "The Control UI keeps device authentication and origin checks "
          "(audit: gateway.control_ui.insecure_auth, gateway.control_ui.device_auth_disabled).",
          "Disabling device auth or trusting the Host header lets a web page or a stolen token "
          "drive the gateway from any browser.",
          "Remove allowInsecureAuth, dangerouslyDisableDeviceAuth and "
          "dangerouslyAllowHostHeaderOriginFallback from gateway.controlUi."),
    _rule("control-ui-allowed-origins", "openclaw.controlUiAllowedOrigins", "error",
          "A Control UI served beyond loopback lists its allowed origins "
          "(audit: gateway.control_ui.allowed_origins_required).",
          "Without an origin allowlist any web site a logged-in operator visits can talk to "
          "the gateway (DNS rebinding, cross-site WebSocket).",
          "Set gateway.controlUi.allowedOrigins to the exact origins, or "
          "gateway.controlUi.enabled: false."),
    _rule("tailscale-funnel", "openclaw.tailscaleFunnel", "error",
          "Tailscale Funnel does not publish the gateway (audit: gateway.tailscale_funnel).",
          "Funnel puts the gateway on the public internet.",
          "Use gateway.tailscale.mode: serve (tailnet only) or off."),
    _rule("dm-policy-open", "openclaw.dmPolicyOpen", "error",
          "No channel or account accepts DMs from anyone (audit: channels.<id>.dm.open).",
          "An open DM policy lets any stranger talk to the agent and its tools; prompt "
          "injection needs nothing more.",
          "Set dmPolicy: pairing (approve each contact) or allowlist with allowFrom."),
    _rule("group-policy-open", "openclaw.groupPolicyOpen", "warning",
          "No channel answers in any group it is added to (groupPolicy open).",
          "Anyone can add the bot to a group and talk to it there.",
          "Set groupPolicy: allowlist and list the groups."),
    _rule("allow-from-wildcard", "openclaw.allowFromWildcard", "error",
          "No channel allowlist holds * (audit: …allowFrom.wildcard).",
          "A * in allowFrom turns the allowlist into open access.",
          "List the sender ids instead of *."),
    _rule("channel-allowlist", "openclaw.channelAllowlist", "warning",
          "A channel with dmPolicy allowlist lists its senders in allowFrom.",
          "An empty allowlist is a configuration mistake: nobody (or an inherited list) gets "
          "in, unnoticed.",
          "List the allowed sender ids in allowFrom, or use dmPolicy: pairing."),
    _rule("elevated-allow-from-wildcard", "openclaw.elevatedAllowFromWildcard", "error",
          "Elevated (host) tools are not open to every sender of a channel "
          "(audit: tools.elevated.allowFrom.<ch>.wildcard).",
          "Elevated tools run commands on the host outside the sandbox; * hands that to "
          "everyone on the channel.",
          "List the few trusted senders in tools.elevated.allowFrom.<channel>, or set "
          "tools.elevated.enabled: false.", waivable=False),
    _rule("open-groups-with-elevated", "openclaw.openGroupsWithElevated", "error",
          "No open DM or group policy while elevated tools are on "
          "(audit: security.exposure.open_groups_with_elevated).",
          "Elevated tools are on unless disabled; with open inbound policies a prompt "
          "injection from any stranger can become a host command.",
          "Set tools.elevated.enabled: false, or make every dmPolicy/groupPolicy pairing or "
          "allowlist."),
    _rule("elevated-needs-allow-from", "openclaw.elevatedNeedsAllowFrom", "error",
          "Enabled elevated tools name who may use them (tools.elevated.allowFrom).",
          "Elevated access must be an explicit, reviewable list of people.",
          "Add tools.elevated.allowFrom.<channel>: [<sender id>], or set "
          "tools.elevated.enabled: false."),
    _rule("plaintext-secrets", "openclaw.plaintextSecrets", "error",
          "No secret (token, password, API key...) is written in the config; secrets are "
          "${VAR} references.",
          "A secret in Git is readable by everyone with the repository, forever (history), "
          "and in every CI log that prints it.",
          "Move the value to the deployment's secret store, write ${VAR} in its place, and "
          "rotate the exposed secret.", waivable=False),
    _rule("hooks-token-length", "openclaw.hooksTokenLength", "warning",
          "A webhook token written in the config has at least 24 characters "
          "(audit: hooks.token_too_short).",
          "Webhooks are reachable by design; a short token can be guessed.",
          "Use a long random token as hooks.token: ${OPENCLAW_HOOKS_TOKEN}.",
          params={"minLength": 24}),
    _rule("hooks-token-reuse", "openclaw.hooksTokenReuse", "error",
          "The webhook token is not the gateway token "
          "(audit: hooks.token_reuse_gateway_token).",
          "Webhook senders hold the hooks token; if it is the gateway token, every sender is "
          "a gateway operator.",
          "Give webhooks their own token (its own ${VAR})."),
    _rule("redaction-off", "openclaw.redactionOff", "warning",
          "Log redaction of secrets is not turned off, in any environment "
          "(audit: logging.redact_off).",
          "Tool output with tokens and keys would land in logs; a dev bot's logs leak the "
          "same credentials a prod bot's do.",
          "Remove logging.redactSensitive: off (OpenClaw 2026.9.6 always redacts)."),
    _rule("sandbox-required", "openclaw.sandboxRequired", "error",
          "Agents run tools in a sandbox (agents.defaults.sandbox.mode non-main or all).",
          "Without a sandbox, exec and file tools act on the host with the gateway's rights.",
          "Set agents.defaults.sandbox.mode: all (or non-main for personal bots).",
          params={"modes": ["non-main", "all"]}),
    _rule("sandbox-hardening", "openclaw.sandboxHardening", "warning",
          "The Docker sandbox has a read-only root, drops all capabilities and no "
          "dangerouslyAllow* escape (no-new-privileges is always set by OpenClaw).",
          "A writable root and kept capabilities make container escapes and persistence "
          "much easier.",
          "Set agents.defaults.sandbox.docker.readOnlyRoot: true and capDrop: [ALL]."),
    _rule("tool-profile-full", "openclaw.toolProfile", "error",
          "No tool profile is full.",
          "The full profile gives the agent every tool, including control-plane ones "
          "(gateway, cron, plugins).",
          "Use tools.profile: messaging, coding or minimal, and allow extra tools one by one.",
          params={"forbidden": ["full"]}),
    _rule("dangerous-tools", "openclaw.dangerousTools", "error",
          "No password-manager or keychain tool (op, bw, pass, gopass, lpass, security...) "
          "is allowed.",
          "An agent that can run the password manager can read every secret of the account, "
          "and a prompt injection can make it.",
          "Remove the command from the tool/exec allowlists; pass the bot only the secrets it "
          "needs as ${VAR} references."),
    _rule("unpinned-skills", "openclaw.unpinnedSkills", "error",
          "Skill and plugin code comes from the bundle or vetted directories only.",
          "Skills are code the agent runs; unvetted or self-approved ones are a supply-chain "
          "hole.",
          "Install skills from the bundle or a vetted read-only directory (add it to the "
          "rule's trustedDirs with a PolicyPack of your own), and keep uploads and "
          "auto-approval off."),
    _rule("file-modes", "openclaw.fileModes", "error",
          "Config files are 0600 and state directories 0700 where molthub writes them "
          "(audit: fs.config.perms_*, fs.state_dir.perms_*).",
          "The config and state hold channel credentials and session transcripts.",
          'Set target.settings.configFileMode: "0600" and stateDirMode: "0700" '
          "(or leave them unset)."),
    _rule("workspace-unique", "unique", "error",
          "Every bot has its own agent workspace.",
          "A shared workspace leaks one bot's files and memory into another's answers.",
          "Use a workspace path with the bot's name, e.g. "
          "/srv/openclaw/{{ bot.name }}/workspace.",
          path="agents.defaults.workspace"),
    _rule("gateway-port-spacing", "portSpacing", "warning",
          "Gateways on one host use ports at least 20 apart.",
          "OpenClaw uses a few ports above gateway.port (browser control, canvas); close "
          "ports collide.",
          "Give each bot on a host its own gateway.port, 20 or more apart.",
          path="gateway.port", params={"minGap": 20}),
]

_GUARDRAIL_RULES: list[dict[str, Any]] = [
    _rule("sandbox-all", "openclaw.sandboxRequired", "error",
          "Production agents sandbox every session (agents.defaults.sandbox.mode: all).",
          "In production even the main session talks to customers; non-main leaves it on "
          "the host.",
          "Set agents.defaults.sandbox.mode: all.", params={"modes": ["all"]}),
    _rule("tool-profile-set", "openclaw.toolProfile", "error",
          "Production bots name a tool profile (messaging, coding or minimal).",
          "Without tools.profile every tool is available, control-plane tools included.",
          "Set tools.profile: messaging (or coding / minimal).",
          params={"forbidden": [], "required": True}),
    _rule("redaction-on", "openclaw.redactionOff", "error",
          "Log redaction of secrets is not off (logging.redactSensitive).",
          "Tool output with tokens and keys would land in logs shipped elsewhere.",
          "Remove logging.redactSensitive: off (OpenClaw 2026.9.6 always redacts)."),
    _rule("image-pinned", "openclaw.imagePinned", "error",
          "Production images are pinned by digest (@sha256:...).",
          "A tag can be moved; a digest names exactly the bits that were reviewed and "
          "scanned, so a rollout cannot pick up an unreviewed image.",
          "Append the digest to target.settings.image: name:tag@sha256:<digest>."),
    _rule("resource-limits", "openclaw.resourceLimits", "error",
          "Production containers have CPU and memory limits within sane bounds.",
          "Unbounded containers let one runaway bot starve its neighbours and the bill.",
          "Set target.settings.cpu and memory within the bounds.",
          params={"minCpu": 256, "maxCpu": 4096, "minMemory": 512, "maxMemory": 16384}),
    _rule("model-temperature", "openclaw.modelGuardrails", "error",
          "Model temperature is at most 1.0 wherever it is set.",
          "High temperatures make tool calls erratic and answers unreviewable.",
          "Set temperature to 1.0 or less (or remove it).",
          params={"maxTemperature": 1.0}),
    _rule("model-max-tokens", "openclaw.modelGuardrails", "error",
          "Production bots bound output tokens per call (agents.defaults.params.maxTokens, at "
          "most 32768 anywhere).",
          "An unbounded answer can run for minutes and cost without limit when a prompt "
          "injection or loop asks for it.",
          "Set agents.defaults.params.maxTokens (e.g. 4096).",
          params={"requireMaxTokens": True, "maxTokens": 32768}),
    _rule("gateway-token-rotation", "openclaw.tokenRotation", "error",
          "The gateway token or password is rotated at least every 90 days "
          "(target.settings.tokenRotationDays).",
          "Long-lived shared secrets outlive the people and machines that knew them.",
          "Set target.settings.tokenRotationDays to 90 or less and rotate in the secret "
          "store on that schedule.", params={"maxDays": 90}),
]


def _pack(name: str, description: str, applies_to: dict[str, Any],
          rules: list[dict[str, Any]]) -> PolicyPack:
    return PolicyPack.model_validate({
        "apiVersion": "molthub/v1",
        "kind": "PolicyPack",
        "metadata": {"name": name, "labels": {"builtin": "true"}},
        "spec": {"description": description, "appliesTo": applies_to, "rules": rules},
    })


BUILTIN_PACKS: Mapping[str, PolicyPack] = MappingProxyType({
    SECURITY_BASELINE: _pack(
        SECURITY_BASELINE,
        "The checks of `openclaw security audit` that make a bot unsafe anywhere, and "
        "Molthub's baseline: gateway auth, channel access, elevated tools, secrets, sandbox, "
        "tools, skills. Always in force.",
        {}, _BASELINE_RULES),
    PRODUCTION_GUARDRAILS: _pack(
        PRODUCTION_GUARDRAILS,
        "Stricter rules for production: full sandbox, pinned images, resource limits, model "
        "guardrails, token rotation, redaction.",
        {"environments": ["prod"]}, _GUARDRAIL_RULES),
})
"""Built-in packs by name."""
