"""The status page: a view of a :class:`DaemonStatus` and recent audit entries, as HTML.

:func:`render_page` builds a plain view model (short commits and hashes, colour classes,
"wave n of m", bots grouped by fleet) and renders ``templates/status.html`` with a Jinja2
environment that autoescapes everything (a bot label like ``<script>`` shows as text) and
fails on any undefined name. The live daemon page (auto-refreshed with a meta refresh, no
script at all) and the static page built from the status branch are the same template:
``live=False`` replaces the refresh by a note naming the status-branch commit.

The page shows only what the status model holds, and that model never holds a secret.
The stylesheet and icon live in ``static/`` and are served (or copied) beside the page.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import jinja2

from molthub_gitops import __version__
from molthub_gitops.sync.audit import AuditEntry
from molthub_gitops.sync.state import BOT_STATES, BotStatus, DaemonStatus, FleetStatus, Rollout

__all__ = [
    "STATIC_FILES",
    "BotView",
    "FleetView",
    "RolloutView",
    "render_page",
    "short",
    "short_hash",
    "static_file",
]

STATIC_FILES: dict[str, str] = {
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
"""Files of ``web/static/`` the page links to (``static/<name>``), with their content type."""

_STATE_CLASS = {
    "Synced": "ok", "OutOfSync": "warn", "Progressing": "info", "Degraded": "bad",
    "Unreachable": "bad", "Unknown": "muted",
}
_HEALTH_CLASS = {"Healthy": "ok", "Degraded": "warn", "Unhealthy": "bad", "Unknown": "muted"}
_PHASE_CLASS = {
    "Progressing": "info", "Baking": "info", "Paused": "warn", "Succeeded": "ok",
    "Failed": "bad", "Aborted": "bad", "Superseded": "muted",
}
_RESULT_CLASS = {"ok": "ok", "failed": "bad", "skipped": "muted", "info": "info"}
_DRIFT_SHOWN = 3
_BOT_RESULT_CLASS = {
    "pending": "muted", "applying": "info", "applied": "ok", "failed": "bad",
    "rolled-back": "warn", "rollback-failed": "bad", "skipped": "muted",
}


def short(value: str | None, length: int = 12) -> str:
    """A commit or hash cut to ``length`` characters; ``""`` for none."""
    return (value or "")[:length]


def short_hash(value: str | None, length: int = 12) -> str:
    """A config hash cut to ``length`` characters of its digest: an ``algorithm:`` prefix
    (``hmac-sha256:`` from the gateway) is dropped so the short form still tells hashes apart."""
    text = value or ""
    return text.rpartition(":")[2][:length]


@dataclass(frozen=True)
class BotView:
    name: str
    labels: list[tuple[str, str]]
    state: str
    state_class: str
    health: str
    health_class: str
    health_detail: str
    desired_version: str
    reported_version: str
    version_mismatch: bool
    desired_hash: str
    desired_hash_full: str
    observed_hash: str
    observed_hash_full: str
    drift_count: int
    drift_paths: str
    drift_shown: str
    drift_more: int
    last_error: str
    gateway_url: str
    rollout_result: str
    rollout_result_class: str


@dataclass(frozen=True)
class RolloutView:
    id: str
    kind: str
    commit: str
    commit_full: str
    previous_commit: str
    phase: str
    phase_class: str
    wave: int
    waves: int
    failures: int
    failure_threshold: int
    bake_until: str
    reason: str
    actor: str
    started_at: str
    finished_at: str
    applied: int
    total: int


@dataclass(frozen=True)
class FleetView:
    name: str
    environment: str
    provider: str
    strategy: str
    openclaw_version: str
    suspended: bool
    self_heal: bool
    last_synced_commit: str
    last_synced_commit_full: str
    last_failed_commit: str
    last_failed_commit_full: str
    last_failed_reason: str
    pinned_commit: str
    pinned_commit_full: str
    pinned_head: str
    rollout: RolloutView | None
    counts: list[tuple[str, int, str]]
    bots: list[BotView] = field(default_factory=list)
    hidden: int = 0
    """Bots left out of a large fleet's table (the JSON lists them all)."""


@dataclass(frozen=True)
class AuditView:
    seq: int
    time: str
    actor: str
    action: str
    fleet: str
    bot: str
    result: str
    result_class: str
    reason: str
    rollout_id: str
    commit: str
    commit_full: str


def _rollout_view(rollout: Rollout) -> RolloutView:
    wave, waves = rollout.progress()
    applied = sum(1 for r in rollout.results.values() if r.result == "applied")
    return RolloutView(
        id=rollout.id, kind=rollout.kind, commit=short(rollout.commit),
        commit_full=rollout.commit, previous_commit=short(rollout.previous_commit),
        phase=rollout.phase, phase_class=_PHASE_CLASS.get(rollout.phase, "muted"),
        wave=wave, waves=waves, failures=rollout.failures,
        failure_threshold=rollout.failure_threshold, bake_until=rollout.bake_until or "",
        reason=rollout.reason, actor=rollout.actor, started_at=rollout.started_at,
        finished_at=rollout.finished_at or "", applied=applied, total=len(rollout.results),
    )


def _bot_view(bot: BotStatus, rollout: Rollout | None) -> BotView:
    result = rollout.results.get(bot.name) if rollout is not None else None
    reported = bot.reported_version or ""
    return BotView(
        name=bot.name, labels=sorted(bot.labels.items()),
        state=bot.state, state_class=_STATE_CLASS.get(bot.state, "muted"),
        health=bot.health, health_class=_HEALTH_CLASS.get(bot.health, "muted"),
        health_detail=bot.health_detail,
        desired_version=bot.desired_version, reported_version=reported,
        version_mismatch=bool(reported and bot.desired_version
                              and reported != bot.desired_version),
        desired_hash=short_hash(bot.desired_hash), desired_hash_full=bot.desired_hash or "",
        observed_hash=short_hash(bot.observed_hash),
        observed_hash_full=bot.observed_hash or "",
        drift_count=bot.drift_count or len(bot.drift), drift_paths=", ".join(bot.drift),
        drift_shown=", ".join(bot.drift[:_DRIFT_SHOWN]),
        drift_more=max((bot.drift_count or len(bot.drift)) - _DRIFT_SHOWN, 0),
        last_error=bot.last_error or "", gateway_url=bot.gateway_url,
        rollout_result=result.result if result is not None else "",
        rollout_result_class=_BOT_RESULT_CLASS.get(result.result, "muted") if result else "",
    )


def _counts(bots: Iterable[BotStatus]) -> list[tuple[str, int, str]]:
    tally = dict.fromkeys(BOT_STATES, 0)
    for bot in bots:
        tally[bot.state] += 1
    return [(state, tally[state], _STATE_CLASS[state]) for state in BOT_STATES]


def _shown_bots(bots: list[BotStatus], limit: int) -> list[BotStatus]:
    """At most ``limit`` bots, ordered by name: all when they fit, else the ones that are
    not Synced first (they need attention), then Synced ones."""
    if len(bots) <= limit:
        return bots
    attention = [b for b in bots if b.state != "Synced"]
    synced = [b for b in bots if b.state == "Synced"]
    return sorted((attention + synced)[:limit], key=lambda b: b.name)


def _fleet_views(status: DaemonStatus, max_bots: int) -> list[FleetView]:
    by_fleet: dict[str, list[BotStatus]] = {}
    for bot in status.bots.values():
        by_fleet.setdefault(bot.fleet, []).append(bot)
    names = sorted(set(status.fleets) | set(by_fleet))
    views: list[FleetView] = []
    for name in names:
        fleet = status.fleets.get(name) or FleetStatus(name=name, provider="")
        bots = sorted(by_fleet.get(name, []), key=lambda b: b.name)
        shown = _shown_bots(bots, max_bots)
        rollout = fleet.rollout
        views.append(FleetView(
            name=name, environment=fleet.environment, provider=fleet.provider,
            strategy=fleet.strategy, openclaw_version=fleet.openclaw_version,
            suspended=fleet.suspended, self_heal=fleet.self_heal,
            last_synced_commit=short(fleet.last_synced_commit),
            last_synced_commit_full=fleet.last_synced_commit or "",
            last_failed_commit=short(fleet.last_failed_commit),
            last_failed_commit_full=fleet.last_failed_commit or "",
            last_failed_reason=fleet.last_failed_reason,
            pinned_commit=short(fleet.pinned_commit),
            pinned_commit_full=fleet.pinned_commit or "",
            pinned_head=short(fleet.pinned_head),
            rollout=_rollout_view(rollout) if rollout is not None else None,
            counts=_counts(bots),
            bots=[_bot_view(b, rollout) for b in shown],
            hidden=len(bots) - len(shown),
        ))
    return views


def _audit_views(entries: Sequence[AuditEntry], limit: int) -> list[AuditView]:
    newest = sorted(entries, key=lambda e: e.seq, reverse=True)[:limit]
    return [AuditView(
        seq=e.seq, time=e.time, actor=e.actor, action=e.action, fleet=e.fleet or "",
        bot=e.bot or "", result=e.result, result_class=_RESULT_CLASS.get(e.result, "muted"),
        reason=e.reason, rollout_id=e.rollout_id or "", commit=short(e.commit),
        commit_full=e.commit or "",
    ) for e in newest]


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("molthub_gitops.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_page(status: DaemonStatus, audit: Sequence[AuditEntry], *, live: bool,
                refresh_seconds: int = 5, source_commit: str | None = None,
                generated_at: str = "", audit_limit: int = 50,
                max_bots_per_fleet: int = 250) -> str:
    """The status page as HTML.

    ``live``: served by the daemon (meta refresh every ``refresh_seconds``; none when 0).
    Otherwise built from the status branch at ``source_commit`` (named in a note), at
    ``generated_at``. ``audit`` in any order; the newest ``audit_limit`` are shown, newest first.
    A fleet with more than ``max_bots_per_fleet`` bots lists that many, those that are not
    Synced first (a note says how many are left out; the JSON has them all), which keeps the
    page small and quick at thousands of bots.
    """
    gate = status.gate
    counts = status.counts()
    context = {
        "live": live,
        "refresh_seconds": max(int(refresh_seconds), 0) if live else 0,
        "source_commit": short(source_commit),
        "source_commit_full": source_commit or "",
        "generated_at": generated_at,
        "version": __version__,
        "repo": status.repo,
        "branch": status.branch,
        "path": status.path,
        "status_branch": status.status_branch,
        "applied_commit": short(status.applied_commit),
        "applied_commit_full": status.applied_commit or "",
        "head_commit": short(status.head_commit),
        "head_commit_full": status.head_commit or "",
        "head_is_applied": bool(status.head_commit)
        and status.head_commit == status.applied_commit,
        "gate": None if gate is None else {
            "ok": gate.ok, "commit": short(gate.commit), "commit_full": gate.commit,
            "problems": list(gate.problems), "checked_at": gate.checked_at},
        "updated_at": status.updated_at,
        "daemon": status.daemon,
        "total_bots": len(status.bots),
        "counts": [(s, counts[s], _STATE_CLASS[s]) for s in BOT_STATES],
        "fleets": _fleet_views(status, max(max_bots_per_fleet, 1)),
        "audit": _audit_views(audit, audit_limit),
    }
    return _environment().get_template("status.html").render(context)


@lru_cache(maxsize=len(STATIC_FILES))
def static_file(name: str) -> bytes:
    """The bytes of ``web/static/<name>`` (one of :data:`STATIC_FILES`)."""
    if name not in STATIC_FILES:
        raise KeyError(name)
    return (importlib.resources.files("molthub_gitops.web") / "static" / name).read_bytes()
