"""Rendering a repository: every bot's layers merged, templated, hashed, with provenance.

Precedence, lowest first: the fleet's template -> the fleet's profiles in order -> the bot's
profiles in order -> enabled overlays selecting the bot, by (priority, name) -> the bot's own
``config``. See :mod:`molthub_gitops.render.merge` for the merge rules and
:mod:`molthub_gitops.render.templating` for Jinja2.

Speed (the same template renders for thousands of bots): a layer is prepared once per
document. Strings that read ``bot`` or ``params`` vary from bot to bot, so merges first leave
a placeholder for them; the merged state after each prefix of layers is then the same for
every bot with those layers (and fleet, for strings reading ``fleet``) and is cached. Per bot
only its own layers are merged (an empty one only changes the config's own origin, so the
merged config itself is shared), its placeholder strings rendered (those not reading ``bot``
once per parameter set), and the canonical JSON of the config assembled from memoised text
pieces of the shared config (:class:`_Skeleton`) with the bot's values put in, then hashed;
``RenderedBot.config`` is decoded from that text only when first read. Where a placeholder's
value could change the merge (a locked path comparing it, ``union`` or ``mergeBy`` comparing
items, an expression giving a map, list or null), that bot is merged again deferring only the
strings that read ``bot`` (shared with bots of equal parameters), and failing that the exact
way: every layer templated first, nothing shared. Tests check all ways give the same bytes
(tests/render/test_render_fast_paths.py, test_render_engine.py).

Problems are collected across all bots and raised together. Rendering allocates millions of
acyclic objects; callers that render large repositories pause the cyclic garbage collector
around it (the pipeline does, see :mod:`molthub_gitops.repo.gcpause`).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from json.encoder import encode_basestring as _encode_string
from typing import Any

from molthub_gitops.errors import InputError, Problem
from molthub_gitops.model.documents import Fleet, GatewayAccess, Overlay
from molthub_gitops.model.repository import FleetRepository, SourceDoc
from molthub_gitops.render.canonical import canonical_text, hash_text
from molthub_gitops.render.issues import Issue, IssueCollector
from molthub_gitops.render.layers import (
    DEFER_ALL,
    DEFER_BOT,
    DEFER_NONE,
    LayerInstance,
    PreparedLayer,
    TemplatedString,
    empty_layer,
    prepare_layer,
)
from molthub_gitops.render.merge import EMPTY_STATE, MergeState, merge_layer
from molthub_gitops.render.parameters import (
    check_fleet_parameters,
    check_template_parameters,
    resolve_bot_parameters,
)
from molthub_gitops.render.provenance import ODict, Provenance
from molthub_gitops.render.selectors import SelectorMatcher
from molthub_gitops.render.templating import TemplateFailure, render_compiled, render_text
from molthub_gitops.render.types import Origin, RenderedBot, RenderResult, config_from_json

__all__ = [
    "BotPlan",
    "RenderResult",
    "RenderedBot",
    "Renderer",
    "TraceHook",
    "render_repository",
]

TraceHook = Callable[[PreparedLayer, MergeState, MergeState], None]
"""Called after each layer with (layer, state before, state after); disables caching."""


class BotPlan:
    """Everything needed to render one bot: its identity, context and layers."""

    __slots__ = (
        "_params_key", "context", "fleet", "index", "labels", "layers", "name", "overlays",
        "params", "params_shared", "shared_values",
    )

    def __init__(
        self,
        fleet: SourceDoc[Fleet],
        index: int,
        labels: dict[str, str],
        params: dict[str, Any],
        layers: list[PreparedLayer],
        overlays: tuple[str, ...],
        fleet_context: dict[str, Any] | None = None,
    ) -> None:
        self.fleet = fleet
        self.index = index
        self.name = fleet.doc.spec.bots[index].name
        self.labels = labels
        self.params = params
        self.layers = layers
        self.overlays = overlays
        self._params_key: str | None = None
        self.params_shared = False
        """Whether ``params`` is one object shared by several bots."""
        self.shared_values: dict[int, Any] | None = None
        """Set by a shared merge: the placeholder values shared with other bots."""
        spec = fleet.doc.spec
        self.context: dict[str, Any] = {
            "bot": {
                "name": self.name,
                "labels": labels,
                "fleet": fleet.name,
                "environment": spec.environment,
            },
            "fleet": fleet_context if fleet_context is not None else fleet_context_of(fleet),
            "params": params,
        }


    def params_key(self) -> str:
        if self._params_key is None:
            self._params_key = canonical_text(self.params)
        return self._params_key


def fleet_context_of(fleet: SourceDoc[Fleet]) -> dict[str, Any]:
    """What templates see as ``fleet`` (one object may serve all the fleet's bots: templates
    cannot modify their context)."""
    return {
        "name": fleet.name,
        "environment": fleet.doc.spec.environment,
        "labels": dict(fleet.doc.metadata.labels),
    }


_MARK = re.compile(r'"\\u0000(\d+)\\u0000"')
"""A placeholder's marker as it appears in JSON text."""


class _Skeleton:
    """The parts of a rendered config shared by the bots with one merged config: canonical
    JSON of each top-level entry (``"key":text``, just ``"key":`` where the section holds
    placeholders), and those sections to fill per bot."""

    __slots__ = ("parts", "sections", "shared", "value", "values", "varying")

    def __init__(self, value: dict[str, Any], shared: dict[int, Any] | None) -> None:
        self.value = value
        self.shared = shared
        self.parts: list[str] = []
        self.sections: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.varying: list[tuple[int, str, str, Any, Any, tuple[Any, ...] | None]] = []
        """(index in parts, key, "key":, section, section with the shared values put in,
        pieces of its canonical JSON)"""


class _CacheNode:
    __slots__ = ("children", "state")

    def __init__(self, state: MergeState) -> None:
        self.state = state
        self.children: dict[tuple[int, tuple[Any, ...], frozenset[str]], _CacheNode] = {}


class Renderer:
    """Renders bots of one repository; holds the caches of one run."""

    def __init__(self, repo: FleetRepository, *, trace: TraceHook | None = None) -> None:
        self.repo = repo
        self.trace = trace
        self.issues = IssueCollector()
        self._layers: dict[tuple[str, ...], PreparedLayer] = {}
        self._instances: dict[tuple[int, tuple[Any, ...], frozenset[str]], LayerInstance] = {}
        self._cache = _CacheNode(EMPTY_STATE)
        self._sections: dict[int, tuple[Any, tuple[Any, ...] | None]] = {}
        self._skeletons: dict[tuple[int, int], _Skeleton] = {}
        self._filled: dict[tuple[int, int], tuple[Any, dict[int, Any], Any]] = {}
        self._hole_memo: dict[int, tuple[Any, dict[Any, Any] | None]] = {}
        self._prefixes: dict[tuple[tuple[int, ...], str], MergeState] = {}
        self._deferred: dict[int, tuple[MergeState, tuple[TemplatedString, ...],
                                        tuple[TemplatedString, ...]]] = {}
        self._shared_values: dict[
            tuple[int, int, str],
            tuple[MergeState, dict[str, Any], tuple[dict[int, Any], list[Issue]] | None],
        ] = {}
        self._plain: dict[int, tuple[Any]] = {}
        self._template_ok: dict[str, bool] = {}
        self._overlays = [
            (sd, SelectorMatcher(sd.doc.spec.selector))
            for sd in sorted(
                repo.overlays.values(), key=lambda sd: (sd.doc.spec.priority, sd.name)
            )
            if sd.doc.spec.enabled
        ]

    # ------------------------------------------------------------------ layers

    def _layer(self, key: tuple[str, ...], make: Callable[[int], PreparedLayer]) -> PreparedLayer:
        found = self._layers.get(key)
        if found is None:
            found = make(len(self._layers))
            self._layers[key] = found
        return found

    def template_layer(self, name: str) -> PreparedLayer:
        sd = self.repo.templates[name]
        spec = sd.doc.spec
        return self._layer(("template", name), lambda uid: prepare_layer(
            uid, "template", f"Template/{name}", sd, ("spec", "config"), spec.config,
            merge_strategies=spec.merge_strategies,
        ))

    def profile_layer(self, name: str) -> PreparedLayer:
        sd = self.repo.profiles[name]
        spec = sd.doc.spec
        return self._layer(("profile", name), lambda uid: prepare_layer(
            uid, "profile", f"Profile/{name}", sd, ("spec", "config"), spec.config,
            merge_strategies=spec.merge_strategies, locked_paths=tuple(spec.locked_paths),
        ))

    def overlay_layer(self, sd: SourceDoc[Overlay]) -> PreparedLayer:
        spec = sd.doc.spec
        return self._layer(("overlay", sd.name), lambda uid: prepare_layer(
            uid, "overlay", f"Overlay/{sd.name}", sd, ("spec", "config"), spec.config,
            merge_strategies=spec.merge_strategies,
        ))

    def bot_layer(self, fleet: SourceDoc[Fleet], index: int) -> PreparedLayer:
        bot = fleet.doc.spec.bots[index]
        prepare = prepare_layer if bot.config else empty_layer
        return self._layer(("bot", fleet.name, str(index)), lambda uid: prepare(
            uid, "bot", f"Fleet/{fleet.name}", fleet, ("spec", "bots", index, "config"),
            bot.config,
        ))

    # ------------------------------------------------------------------ planning

    def plan_fleet(self, fleet: SourceDoc[Fleet], only: Collection[str] | None) -> list[BotPlan]:
        """Plans of the fleet's bots (those named in ``only``, if given); issues recorded."""
        spec = fleet.doc.spec
        ok = True
        template = self.repo.templates.get(spec.template)
        if template is None:
            self._missing(fleet, ("spec", "template"), "template", spec.template,
                          self.repo.templates)
            return []
        if template.name not in self._template_ok:
            template_issues = check_template_parameters(template)
            self._template_ok[template.name] = not template_issues
            self.issues.extend(template_issues)
        fleet_issues = check_fleet_parameters(fleet, template)
        self.issues.extend(fleet_issues)
        ok = not fleet_issues and self._template_ok[template.name]
        fleet_profiles = []
        for i, name in enumerate(spec.profiles):
            if name not in self.repo.profiles:
                self._missing(fleet, ("spec", "profiles", i), "profile", name, self.repo.profiles)
                ok = False
            else:
                fleet_profiles.append(self.profile_layer(name))
        base = [self.template_layer(template.name), *fleet_profiles]
        fleet_labels = dict(fleet.doc.metadata.labels)
        fleet_context = fleet_context_of(fleet)
        overlays = [
            (sd, m) for sd, m in self._overlays if m.matches_fleet(fleet.name, spec.environment)
        ]
        # Overlays that name no bots depend only on a bot's labels: choose once per label set.
        by_labels = not any(m.names_bots for _, m in overlays)
        chosen_for: dict[tuple[tuple[str, str], ...],
                         tuple[tuple[str, ...], list[PreparedLayer]]] = {}
        no_params: tuple[dict[str, Any], list[Issue]] | None = None
        plans = []
        for index, bot in enumerate(spec.bots):
            if only is not None and bot.name not in only:
                continue
            labels = {**fleet_labels, **bot.labels}
            if bot.parameters:
                params, param_issues = resolve_bot_parameters(fleet, index, template)
            else:  # the same for every bot that gives no parameters
                if no_params is None:
                    no_params = resolve_bot_parameters(fleet, index, template)
                params, param_issues = no_params
            bot_ok = not param_issues
            self.issues.extend(param_issues, bot.name)
            layers = list(base)
            for i, name in enumerate(bot.profiles):
                if name not in self.repo.profiles:
                    self._missing(fleet, ("spec", "bots", index, "profiles", i), "profile", name,
                                  self.repo.profiles)
                    bot_ok = False
                else:
                    layers.append(self.profile_layer(name))
            if by_labels:
                label_key = tuple(sorted(labels.items()))
                found = chosen_for.get(label_key)
                if found is None:
                    chosen = [sd for sd, m in overlays if m.matches_bot(bot.name, labels)]
                    found = (tuple(sd.name for sd in chosen),
                             [self.overlay_layer(sd) for sd in chosen])
                    chosen_for[label_key] = found
                overlay_names = found[0]
                layers.extend(found[1])
            else:
                chosen = [sd for sd, m in overlays if m.matches_bot(bot.name, labels)]
                overlay_names = tuple(sd.name for sd in chosen)
                layers.extend(self.overlay_layer(sd) for sd in chosen)
            layers.append(self.bot_layer(fleet, index))
            if ok and bot_ok:
                plan = BotPlan(fleet, index, labels, params, layers, overlay_names,
                               fleet_context)
                plan.params_shared = not bot.parameters
                plans.append(plan)
        return plans

    def _missing(self, fleet: SourceDoc[Fleet], path: tuple[str | int, ...], kind: str,
                 name: str, known: Mapping[str, Any]) -> None:
        close = difflib.get_close_matches(name, list(known), n=1)
        self.issues.add(Issue(
            "render-missing-reference",
            f"fleet {fleet.name} refers to {kind} {name!r}, which does not exist",
            fleet.loc(*path),
            hint=f"did you mean {close[0]!r}?" if close else "",
        ))

    # ------------------------------------------------------------------ merging

    def _context_key(self, layer: PreparedLayer, plan: BotPlan, defer: frozenset[str]
                     ) -> tuple[Any, ...]:
        uses = layer.eager_uses[defer]
        if not uses:
            return ()
        return (
            plan.name if "bot" in uses else None,
            plan.fleet.name if "fleet" in uses else None,
            plan.params_key() if "params" in uses else None,
        )

    def _instance(self, layer: PreparedLayer, key: tuple[Any, ...], plan: BotPlan,
                  defer: frozenset[str]) -> LayerInstance:
        if not layer.templates:
            return LayerInstance(layer.raw, layer.clean, ())
        ikey = (layer.uid, key, defer)
        found = self._instances.get(ikey)
        if found is None:
            found = layer.instantiate(plan.context, defer=defer)
            if "bot" in defer or "bot" not in layer.uses:  # bot-specific ones are not reused
                self._instances[ikey] = found
        return found

    def _apply(self, state: MergeState, layer: PreparedLayer, inst: LayerInstance) -> MergeState:
        after = merge_layer(
            state, inst.raw, inst.clean, layer.origins,
            strategies=layer.strategies, locks=layer.locks, change_origin=layer.origin_at,
            extra_issues=layer.issues + inst.issues,
        )
        if self.trace is not None:
            self.trace(layer, state, after)
        return after

    def merge_bot(self, plan: BotPlan, *, exact: bool = False) -> MergeState:
        """The bot's merged config state (issues inside ``state.issues``).

        Shared mode (the default): every layer but the bot's own is merged with the strings
        that read ``bot`` or ``params`` left as placeholders, so the state after each prefix
        of layers is cached and shared by all bots with those layers (and fleet); the
        placeholders are then rendered for this bot and put in. Where that could differ from
        rendering before merging (a placeholder compared by a lock, ``union`` or ``mergeBy``;
        an expression giving a map, list or null), the bot is merged again deferring only
        strings that read ``bot`` (sharing with bots of the same parameters), and failing
        that, exactly: every layer templated with the bot's context first, nothing shared.
        Trace mode (explain) is always exact.
        """
        state, values = self.merge_shared(plan, exact=exact)
        if not values:
            return state
        return replace(state, value=self._fill(state.value, values))

    def merge_shared(self, plan: BotPlan, *, exact: bool = False
                     ) -> tuple[MergeState, dict[int, Any]]:
        """The bot's merged state, possibly still holding placeholders, and the rendered value
        of each placeholder (by ``id``). See :meth:`merge_bot`."""
        if self.trace is None and not exact:
            for defer in (DEFER_ALL, DEFER_BOT):
                if defer is DEFER_BOT and all(
                    layer.deferred[DEFER_BOT] == layer.deferred[DEFER_ALL]
                    for layer in plan.layers
                ):
                    break  # no string reads params: the second try would repeat the first
                found = self._merge_deferred(plan, defer)
                if found is not None:
                    return found
        return self._merge(plan, DEFER_NONE)[0], {}

    def _merge_deferred(self, plan: BotPlan, defer: frozenset[str]
                        ) -> tuple[MergeState, dict[int, Any]] | None:
        plan.shared_values = None
        state, prefix = self._merge(plan, defer)
        if state.inexact:
            return None
        # The placeholders of a shared prefix state are the same for all bots sharing it:
        # listed once; those not reading ``bot`` are rendered once per parameter set (the
        # bots of a fleet giving no parameters share one parameters object).
        todo = self._deferred.get(id(prefix))
        if todo is None or todo[0] is not prefix:
            todo = (prefix, *self._deferred_templates(plan, defer))
            self._deferred[id(prefix)] = todo
        _, by_bot, shared = todo
        values: dict[int, Any]
        issues: list[Issue]
        if shared:
            shared_key = (id(prefix), id(plan.params), plan.fleet.name)
            done = self._shared_values.get(shared_key)
            if done is None or done[0] is not prefix or done[1] is not plan.params:
                rendered = self._render_deferred(shared, plan)
                done = (prefix, plan.params, rendered)
                self._shared_values[shared_key] = done
            if done[2] is None:
                return None
            if plan.params_shared:
                plan.shared_values = done[2][0]
            values, issues = dict(done[2][0]), list(done[2][1])
        else:
            values, issues = {}, []
        if by_bot:
            own = self._render_deferred(by_bot, plan)
            if own is None:
                return None
            values.update(own[0])
            issues.extend(own[1])
        if issues:
            state = replace(state, issues=state.issues + tuple(issues))
        return state, values

    @staticmethod
    def _deferred_templates(plan: BotPlan, defer: frozenset[str]
                            ) -> tuple[tuple[TemplatedString, ...], tuple[TemplatedString, ...]]:
        """The placeholders left by ``plan``'s shared layers: (reading ``bot``, the others)."""
        seen: set[int] = set()
        by_bot: list[TemplatedString] = []
        shared: list[TemplatedString] = []
        for layer in plan.layers[:-1]:
            for t in layer.deferred[defer]:
                if id(t) in seen:
                    continue
                seen.add(id(t))
                (by_bot if "bot" in t.compiled.uses else shared).append(t)
        return tuple(by_bot), tuple(shared)

    @staticmethod
    def _render_deferred(templates: tuple[TemplatedString, ...], plan: BotPlan
                         ) -> tuple[dict[int, Any], list[Issue]] | None:
        """Rendered values of placeholders (by ``id``) and failures; None when one gives a
        value that could change the merge (null, a map or a list)."""
        values: dict[int, Any] = {}
        issues: list[Issue] = []
        for t in templates:
            try:
                value = render_compiled(t.compiled, plan.context)
            except TemplateFailure as exc:
                issues.append(t.failure_issue(exc))
                value = t.compiled.source
            else:
                if t.compiled.native and (value is None or type(value) in (dict, list)):
                    return None
            values[id(t)] = value
        return values, issues

    def _merge(self, plan: BotPlan, defer: frozenset[str]) -> tuple[MergeState, MergeState]:
        """The merged state and the state before the bot's own layer."""
        last = len(plan.layers) - 1
        prefix_key = None
        if defer is DEFER_ALL:
            # Deferring ``bot`` and ``params`` leaves only strings reading ``fleet`` rendered
            # while merging: the state before the bot's own layer depends on the layers and
            # the fleet alone (a shortcut past the walk down the cache tree below).
            prefix_key = (tuple([layer.uid for layer in plan.layers[:-1]]), plan.fleet.name)
            found = self._prefixes.get(prefix_key)
            if found is not None:
                return self._merge_own(plan, found), found
        state = EMPTY_STATE
        node: _CacheNode | None = self._cache if defer else None
        for i, layer in enumerate(plan.layers[:-1]):
            layer_defer = defer
            key = self._context_key(layer, plan, layer_defer)
            cache_key = (layer.uid, key, layer_defer)
            if node is not None:
                hit = node.children.get(cache_key)
                if hit is not None:
                    state = hit.state
                    node = hit
                    continue
            state = self._apply(state, layer, self._instance(layer, key, plan, layer_defer))
            if node is not None and i < last:
                child = _CacheNode(state)
                node.children[cache_key] = child
                node = child
            else:
                node = None
        if prefix_key is not None:
            self._prefixes[prefix_key] = state
        return self._merge_own(plan, state), state

    def _merge_own(self, plan: BotPlan, state: MergeState) -> MergeState:
        """``state`` with the bot's own layer merged on top."""
        own = plan.layers[-1]
        if (
            self.trace is None and not own.raw and not own.issues and not own.strategies
            and not own.locks and type(state.origins) is not Origin
        ):
            # An empty layer changes nothing but the origin of the config itself (the same
            # as merge_layer gives, without copying the config or checking locks).
            origins = state.origins
            children = origins.children if type(origins) is ODict else {}
            return MergeState(state.value, ODict(own.origins.origin, children),
                              state.strategies, state.locks, state.issues, state.inexact)
        key = self._context_key(own, plan, DEFER_NONE)
        return self._apply(state, own, self._instance(own, key, plan, DEFER_NONE))

    def _fill(self, value: Any, values: dict[int, Any]) -> Any:
        """``value`` with placeholders replaced by their rendered values (copy on write)."""
        t = type(value)
        if t is TemplatedString:
            return values[id(value)]
        if t is not dict and t is not list:
            return value
        known = self._plain.get(id(value))
        if known is not None and known[0] is value:
            return value
        changed = False
        out: Any
        if t is dict:
            out = {}
            for k, v in value.items():
                filled = self._fill(v, values)
                changed = changed or filled is not v
                out[k] = filled
        else:
            out = []
            for v in value:
                filled = self._fill(v, values)
                changed = changed or filled is not v
                out.append(filled)
        if changed:
            return out
        self._plain[id(value)] = (value,)
        return value

    def _fill_shared(self, value: Any, values: dict[int, Any]) -> Any:
        """``value`` with the placeholders that ``values`` (shared by many bots) has put in,
        memoised, so the parts holding no other placeholder are shared between those bots
        (the schema check recognises shared parts it has seen)."""
        key = (id(value), id(values))
        memo = self._filled.get(key)
        if memo is not None and memo[0] is value and memo[1] is values:
            return memo[2]
        filled = self._put_values(value, values, partial=True)
        self._filled[key] = (value, values, filled)
        return filled

    def _put_values(self, value: Any, values: dict[int, Any], *, partial: bool) -> Any:
        """``value`` with its placeholders replaced, as :meth:`_fill` but copying only the
        containers on the way to them (see :func:`_put`)."""
        t = type(value)
        if t is TemplatedString:
            return values.get(id(value), value) if partial else values[id(value)]
        if t is dict or t is list:
            holes = self._holes(value)
            if holes is not None:
                return _put(value, holes, values, partial=partial)
        return value

    def _holes(self, value: Any) -> dict[Any, Any] | None:
        """Where the placeholders in a dict or list are: key or index -> the placeholder, or
        the holes of the container below; None when there are none (memoised)."""
        memo = self._hole_memo.get(id(value))
        if memo is not None and memo[0] is value:
            return memo[1]
        holes: dict[Any, Any] = {}
        for k, v in (value.items() if type(value) is dict else enumerate(value)):
            t = type(v)
            if t is TemplatedString:
                holes[k] = v
            elif t is dict or t is list:
                below = self._holes(v)
                if below is not None:
                    holes[k] = below
        found = holes or None
        self._hole_memo[id(value)] = (value, found)
        return found

    # ------------------------------------------------------------------ results

    def _pieces(self, value: Any) -> tuple[Any, ...] | None:
        """Canonical JSON of a config section split around its placeholders: text pieces
        alternating with the placeholders (memoised; sections are shared between bots). None
        in the (theoretical) case that a string in the config mimics the placeholder marker."""
        memo = self._sections.get(id(value))
        if memo is not None and memo[0] is value:
            return memo[1]
        found: list[TemplatedString] = []

        def mark(obj: Any) -> str:
            if isinstance(obj, TemplatedString):
                found.append(obj)
                return f"\x00{len(found) - 1}\x00"
            raise TypeError(f"{type(obj).__name__} is not JSON")

        try:
            text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False, default=mark)
        except TypeError as exc:
            raise ValueError(f"not a JSON value: {exc}") from None
        pieces: tuple[Any, ...] | None = (text,)
        if found:
            split = _MARK.split(text)
            ok = split[1::2] == [str(i) for i in range(len(found))]
            pieces = tuple(
                found[int(part)] if i % 2 else part for i, part in enumerate(split)
            ) if ok else None
        self._sections[id(value)] = (value, pieces)
        return pieces

    def _section_text(self, value: Any, values: dict[int, Any]) -> str:
        return self._text_of(value, self._pieces(value), values)

    def _text_of(self, value: Any, pieces: tuple[Any, ...] | None, values: dict[int, Any]
                 ) -> str:
        if pieces is None:
            return canonical_text(self._fill(value, values))
        if len(pieces) == 1:
            return str(pieces[0])
        return "".join([
            piece if type(piece) is str else _value_text(values[id(piece)])
            for piece in pieces
        ])

    def _skeleton(self, value: dict[str, Any], shared: dict[int, Any] | None) -> _Skeleton:
        """What every bot with this merged config (and these shared placeholder values) has
        in common; memoised, as bots with no config of their own share their merged config."""
        key = (id(value), id(shared))
        memo = self._skeletons.get(key)
        if memo is not None and memo.value is value and memo.shared is shared:
            return memo
        skeleton = _Skeleton(value, shared)
        for i, k in enumerate(sorted(value)):
            section = value[k]
            head = canonical_text(k) + ":"
            pieces = self._pieces(section)
            if pieces is not None and len(pieces) == 1:
                skeleton.parts.append(head + pieces[0])
                skeleton.sections[k] = pieces[0]
                skeleton.values[k] = section
                continue
            skeleton.parts.append(head)
            skeleton.sections[k] = ""  # filled per bot (keeps the keys in canonical order)
            skeleton.values[k] = None
            half = self._fill_shared(section, shared) if shared else section
            skeleton.varying.append((i, k, head, section, half, pieces))
        self._skeletons[key] = skeleton
        return skeleton

    def finish(self, plan: BotPlan, state: MergeState, values: dict[int, Any] | None = None
               ) -> RenderedBot | None:
        """The rendered bot, or None when it has problems (recorded). ``values`` fills the
        placeholders ``state`` may hold (see :meth:`merge_shared`)."""
        self.issues.extend(state.issues, plan.name)
        gateway, url = self._gateway(plan)
        if state.issues or gateway is None:
            return None
        value = state.value
        skeleton = self._skeleton(value, plan.shared_values)
        sections = dict(skeleton.sections)
        section_values = dict(skeleton.values)
        parts = skeleton.parts
        if skeleton.varying:
            parts = list(parts)
            values = values or {}
            for i, key, head, section, half, pieces in skeleton.varying:
                text = self._text_of(section, pieces, values)
                sections[key] = text
                section_values[key] = self._put_values(half, values, partial=False)
                parts[i] = head + text
        full = "{" + ",".join(parts) + "}"
        spec = plan.fleet.doc.spec
        bot = spec.bots[plan.index]
        assert isinstance(state.origins, ODict)
        return RenderedBot(
            name=plan.name,
            fleet=plan.fleet.name,
            environment=spec.environment,
            labels=plan.labels,
            template=spec.template,
            profiles=(*spec.profiles, *bot.profiles),
            overlays=plan.overlays,
            openclaw_version=spec.openclaw_version,
            target=spec.target,
            gateway=gateway,
            gateway_url=url,
            rollout=spec.rollout,
            config=config_from_json(full),
            config_hash=hash_text(full),
            provenance=Provenance(value, state.origins),
            location=plan.fleet.loc("spec", "bots", plan.index),
            openclaw_version_location=plan.fleet.loc("spec", "openclawVersion"),
            section_json=sections,
            section_values=section_values,
        )

    def _gateway(self, plan: BotPlan) -> tuple[GatewayAccess | None, str]:
        spec = plan.fleet.doc.spec
        bot = spec.bots[plan.index]
        access = spec.gateway
        if bot.gateway_url is not None:
            source = bot.gateway_url
            where: tuple[str | int, ...] = ("spec", "bots", plan.index, "gatewayUrl")
        else:
            source, where = access.url, ("spec", "gateway", "url")
        url = self._text(plan, source, where, "gateway URL")
        secret = access.secret
        if secret is not None and secret.env is not None:
            env = self._text(plan, secret.env, ("spec", "gateway", "secret", "env"),
                             "gateway secret variable name")
            if env is None:
                return None, ""
            if env != secret.env:
                secret = secret.model_copy(update={"env": env})
        if url is None:
            return None, ""
        if url == access.url and secret is access.secret:
            return access, url
        # Values already validated: construct without validating again (this runs per bot).
        return GatewayAccess.model_construct(url=url, auth=access.auth, secret=secret), url

    def _text(self, plan: BotPlan, source: str, where: tuple[str | int, ...], what: str
              ) -> str | None:
        try:
            return render_text(source, plan.context)
        except TemplateFailure as exc:
            self.issues.add(Issue(exc.code, f"Fleet/{plan.fleet.name}, {what}: {exc}",
                                  plan.fleet.loc(*where)), plan.name)
            return None

    def render(
        self, fleets: Collection[str] | None = None, bots: Collection[str] | None = None
    ) -> RenderResult:
        self._check_filters(fleets, bots)
        wanted_bots = set(bots) if bots is not None else None
        rendered = []
        for name in sorted(self.repo.fleets):
            if fleets is not None and name not in fleets:
                continue
            for plan in self.plan_fleet(self.repo.fleets[name], wanted_bots):
                result = self.finish(plan, *self.merge_shared(plan))
                if result is not None:
                    rendered.append(result)
        if self.issues:
            raise InputError(self.issues.problems())
        rendered.sort(key=lambda b: (b.fleet, b.name))
        return RenderResult(tuple(rendered))

    def _check_filters(self, fleets: Collection[str] | None, bots: Collection[str] | None) -> None:
        problems = []
        known_fleets = list(self.repo.fleets)
        for name in sorted(fleets or ()):
            if name not in self.repo.fleets:
                problems.append(_unknown("fleet", name, known_fleets))
        if bots is not None:
            known_bots = [b.name for sd in self.repo.fleets.values() for b in sd.doc.spec.bots]
            known = set(known_bots)
            problems.extend(
                _unknown("bot", name, known_bots) for name in sorted(bots) if name not in known
            )
        if problems:
            raise InputError(problems)


def _put(value: Any, holes: dict[Any, Any], values: dict[int, Any], *, partial: bool) -> Any:
    """A copy of ``value`` with the placeholders at ``holes`` replaced by their ``values``
    (only the containers on the way are copied); with ``partial``, placeholders missing
    from ``values`` stay."""
    out = dict(value) if type(value) is dict else list(value)
    for k, hole in holes.items():
        if type(hole) is TemplatedString:
            out[k] = values.get(id(hole), hole) if partial else values[id(hole)]
        else:
            out[k] = _put(value[k], hole, values, partial=partial)
    return out


def _value_text(value: Any) -> str:
    """Canonical JSON of a rendered placeholder value (strings directly)."""
    if type(value) is str:
        return _encode_string(value)
    return canonical_text(value)


def _unknown(kind: str, name: str, known: list[str]) -> Problem:
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return Problem(f"unknown-{kind}", f"no {kind} named {name!r} in the repository", None, hint)


def render_repository(
    repo: FleetRepository,
    *,
    fleets: Collection[str] | None = None,
    bots: Collection[str] | None = None,
) -> RenderResult:
    """Render every bot (or those of the named fleets / the named bots).

    Raises :class:`InputError` holding every problem found across all bots (also for unknown
    fleet or bot names, with close-name suggestions).
    """
    return Renderer(repo).render(fleets, bots)
