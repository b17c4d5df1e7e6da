"""Policy evaluation: packs in force -> compiled rules -> findings with provenance -> waivers.

:func:`evaluate_policies` is the one entry point. It

1. picks the packs in force: ``security-baseline`` always, plus every name in the
   Repository's ``spec.policy.packs`` (built in, or a PolicyPack document), each limited to
   the bots its ``appliesTo`` selects;
2. compiles every rule once (:func:`compile_packs`); a rule the repository defines wrongly
   (unknown type, missing path, bad params, bad regex or schema) is a :class:`Problem` at the
   rule's file:line, and all of them are raised as one :class:`InputError`;
3. runs the checks. A :class:`BotCheck` that names its config ``sections`` runs once per
   distinct content of those sections (the renderer's canonical section texts are the key), and
   its verdict is reused for every bot sharing them. A name may also be a dotted path inside a
   section (``agents.defaults.sandbox``) for checks that read only that part of a section
   which differs per bot: bots share a verdict when the value there is the same object (the
   renderer shares untemplated subtrees between bots) or an equal scalar. A
   :class:`FleetwideCheck` sees every bot in scope at once;
4. turns violations into findings located where the fix belongs: for config paths, the
   file:line of the layer that set the value (provenance; the nearest ancestor when the value
   is missing); for ``target`` / ``gateway`` / ``bot`` paths, the fleet document's line (a
   bot's own ``gatewayUrl`` for its URL). Findings equal in rule, severity, path, message,
   hint and location are one finding listing every bot;
5. applies PolicyExceptions (:mod:`molthub_gitops.policy.exceptions`).

Paths of findings on other subjects than the config carry the subject as a prefix:
``target:settings.region``, ``gateway:url``, ``bot:labels.team``. The core is pure: ``today``
is given by the caller.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from molthub_gitops.errors import InputError, Location, Problem
from molthub_gitops.model.documents import Fleet, PolicyPack, Rule
from molthub_gitops.model.repository import FleetRepository, PathKey, SourceDoc
from molthub_gitops.policy import generic as _generic  # noqa: F401  (registers rule types)
from molthub_gitops.policy import openclaw_checks as _openclaw  # noqa: F401  (registers)
from molthub_gitops.policy.builtin import BUILTIN_PACKS
from molthub_gitops.policy.exceptions import EXCEPTION_RULES, apply_exceptions
from molthub_gitops.policy.findings import Finding, PolicyResult, RuleInfo, sorted_findings
from molthub_gitops.policy.rules import (
    RULE_TYPES,
    BotCheck,
    FleetwideCheck,
    RuleDefinitionError,
    Violation,
)
from molthub_gitops.policy.scope import BotScope, applies_to_matcher
from molthub_gitops.render.paths import format_path
from molthub_gitops.render.provenance import Provenance
from molthub_gitops.render.types import Origin, RenderedBot

__all__ = [
    "ALWAYS_ON",
    "CompiledPack",
    "CompiledRule",
    "compile_packs",
    "evaluate_policies",
    "packs_in_force",
]

ALWAYS_ON = "security-baseline"
"""The pack in force whether the Repository lists it or not."""

_MAX_RELATED = 10


# --------------------------------------------------------------------------- compiling


@dataclass(frozen=True)
class CompiledRule:
    """One rule of a pack in force, ready to run."""

    pack: str
    rule: Rule
    check: BotCheck | FleetwideCheck
    info: RuleInfo

    @property
    def qualified(self) -> str:
        return self.info.rule


@dataclass(frozen=True)
class CompiledPack:
    """A pack in force: its scope and compiled rules (``source`` None for built-in packs)."""

    name: str
    scope: BotScope
    rules: tuple[CompiledRule, ...]
    source: SourceDoc[PolicyPack] | None = field(default=None, compare=False)


def packs_in_force(repo: FleetRepository) -> list[tuple[str, PolicyPack, SourceDoc[PolicyPack]
                                                         | None]]:
    """(name, pack, its document or None when built in) of every pack in force, in order:
    ``security-baseline`` first, then the Repository's list. Raises InputError for a name
    that is neither built in nor a PolicyPack document."""
    builtin = BUILTIN_PACKS
    listed = repo.repository.doc.spec.policy.packs
    names = list(dict.fromkeys([ALWAYS_ON, *listed]))
    out: list[tuple[str, PolicyPack, SourceDoc[PolicyPack] | None]] = []
    problems: list[Problem] = []
    for name in names:
        sdoc = repo.policy_packs.get(name)
        if sdoc is not None:
            out.append((name, sdoc.doc, sdoc))
        elif name in builtin:
            out.append((name, builtin[name], None))
        else:
            known = sorted({*builtin, *repo.policy_packs})
            where = (repo.repository.loc("spec", "policy", "packs", listed.index(name))
                     if name in listed else repo.repository.loc("spec", "policy"))
            problems.append(Problem(
                "unknown-policy-pack",
                f"policy pack {name!r} is neither built in nor a PolicyPack document"
                f"{_suggest(name, known)}",
                where,
                f"known packs: {', '.join(known)}"))
    if problems:
        raise InputError(problems)
    return out


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _shown_path(subject: str, path: PathKey) -> str:
    text = format_path(path)
    return text if subject == "config" else f"{subject}:{text}"


def _compile_rule(
    pack: str, rule: Rule, index: int, sdoc: SourceDoc[PolicyPack] | None,
) -> CompiledRule | Problem:
    def at(*path: str | int) -> Location | None:
        return sdoc.loc("spec", "rules", index, *path) if sdoc is not None else None

    label = f"rule {pack}/{rule.id}"
    rule_type = RULE_TYPES.get(rule.type)
    if rule_type is None:
        known = sorted(RULE_TYPES)
        return Problem(
            "policy-unknown-rule-type",
            f"{label}: unknown rule type {rule.type!r}{_suggest(rule.type, known)}",
            at("type"), f"known types: {', '.join(known)}")
    if rule_type.needs_path and rule.path is None:
        return Problem(
            "policy-rule-definition", f"{label}: type {rule.type} needs a path", at(),
            "add path: <dotted config path>, e.g. path: channels.*.dmPolicy")
    try:
        check = rule_type.compile(rule)
    except RuleDefinitionError as exc:
        if exc.param is not None:
            where = at("params", exc.param)
        else:
            where = at("path") if rule.path is not None else at()
        hint = exc.hint
        if not hint and rule_type.params:
            hint = f"parameters of {rule.type}: " + "; ".join(
                f"{k}: {v}" for k, v in rule_type.params.items())
        return Problem("policy-rule-definition", f"{label}: {exc.message}", where, hint)
    info = RuleInfo(
        f"{pack}/{rule.id}", rule.type, rule.severity, rule.description, rule.rationale,
        rule.fix, _shown_path(rule.subject, tuple(rule.path.split("."))) if rule.path else "",
        at())
    return CompiledRule(pack, rule, check, info)


def compile_packs(repo: FleetRepository) -> tuple[CompiledPack, ...]:
    """Every pack in force, compiled. Raises InputError holding every wrong rule definition
    of the repository's packs (at the rule's file:line); a wrong built-in rule is a bug
    (RuntimeError)."""
    compiled: list[CompiledPack] = []
    problems: list[Problem] = []
    for name, pack, sdoc in packs_in_force(repo):
        rules: list[CompiledRule] = []
        seen: dict[str, int] = {}
        for i, rule in enumerate(pack.spec.rules):
            if rule.id in seen:
                where = sdoc.loc("spec", "rules", i, "id") if sdoc is not None else None
                first = (sdoc.loc("spec", "rules", seen[rule.id], "id"),) if sdoc else ()
                problems.append(Problem(
                    "duplicate-rule-id", f"rule id {rule.id!r} appears twice in pack {name}",
                    where, "give every rule of a pack its own id", first))
                continue
            seen[rule.id] = i
            result = _compile_rule(name, rule, i, sdoc)
            if isinstance(result, Problem):
                problems.append(result)
            else:
                rules.append(result)
        compiled.append(CompiledPack(name, applies_to_matcher(pack.spec.applies_to),
                                     tuple(rules), sdoc))
    if problems:
        if any(p.location is None for p in problems):
            raise RuntimeError("a built-in policy pack is broken: "
                               + "; ".join(p.message for p in problems if p.location is None))
        raise InputError(problems)
    return tuple(compiled)


# --------------------------------------------------------------------------- locating


def _origin(bot: RenderedBot, path: PathKey) -> Origin | None:
    """Who set ``path`` of the bot's config (nearest existing ancestor when missing)."""
    prov = bot.provenance
    if isinstance(prov, Provenance):
        return prov.find(path)
    key = path
    while True:  # a plain mapping of leaf paths (bots built outside the renderer)
        found = prov.get(key)
        if found is not None:
            return found
        below = next((o for k, o in prov.items() if k[: len(key)] == key), None)
        if below is not None:
            return below
        if not key:
            return None
        key = key[:-1]


class _Locator:
    """Where to fix a violation of one bot, with the layer that holds that place."""

    def __init__(self, repo: FleetRepository) -> None:
        self.repo = repo
        self._entries: dict[str, dict[str, int]] = {}

    def _fleet(self, bot: RenderedBot) -> SourceDoc[Fleet] | None:
        return self.repo.fleets.get(bot.fleet)

    def _entry(self, fleet: SourceDoc[Fleet], bot: str) -> int | None:
        entries = self._entries.get(fleet.name)
        if entries is None:
            entries = {b.name: i for i, b in enumerate(fleet.doc.spec.bots)}
            self._entries[fleet.name] = entries
        return entries.get(bot)

    def locate(self, bot: RenderedBot, subject: str, path: PathKey) -> tuple[
            Location | None, str]:
        if subject == "config":
            origin = _origin(bot, path)
            if origin is None:
                return bot.location, f"fleet Fleet/{bot.fleet}"
            return origin.location, f"{origin.layer} {origin.document}"
        fleet = self._fleet(bot)
        layer = f"fleet Fleet/{bot.fleet}"
        if fleet is None:
            return bot.location, layer
        index = self._entry(fleet, bot.name)
        entry = fleet.doc.spec.bots[index] if index is not None else None
        if subject == "target":
            return fleet.loc("spec", "target", *path), layer
        if subject == "gateway":
            if path[:1] == ("url",) and entry is not None and entry.gateway_url is not None:
                return fleet.loc("spec", "bots", index or 0, "gatewayUrl"), layer
            return fleet.loc("spec", "gateway", *path), layer
        # subject bot
        head = path[0] if path else ""
        if index is None:
            return bot.location, layer
        if head == "environment":
            return fleet.loc("spec", "environment"), layer
        if head == "fleet":
            return fleet.loc("metadata", "name"), layer
        if head == "labels" and len(path) > 1 and entry is not None:
            if path[1] in entry.labels:
                return fleet.loc("spec", "bots", index, "labels", path[1]), layer
            if path[1] in fleet.doc.metadata.labels:
                return fleet.loc("metadata", "labels", path[1]), layer
            return fleet.loc("spec", "bots", index), layer
        if head == "name":
            return fleet.loc("spec", "bots", index, "name"), layer
        return fleet.loc("spec", "bots", index), layer


# --------------------------------------------------------------------------- evaluating


def _identity_key(root: Mapping[str, Any], steps: Sequence[str]) -> Hashable:
    """A key equal for two bots only when the value at ``steps`` (a dotted section path) is
    the same: the same object (containers the renderer shares between bots; the bots keep
    them alive while they are evaluated), or an equal scalar of the same type. A ``*`` step
    stands for every entry of a mapping."""
    value: Any = root
    for n, step in enumerate(steps):
        if not isinstance(value, Mapping):
            return ("missing",)
        if step == "*":
            # Every entry of a mapping (``agents.entries.*.sandbox``): the key is the entry
            # names with the identity key of what each holds at the rest of the path.
            rest = steps[n + 1:]
            return ("each", tuple((k, _identity_key(v, rest)) for k, v in sorted(value.items())))
        value = value.get(step, _ABSENT)
        if value is _ABSENT:
            return ("missing",)
    if isinstance(value, dict | list):
        return ("object", id(value))
    return ("value", type(value).__name__, value)


_ABSENT: Any = object()


@dataclass
class _Group:
    bots: set[str] = field(default_factory=set)
    fleets: set[str] = field(default_factory=set)
    related: set[Location] = field(default_factory=set)


_Head = tuple[str, str, str, str, str]
"""(rule, severity, shown path, message, hint) of a violation."""
_GroupKey = tuple[_Head, Location | None, str]


class _Run:
    """One evaluation: bots, memo groups, and the findings collected so far."""

    def __init__(self, repo: FleetRepository, bots: Sequence[RenderedBot]) -> None:
        self.bots = list(bots)
        self.by_name = {b.name: b for b in self.bots}
        self.locator = _Locator(repo)
        self._groups: dict[frozenset[str], list[list[int]]] = {}
        self._ids: dict[str, list[int]] = {}
        self._sig: tuple[list[list[int]], list[RenderedBot | None]] | None = None
        self.found: dict[_GroupKey, _Group] = {}

    def _signatures(self) -> tuple[list[list[int]], list[RenderedBot | None]]:
        """Bots grouped by the texts of all their sections (members; one representative
        each, None for a bot without section texts)."""
        if self._sig is None:
            index: dict[Hashable, int] = {}
            members: list[list[int]] = []
            reps: list[RenderedBot | None] = []
            for i, bot in enumerate(self.bots):
                texts = bot.section_json
                key: Hashable = tuple(texts.items()) if texts else (i,)
                n = index.get(key)
                if n is None:
                    index[key] = len(members)
                    members.append([i])
                    reps.append(bot if texts else None)
                else:
                    members[n].append(i)
            self._sig = (members, reps)
        return self._sig

    def _content_ids(self, section: str) -> list[int]:
        """Per signature group, a small number naming the content of ``section`` (equal
        texts, equal numbers; a bot without section texts gets a number of its own)."""
        cached = self._ids.get(section)
        if cached is not None:
            return cached
        numbers: dict[Hashable, int] = {}
        out: list[int] = []
        steps = section.split(".")
        for g, rep in enumerate(self._signatures()[1]):
            if rep is None:
                out.append(-1 - g)
                continue
            key: Hashable
            if len(steps) == 1:
                key = rep.section_json.get(section)
            elif not rep.section_values:
                key = ("group", g)
            else:
                key = _identity_key(rep.section_values, steps)
            n = numbers.get(key)
            if n is None:
                n = numbers[key] = len(numbers)
            out.append(n)
        self._ids[section] = out
        return out

    def groups(self, sections: frozenset[str]) -> list[list[int]]:
        """Bot indices grouped by the content of ``sections``: bots in one group have equal
        texts for every section named (a bot without section texts is alone)."""
        cached = self._groups.get(sections)
        if cached is not None:
            return cached
        members = self._signatures()[0]
        columns = [self._content_ids(s) for s in sorted(sections)]
        keys: Iterable[Hashable] = columns[0] if len(columns) == 1 else zip(*columns,
                                                                           strict=True)
        buckets: dict[Hashable, list[int]] = {}
        for g, key in enumerate(keys):
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = list(members[g])
            else:
                bucket.extend(members[g])
        cached = list(buckets.values())
        self._groups[sections] = cached
        return cached

    @staticmethod
    def _head(cr: CompiledRule, subject: str, path: PathKey, message: str, hint: str) -> _Head:
        return (cr.qualified, cr.rule.severity, _shown_path(subject, path), message,
                hint or cr.rule.fix)

    def _add(self, head: _Head, bot: RenderedBot, subject: str, path: PathKey,
             others: Sequence[str] = ()) -> None:
        location, layer = self.locator.locate(bot, subject, path)
        key: _GroupKey = (head, location, layer)
        group = self.found.get(key)
        if group is None:
            group = self.found[key] = _Group()
        group.bots.add(bot.name)
        group.fleets.add(bot.fleet)
        for other in others[:_MAX_RELATED]:
            peer = self.by_name.get(other)
            if peer is not None:
                where, _ = self.locator.locate(peer, subject, path)
                if where is not None:
                    group.related.add(where)

    def _emit(self, cr: CompiledRule, bots: Sequence[RenderedBot],
              violations: Sequence[Violation]) -> None:
        """Record ``violations`` (one verdict) for every bot of ``bots``."""
        heads = [(v, self._head(cr, v.subject, v.path, v.message, v.hint)) for v in violations]
        for bot in bots:
            for v, head in heads:
                self._add(head, bot, v.subject, v.path)

    def run_bot_check(self, cr: CompiledRule, check: BotCheck,
                      in_scope: list[bool] | None) -> None:
        bots = self.bots
        sections = check.sections
        if sections is None:
            for i, bot in enumerate(bots):
                if in_scope is None or in_scope[i]:
                    violations = check.check(bot)
                    if violations:
                        self._emit(cr, (bot,), violations)
            return
        for members in self.groups(sections):
            first = members[0] if in_scope is None else next(
                (i for i in members if in_scope[i]), -1)
            if first < 0:
                continue
            violations = check.check(bots[first])
            if violations:
                chosen = members if in_scope is None else [i for i in members if in_scope[i]]
                self._emit(cr, [bots[i] for i in chosen], violations)

    def run_fleetwide(self, cr: CompiledRule, check: FleetwideCheck,
                      in_scope: list[bool] | None) -> None:
        scoped = self.bots if in_scope is None else [
            b for b, keep in zip(self.bots, in_scope, strict=True) if keep]
        for v in check.check_all(scoped):
            bot = self.by_name.get(v.bot)
            if bot is None:
                raise RuntimeError(f"rule {cr.qualified} reported an unknown bot {v.bot!r}")
            head = self._head(cr, v.subject, v.path, v.message, v.hint)
            self._add(head, bot, v.subject, v.path, v.others)

    def findings(self, definitions: Mapping[str, Location | None]) -> list[Finding]:
        out: list[Finding] = []
        for (head, location, layer), group in self.found.items():
            rule, severity, path, message, hint = head
            related = set(group.related)
            defined = definitions.get(rule)
            if defined is not None:
                related.add(defined)
            if location is not None:
                related.discard(location)
            out.append(Finding(
                rule, severity,  # type: ignore[arg-type]
                message, tuple(sorted(group.bots)), tuple(sorted(group.fleets)), path, hint,
                location, layer, tuple(sorted(related))))
        return out


def evaluate_policies(
    repo: FleetRepository, bots: Sequence[RenderedBot], *, today: datetime.date
) -> PolicyResult:
    """Evaluate every pack in force over ``bots`` (the repository's rendered bots) and apply
    the repository's exceptions. Raises InputError for wrong rule definitions."""
    packs = compile_packs(repo)
    run = _Run(repo, bots)
    infos: list[RuleInfo] = list(EXCEPTION_RULES)
    waivable: dict[str, bool] = {info.rule: False for info in EXCEPTION_RULES}
    for pack in packs:
        in_scope = None if pack.scope.everything else [pack.scope.covers(b) for b in run.bots]
        for cr in pack.rules:
            infos.append(cr.info)
            waivable[cr.qualified] = cr.rule.waivable
            check = cr.check
            if in_scope is not None and not any(in_scope):
                continue
            if isinstance(check, BotCheck):
                run.run_bot_check(cr, check, in_scope)
            else:
                run.run_fleetwide(cr, check, in_scope)
    definitions = {info.rule: info.location for info in infos}
    kept, waived = apply_exceptions(repo, run.findings(definitions), run.by_name, waivable,
                                    today=today)
    return PolicyResult(
        findings=sorted_findings(kept),
        waived=sorted_findings(waived),
        rules=tuple(sorted(infos, key=lambda i: i.rule)),
        bots_checked=len(run.bots),
    )

