"""Pydantic v2 models of the molthub/v1 documents kept in a fleet config repository.

Every document has ``apiVersion: molthub/v1``, ``kind``, ``metadata`` and ``spec``. Field names
are camelCase in YAML (``openclawVersion``) and snake_case in Python. Unknown fields are
errors: a typo must never be silently ignored. Every field carries a description; those end up
in the JSON Schemas under ``schemas/`` that editors use for completion and checking.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

API_VERSION = "molthub/v1"

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
"""DNS-label names: lower case letters, digits and '-', 1 to 63 characters."""

_DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$")


def parse_duration(text: str) -> float:
    """'90s', '5m', '1h30m', '250ms' -> seconds. Raises ValueError on anything else."""
    m = _DURATION_RE.match(text.strip())
    if not text.strip() or m is None or not any(m.groups()):
        raise ValueError(f"not a duration: {text!r} (use forms like 30s, 5m, 1h30m, 250ms)")
    h, mi, s, ms = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0) + int(ms or 0) / 1000


Duration = Annotated[
    str,
    Field(
        pattern=r"^(\d+h)?(\d+m)?(\d+(\.\d+)?s)?(\d+ms)?$",
        min_length=2,
    ),
]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
JsonObject = dict[str, Any]
Environment = Annotated[
    str,
    Field(pattern=NAME_PATTERN),
]


class Strict(BaseModel):
    """Base for every model: camelCase aliases, no unknown fields, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        use_attribute_docstrings=True,
    )


# --------------------------------------------------------------------------- shared pieces


class Metadata(Strict):
    name: Name
    """Name of the document, unique among documents of its kind."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Free-form labels, used by selectors (``matchLabels``) and policy scoping."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Free-form notes for humans and tools; never interpreted by the engine."""


class MergeStrategyMergeBy(Strict):
    merge_by: str = Field(min_length=1)
    """Merge lists of objects item by item, matching items by this key (e.g. ``id``)."""


MergeStrategy = Literal["replace", "append", "prepend", "union"] | MergeStrategyMergeBy
"""How a list at a path combines with the list from lower layers. Default: ``replace``."""

ConfigPath = Annotated[
    str,
    Field(
        min_length=1,
        pattern=r"^[A-Za-z0-9_$*-]+(\.[A-Za-z0-9_$*-]+)*$",
    ),
]


class SecretRef(Strict):
    """Where the engine finds one of its own secrets (e.g. a gateway token).

    Exactly one of ``env``, ``file`` or ``store`` is set. The value itself never lives in Git.
    """

    env: str | None = Field(default=None, min_length=1)
    """Name of an environment variable of the daemon holding the secret.
    May use Jinja2 over ``bot`` and ``fleet`` (e.g. ``GW_TOKEN_{{ bot.name | upper }}``)."""
    file: str | None = None
    """Path of a file (outside the repository) holding the secret."""
    store: str | None = None
    """Key in the deployment provider's secret store (e.g. AWS Secrets Manager name)."""

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [k for k in ("env", "file", "store") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("set exactly one of env, file or store")
        return self


class Selector(Strict):
    """Which bots something applies to. Every field given must match (AND); within a list,
    any entry may match (OR). Globs use ``*`` and ``?``. An empty selector matches every bot."""

    fleets: list[str] = Field(default_factory=list)
    """Fleet name globs."""
    environments: list[str] = Field(default_factory=list)
    """Environment names (exact)."""
    bots: list[str] = Field(default_factory=list)
    """Bot name globs."""
    match_labels: dict[str, str] = Field(default_factory=dict)
    """Labels every selected bot must carry, with these values (bot labels include its
    fleet's labels)."""


# --------------------------------------------------------------------------- Repository


class PolicySettings(Strict):
    packs: list[str] = Field(
        default_factory=lambda: ["security-baseline", "production-guardrails"])
    """Policy packs in force: built-in names (``security-baseline``,
    ``production-guardrails``) and names of PolicyPack documents in the repository.
    ``security-baseline`` is always in force, listed or not (waive single rules with a
    PolicyException); ``production-guardrails`` checks only bots in ``prod``."""
    fail_on: Literal["error", "warning", "info"] = "error"
    """Lowest finding severity that makes ``molthub validate`` exit 1."""


class SyncDefaults(Strict):
    interval: Duration = "120s"
    """How often the daemon polls the repository (jitter is added)."""
    self_heal: bool = False
    """Correct drift (a bot's config changed outside Git) automatically."""
    prune: bool = False
    """Destroy bots removed from Git. Off by default, as in Argo CD and Flux."""


class RepositorySpec(Strict):
    description: str = ""
    """What this repository holds, for humans."""
    policy: PolicySettings = Field(default_factory=PolicySettings)
    """Policy packs in force and the failure threshold."""
    status_branch: str = Field(default="molthub-status", min_length=1)
    """Branch the sync daemon commits status and the audit log to."""
    openclaw_versions: list[str] = Field(default_factory=lambda: ["2026.9.6"], min_length=1)
    """OpenClaw versions fleets may pin (each needs a vendored config schema)."""
    sync: SyncDefaults = Field(default_factory=SyncDefaults)
    """Defaults for the sync daemon; fleets may override them."""
    exclude: list[str] = Field(default_factory=list)
    """Path globs (relative to the repository root) the loader skips, e.g. ``docs/**``."""


class Repository(Strict):
    """Repository-wide settings. Exactly one, in ``molthub.yaml`` at the root."""

    api_version: Literal["molthub/v1"]
    kind: Literal["Repository"]
    metadata: Metadata
    spec: RepositorySpec = Field(default_factory=RepositorySpec)


# --------------------------------------------------------------------------- Template


class Parameter(Strict):
    type: Literal["string", "integer", "number", "boolean", "array", "object"] = "string"
    """Type of the value; checked before rendering."""
    default: Any = None
    """Value used when neither the fleet nor the bot sets one."""
    required: bool = False
    """A value must be given (by the fleet or the bot) when there is no default."""
    description: str = ""
    """What the parameter means."""
    enum: list[Any] | None = None
    """Allowed values, when the set is closed."""


class TemplateSpec(Strict):
    description: str = ""
    """What kind of bot this template makes."""
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    """Typed inputs, available to Jinja2 expressions as ``params.<name>``."""
    merge_strategies: dict[ConfigPath, MergeStrategy] = Field(default_factory=dict)
    """List merge strategy per config path, for layers above this one."""
    config: JsonObject = Field(default_factory=dict)
    """Base OpenClaw config (the ``openclaw.json`` shape)."""


class Template(Strict):
    """A base OpenClaw config that fleets build on."""

    api_version: Literal["molthub/v1"]
    kind: Literal["Template"]
    metadata: Metadata
    spec: TemplateSpec


# --------------------------------------------------------------------------- Profile


class ProfileSpec(Strict):
    description: str = ""
    """What these defaults are for."""
    merge_strategies: dict[ConfigPath, MergeStrategy] = Field(default_factory=dict)
    """List merge strategy per config path, for this layer and those above it."""
    locked_paths: list[ConfigPath] = Field(default_factory=list)
    """Config paths that later layers may not change (an error names both places)."""
    config: JsonObject = Field(default_factory=dict)
    """Shared OpenClaw config defaults."""


class Profile(Strict):
    """Shared defaults (baseline, hardening, per environment) that fleets and bots list."""

    api_version: Literal["molthub/v1"]
    kind: Literal["Profile"]
    metadata: Metadata
    spec: ProfileSpec


# --------------------------------------------------------------------------- Overlay


class OverlaySpec(Strict):
    description: str = ""
    """Why this overlay exists."""
    selector: Selector = Field(default_factory=Selector)
    """Bots this overlay applies to."""
    priority: int = 0
    """Overlays apply in ascending priority, then by name: higher priority wins."""
    enabled: bool = True
    """A disabled overlay applies to no bot."""
    merge_strategies: dict[ConfigPath, MergeStrategy] = Field(default_factory=dict)
    """List merge strategy per config path, for this layer and those above it."""
    config: JsonObject = Field(default_factory=dict)
    """OpenClaw config applied on top of the selected bots' profiles."""


class Overlay(Strict):
    """Config applied to the bots a selector picks (a region, a canary tier, one bot)."""

    api_version: Literal["molthub/v1"]
    kind: Literal["Overlay"]
    metadata: Metadata
    spec: OverlaySpec


# --------------------------------------------------------------------------- Fleet


class Target(Strict):
    provider: Literal[
        "existing", "simulated", "local", "docker", "aws-ecs", "azure-aci",
        "gcp-cloud-run", "digitalocean",
    ] = "existing"
    """Where the bots run. ``existing``: they run elsewhere and we only reach their Gateway."""
    settings: JsonObject = Field(default_factory=dict)
    """Provider-specific settings (region, cluster, image...)."""


class GatewayAccess(Strict):
    url: str = Field(min_length=1)
    """WebSocket URL of each bot's Gateway; Jinja2 over ``bot`` and ``fleet``, e.g.
    ``ws://{{ bot.name }}.bots.internal:18789``."""
    auth: Literal["token", "password", "none"] = "token"
    """How the engine authenticates to the Gateway."""
    secret: SecretRef | None = None
    """Where the engine finds the token or password (required unless auth is none)."""

    @model_validator(mode="after")
    def _secret_needed(self) -> GatewayAccess:
        if self.auth != "none" and self.secret is None:
            raise ValueError(f"auth {self.auth!r} needs a secret reference (secret: {{env: VAR}})")
        return self


class CanarySettings(Strict):
    bots: list[str] = Field(default_factory=list)
    """Bots that go first, by name."""
    count: int | None = Field(default=None, ge=1)
    """Or: how many bots go first (the first N by name)."""
    bake: Duration = "0s"
    """How long canaries must stay healthy before the rest follow."""


class RolloutSpec(Strict):
    strategy: Literal["all", "percentage", "canary"] = "all"
    """``all`` at once, ``percentage`` in batches, or ``canary`` first then batches."""
    batch: str | int = Field(default="100%", union_mode="left_to_right")
    """Batch size after the canaries: a count (``5``) or a percentage (``"10%"``)."""
    canary: CanarySettings | None = None
    """Canary bots and bake time (strategy ``canary``)."""
    health_timeout: Duration = "5m"
    """How long a wave may take to report the new hash and be healthy."""
    failure_threshold: int = Field(default=0, ge=0)
    """Failed bots tolerated before the rollout halts and rolls back."""
    pause_between_batches: Duration = "0s"
    """Wait between batches."""

    @field_validator("batch")
    @classmethod
    def _batch_form(cls, v: str | int) -> str | int:
        if isinstance(v, int):
            if v < 1:
                raise ValueError("a batch count must be at least 1")
            return v
        if not re.fullmatch(r"(100|[1-9][0-9]?)%", v):
            raise ValueError("a batch is a count (5) or a percentage from 1% to 100% ('10%')")
        return v

    @model_validator(mode="after")
    def _canary_given(self) -> RolloutSpec:
        if self.strategy == "canary" and (
            self.canary is None or (not self.canary.bots and self.canary.count is None)
        ):
            raise ValueError("strategy canary needs canary.bots or canary.count")
        return self


class FleetSync(Strict):
    self_heal: bool | None = None
    """Override of the repository's ``sync.selfHeal``."""
    prune: bool | None = None
    """Override of the repository's ``sync.prune``."""
    suspended: bool = False
    """The daemon leaves this fleet alone (like ``flux suspend``)."""


class Bot(Strict):
    name: Name
    """Bot name, unique in the repository."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Labels of this bot (added to the fleet's)."""
    profiles: list[Name] = Field(default_factory=list)
    """Profiles applied after the fleet's, in order."""
    parameters: JsonObject = Field(default_factory=dict)
    """Template parameter values for this bot (over the fleet's)."""
    gateway_url: str | None = None
    """This bot's Gateway URL, when the fleet's pattern does not fit."""
    config: JsonObject = Field(default_factory=dict)
    """This bot's own OpenClaw config, the last and strongest layer."""


class FleetSpec(Strict):
    description: str = ""
    """What this fleet is for."""
    environment: Environment
    """Environment of every bot in the fleet (dev, staging, prod...)."""
    template: Name
    """Template every bot starts from."""
    parameters: JsonObject = Field(default_factory=dict)
    """Template parameter values for every bot of the fleet."""
    profiles: list[Name] = Field(default_factory=list)
    """Profiles applied to every bot, in order."""
    openclaw_version: str = Field(min_length=1)
    """OpenClaw version the bots run; its config schema checks every render."""
    target: Target = Field(default_factory=Target)
    """Where the bots run."""
    gateway: GatewayAccess
    """How the engine reaches each bot's Gateway."""
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)
    """How changes roll out across the fleet."""
    sync: FleetSync = Field(default_factory=FleetSync)
    """Per-fleet sync options."""
    bots: list[Bot] = Field(default_factory=list)
    """The bots."""


class Fleet(Strict):
    """A group of bots sharing an environment, a template, profiles and a rollout strategy."""

    api_version: Literal["molthub/v1"]
    kind: Literal["Fleet"]
    metadata: Metadata
    spec: FleetSpec


# --------------------------------------------------------------------------- Policy


class AppliesTo(Strict):
    environments: list[str] = Field(default_factory=list)
    """Environments the pack applies to (empty: all)."""
    fleets: list[str] = Field(default_factory=list)
    """Fleet name globs (empty: all)."""
    match_labels: dict[str, str] = Field(default_factory=dict)
    """Labels a bot must carry for the pack to apply."""


Severity = Literal["error", "warning", "info"]


class Rule(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    """Rule id, unique in its pack; exceptions and findings refer to it."""
    type: str = Field(min_length=1)
    """Rule type (``required``, ``forbidden``, ``equals``, ``oneOf``, ``pattern``, ``range``,
    ``maxItems``, ``jsonSchema``, ``unique``, ``portSpacing``, or a built-in check)."""
    severity: Severity = "error"
    """How bad a finding is."""
    path: ConfigPath | None = None
    """Path the rule looks at, for path rules (inside the config unless ``subject`` says
    otherwise)."""
    subject: Literal["config", "target", "gateway", "bot"] = "config"
    """What ``path`` points into: the rendered OpenClaw ``config``, the fleet's ``target``
    (``provider``, ``settings.*``), the bot's ``gateway`` access (``url``, ``auth``,
    ``secret``), or the ``bot`` itself (``name``, ``fleet``, ``environment``, ``labels``)."""
    waivable: bool = True
    """Whether a PolicyException may waive this rule (false: nothing can)."""
    params: JsonObject = Field(default_factory=dict)
    """Type-specific parameters (values, pattern, min/max, schema, scope...)."""
    description: str = ""
    """What the rule checks."""
    rationale: str = ""
    """Why it matters."""
    fix: str = ""
    """How to fix a finding."""


class PolicyPackSpec(Strict):
    description: str = ""
    """What this pack enforces."""
    applies_to: AppliesTo = Field(default_factory=AppliesTo)
    """Which bots the pack checks."""
    rules: list[Rule] = Field(default_factory=list)
    """The rules."""


class PolicyPack(Strict):
    """A named set of policy rules."""

    api_version: Literal["molthub/v1"]
    kind: Literal["PolicyPack"]
    metadata: Metadata
    spec: PolicyPackSpec


class PolicyExceptionSpec(Strict):
    rules: list[str] = Field(min_length=1)
    """Rule ids waived (``pack/rule`` or a bare rule id)."""
    selector: Selector = Field(default_factory=Selector)
    """Bots the waiver covers."""
    reason: str = Field(min_length=1)
    """Why the waiver is acceptable."""
    owner: str = Field(min_length=1)
    """Who answers for it (a person or team)."""
    expires: dt.date
    """Last day the waiver holds; after it, the exception itself is an error."""


class PolicyException(Strict):
    """A time-limited, owned waiver of policy rules for some bots."""

    api_version: Literal["molthub/v1"]
    kind: Literal["PolicyException"]
    metadata: Metadata
    spec: PolicyExceptionSpec


Document = Repository | Template | Profile | Overlay | Fleet | PolicyPack | PolicyException

DOCUMENT_KINDS: dict[str, type[Strict]] = {
    "Repository": Repository,
    "Template": Template,
    "Profile": Profile,
    "Overlay": Overlay,
    "Fleet": Fleet,
    "PolicyPack": PolicyPack,
    "PolicyException": PolicyException,
}
"""Kind name -> model class, in the order ``molthub schema`` writes them."""
