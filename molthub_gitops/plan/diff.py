"""The PR diff: what changes per bot between two rendered revisions (base and head).

:func:`diff_revisions` is pure and deterministic. A bot is matched across revisions by name
(names are unique in a repository). It is

* ``added`` / ``removed`` when it exists on one side only (no path changes: its whole config
  is new or gone);
* ``changed`` when its config hash differs, or its identity does: fleet, environment,
  OpenClaw version, gateway URL, target or labels (``other_changes``, short text);
* unchanged otherwise (only counted).

Config paths are compared as JSON values, leaf by leaf; each difference is one
:class:`PathChange`, sorted by path:

* Mappings are compared key by key. A key present on one side only is one change at that
  key (``added`` / ``removed``) carrying the whole subtree, not one change per leaf below it.
* Lists of plain values (strings, numbers: ``allowFrom``, ``redactPatterns``) are one value:
  any difference is one ``changed`` entry holding both whole lists, which reads better than
  index-by-index churn after an insertion.
* Lists holding mappings or lists (``agents.list``) are compared index by index
  (``agents.list[1].model``); surplus items on one side are ``added`` / ``removed`` at their
  index. An item inserted in the middle therefore shows as changes at the later indices.
* A value whose JSON type differs (a mapping that became a string) is one ``changed`` entry.

``before`` / ``after`` pass through :func:`~molthub_gitops.model.sensitive.redact_value`, so a
literal secret never appears; the location is the head bot's provenance for the path (the
line a reviewer must look at), ``None`` for removals. Waves are planned per touched fleet with
the head fleet's rollout (:func:`~molthub_gitops.plan.waves.plan_waves`) over the bots added
or changed in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from molthub_gitops.errors import Location
from molthub_gitops.model.repository import PathKey
from molthub_gitops.model.sensitive import redact_url, redact_value
from molthub_gitops.plan.types import (
    BlastRadius,
    BotChange,
    ChangeKind,
    FleetWaves,
    PathChange,
    RevisionDiff,
)
from molthub_gitops.plan.waves import plan_waves
from molthub_gitops.render.paths import format_path
from molthub_gitops.render.types import RenderedBot

__all__ = ["config_changes", "diff_bot", "diff_revisions", "identity_changes"]

_SCALARS = (str, int, float, bool, type(None))


def _is_plain_list(value: list[Any]) -> bool:
    return all(isinstance(item, _SCALARS) for item in value)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``1`` and ``True`` differ, ``1`` and ``1.0`` do not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return bool(a == b) and isinstance(a, str) == isinstance(b, str)


def _walk(path: PathKey, before: Any, after: Any, out: list[tuple[PathKey, ChangeKind, Any,
                                                                     Any]]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(before.keys() | after.keys()):
            if key not in after:
                out.append(((*path, key), "removed", before[key], None))
            elif key not in before:
                out.append(((*path, key), "added", None, after[key]))
            else:
                _walk((*path, key), before[key], after[key], out)
        return
    if (isinstance(before, list) and isinstance(after, list)
            and not (_is_plain_list(before) and _is_plain_list(after))):
        for i in range(max(len(before), len(after))):
            if i >= len(after):
                out.append(((*path, i), "removed", before[i], None))
            elif i >= len(before):
                out.append(((*path, i), "added", None, after[i]))
            else:
                _walk((*path, i), before[i], after[i], out)
        return
    if not _same(before, after):
        out.append((path, "changed", before, after))


def _location(bot: RenderedBot, path: PathKey) -> Location | None:
    provenance: Any = bot.provenance
    find = getattr(provenance, "find", None)
    origin = find(path) if find is not None else provenance.get(path)
    return origin.location if origin is not None else None


def config_changes(before: RenderedBot, after: RenderedBot) -> tuple[PathChange, ...]:
    """Every changed config path of one bot, redacted, located at the head (``after``)."""
    raw: list[tuple[PathKey, ChangeKind, Any, Any]] = []
    old_config, new_config = before.config, after.config
    old_text, new_text = before.section_json, after.section_json
    for key in sorted(old_config.keys() | new_config.keys()):
        if key not in new_config:
            raw.append(((key,), "removed", old_config[key], None))
        elif key not in old_config:
            raw.append(((key,), "added", None, new_config[key]))
        elif key in old_text and key in new_text and old_text[key] == new_text[key]:
            continue  # the same canonical JSON: nothing changed in this section
        else:
            _walk((key,), old_config[key], new_config[key], raw)
    changes = [
        PathChange(
            path=format_path(path),
            kind=kind,
            before=redact_value(path, old) if kind != "added" else None,
            after=redact_value(path, new) if kind != "removed" else None,
            location=_location(after, path) if kind != "removed" else None,
        )
        for path, kind, old, new in raw
    ]
    changes.sort(key=lambda c: c.path)
    return tuple(changes)


def _labels_text(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"


def identity_changes(before: RenderedBot, after: RenderedBot) -> tuple[str, ...]:
    """Differences outside the config that matter to a rollout, as short text."""
    out: list[str] = []
    if before.fleet != after.fleet:
        out.append(f"fleet {before.fleet} -> {after.fleet}")
    if before.environment != after.environment:
        out.append(f"environment {before.environment} -> {after.environment}")
    if before.openclaw_version != after.openclaw_version:
        out.append(f"openclawVersion {before.openclaw_version} -> {after.openclaw_version}")
    if before.gateway_url != after.gateway_url:
        out.append(f"gateway URL {redact_url(before.gateway_url)} -> "
                   f"{redact_url(after.gateway_url)}")
    if before.gateway != after.gateway and before.gateway_url == after.gateway_url:
        out.append("gateway access (auth or secret reference) changed")
    if before.target != after.target:
        if before.target.provider != after.target.provider:
            out.append(f"target {before.target.provider} -> {after.target.provider}")
        else:
            out.append(f"target {after.target.provider} settings changed")
    if dict(before.labels) != dict(after.labels):
        out.append(f"labels {_labels_text(before.labels)} -> {_labels_text(after.labels)}")
    return tuple(out)


def diff_bot(before: RenderedBot | None, after: RenderedBot | None) -> BotChange | None:
    """How one bot differs (``None``: not at all). At least one side must be given."""
    if after is None:
        assert before is not None
        return BotChange(before.name, before.fleet, before.environment, "removed",
                         before.config_hash, None)
    if before is None:
        return BotChange(after.name, after.fleet, after.environment, "added", None,
                         after.config_hash)
    if before is after:  # the base reused the head's rendering
        return None
    other = identity_changes(before, after)
    if before.config_hash == after.config_hash:
        if not other:
            return None
        changes: tuple[PathChange, ...] = ()
    else:
        changes = config_changes(before, after)
    return BotChange(after.name, after.fleet, after.environment, "changed",
                     before.config_hash, after.config_hash, changes, other)


def diff_revisions(
    base_bots: Sequence[RenderedBot], head_bots: Sequence[RenderedBot], *, base: str, head: str
) -> RevisionDiff:
    """Base versus head: changed bots, blast radius and rollout waves (see module doc)."""
    before = {b.name: b for b in base_bots}
    after = {b.name: b for b in head_bots}
    changed: list[BotChange] = []
    unchanged = 0
    for name in sorted(before.keys() | after.keys()):
        change = diff_bot(before.get(name), after.get(name))
        if change is None:
            unchanged += 1
        else:
            changed.append(change)
    changed.sort(key=lambda c: (c.fleet, c.name))
    fleets: set[str] = set()
    environments: set[str] = set()
    for change in changed:
        fleets.add(change.fleet)
        environments.add(change.environment)
        old = before.get(change.name)
        if old is not None:  # a bot that moved touches its old fleet too
            fleets.add(old.fleet)
            environments.add(old.environment)
    radius = BlastRadius(len(changed), tuple(sorted(fleets)), tuple(sorted(environments)),
                         len(head_bots))
    rolling: dict[str, list[str]] = {}
    for change in changed:
        if change.kind != "removed":
            rolling.setdefault(change.fleet, []).append(change.name)
    waves: list[FleetWaves] = []
    for fleet in sorted(rolling):
        rollout = after[rolling[fleet][0]].rollout
        waves.append(plan_waves(fleet, rollout, rolling[fleet]))
    return RevisionDiff(base, head, tuple(changed), unchanged, radius, tuple(waves))
