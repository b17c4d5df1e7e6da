"""Which config changes a gateway applies in place and which restart it, per generation.

Copied in substance from the real reload plans (OpenClaw 2026.9.6 ``config-reload-plan``:
the most specific prefix wins; 2026.3.31 ``BASE_RELOAD_RULES``: the first listed prefix
wins). A path no rule covers restarts the gateway in both. ``none`` changes are written and
announced (``config.changed``) but need no action.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal

__all__ = ["ReloadKind", "changed_paths", "classify", "plan_kind"]

ReloadKind = Literal["none", "hot", "restart"]

_MODERN_RULES: Final[tuple[tuple[ReloadKind, tuple[str, ...]], ...]] = (
    ("none", ("gateway.remote", "gateway.reload")),
    (
        "restart",
        (
            "gateway.auth.token",
            "gateway.auth.password",
            "mcp.apps",
            "secrets.egressProxy",
            "gateway.portals",
        ),
    ),
    (
        "hot",
        (
            "gateway.http.endpoints",
            "gateway.http.securityHeaders.strictTransportSecurity",
            "gateway.tools",
            "gateway.cliAgents",
            "gateway.controlUi.enabled",
            "gateway.controlUi.environment",
            "gateway.controlUi.communityInvite",
            "gateway.controlUi.github",
            "gateway.controlUi.sessionObserver",
            "gateway.controlUi.embedSandbox",
            "gateway.controlUi.allowExternalEmbedUrls",
            "gateway.controlUi.automaticallyFetchFavicons",
            "gateway.controlUi.experimental.customPlugins",
            "gateway.controlUi.allowedOrigins",
            "gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback",
            "gateway.nodes.browser",
            "gateway.nodes.pairing",
            "gateway.nodes.commands",
            "gateway.nodes.pluginTools.enabled",
            "gateway.nodes.allowSkills",
            "gateway.push.apns.relay",
            "gateway.terminal",
            "gateway.auth.rateLimit",
            "gateway.roles",
            "gateway.trustedProxies",
            "gateway.allowRealIpFallback",
            "gateway.auth.allowTailscale",
            "gateway.auth.identityScopes",
            "gateway.auth.trustedProxy",
            "diagnostics.enabled",
            "discovery.mdns.mode",
            "mcp.apps.sandboxOrigin",
            "agents.defaults",
            "desktop.host",
            "cloudWorkers",
            "hooks.gmail",
            "hooks.internal",
            "agents.defaults.workspace",
            "hooks",
            "agents.defaults.heartbeat",
            "agents.defaults.models",
            "agents.defaults.modelPolicy",
            "agents.defaults.model",
            "models",
            "agent.heartbeat",
            "agents.entries",
            "agents.entries.*.decisionModel",
            "agents.defaults.sessionStore",
            "agents.ownership",
            "skills.workshop.autonomous.mode",
            "agents.defaults.decisionModel",
            "plugins.load",
            "plugins.installs",
            "cron",
            "transcripts",
            "cloudWorkers.profiles",
            "mcp",
            "gateway.publicOrigin",
            "talk.provider",
            "talk.realtime.provider",
            "session.scope",
            "session.store",
        ),
    ),
    (
        "none",
        (
            "agents.defaults.mediaMaxMb",
            "channels.defaults",
            "channels.modelByChannel",
            "messages.inbound",
            "messages.ackReactionScope",
            "commands",
            "accessGroups",
            "tts",
            "surfaces",
            "acp.stream",
            "diagnostics.flags",
        ),
    ),
    (
        "none",
        (
            "meta",
            "identity",
            "wizard",
            "logging",
            "agents",
            "bindings",
            "audio",
            "agent",
            "routing",
            "messages",
            "session",
            "talk",
            "skills",
            "secrets",
            "tui",
            "ui",
        ),
    ),
    (
        "hot",
        (
            "tools",
            "approvals.exec",
            "approvals.plugin",
            "auth.order",
            "auth.profiles",
            "broadcast",
            "memory.citations",
            "worktreeRoot",
            "worktreeAcceleration",
            "security.audit.suppressions",
            "security.installPolicy",
            "diagnostics.cacheTrace.enabled",
            "acp",
            "attachments.ttlHours",
            "update.checkOnStart",
            "update.channel",
            "update.auto.enabled",
            "telemetry.enabled",
            "telemetry.consentedAt",
            "plugins",
            "channels",
        ),
    ),
    ("restart", ("gateway", "discovery")),
)

_LEGACY_RULES: Final[tuple[tuple[str, ReloadKind], ...]] = (
    ("gateway.remote", "none"),
    ("gateway.reload", "none"),
    ("gateway.channelHealthCheckMinutes", "hot"),
    ("gateway.channelStaleEventThresholdMinutes", "hot"),
    ("gateway.channelMaxRestartsPerHour", "hot"),
    ("diagnostics.stuckSessionWarnMs", "none"),
    ("hooks.gmail", "hot"),
    ("hooks", "hot"),
    ("agents.defaults.heartbeat", "hot"),
    ("agents.defaults.models", "hot"),
    ("agents.defaults.model", "hot"),
    ("models", "hot"),
    ("agent.heartbeat", "hot"),
    ("cron", "hot"),
    ("browser", "restart"),
    ("meta", "none"),
    ("identity", "none"),
    ("wizard", "none"),
    ("logging", "none"),
    ("agents", "none"),
    ("tools", "none"),
    ("bindings", "none"),
    ("audio", "none"),
    ("agent", "none"),
    ("routing", "none"),
    ("messages", "none"),
    ("session", "none"),
    ("talk", "none"),
    ("skills", "none"),
    ("secrets", "none"),
    ("plugins", "restart"),
    ("ui", "none"),
    ("gateway", "restart"),
    ("discovery", "restart"),
    ("canvasHost", "restart"),
)


def _specificity(prefix: str) -> tuple[int, int]:
    segments = prefix.split(".")
    return (-len(segments), sum(1 for s in segments if s == "*"))


_MODERN_SORTED: Final[tuple[tuple[str, ReloadKind], ...]] = tuple(
    sorted(
        ((prefix, kind) for kind, prefixes in _MODERN_RULES for prefix in prefixes),
        key=lambda rule: _specificity(rule[0]),
    )
)
_MODERN_PREFIXES: Final[tuple[str, ...]] = tuple(prefix for prefix, _ in _MODERN_SORTED)


def _matches(path: str, prefix: str) -> bool:
    if "*" in prefix:
        segments = path.split(".")
        parts = prefix.split(".")
        return all(
            (p == "*" and index < len(segments) and bool(segments[index]))
            or (index < len(segments) and p == segments[index])
            for index, p in enumerate(parts)
        )
    return path == prefix or path.startswith(f"{prefix}.")


def classify(path: str, *, modern: bool) -> ReloadKind:
    """How a change at ``path`` is applied: ``none``, ``hot`` or ``restart``."""
    rules = _MODERN_SORTED if modern else _LEGACY_RULES
    for prefix, kind in rules:
        if _matches(path, prefix):
            return kind
    return "restart"


def plan_kind(paths: Iterable[str], *, modern: bool) -> ReloadKind:
    """The strongest action any of ``paths`` needs."""
    result: ReloadKind = "none"
    for path in paths:
        kind = classify(path, modern=modern)
        if kind == "restart":
            return "restart"
        if kind == "hot":
            result = "hot"
    return result


def changed_paths(before: Any, after: Any, *, modern: bool) -> list[str]:
    """Dotted paths whose values differ, recursing into objects (and into rule prefixes)."""
    paths: list[str] = []
    prefixes: Sequence[str] = _MODERN_PREFIXES if modern else tuple(p for p, _ in _LEGACY_RULES)
    _collect(before, after, "", prefixes, paths)
    return paths


def _collect(before: Any, after: Any, prefix: str, prefixes: Sequence[str], out: list[str]) -> None:
    if before is after:
        return
    before_obj = isinstance(before, Mapping)
    after_obj = isinstance(after, Mapping)
    refine = (before_obj or after_obj) and any(
        (entry.startswith(f"{prefix}.") if prefix else True) for entry in prefixes
    )
    if (before_obj and after_obj) or refine:
        before_map: Mapping[str, Any] = before if before_obj else {}
        after_map: Mapping[str, Any] = after if after_obj else {}
        for key in dict.fromkeys([*before_map, *after_map]):
            if key not in before_map and key not in after_map:
                continue
            child = f"{prefix}.{key}" if prefix else key
            _collect(before_map.get(key), after_map.get(key), child, prefixes, out)
        return
    if before != after:
        out.append(prefix or "<root>")
