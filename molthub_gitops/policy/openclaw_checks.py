"""OpenClaw security checks as rule types (``openclaw.*``), the offline twin of
``openclaw security audit``.

Each rule type reads the rendered OpenClaw config (or, for the ``target`` checks, the fleet's
deployment target) and reports :class:`~molthub_gitops.policy.rules.Violation` values at the
config path a reviewer must change. Config checks name the top-level sections they read
(``sections``) so the engine evaluates them once per distinct content. Messages never hold a
bot name or a secret value.

Where a check corresponds to a check of ``openclaw security audit`` its summary names the
audit's checkId (``gateway.bind_no_auth``...). The checks read the config only: a credential
counts as configured when the config holds it (a literal, a ``${VAR}`` reference or a secret
reference object); a token the gateway would take from its environment alone is not seen, so
write ``token: ${OPENCLAW_GATEWAY_TOKEN}`` to make it explicit.

Importing this module registers every type in :data:`~molthub_gitops.policy.rules.RULE_TYPES`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from molthub_gitops.model.documents import Rule
from molthub_gitops.model.repository import PathKey
from molthub_gitops.model.sensitive import (
    is_env_reference,
    is_literal_secret,
    is_sensitive_key_path,
    url_has_credentials,
)
from molthub_gitops.policy.rules import (
    BotCheck,
    RuleDefinitionError,
    RuleType,
    Violation,
    register,
)
from molthub_gitops.render.types import RenderedBot

__all__ = [
    "CONTAINER_PROVIDERS",
    "FILE_WRITING_PROVIDERS",
    "OPENCLAW_RULE_TYPES",
    "PASSWORD_MANAGER_COMMANDS",
]

Sections = Mapping[str, Any]
"""Top-level config sections a check reads (section name -> value; absent when unset)."""
ConfigFn = Callable[[Sections], list[Violation]]
TargetFn = Callable[[RenderedBot], list[Violation]]

PASSWORD_MANAGER_COMMANDS: Final = (
    "op", "1password", "1password-cli", "bw", "bws", "bitwarden", "rbw", "pass", "gopass",
    "lpass", "lastpass", "keepassxc-cli", "kpcli", "keepass", "secret-tool", "security",
    "keychain", "dcli", "dashlane", "enpass-cli", "vault",
)
"""Commands, tools and skills that read a password manager or the OS keychain: an agent
allowed to run them can read every secret of the account it runs as."""

CONTAINER_PROVIDERS: Final = ("docker", "aws-ecs", "azure-aci", "gcp-cloud-run", "digitalocean")
"""Providers that run bots from a container image."""

FILE_WRITING_PROVIDERS: Final = ("local", "docker")
"""Providers that write the bot's config file and state directory to a file system we set up."""

_ALL_INTERFACES: Final = frozenset({"0.0.0.0", "::", "[::]", "*"})  # noqa: S104 - values we flag
_DIGEST_RE: Final = re.compile(r"@sha256:[0-9a-f]{64}$")
_MEMORY_RE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)


# --------------------------------------------------------------------------- small readers


def _get(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...`` through dicts; None when any step is missing or not a dict."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _has_credential(value: Any) -> bool:
    """A token/password is configured: a non-empty string (literal or ``${VAR}``) or a secret
    reference object (``{source, provider, id}``)."""
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, dict) and bool(value)


def _literal_string(value: Any) -> str | None:
    """The string when it is written out (not empty, not a ``${VAR}`` reference)."""
    if isinstance(value, str) and value.strip() and not is_env_reference(value):
        return value.strip()
    return None


def _gateway_auth(gateway: Any) -> tuple[str, bool]:
    """(effective auth mode, whether its credential is configured), as the gateway resolves an
    unset mode: token when a token is set, else password when a password is set."""
    auth = _dict(_get(gateway, "auth"))
    mode = auth.get("mode")
    has_token = _has_credential(auth.get("token"))
    has_password = _has_credential(auth.get("password"))
    if mode == "token":
        return "token", has_token
    if mode == "password":
        return "password", has_password
    if mode == "trusted-proxy":
        return "trusted-proxy", True
    if mode == "none":
        return "none", False
    if has_token:
        return "token", True
    if has_password:
        return "password", True
    return "unset", False


def _bind(gateway: Any) -> str:
    bind = _get(gateway, "bind")
    return bind if isinstance(bind, str) else "loopback"


def _channel_blocks(channels: Any) -> Iterator[tuple[PathKey, dict[str, Any]]]:
    """Every dict inside ``channels`` (channels, accounts, groups, topics...) with its path."""
    stack: list[tuple[PathKey, Any]] = [(("channels",), channels)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, dict):
            continue
        yield path, node
        for key in sorted(node, reverse=True):
            if isinstance(node[key], dict):
                stack.append(((*path, key), node[key]))


def _open_inbound(channels: Any) -> list[PathKey]:
    """Paths of every ``dmPolicy``/``groupPolicy`` (and legacy ``dm.policy``) set to open."""
    found: list[PathKey] = []
    for path, block in _channel_blocks(channels):
        for key in ("dmPolicy", "groupPolicy"):
            if block.get(key) == "open":
                found.append((*path, key))
        if path[-1] == "dm" and block.get("policy") == "open":
            found.append((*path, "policy"))
    return sorted(found, key=str)


def _elevated_on(tools: Any) -> bool:
    """Elevated tools are on unless ``tools.elevated.enabled`` is false (OpenClaw's default)."""
    return _get(tools, "elevated", "enabled") is not False


def _strings(value: Any) -> list[tuple[int, str]]:
    if not isinstance(value, list):
        return []
    return [(i, str(v).strip()) for i, v in enumerate(value) if isinstance(v, (str, int, float))]


def _parse_mode(value: Any) -> int | None:
    """A file mode from ``0600``/``"0600"``/``"600"``/``"0o600"`` (YAML reads a bare 0600 as
    the octal number 384, which is the mode itself); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 0o7777 else None
    if isinstance(value, str):
        text = value.strip().lower().removeprefix("0o")
        if re.fullmatch(r"[0-7]{3,4}", text):
            return int(text, 8)
    return None


def _memory_mib(value: Any) -> float | None:
    """Memory in MiB from a number (MiB) or a string with a unit (``512m``, ``1g``, ``2Gi``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        m = _MEMORY_RE.match(value)
        if m is None:
            return None
        number = float(m.group(1))
        unit = (m.group(2) or "m").lower()[:1]
        factor = {"b": 1 / 1024 / 1024, "k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0**2}
        return number * factor[unit]
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _command_name(entry: str) -> str:
    """``/usr/local/bin/op read`` -> ``op``; ``group:op`` stays as is."""
    first = entry.strip().split()[0] if entry.strip() else ""
    return first.rsplit("/", 1)[-1].lower()


# --------------------------------------------------------------------------- params


class _Params:
    """Typed access to a rule's ``params`` that turns mistakes into RuleDefinitionError."""

    def __init__(self, rule: Rule, known: Mapping[str, str]) -> None:
        self.rule = rule
        self.raw = rule.params
        unknown = sorted(set(self.raw) - set(known))
        if unknown:
            allowed = ", ".join(sorted(known)) or "none"
            raise RuleDefinitionError(
                f"unknown parameter {unknown[0]!r} for rule type {rule.type}",
                param=unknown[0], hint=f"parameters of {rule.type}: {allowed}")

    def number(self, name: str, default: float | None, *, minimum: float = 0.0) -> float | None:
        value = self.raw.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            raise RuleDefinitionError(f"{name} must be a number >= {minimum:g}", param=name)
        return float(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw.get(name, default)
        if not isinstance(value, bool):
            raise RuleDefinitionError(f"{name} must be true or false", param=name)
        return value

    def strings(self, name: str, default: Sequence[str]) -> tuple[str, ...]:
        value = self.raw.get(name, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise RuleDefinitionError(f"{name} must be a list of non-empty strings", param=name)
        return tuple(value)

    def choices(self, name: str, default: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
        values = self.strings(name, default)
        bad = [v for v in values if v not in allowed]
        if bad:
            raise RuleDefinitionError(
                f"{name}: {bad[0]!r} is not one of {', '.join(allowed)}", param=name)
        return values


# --------------------------------------------------------------------------- check classes


class _ConfigCheck(BotCheck):
    """A check over some top-level config sections (memoisable by their content)."""

    def __init__(self, sections: frozenset[str], fn: ConfigFn) -> None:
        self.sections = sections
        self._names = sections
        self._dotted = any("." in name for name in sections)
        self._fn = fn

    def check(self, bot: RenderedBot) -> Sequence[Violation]:
        if not self._dotted:
            source: Mapping[str, Any] = bot.section_values or bot.config
            return self._fn({name: source[name] for name in self._names if name in source})
        return self._fn(_read_sections(bot, self._names))


def _read_sections(bot: RenderedBot, names: frozenset[str]) -> dict[str, Any]:
    """The config parts ``names`` declares, shaped as in the config: a top-level section
    whole, a dotted name (``agents.defaults.sandbox``) as just that subtree, so a check reads
    nothing beyond what its memo key covers."""
    held = bot.section_values
    source: Mapping[str, Any] = held if held else bot.config
    out: dict[str, Any] = {}
    for name in sorted(names):
        _project(source, name.split("."), out)
    return out


def _project(source: Any, steps: Sequence[str], out: dict[str, Any]) -> None:
    """Copy into ``out`` the part of ``source`` at ``steps`` (``*``: every entry of a
    mapping), keeping the path to it; the values themselves are shared, not copied."""
    value: Any = source
    for n, step in enumerate(steps):
        if not isinstance(value, Mapping):
            return
        if step == "*":
            for key, child in value.items():
                if isinstance(child, Mapping):
                    _project(child, steps[n + 1:], out.setdefault(key, {}))
            return
        value = value.get(step, _MISSING)
        if value is _MISSING:
            return
        if n < len(steps) - 1:
            out = out.setdefault(step, {})
    out[steps[-1]] = value


_MISSING: Any = object()


class _TargetCheck(BotCheck):
    """A check over the bot's deployment target or gateway access (runs for every bot)."""

    sections = None

    def __init__(self, fn: TargetFn) -> None:
        self._fn = fn

    def check(self, bot: RenderedBot) -> Sequence[Violation]:
        return self._fn(bot)


OPENCLAW_RULE_TYPES: list[str] = []
"""Names of the rule types this module registers, in reference order."""


def _no_path(rule: Rule) -> None:
    if rule.path is not None:
        raise RuleDefinitionError(
            f"rule type {rule.type} takes no path (it knows where to look)",
            hint="remove `path:` from the rule")


def _config_type(name: str, summary: str, sections: Sequence[str],
                 params: Mapping[str, str],
                 build: Callable[[_Params], ConfigFn]) -> None:
    section_set = frozenset(sections)

    def compile_rule(rule: Rule) -> BotCheck:
        _no_path(rule)
        return _ConfigCheck(section_set, build(_Params(rule, params)))

    register(RuleType(name=name, summary=summary, compile=compile_rule, params=dict(params),
                      category="openclaw"))
    OPENCLAW_RULE_TYPES.append(name)


def _target_type(name: str, summary: str, params: Mapping[str, str],
                 build: Callable[[_Params], TargetFn]) -> None:
    def compile_rule(rule: Rule) -> BotCheck:
        _no_path(rule)
        return _TargetCheck(build(_Params(rule, params)))

    register(RuleType(name=name, summary=summary, compile=compile_rule, params=dict(params),
                      category="openclaw"))
    OPENCLAW_RULE_TYPES.append(name)


# --------------------------------------------------------------------------- gateway


def _bind_no_auth(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        gateway = s.get("gateway")
        bind = _bind(gateway)
        _, has_auth = _gateway_auth(gateway)
        if bind == "loopback" or has_auth:
            return []
        return [Violation(
            ("gateway", "bind"),
            f"the gateway listens beyond loopback (bind {bind}) without a token or password",
            "set gateway.auth.mode: token with gateway.auth.token: ${OPENCLAW_GATEWAY_TOKEN}, "
            "or bind to loopback")]
    return check


_config_type(
    "openclaw.gatewayBindNoAuth",
    "The gateway binds beyond loopback (lan, tailnet, auto, custom) without a token or "
    "password (audit: gateway.bind_no_auth, gateway.http.no_auth; critical).",
    ["gateway"], {}, _bind_no_auth)


def _auth_required(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        gateway = s.get("gateway")
        if _bind(gateway) != "loopback":
            return []  # openclaw.gatewayBindNoAuth reports exposed gateways
        mode, has_auth = _gateway_auth(gateway)
        if has_auth:
            return []
        if mode == "none":
            return [Violation(("gateway", "auth", "mode"),
                              "gateway auth is off (mode none)",
                              "set gateway.auth.mode: token and gateway.auth.token: "
                              "${OPENCLAW_GATEWAY_TOKEN}")]
        where: PathKey = ("gateway", "auth", mode) if mode in ("token", "password") else (
            "gateway", "auth")
        return [Violation(where, f"gateway auth has no {mode if mode != 'unset' else 'token'}"
                          " configured",
                          "set gateway.auth.token: ${OPENCLAW_GATEWAY_TOKEN}")]
    return check


_config_type(
    "openclaw.gatewayAuthRequired",
    "A loopback gateway still needs a token or password: the Control UI, HTTP APIs and local "
    "processes reach it (audit: gateway.loopback_no_auth, gateway.http.no_auth). Exposed "
    "gateways are left to openclaw.gatewayBindNoAuth.",
    ["gateway"], {}, _auth_required)


def _credential_length(p: _Params) -> ConfigFn:
    minimum = int(p.number("minLength", 24, minimum=1) or 24)

    def check(s: Sections) -> list[Violation]:
        gateway = s.get("gateway")
        mode, _ = _gateway_auth(gateway)
        if mode not in ("token", "password"):
            return []
        literal = _literal_string(_get(gateway, "auth", mode))
        if literal is None or len(literal) >= minimum:
            return []
        return [Violation(
            ("gateway", "auth", mode),
            f"the gateway {mode} is written in the config and has {len(literal)} characters "
            f"(at least {minimum} needed)",
            f"use a long random {mode} (openssl rand -hex 32) kept out of Git: "
            f"gateway.auth.{mode}: ${{OPENCLAW_GATEWAY_{mode.upper()}}}")]
    return check


_config_type(
    "openclaw.gatewayTokenLength",
    "A gateway token or password written in the config is shorter than minLength characters "
    "(audit: gateway.token_too_short, gateway.password_too_short). ${VAR} references are not "
    "judged: their value is not in Git.",
    ["gateway"], {"minLength": "Least number of characters (default 24)."},
    _credential_length)


def _bind_all_interfaces(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        gateway = s.get("gateway")
        bind = _bind(gateway)
        if bind in ("lan", "auto"):
            return [Violation(("gateway", "bind"),
                              f"the gateway listens on every interface (bind {bind})",
                              "bind to loopback or tailnet, or to one private address with "
                              "bind: custom and gateway.customBindHost")]
        host = _get(gateway, "customBindHost")
        if bind == "custom" and isinstance(host, str) and host.strip() in _ALL_INTERFACES:
            return [Violation(("gateway", "customBindHost"),
                              f"the gateway listens on every interface ({host.strip()})",
                              "bind to loopback, tailnet or one private address")]
        return []
    return check


_config_type(
    "openclaw.gatewayBindAllInterfaces",
    "The gateway listens on every network interface (bind lan or auto, or a custom bind to "
    "0.0.0.0 / ::) instead of loopback, the tailnet or one private address.",
    ["gateway"], {}, _bind_all_interfaces)


def _password_in_config(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        if _literal_string(_get(s.get("gateway"), "auth", "password")) is None:
            return []
        return [Violation(("gateway", "auth", "password"),
                          "the gateway password is stored in the config",
                          "use gateway.auth.password: ${OPENCLAW_GATEWAY_PASSWORD}, or token "
                          "auth with a ${VAR} token")]
    return check


_config_type(
    "openclaw.gatewayPasswordInConfig",
    "The gateway password is written in the config file instead of a ${VAR} reference "
    "(audit: config.secrets.gateway_password_in_config).",
    ["gateway"], {}, _password_in_config)


def _control_ui_insecure(_: _Params) -> ConfigFn:
    flags = (
        ("allowInsecureAuth", "the Control UI accepts insecure (non-device) auth",
         "gateway.control_ui.insecure_auth"),
        ("dangerouslyDisableDeviceAuth", "the Control UI skips device authentication",
         "gateway.control_ui.device_auth_disabled"),
        ("dangerouslyAllowHostHeaderOriginFallback",
         "the Control UI trusts the Host header as its origin",
         "gateway.control_ui.host_header_origin_fallback"),
    )

    def check(s: Sections) -> list[Violation]:
        ui = _get(s.get("gateway"), "controlUi")
        return [Violation(("gateway", "controlUi", key), message,
                          f"remove gateway.controlUi.{key} (or set it to false)")
                for key, message, _ in flags if _get(ui, key) is True]
    return check


_config_type(
    "openclaw.controlUiInsecureAuth",
    "The Control UI weakens browser authentication: allowInsecureAuth, "
    "dangerouslyDisableDeviceAuth or dangerouslyAllowHostHeaderOriginFallback is true "
    "(audit: gateway.control_ui.insecure_auth, gateway.control_ui.device_auth_disabled, "
    "gateway.control_ui.host_header_origin_fallback).",
    ["gateway"], {}, _control_ui_insecure)


def _control_ui_origins(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        gateway = s.get("gateway")
        ui = _dict(_get(gateway, "controlUi"))
        if ui.get("enabled") is False:
            return []
        out: list[Violation] = []
        origins = _strings(ui.get("allowedOrigins"))
        for index, origin in origins:
            if origin == "*":
                out.append(Violation(("gateway", "controlUi", "allowedOrigins", index),
                                     "the Control UI allows every browser origin (*)",
                                     "list the exact origins, e.g. https://control.example.com"))
        fallback = ui.get("dangerouslyAllowHostHeaderOriginFallback") is True
        if _bind(gateway) != "loopback" and not [o for _, o in origins if o] and not fallback:
            out.append(Violation(
                ("gateway", "controlUi"),
                "the Control UI is enabled on a non-loopback gateway without allowedOrigins",
                "set gateway.controlUi.allowedOrigins to the trusted origins, or "
                "gateway.controlUi.enabled: false"))
        return out
    return check


_config_type(
    "openclaw.controlUiAllowedOrigins",
    "The Control UI (on unless gateway.controlUi.enabled is false) is served beyond loopback "
    "without explicit allowedOrigins, or allows every origin with * (audit: "
    "gateway.control_ui.allowed_origins_required, gateway.control_ui.allowed_origins_wildcard).",
    ["gateway"], {}, _control_ui_origins)


def _tailscale_funnel(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        out: list[Violation] = []
        if _get(s.get("gateway"), "tailscale", "mode") == "funnel":
            out.append(Violation(("gateway", "tailscale", "mode"),
                                 "Tailscale Funnel publishes the gateway on the internet",
                                 "use gateway.tailscale.mode: serve (tailnet only) or off"))
        if _get(s.get("hooks"), "gmail", "tailscale", "mode") == "funnel":
            out.append(Violation(("hooks", "gmail", "tailscale", "mode"),
                                 "Tailscale Funnel publishes the Gmail hook on the internet",
                                 "use hooks.gmail.tailscale.mode: serve or off"))
        return out
    return check


_config_type(
    "openclaw.tailscaleFunnel",
    "Tailscale Funnel exposes the gateway (or the Gmail hook) to the public internet "
    "(audit: gateway.tailscale_funnel; critical).",
    ["gateway", "hooks"], {}, _tailscale_funnel)


# --------------------------------------------------------------------------- channels


def _dm_open(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        return [Violation(path, "anyone can message the bot directly (DM policy open)",
                          "set the DM policy to pairing (or allowlist with allowFrom)")
                for path in _open_inbound(s.get("channels")) if path[-1] != "groupPolicy"]
    return check


_config_type(
    "openclaw.dmPolicyOpen",
    "A channel or account accepts direct messages from anyone: dmPolicy (or legacy "
    "dm.policy) is open (audit: channels.<id>.dm.open; critical).",
    ["channels"], {}, _dm_open)


def _group_open(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        return [Violation(path, "the bot answers in any group it is added to "
                          "(group policy open)",
                          "set the group policy to allowlist and list the groups")
                for path in _open_inbound(s.get("channels")) if path[-1] == "groupPolicy"]
    return check


_config_type(
    "openclaw.groupPolicyOpen",
    "A channel, account or group answers in any group it is added to: groupPolicy is open.",
    ["channels"], {}, _group_open)


def _allow_from_wildcard(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        out: list[Violation] = []
        for path, block in _channel_blocks(s.get("channels")):
            for key in sorted(block):
                if not key.lower().endswith("allowfrom"):
                    continue
                for index, entry in _strings(block[key]):
                    if entry == "*":
                        out.append(Violation((*path, key, index),
                                             f"{key} lets every sender in (*)",
                                             "list the sender ids instead of *"))
        return out
    return check


_config_type(
    "openclaw.allowFromWildcard",
    "A channel allowlist (allowFrom, groupAllowFrom, per account, group or topic) holds * and "
    "so lets everyone in (audit: channels.<id>.*.allowFrom.wildcard).",
    ["channels"], {}, _allow_from_wildcard)


def _channel_allowlist(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        out: list[Violation] = []
        for path, block in _channel_blocks(s.get("channels")):
            if block.get("dmPolicy") == "allowlist" and not [
                    e for _, e in _strings(block.get("allowFrom")) if e]:
                out.append(Violation(
                    (*path, "dmPolicy"),
                    "the DM policy is allowlist but allowFrom lists nobody",
                    "list the allowed sender ids in allowFrom, or use dmPolicy: pairing"))
        return out
    return check


_config_type(
    "openclaw.channelAllowlist",
    "A channel or account with dmPolicy allowlist has no allowFrom entries, so the allowlist "
    "is empty or inherited by accident.",
    ["channels"], {}, _channel_allowlist)


# --------------------------------------------------------------------------- elevated tools


def _elevated_wildcard(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        tools = s.get("tools")
        if not _elevated_on(tools):
            return []
        out: list[Violation] = []
        allow = _dict(_get(tools, "elevated", "allowFrom"))
        for channel in sorted(allow):
            for index, entry in _strings(allow[channel]):
                if entry == "*":
                    out.append(Violation(
                        ("tools", "elevated", "allowFrom", channel, index),
                        f"every {channel} sender may run elevated tools (*)",
                        "list the few trusted sender ids, or set tools.elevated.enabled: false"))
        return out
    return check


_config_type(
    "openclaw.elevatedAllowFromWildcard",
    "tools.elevated.allowFrom.<channel> holds *, so anyone on that channel may run elevated "
    "(host) commands (audit: tools.elevated.allowFrom.<ch>.wildcard; critical).",
    ["tools"], {}, _elevated_wildcard)


def _open_groups_elevated(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        if not _elevated_on(s.get("tools")):
            return []
        return [Violation(path, "an open DM or group policy while elevated tools are on",
                          "set tools.elevated.enabled: false, or make the policy pairing / "
                          "allowlist")
                for path in _open_inbound(s.get("channels"))]
    return check


_config_type(
    "openclaw.openGroupsWithElevated",
    "An open DM or group policy while elevated tools are on (they are unless "
    "tools.elevated.enabled is false): a prompt injection from any stranger can reach host "
    "commands (audit: security.exposure.open_groups_with_elevated; critical).",
    ["channels", "tools"], {}, _open_groups_elevated)


def _elevated_allow_from(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        elevated = _dict(_get(s.get("tools"), "elevated"))
        if elevated.get("enabled") is not True:
            return []
        allow = _dict(elevated.get("allowFrom"))
        if any(e for v in allow.values() for _, e in _strings(v)):
            return []
        return [Violation(("tools", "elevated", "enabled"),
                          "elevated tools are enabled without an allowFrom list",
                          "list the trusted senders under tools.elevated.allowFrom.<channel>, or "
                          "set tools.elevated.enabled: false")]
    return check


_config_type(
    "openclaw.elevatedNeedsAllowFrom",
    "tools.elevated.enabled is true but tools.elevated.allowFrom names no sender.",
    ["tools"], {}, _elevated_allow_from)


# --------------------------------------------------------------------------- logging, secrets


def _redaction_off(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        if _get(s.get("logging"), "redactSensitive") == "off":
            return [Violation(("logging", "redactSensitive"),
                              "log redaction of secrets is off",
                              "set logging.redactSensitive: tools (or remove it)")]
        return []
    return check


_config_type(
    "openclaw.redactionOff",
    "logging.redactSensitive is off, so tool output with secrets reaches the logs "
    "(audit: logging.redact_off). OpenClaw 2026.9.6 removed the setting and always redacts; "
    "the check then finds nothing.",
    ["logging"], {}, _redaction_off)


def _secret_ref_object(value: Any) -> bool:
    return isinstance(value, dict) and "source" in value and "id" in value and len(value) <= 3


_PLAINTEXT_HINT = ("move the value to the deployment's secret store and write a ${VAR} "
                   "reference here; rotate the exposed secret")


_SECRET_WORDS = ("password", "secret", "encrypt", "private", "serviceaccount", "localservice")
"""Words of OpenClaw's sensitive-path heuristic
(:func:`molthub_gitops.model.sensitive.is_sensitive_path`) that may occur anywhere in a path;
``token$`` and ``api.?key`` are tested apart (a test keeps this in step with the heuristic)."""


def _may_hold_secret(name: str, text: str) -> bool:
    """False when no key path in a section (its canonical JSON ``text``) can be sensitive, so
    the section need not be walked. Cheap (substring tests in C). Conservative: ``token$``
    needs a key ending in ``token`` (``token":`` in canonical JSON, where only keys are
    followed by a colon; counters such as ``maxTokens`` do not end so), ``api.?key`` needs both
    ``api`` and ``key``, the other patterns their word."""
    lower = text.lower()
    head = name.lower()
    if head.endswith("token") or 'token":' in lower:
        return True
    both = head + "." + lower
    if "api" in both and "key" in both:
        return True
    return any(word in both for word in _SECRET_WORDS)


class _PlaintextCheck(BotCheck):
    """Literal secrets anywhere in the config.

    It reads every section, so the engine runs it per bot; it memoises instead by what the
    renderer shares: a section's canonical text, and below that each container object (the
    renderer hands bots of a fleet the same objects for untemplated subtrees, so a bot whose
    ``agents`` section is its own because of its workspace path still shares the rest). The
    memo lives in the compiled check, one evaluation long, and holds the objects it keys by
    ``id`` so no id is reused while it is alive."""

    sections = None

    def __init__(self) -> None:
        self._by_text: dict[tuple[str, str], tuple[PathKey, ...]] = {}
        self._by_node: dict[tuple[int, tuple[str, ...]], tuple[Any, tuple[PathKey, ...]]] = {}
        self._sensitive: dict[tuple[str, ...], bool] = {}

    def check(self, bot: RenderedBot) -> Sequence[Violation]:
        texts = bot.section_json
        values: Mapping[str, Any] = bot.section_values or bot.config
        out: list[Violation] = []
        for name in sorted(values):
            if name == "meta":
                continue
            text = texts.get(name) if texts else None
            found = self._by_text.get((name, text)) if text is not None else None
            if found is None and text is not None and not _may_hold_secret(name, text):
                found = self._by_text[(name, text)] = ()
            if found is None:
                found = tuple((name, *rel) for rel in self._scan_section(name, values[name]))
                if text is not None:
                    self._by_text[(name, text)] = found
            for path in found:
                shown = ".".join(str(p) for p in path)
                out.append(Violation(path, f"a secret is written in plain text at {shown}",
                                     _PLAINTEXT_HINT))
        if url_has_credentials(bot.gateway_url):
            out.append(Violation(
                ("url",), "the gateway URL holds a password (user:password@host)",
                "remove the credentials from the URL; the engine authenticates with the secret "
                "reference under gateway.secret", subject="gateway"))
        settings = bot.target.settings
        if settings:
            for rel in self._scan(settings, ("settings",)):
                path = ("settings", *rel)
                shown = ".".join(str(p) for p in path)
                out.append(Violation(
                    path, f"a secret is written in plain text at target {shown}",
                    "name it by reference (the provider's secret store) instead of writing "
                    "the value; rotate the exposed secret", subject="target"))
        return out

    def _scan_section(self, name: str, value: Any) -> tuple[PathKey, ...]:
        """Literal secrets of one top-level section (paths relative to the section)."""
        if name == "secrets":
            # It configures secret providers: judge its paths without the section name, which
            # alone would make every key look sensitive.
            return self._scan(value, ())
        if name == "plugins" and isinstance(value, dict):
            # A plugin's name (onepassword, keychain...) says what it talks to, not that its
            # settings are secrets: judge each plugin's block without its name.
            found: list[PathKey] = []
            for key in sorted(value):
                child = value[key]
                if key == "entries" and isinstance(child, dict):
                    for plugin in sorted(child):
                        found.extend(("entries", plugin, *sub) for sub in
                                     self._scan(child[plugin], ("plugins", "entries")))
                elif isinstance(child, dict | list):
                    found.extend((key, *sub) for sub in self._scan(child, ("plugins", key)))
                elif is_literal_secret(("plugins", key), child):
                    found.append((key,))
            return tuple(found)
        return self._scan(value, (name,))

    def _scan(self, node: Any, keys: tuple[str, ...]) -> tuple[PathKey, ...]:
        """Paths (relative to ``node``) of the literal secrets in ``node``, found at the key
        path ``keys`` (list indices left out, as OpenClaw's heuristic reads them)."""
        if isinstance(node, dict | list):
            memo_key = (id(node), keys)
            hit = self._by_node.get(memo_key)
            if hit is not None and hit[0] is node:
                return hit[1]
            found: list[PathKey] = []
            items: Iterable[tuple[str | int, Any]]
            if isinstance(node, dict):
                items = () if _secret_ref_object(node) else sorted(node.items())
            else:
                items = enumerate(node)
            for step, child in items:
                child_keys = (*keys, step) if isinstance(step, str) else keys
                if isinstance(child, dict | list):
                    found.extend((step, *sub) for sub in self._scan(child, child_keys))
                elif (child is not None and child_keys and self._is_sensitive(child_keys)
                      and is_literal_secret(child_keys, child)):
                    found.append((step,))
            result = tuple(found)
            self._by_node[memo_key] = (node, result)
            return result
        if node is not None and keys and self._is_sensitive(keys) and is_literal_secret(
                keys, node):
            return ((),)
        return ()

    def _is_sensitive(self, keys: tuple[str, ...]) -> bool:
        hit = self._sensitive.get(keys)
        if hit is None:
            hit = self._sensitive[keys] = is_sensitive_key_path(keys)
        return hit


def _compile_plaintext(rule: Rule) -> BotCheck:
    _no_path(rule)
    _Params(rule, {})
    return _PlaintextCheck()


register(RuleType(
    name="openclaw.plaintextSecrets",
    summary="A secret-looking config value (token, password, secret, API key... by OpenClaw's "
            "own heuristic; strings and numbers) is written out instead of a ${VAR} reference "
            "(audit: config.secrets.*_in_config); so is a password in the gateway URL or a "
            "secret in the target's settings. Findings never show the value.",
    compile=_compile_plaintext, category="openclaw"))
OPENCLAW_RULE_TYPES.append("openclaw.plaintextSecrets")


def _hooks_token_length(p: _Params) -> ConfigFn:
    minimum = int(p.number("minLength", 24, minimum=1) or 24)

    def check(s: Sections) -> list[Violation]:
        hooks = _dict(s.get("hooks"))
        literal = _literal_string(hooks.get("token"))
        if hooks.get("enabled") is not True or literal is None or len(literal) >= minimum:
            return []
        return [Violation(("hooks", "token"),
                          f"the hooks token is written in the config and has {len(literal)} "
                          f"characters (at least {minimum} needed)",
                          "use a long random token kept out of Git: hooks.token: "
                          "${OPENCLAW_HOOKS_TOKEN}")]
    return check


_config_type(
    "openclaw.hooksTokenLength",
    "Webhooks are enabled with a hooks.token written in the config that is shorter than "
    "minLength characters (audit: hooks.token_too_short).",
    ["hooks"], {"minLength": "Least number of characters (default 24)."}, _hooks_token_length)


def _hooks_token_reuse(_: _Params) -> ConfigFn:
    def check(s: Sections) -> list[Violation]:
        hooks = _dict(s.get("hooks"))
        token = hooks.get("token")
        if hooks.get("enabled") is not True or not isinstance(token, str) or not token.strip():
            return []
        auth = _dict(_get(s.get("gateway"), "auth"))
        for kind in ("token", "password"):
            other = auth.get(kind)
            if isinstance(other, str) and other.strip() == token.strip():
                return [Violation(("hooks", "token"),
                                  f"the hooks token is the gateway {kind}",
                                  "give webhooks their own token (its own ${VAR})")]
        return []
    return check


_config_type(
    "openclaw.hooksTokenReuse",
    "hooks.token is the same value (or the same ${VAR}) as the gateway token or password, so a "
    "leaked webhook secret opens the whole gateway (audit: hooks.token_reuse_gateway_token; "
    "critical).",
    ["hooks", "gateway"], {}, _hooks_token_reuse)


# --------------------------------------------------------------------------- sandbox, tools


def _agent_entries(agents: Any) -> list[tuple[str, dict[str, Any]]]:
    entries = _dict(_get(agents, "entries"))
    return [(k, v) for k, v in sorted(entries.items()) if isinstance(v, dict)]


def _sandbox_required(p: _Params) -> ConfigFn:
    modes = p.choices("modes", ["non-main", "all"], ["off", "non-main", "all"])
    wanted = " or ".join(modes)

    def check(s: Sections) -> list[Violation]:
        agents = s.get("agents")
        out: list[Violation] = []
        mode = _get(agents, "defaults", "sandbox", "mode")
        shown = mode if isinstance(mode, str) else "off (default)"
        if (mode if isinstance(mode, str) else "off") not in modes:
            out.append(Violation(("agents", "defaults", "sandbox", "mode"),
                                 f"agent sandbox mode is {shown}; {wanted} required",
                                 f"set agents.defaults.sandbox.mode: {modes[-1]}"))
        for agent, entry in _agent_entries(agents):
            own = _get(entry, "sandbox", "mode")
            if isinstance(own, str) and own not in modes:
                out.append(Violation(("agents", "entries", agent, "sandbox", "mode"),
                                     f"an agent's sandbox mode is {own}; {wanted} required",
                                     "remove the agent's sandbox.mode or set it to "
                                     f"{modes[-1]}"))
        return out
    return check


_config_type(
    "openclaw.sandboxRequired",
    "Agents run tools inside a sandbox: agents.defaults.sandbox.mode (default off) and every "
    "agent's own sandbox.mode must be one of `modes`.",
    ["agents.defaults.sandbox", "agents.entries.*.sandbox"],
    {"modes": "Allowed sandbox modes (default [non-main, all])."},
    _sandbox_required)


def _sandbox_hardening(_: _Params) -> ConfigFn:
    dangerous = ("dangerouslyAllowContainerNamespaceJoin", "dangerouslyAllowExternalBindSources",
                 "dangerouslyAllowReservedContainerTargets")

    def docker_problems(base: PathKey, docker: dict[str, Any], *, full: bool
                        ) -> list[Violation]:
        out: list[Violation] = []
        if (full and docker.get("readOnlyRoot") is not True) or docker.get("readOnlyRoot") is False:
            out.append(Violation((*base, "readOnlyRoot"),
                                 "the sandbox container's root file system is writable",
                                 "set sandbox.docker.readOnlyRoot: true"))
        caps = docker.get("capDrop")
        if (full or caps is not None) and "ALL" not in [c.upper() for _, c in _strings(caps)]:
            out.append(Violation((*base, "capDrop"),
                                 "the sandbox container keeps Linux capabilities",
                                 "set sandbox.docker.capDrop: [ALL]"))
        if docker.get("network") == "host":
            out.append(Violation((*base, "network"),
                                 "the sandbox container shares the host network",
                                 "set sandbox.docker.network: none (or a bridge network)"))
        for key in dangerous:
            if docker.get(key) is True:
                out.append(Violation((*base, key), f"the sandbox sets {key}",
                                     f"remove sandbox.docker.{key}"))
        return out

    def check(s: Sections) -> list[Violation]:
        agents = s.get("agents")
        sandbox = _dict(_get(agents, "defaults", "sandbox"))
        if sandbox.get("mode") in (None, "off") or sandbox.get("backend") not in (None, "docker"):
            return []
        base: PathKey = ("agents", "defaults", "sandbox", "docker")
        out = docker_problems(base, _dict(sandbox.get("docker")), full=True)
        for agent, entry in _agent_entries(agents):
            own = _get(entry, "sandbox", "docker")
            if isinstance(own, dict):
                out.extend(docker_problems(("agents", "entries", agent, "sandbox", "docker"),
                                           own, full=False))
        return out
    return check


_config_type(
    "openclaw.sandboxHardening",
    "A Docker sandbox (mode non-main or all) runs with a read-only root file system "
    "(sandbox.docker.readOnlyRoot: true), drops every capability (capDrop: [ALL]), does not "
    "share the host network and sets none of the dangerouslyAllow* escapes; agents may not "
    "loosen that. OpenClaw always adds no-new-privileges itself (no setting exists).",
    ["agents.defaults.sandbox", "agents.entries.*.sandbox"], {},
    _sandbox_hardening)


def _tool_profile(p: _Params) -> ConfigFn:
    forbidden = p.choices("forbidden", ["full"], ["minimal", "coding", "messaging", "full"])
    required = p.flag("required", False)

    def bad(path: PathKey, value: Any) -> list[Violation]:
        if value in forbidden:
            return [Violation(path, f"the tool profile is {value}",
                              "use a narrower profile (messaging, coding or minimal)")]
        return []

    def check(s: Sections) -> list[Violation]:
        tools = _dict(s.get("tools"))
        out: list[Violation] = []
        profile = tools.get("profile")
        if profile is None and required:
            out.append(Violation(("tools", "profile"),
                                 "no tool profile is set, so every tool is available",
                                 "set tools.profile: messaging, coding or minimal"))
        out.extend(bad(("tools", "profile"), profile))
        for provider, block in sorted(_dict(tools.get("byProvider")).items()):
            out.extend(bad(("tools", "byProvider", provider, "profile"),
                           _get(block, "profile")))
        for agent, entry in _agent_entries(s.get("agents")):
            out.extend(bad(("agents", "entries", agent, "tools", "profile"),
                           _get(entry, "tools", "profile")))
        return out
    return check


_config_type(
    "openclaw.toolProfile",
    "No tool profile in `forbidden` (default: full) in tools.profile, "
    "tools.byProvider.<p>.profile or an agent's tools.profile; with required, tools.profile "
    "must be set (without one every tool is on).",
    ["tools", "agents.entries.*.tools"],
    {"forbidden": "Profiles not allowed (default [full]).",
     "required": "tools.profile must be set (default false)."},
    _tool_profile)


_TOOL_LISTS: Final = ("allow", "alsoAllow")


def _tool_list_paths(s: Sections) -> Iterator[tuple[PathKey, Any]]:
    """Every list of allowed tools or commands, with its path."""
    tools = _dict(s.get("tools"))
    for key in _TOOL_LISTS:
        yield ("tools", key), tools.get(key)
    for group in ("sandbox", "subagents"):
        for key in _TOOL_LISTS:
            yield ("tools", group, "tools", key), _get(tools, group, "tools", key)
    for group in ("byProvider", "toolsBySender"):
        for name, block in sorted(_dict(tools.get(group)).items()):
            for key in _TOOL_LISTS:
                yield ("tools", group, name, key), _get(block, key)
    yield ("tools", "exec", "safeBins"), _get(tools, "exec", "safeBins")
    yield ("gateway", "nodes", "commands", "allow"), _get(s.get("gateway"), "nodes", "commands",
                                                           "allow")
    yield ("gateway", "tools", "allow"), _get(s.get("gateway"), "tools", "allow")
    for agent, entry in _agent_entries(s.get("agents")):
        for key in _TOOL_LISTS:
            yield ("agents", "entries", agent, "tools", key), _get(entry, "tools", key)
    yield ("skills", "allowBundled"), _get(s.get("skills"), "allowBundled")


def _dangerous_tools(p: _Params) -> ConfigFn:
    commands = frozenset(c.lower() for c in p.strings("commands", PASSWORD_MANAGER_COMMANDS))

    def check(s: Sections) -> list[Violation]:
        out: list[Violation] = []
        for path, value in _tool_list_paths(s):
            for index, entry in _strings(value):
                name = _command_name(entry)
                if name in commands:
                    out.append(Violation((*path, index),
                                         f"the agent may run {name}, a password-manager tool",
                                         "remove it; give the bot only the secrets it needs "
                                         "as ${VAR} references"))
        for key in sorted(_dict(_get(s.get("tools"), "exec", "safeBinProfiles"))):
            if _command_name(key) in commands:
                out.append(Violation(("tools", "exec", "safeBinProfiles", key),
                                     f"the agent may run {_command_name(key)}, a "
                                     "password-manager tool", "remove the profile"))
        for key, entry in sorted(_dict(_get(s.get("skills"), "entries")).items()):
            if key.lower() in commands and _get(entry, "enabled") is not False:
                out.append(Violation(("skills", "entries", key),
                                     f"the {key} skill gives the agent a password manager",
                                     f"remove skills.entries.{key} or set enabled: false"))
        return out
    return check


_config_type(
    "openclaw.dangerousTools",
    "No password-manager or keychain command (op, bw, pass, gopass, lpass, keepassxc-cli, "
    "secret-tool, security...) in the allowed tools, exec safe bins, node commands, "
    "bundled-skill allowlist or enabled skills.",
    ["tools", "gateway", "agents.entries.*.tools", "skills"],
    {"commands": "Command, tool and skill names to forbid (default: the password-manager "
                 "list)."},
    _dangerous_tools)


def _unpinned_skills(p: _Params) -> ConfigFn:
    trusted = p.strings("trustedDirs", [])

    def untrusted(path: PathKey, value: Any, what: str) -> list[Violation]:
        return [Violation((*path, index),
                          f"{what} are loaded from {entry}, outside the vetted directories",
                          "install skills from the bundle or a vetted, read-only directory "
                          "listed in the rule's trustedDirs")
                for index, entry in _strings(value)
                if entry and not any(fnmatch.fnmatchcase(entry, g) for g in trusted)]

    def check(s: Sections) -> list[Violation]:
        skills = s.get("skills")
        out = untrusted(("skills", "load", "extraDirs"), _get(skills, "load", "extraDirs"),
                        "skills")
        out.extend(untrusted(("plugins", "load", "paths"),
                             _get(s.get("plugins"), "load", "paths"), "plugins"))
        if _get(skills, "install", "allowUploadedArchives") is True:
            out.append(Violation(("skills", "install", "allowUploadedArchives"),
                                 "uploaded skill archives are installed unchecked",
                                 "set skills.install.allowUploadedArchives: false"))
        if _get(skills, "workshop", "approvalPolicy") == "auto":
            out.append(Violation(("skills", "workshop", "approvalPolicy"),
                                 "skills the agent writes are approved automatically",
                                 "set skills.workshop.approvalPolicy: pending"))
        if _get(skills, "workshop", "autonomous", "mode") == "auto":
            out.append(Violation(("skills", "workshop", "autonomous", "mode"),
                                 "the agent installs skills it writes itself",
                                 "set skills.workshop.autonomous.mode: propose or off"))
        return out
    return check


_config_type(
    "openclaw.unpinnedSkills",
    "Skill and plugin code from outside the bundle must be vetted: OpenClaw 2026.9.6 has no "
    "sha256 integrity field for skills, so this flags the ways unpinned code gets in: "
    "skills.load.extraDirs and plugins.load.paths outside trustedDirs, uploaded archives "
    "(skills.install.allowUploadedArchives) and auto-approved self-written skills "
    "(skills.workshop).",
    ["skills", "plugins"],
    {"trustedDirs": "Globs of vetted, read-only directories skills/plugins may come from "
                    "(default none)."},
    _unpinned_skills)


# --------------------------------------------------------------------------- models


def _model_param_blocks(s: Sections) -> Iterator[tuple[PathKey, dict[str, Any]]]:
    """Every model parameter block (temperature, maxTokens...) with its path."""
    agents = s.get("agents")
    yield ("agents", "defaults", "params"), _dict(_get(agents, "defaults", "params"))
    for model, entry in sorted(_dict(_get(agents, "defaults", "models")).items()):
        yield ("agents", "defaults", "models", model, "params"), _dict(_get(entry, "params"))
    for agent, entry in _agent_entries(agents):
        yield ("agents", "entries", agent, "params"), _dict(entry.get("params"))
    for provider, block in sorted(_dict(_get(s.get("models"), "providers")).items()):
        base: PathKey = ("models", "providers", provider)
        yield (*base, "params"), _dict(_get(block, "params"))
        yield base, {"maxTokens": _get(block, "maxTokens")}
        models = _get(block, "models")
        for index, model in enumerate(models if isinstance(models, list) else []):
            yield (*base, "models", index, "params"), _dict(_get(model, "params"))
            yield (*base, "models", index), {"maxTokens": _get(model, "maxTokens")}


def _model_guardrails(p: _Params) -> ConfigFn:
    max_temperature = p.number("maxTemperature", None)
    max_tokens = p.number("maxTokens", None, minimum=1)
    require = p.flag("requireMaxTokens", False)
    if max_temperature is None and max_tokens is None and not require:
        raise RuleDefinitionError(
            "give at least one of maxTemperature, maxTokens, requireMaxTokens",
            hint="e.g. params: {maxTemperature: 1.0}")

    def check(s: Sections) -> list[Violation]:
        out: list[Violation] = []
        for path, block in _model_param_blocks(s):
            temperature = _number(block.get("temperature"))
            if (max_temperature is not None and temperature is not None
                    and temperature > max_temperature):
                out.append(Violation((*path, "temperature"),
                                     f"temperature {temperature:g} is above "
                                     f"{max_temperature:g}",
                                     f"set temperature to {max_temperature:g} or less"))
            tokens = _number(block.get("maxTokens"))
            if max_tokens is not None and tokens is not None and tokens > max_tokens:
                out.append(Violation((*path, "maxTokens"),
                                     f"maxTokens {tokens:g} is above {max_tokens:g}",
                                     f"set maxTokens to {max_tokens:g} or less"))
        if require and _number(_get(s.get("agents"), "defaults", "params", "maxTokens")) is None:
            out.append(Violation(("agents", "defaults", "params", "maxTokens"),
                                 "no bound on output tokens per model call",
                                 "set agents.defaults.params.maxTokens (e.g. 4096)"))
        return out
    return check


_config_type(
    "openclaw.modelGuardrails",
    "Model parameters stay in bounds wherever they are set (agents.defaults.params, "
    "agents.defaults.models.<m>.params, agent params, models.providers.*): temperature at most "
    "maxTemperature, maxTokens at most maxTokens; with requireMaxTokens, "
    "agents.defaults.params.maxTokens must be set.",
    ["agents.defaults.params", "agents.defaults.models", "agents.entries.*.params",
     "models"],
    {"maxTemperature": "Highest temperature allowed.",
     "maxTokens": "Highest maxTokens allowed.",
     "requireMaxTokens": "agents.defaults.params.maxTokens must be set (default false)."},
    _model_guardrails)


# --------------------------------------------------------------------------- target, gateway access


def _settings(bot: RenderedBot) -> dict[str, Any]:
    return bot.target.settings


def _providers(p: _Params, default: Sequence[str]) -> frozenset[str]:
    return frozenset(p.strings("providers", default))


def _image_pinned(p: _Params) -> TargetFn:
    providers = _providers(p, CONTAINER_PROVIDERS)

    def check(bot: RenderedBot) -> list[Violation]:
        if bot.target.provider not in providers:
            return []
        image = _settings(bot).get("image")
        if not isinstance(image, str) or not image.strip():
            return [Violation(("settings", "image"),
                              f"the {bot.target.provider} target names no image",
                              "set target.settings.image to name@sha256:<digest>",
                              subject="target")]
        if _DIGEST_RE.search(image.strip()):
            return []
        return [Violation(("settings", "image"),
                          f"the image {image.strip()} is not pinned by digest",
                          "append the digest: name:tag@sha256:<64 hex> (docker buildx "
                          "imagetools inspect name:tag)", subject="target")]
    return check


_target_type(
    "openclaw.imagePinned",
    "Container targets (target.settings.image of providers in `providers`) name their image "
    "by digest (@sha256:...), so every bot of a fleet runs the same reviewed bits.",
    {"providers": "Providers checked (default: the container providers)."},
    _image_pinned)


def _resource_limits(p: _Params) -> TargetFn:
    providers = _providers(p, CONTAINER_PROVIDERS)
    min_cpu = p.number("minCpu", None)
    max_cpu = p.number("maxCpu", None)
    min_memory = p.number("minMemory", None)
    max_memory = p.number("maxMemory", None)

    def bounds(key: str, value: float | None, low: float | None, high: float | None,
               unit: str) -> list[Violation]:
        path: PathKey = ("settings", key)
        if value is None:
            return [Violation(path, f"no {key} limit is set", f"set target.settings.{key}",
                              subject="target")]
        if low is not None and value < low:
            return [Violation(path, f"{key} {value:g}{unit} is below {low:g}{unit}",
                              f"raise target.settings.{key}", subject="target")]
        if high is not None and value > high:
            return [Violation(path, f"{key} {value:g}{unit} is above {high:g}{unit}",
                              f"lower target.settings.{key}", subject="target")]
        return []

    def check(bot: RenderedBot) -> list[Violation]:
        if bot.target.provider not in providers:
            return []
        settings = _settings(bot)
        out = bounds("cpu", _number(settings.get("cpu")), min_cpu, max_cpu, "")
        out.extend(bounds("memory", _memory_mib(settings.get("memory")), min_memory,
                          max_memory, " MiB"))
        return out
    return check


_target_type(
    "openclaw.resourceLimits",
    "Container targets set target.settings.cpu (in the provider's unit, e.g. ECS CPU units) "
    "and memory (MiB, or a string such as 1g) within the bounds given.",
    {"providers": "Providers checked (default: the container providers).",
     "minCpu": "Least cpu.", "maxCpu": "Most cpu.",
     "minMemory": "Least memory in MiB.", "maxMemory": "Most memory in MiB."},
    _resource_limits)


def _file_modes(p: _Params) -> TargetFn:
    providers = _providers(p, FILE_WRITING_PROVIDERS)
    limits = (("configFileMode", 0o600), ("stateDirMode", 0o700))

    def check(bot: RenderedBot) -> list[Violation]:
        if bot.target.provider not in providers:
            return []
        out: list[Violation] = []
        for key, widest in limits:
            if key not in _settings(bot):
                continue  # the provider's default (0600 / 0700) applies
            raw = _settings(bot)[key]
            mode = _parse_mode(raw)
            if mode is None:
                out.append(Violation(("settings", key), f"{key} is not a file mode",
                                     f'write it as an octal string, e.g. "{widest:04o}"',
                                     subject="target"))
            elif mode & ~widest:
                out.append(Violation(("settings", key),
                                     f"{key} {mode:04o} grants more than {widest:04o}",
                                     f'set target.settings.{key}: "{widest:04o}"',
                                     subject="target"))
        return out
    return check


_target_type(
    "openclaw.fileModes",
    "Providers that write files (local, docker) keep the config file at mode 0600 and the "
    "state directory at 0700 (target.settings.configFileMode / stateDirMode; unset means the "
    "provider's default, which is exactly that) (audit: fs.config.perms_*, "
    "fs.state_dir.perms_*).",
    {"providers": "Providers checked (default [local, docker])."},
    _file_modes)


def _token_rotation(p: _Params) -> TargetFn:
    max_days = p.number("maxDays", 90, minimum=1) or 90.0

    def check(bot: RenderedBot) -> list[Violation]:
        if bot.gateway.auth == "none":
            return []
        days = _number(_settings(bot).get("tokenRotationDays"))
        path: PathKey = ("settings", "tokenRotationDays")
        if days is None:
            return [Violation(path, f"no rotation period for the gateway {bot.gateway.auth}",
                              f"set target.settings.tokenRotationDays (at most {max_days:g})",
                              subject="target")]
        if days <= 0 or days > max_days:
            return [Violation(path, f"the gateway {bot.gateway.auth} is rotated every "
                              f"{days:g} days (at most {max_days:g})",
                              f"set target.settings.tokenRotationDays to {max_days:g} or less",
                              subject="target")]
        return []
    return check


_target_type(
    "openclaw.tokenRotation",
    "Bots reached with a token or password (fleet gateway.auth) declare how often it is "
    "rotated: target.settings.tokenRotationDays between 1 and maxDays.",
    {"maxDays": "Longest rotation period in days (default 90)."},
    _token_rotation)
