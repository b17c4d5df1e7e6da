"""Turn one observation of a bot's gateway into its :class:`BotStatus` (sync state, health,
drift).

:func:`assess` is a pure function of the rendered bot, the observation and the previous
status: it reads nothing else and writes nothing. It is called for every bot on every
observation pass, so the common case is cheap:

* **fast path**: the gateway still reports the hash it had right after our last apply of
  this very rendered config (``previous.applied_hash`` / ``previous.applied_desired_hash``):
  nothing changed, no diff is computed;
* **unchanged since the last look**: same observed hash and same desired hash as last time:
  the previous drift list is kept, no diff is computed;
* otherwise :func:`~molthub_gitops.plan.drift.drift_paths` compares the rendered config with
  what the gateway holds (meta, redaction sentinel, gateway defaults and the paths recorded
  in ``previous.ignored_paths`` are normalised away).

State: ``Unreachable`` (no answer) > ``Progressing`` (held by a running rollout) >
``OutOfSync`` (drift) > ``Degraded`` (holds the config, not healthy) > ``Synced``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from molthub_gitops.gateway.client import display_url
from molthub_gitops.gateway.operations import HealthSummary, Observation
from molthub_gitops.plan.drift import drift_paths, effective_config, gateway_defaults
from molthub_gitops.render.types import RenderedBot
from molthub_gitops.sync.state import BotState, BotStatus, Health

__all__ = [
    "MAX_DRIFT_PATHS",
    "MAX_ERROR_CHARS",
    "assess",
    "health_of",
    "holds_config",
    "observed_drift",
]

MAX_DRIFT_PATHS = 50
MAX_ERROR_CHARS = 500


def health_of(summary: HealthSummary | None) -> tuple[Health, str]:
    """``(health, detail)`` from a health summary: ``Healthy``; ``Degraded`` (healthy, but
    the gateway flags a degraded event loop, model runtime or plugins); ``Unhealthy`` (not
    ok, or a channel failed its probe); ``Unknown`` (no summary)."""
    if summary is None:
        return "Unknown", ""
    parts: list[str] = []
    if not summary.ok:
        parts.append("gateway reports not ok")
    if summary.channels_failed:
        parts.append("channels failed: " + ", ".join(summary.channels_failed))
    if summary.degraded_reasons:
        parts.append("degraded: " + ", ".join(summary.degraded_reasons))
    elif summary.degraded:
        parts.append("degraded")
    detail = "; ".join(parts)
    if not summary.healthy:
        return "Unhealthy", detail
    if summary.degraded:
        return "Degraded", detail
    return "Healthy", detail


def observed_drift(desired: Mapping[str, Any], observation: Observation, *,
                   ignore: Collection[str] = ()) -> list[str]:
    """Every drift path between ``desired`` and what a reachable gateway reported: the file
    plus the agent roster (:func:`effective_config`), with the defaults of the gateway's
    generation and ``ignore`` normalised away. Sorted, uncapped, values never included."""
    return drift_paths(
        desired,
        effective_config(observation.parsed, observation.source_config),
        ignore=ignore,
        defaults=gateway_defaults(observation.protocol, observation.server_version),
    )


def holds_config(desired: Mapping[str, Any], observation: Observation, *,
                 ignore: Collection[str] = ()) -> bool:
    """Whether the gateway holds ``desired``: reachable and no drift after normalisation.

    Unlike ``gateway.operations.config_contains`` (desired is a subset of the file), this
    sees the 2026.9 agent roster, which is not in the file, and counts keys added by hand.
    """
    return observation.reachable and not observed_drift(desired, observation, ignore=ignore)


def _short(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_ERROR_CHARS:
        return text
    return text[: MAX_ERROR_CHARS - 3] + "..."


def assess(
    bot: RenderedBot,
    observation: Observation,
    previous: BotStatus | None,
    *,
    in_rollout: str | None = None,
    now: str = "",
) -> BotStatus:
    """The bot's status after ``observation`` (see the module docstring).

    ``in_rollout`` is the id of a running rollout that holds the bot (state
    ``Progressing``); ``now`` the ISO time of the observation (``last_observed_at``).
    What the daemon knows from its own writes (``applied_hash``, ``applied_desired_hash``,
    ``ignored_paths``, ``synced_commit``, ``last_applied_at``, and ``failed_commit`` with its
    error until the bot is Synced) is carried over from ``previous``.
    """
    status = BotStatus(
        name=bot.name,
        fleet=bot.fleet,
        environment=bot.environment,
        desired_version=bot.openclaw_version,
        gateway_url=observation.url or display_url(bot.gateway_url),
        labels=dict(bot.labels),
        desired_hash=bot.config_hash,
        rollout_id=in_rollout,
        last_observed_at=now or None,
    )
    if previous is not None:
        status.applied_hash = previous.applied_hash
        status.applied_desired_hash = previous.applied_desired_hash
        status.ignored_paths = list(previous.ignored_paths)
        status.synced_commit = previous.synced_commit
        status.last_applied_at = previous.last_applied_at

    if not observation.reachable:
        status.state = "Unreachable"
        status.last_error = _short(observation.error) or (
            f"unreachable ({observation.error_kind})" if observation.error_kind
            else "unreachable")
        if previous is not None:  # what we last knew
            status.reported_version = previous.reported_version
            status.observed_hash = previous.observed_hash
            status.drift = list(previous.drift)
            status.drift_count = previous.drift_count
        return status

    status.reported_version = observation.server_version
    status.observed_hash = observation.config_hash
    status.health, status.health_detail = health_of(observation.health)
    if observation.config_valid is False:
        status.health_detail = "; ".join(
            x for x in ("config file invalid", status.health_detail) if x)

    paths: list[str] | None = None
    count = 0
    observed_hash = observation.config_hash
    if previous is not None and observed_hash is not None:
        if (observed_hash == previous.applied_hash
                and previous.applied_desired_hash == bot.config_hash):
            paths, count = [], 0
        elif (observed_hash == previous.observed_hash
              and previous.desired_hash == bot.config_hash
              and previous.observed_hash is not None):
            paths, count = list(previous.drift), previous.drift_count
    if paths is None:
        found = observed_drift(bot.config, observation, ignore=status.ignored_paths)
        paths, count = found[:MAX_DRIFT_PATHS], len(found)
    status.drift, status.drift_count = paths, count

    state: BotState
    if in_rollout:
        state = "Progressing"
    elif count:
        state = "OutOfSync"
    elif status.health == "Unhealthy" or status.health == "Unknown":
        state = "Degraded"
    else:
        state = "Synced"
    status.state = state
    if previous is not None and previous.failed_commit is not None and state != "Synced":
        # a rollout failed to give it this config: say so until it holds it
        status.failed_commit = previous.failed_commit
        status.last_error = previous.last_error
    return status
