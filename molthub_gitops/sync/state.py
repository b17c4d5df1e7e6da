"""The sync daemon's state: per-bot status, per-fleet rollouts, the gate, as pydantic models.

This is the contract shared by the reconciler, the rollout executor, the status-branch writer,
the status page and the CLI. It serialises to camelCase JSON (``model_dump(by_alias=True)``)
and reads back from it, so the same shape is what ``/api/status`` serves, what the status
branch holds (``status.json`` plus ``fleets/<fleet>.json``) and what ``molthub status-page``
renders statically.

Nothing here may hold a secret: bot URLs are display URLs (no credentials), errors are
scrubbed before they are stored, and drift lists *paths*, never values.

Fields marked *volatile* change on every observation pass (timestamps of the last look); they
are served live but left out of what is committed to Git (:meth:`DaemonStatus.for_branch`), so
a pass that changes nothing real commits nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "BOT_STATES",
    "TERMINAL_PHASES",
    "BotResult",
    "BotResultKind",
    "BotState",
    "BotStatus",
    "DaemonInfo",
    "DaemonStatus",
    "FleetStatus",
    "GateStatus",
    "Health",
    "Rollout",
    "RolloutKind",
    "RolloutPhase",
    "RolloutSummary",
    "StatusModel",
    "WaveStatus",
]

STATUS_SCHEMA_VERSION = 1

BotState = Literal["Synced", "OutOfSync", "Progressing", "Degraded", "Unreachable", "Unknown"]
"""* ``Synced``: the gateway holds the desired config (normalised) and is healthy.
* ``OutOfSync``: reachable, but its config differs from Git (``drift`` lists the paths).
* ``Progressing``: an apply or a rollback is in flight, or the bot waits in a running rollout.
* ``Degraded``: reachable and holding the desired config, but not healthy.
* ``Unreachable``: no answer (refused, timed out, authentication failed).
* ``Unknown``: not observed yet."""

BOT_STATES: tuple[BotState, ...] = (
    "Synced", "OutOfSync", "Progressing", "Degraded", "Unreachable", "Unknown")

Health = Literal["Healthy", "Degraded", "Unhealthy", "Unknown"]

RolloutPhase = Literal[
    "Progressing",  # waves are being applied
    "Baking",  # a canary wave was applied and must stay healthy for its bake time
    "Paused",  # stopped before the next wave, by a user or a pause step
    "Succeeded",  # every wave applied and healthy
    "Failed",  # more failures than the threshold; the changed bots were put back
    "Aborted",  # a user aborted it; the changed bots were put back
    "Superseded",  # a newer commit arrived; the current wave finished, the rest was dropped
]
TERMINAL_PHASES: frozenset[str] = frozenset({"Succeeded", "Failed", "Aborted", "Superseded"})

RolloutKind = Literal["sync", "rollback", "heal"]
"""``sync``: a new commit; ``rollback``: a user asked to go back to an older commit;
``heal``: drift corrected by self-heal (bots changed outside Git put back)."""

BotResultKind = Literal[
    "pending",  # not reached yet
    "applying",  # config.apply sent, waiting for the new hash and health
    "applied",  # holds the new config and is healthy
    "failed",  # the apply or its health gate failed
    "rolled-back",  # was applied (or failed after writing), then put back on its previous config
    "rollback-failed",  # putting it back failed too (the bot needs a human)
    "skipped",  # nothing to do (already held the config), or dropped by supersede/abort
]


class StatusModel(BaseModel):
    """camelCase JSON, tolerant of fields added by newer versions."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class BotStatus(StatusModel):
    name: str
    fleet: str
    environment: str = ""
    state: BotState = "Unknown"
    health: Health = "Unknown"
    health_detail: str = ""
    """Why it is not healthy (failed channels, degraded reasons), no secrets."""
    desired_version: str = ""
    """The OpenClaw version the fleet pins."""
    reported_version: str | None = None
    """The version the gateway reports (``hello-ok.server.version``)."""
    gateway_url: str = ""
    """Display URL (never with credentials)."""
    labels: dict[str, str] = Field(default_factory=dict)
    desired_hash: str | None = None
    """sha256 of the rendered config at the commit in force (ours, ``configHash``)."""
    observed_hash: str | None = None
    """The gateway's own revision hash of its config file (what ``baseHash`` must match)."""
    applied_hash: str | None = None
    """The gateway's hash right after our last successful apply (or rollback) ..."""
    applied_desired_hash: str | None = None
    """... of this rendered config: while ``observed_hash == applied_hash`` and
    ``applied_desired_hash == desired_hash`` the bot is in sync without diffing."""
    ignored_paths: list[str] = Field(default_factory=list)
    """Paths the gateway filled in itself after our last apply (defaults); never drift."""
    synced_commit: str | None = None
    """The commit whose config the bot last held, as far as we know."""
    drift: list[str] = Field(default_factory=list)
    """Config paths that differ from Git (sorted, at most 50; values are never stored)."""
    drift_count: int = 0
    last_error: str | None = None
    last_applied_at: str | None = None
    last_observed_at: str | None = None  # volatile
    rollout_id: str | None = None
    failed_commit: str | None = None
    """The commit a rollout failed to give this bot (rejected, unhealthy): not tried again
    until a newer commit arrives or someone resumes the fleet."""
    """The rollout that holds this bot (``Progressing``), if any."""


class WaveStatus(StatusModel):
    index: int
    """1-based, as in :class:`~molthub_gitops.plan.types.Wave`."""
    kind: Literal["all", "canary", "batch"]
    bots: list[str]
    bake_seconds: float = 0.0
    pause_seconds: float = 0.0
    started_at: str | None = None
    finished_at: str | None = None


class BotResult(StatusModel):
    bot: str
    result: BotResultKind = "pending"
    hash_before: str | None = None
    """The gateway hash before our write (the baseHash we used)."""
    hash_after: str | None = None
    """The gateway hash after our write (or after the rollback)."""
    desired_hash: str | None = None
    """Our rendered-config hash that was applied."""
    error: str | None = None
    at: str | None = None


class Rollout(StatusModel):
    id: str
    """``<fleet>@<commit[:12]>#<n>``: unique per fleet, stable across restarts."""
    fleet: str
    kind: RolloutKind = "sync"
    commit: str
    """The commit being rolled out (for ``rollback``: the older commit being restored)."""
    previous_commit: str | None = None
    """The commit the fleet was on before (what a failed rollout puts the bots back to)."""
    strategy: Literal["all", "percentage", "canary"] = "all"
    waves: list[WaveStatus] = Field(default_factory=list)
    current_wave: int = 0
    """0-based index into ``waves`` of the wave running, or the next one to run."""
    phase: RolloutPhase = "Progressing"
    results: dict[str, BotResult] = Field(default_factory=dict)
    failures: int = 0
    failure_threshold: int = 0
    health_timeout_seconds: float = 300.0
    reason: str = ""
    """Why it ended as it did (failures, who aborted, which commit superseded it)."""
    actor: str = "molthub-sync"
    started_at: str = ""
    updated_at: str = ""
    finished_at: str | None = None
    bake_until: str | None = None
    """ISO time the current canary bake ends (``Baking``)."""
    promoted: bool = False
    """A user promoted the canary: the bake is skipped."""
    promote_full: bool = False
    """A user promoted with ``--full``: every remaining bot goes in one wave."""
    abort_requested_by: str | None = None
    """Who asked to abort it (kept so that a restarted daemon finishes the abort)."""
    abort_reason: str = ""

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL_PHASES

    def progress(self) -> tuple[int, int]:
        """(wave n, of m) for display: the wave running or last run, 1-based."""
        total = len(self.waves)
        if total == 0:
            return (0, 0)
        return (min(self.current_wave + 1, total), total)


class RolloutSummary(StatusModel):
    """A finished rollout, kept in the fleet's history (the last 20)."""

    id: str
    kind: RolloutKind = "sync"
    commit: str
    phase: RolloutPhase
    reason: str = ""
    started_at: str = ""
    finished_at: str | None = None
    bots: int = 0
    failures: int = 0


class GateStatus(StatusModel):
    """The verdict of validation on one commit (the same code as ``molthub validate``)."""

    commit: str
    ok: bool
    problems: list[str] = Field(default_factory=list)
    """Formatted problems and findings at or above ``failOn`` (``file:line: message``)."""
    checked_at: str = ""


class FleetStatus(StatusModel):
    name: str
    environment: str = ""
    provider: str = "existing"
    openclaw_version: str = ""
    strategy: Literal["all", "percentage", "canary"] = "all"
    suspended: bool = False
    self_heal: bool = False
    bots: list[str] = Field(default_factory=list)
    last_synced_commit: str | None = None
    """The newest commit every bot of the fleet was brought to."""
    last_failed_commit: str | None = None
    """A commit whose rollout failed: not retried until a newer commit arrives."""
    last_failed_reason: str = ""
    pinned_commit: str | None = None
    """Set by a manual rollback: the fleet stays on this commit ..."""
    pinned_head: str | None = None
    """... until the branch moves past this head (or ``rollout resume`` unpins it)."""
    rollout: Rollout | None = None
    history: list[RolloutSummary] = Field(default_factory=list)


class DaemonInfo(StatusModel):
    version: str = ""
    started_at: str = ""
    replica: str = ""
    """Which daemon instance wrote this (host name and pid, or the pod name)."""


class DaemonStatus(StatusModel):
    schema_version: int = STATUS_SCHEMA_VERSION
    repo: str = ""
    """Display URL of the config repository (credentials removed)."""
    branch: str = "main"
    path: str = ""
    """Folder of the config repository inside the Git repository ('' = its root)."""
    status_branch: str = "molthub-status"
    head_commit: str | None = None
    """The newest commit fetched from ``branch``."""
    applied_commit: str | None = None
    """The newest commit that passed the gate: the one in force."""
    gate: GateStatus | None = None
    """The verdict on ``head_commit``."""
    fleets: dict[str, FleetStatus] = Field(default_factory=dict)
    bots: dict[str, BotStatus] = Field(default_factory=dict)
    updated_at: str = ""
    daemon: DaemonInfo = Field(default_factory=DaemonInfo)

    def for_branch(self) -> DaemonStatus:
        """A copy without the volatile fields (what is committed to the status branch)."""
        copy = self.model_copy(deep=True)
        copy.updated_at = ""
        for bot in copy.bots.values():
            bot.last_observed_at = None
        return copy

    def counts(self) -> dict[str, int]:
        """Bots per state, every state present (0 when none)."""
        out: dict[str, int] = dict.fromkeys(BOT_STATES, 0)
        for bot in self.bots.values():
            out[bot.state] += 1
        return out
