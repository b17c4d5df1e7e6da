"""The rule-type contract: how a rule in a PolicyPack becomes a check, and what checks report.

Every rule type (generic path rules, cross-bot rules, OpenClaw security checks) registers a
:class:`RuleType` in :data:`RULE_TYPES` with :func:`register`. Compiling a
:class:`~molthub_gitops.model.documents.Rule` validates its ``path`` and ``params`` (raising
:class:`RuleDefinitionError`, which the engine turns into a problem at the rule's file:line)
and returns a check:

* a :class:`BotCheck` looks at one bot at a time. It names the config sections (or paths
  inside them) it reads (``sections``), so the engine can evaluate it once per distinct
  content of those and reuse the verdict for every bot that shares them (10,000 bots of one
  fleet cost one evaluation);
* a :class:`FleetwideCheck` looks at every bot in scope at once (unique values, port spacing).

Checks report :class:`Violation` values: a path and a message without bot names or secret
values; the engine adds the bot, severity, provenance (file:line of the layer that set the
value), grouping and waivers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from molthub_gitops.model.documents import Rule
from molthub_gitops.model.repository import PathKey
from molthub_gitops.render.types import RenderedBot

__all__ = [
    "RULE_TYPES",
    "BotCheck",
    "CrossViolation",
    "FleetwideCheck",
    "RuleDefinitionError",
    "RuleType",
    "Subject",
    "Violation",
    "register",
]

Subject = Literal["config", "target", "gateway", "bot"]
"""What a path points into: the rendered OpenClaw config (default), the fleet's ``target``
(provider and settings), the bot's gateway access (``url``, ``auth``, ``secret``), or the
bot's identity (``name``, ``fleet``, ``environment``, ``labels``)."""


class RuleDefinitionError(ValueError):
    """A rule's path or params are wrong (the repository's fault, reported with file:line)."""

    def __init__(self, message: str, *, param: str | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        """The offending key under ``params`` (None: the rule as a whole, or its path)."""
        self.hint = hint


@dataclass(frozen=True)
class Violation:
    """One way a bot breaks a rule."""

    path: PathKey
    """Where, inside the subject (config path segments; ``()`` for the whole subject)."""
    message: str
    """What is wrong. No bot name (identical violations of many bots are grouped) and no
    secret value (show values with :func:`molthub_gitops.model.sensitive.redact_value`)."""
    hint: str = ""
    """How to fix it; the rule's own ``fix`` text is used when empty."""
    subject: Subject = "config"


@dataclass(frozen=True)
class CrossViolation:
    """A violation involving several bots (each offending bot gets one)."""

    bot: str
    path: PathKey
    message: str
    others: tuple[str, ...] = ()
    """The other bots involved (sharing the value, too close a port...)."""
    hint: str = ""
    subject: Subject = "config"


class BotCheck(ABC):
    """A compiled per-bot rule."""

    sections: frozenset[str] | None = None
    """Config parts the check reads: top-level sections (``{"gateway"}``: bots share a verdict
    when the section's canonical text is equal), or dotted paths inside one
    (``agents.defaults.sandbox``; ``*`` for every entry of a mapping, as in
    ``agents.entries.*.sandbox``: bots share a verdict when the values there are the same
    objects -- the renderer shares untemplated subtrees -- or equal scalars). The verdict must
    depend on nothing else (not the bot's name, labels, target, nor other parts of a section
    named by a dotted path). None: it reads more, and runs for every bot."""

    @abstractmethod
    def check(self, bot: RenderedBot) -> Sequence[Violation]:
        """Violations of this bot (empty when it complies). Read ``bot.section_values`` or
        ``bot.config``; never modify either."""


class FleetwideCheck(ABC):
    """A compiled rule over every bot in scope at once."""

    @abstractmethod
    def check_all(self, bots: Sequence[RenderedBot]) -> Sequence[CrossViolation]:
        """Violations among ``bots`` (all bots the rule's pack applies to)."""


@dataclass(frozen=True)
class RuleType:
    """A kind of rule: its name in YAML, what it checks, its parameters, and its compiler."""

    name: str
    """``type:`` in a rule (``required``, ``oneOf``, ``openclaw.bindWithoutAuth``...)."""
    summary: str
    """One sentence for the reference page."""
    compile: Callable[[Rule], BotCheck | FleetwideCheck]
    """Validates the rule's path and params (raising :class:`RuleDefinitionError`) and
    returns its check."""
    params: Mapping[str, str] = field(default_factory=dict)
    """Parameter name -> description (for the reference page and error hints)."""
    needs_path: bool = False
    """Whether the rule must have ``path``."""
    category: Literal["generic", "cross-bot", "openclaw"] = "generic"


RULE_TYPES: dict[str, RuleType] = {}
"""Every rule type, by name. Filled by :func:`register` when the modules defining them are
imported (the engine imports them all)."""


def register(rule_type: RuleType) -> RuleType:
    """Add ``rule_type`` to :data:`RULE_TYPES` (a name may be registered once)."""
    if rule_type.name in RULE_TYPES:
        raise ValueError(f"rule type {rule_type.name!r} registered twice")
    RULE_TYPES[rule_type.name] = rule_type
    return rule_type
