"""The config file of one simulated gateway: text, hashes, meta stamping and the views on it.

Facts from the real gateways (see /work/notes/gateway-findings.md):

* the file is rewritten as ``JSON.stringify(config, null, 2) + "\\n"``;
* the raw hash is the sha256 hex of the file text (of ``""`` when there is no file);
* OpenClaw >= 2026.9 hands out ``"hmac-sha256:v1:" + b64url(HMAC-SHA256(installKey,
  JSON.stringify(["openclaw.gateway.config-revision.raw.v1", rawHash])))``, older versions the
  raw hash itself;
* each write stamps ``meta.lastTouchedVersion`` (2026.9: and ``meta.migrations``; 2026.3:
  and ``meta.lastTouchedAt``), so ``parsed`` differs from what was sent;
* ``sourceConfig``/``resolved`` add gateway-owned values (2026.9: ``agents.entries.main``),
  ``runtimeConfig``/``config`` add run-time defaults.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from molthub_gitops.gateway.sim.redact import Redactor, redactor_for
from molthub_gitops.gateway.sim.schema import CompiledSchema, Issue

__all__ = [
    "ConfigStore",
    "apply_merge_patch",
    "destructive_array_paths",
    "dump_config",
    "leaf_changes",
]

_T = TypeVar("_T")
_RAW_DOMAIN = "openclaw.gateway.config-revision.raw.v1"
_RESOLVED_DOMAIN = "openclaw.gateway.config-revision.resolved.v1"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MIGRATIONS = {"modelPolicyAllowlist": True, "utilityModelSeparation": True}


def _js_value(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _js_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js_value(v) for v in value]
    return value


def dump_config(config: Mapping[str, Any]) -> str:
    """The file text the gateway writes: ``JSON.stringify(config, null, 2) + "\\n"``."""
    return json.dumps(_js_value(config), indent=2, ensure_ascii=False) + "\n"


def clone(value: _T) -> _T:
    """A copy of a JSON value (much faster than ``copy.deepcopy`` for plain data)."""
    if isinstance(value, dict):
        return cast(_T, {k: clone(v) for k, v in value.items()})
    if isinstance(value, list):
        return cast(_T, [clone(v) for v in value])
    return value


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _deep_merge_defaults(defaults: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in defaults.items():
        if key in config:
            mine = config[key]
            if isinstance(value, Mapping) and isinstance(mine, Mapping):
                result[key] = _deep_merge_defaults(value, mine)
            else:
                result[key] = clone(mine)
        else:
            result[key] = clone(value)
    for key, value in config.items():
        if key not in result:
            result[key] = clone(value)
    return result


def _get(config: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    node = config
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _digest(config: Any) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode("utf-8")).hexdigest()


class SharedViews:
    """The views of one config content, shared by every store that holds that content.

    A fleet starts with identical files, and each of its gateways would otherwise build the
    same ``sourceConfig``, run-time config and ``config.get`` body. An entry is keyed by
    everything its views derive from (generation, schema, path, file text, agent roster,
    env), so a write, which changes the text, moves the writing store to another entry:
    nothing needs invalidating and nothing one gateway writes can reach another. Entries are
    filled lazily (each view once) and never modified afterwards; callers must not modify
    what they get. They live while a store uses them (weakly registered).
    """

    __slots__ = (
        "__weakref__",
        "digest",
        "json_parts",
        "key",
        "payload_parts",
        "runtime",
        "runtime_raw",
        "schema",
        "source",
    )

    def __init__(self, key: tuple[Any, ...], schema: CompiledSchema, source: dict[str, Any]):
        self.key = key
        self.schema = schema  # keeps id(schema) in the key from being reused
        self.source = source
        self.digest: str | None = None
        self.runtime: dict[str, Any] | None = None
        self.runtime_raw: dict[str, Any] | None = None
        self.payload_parts: tuple[dict[str, Any], dict[str, Any]] | None = None
        self.json_parts: tuple[str, str] | None = None

    def source_digest(self) -> str:
        """sha256 of the sorted JSON of ``source`` (the input of ``configRevisionHash``)."""
        digest = self.digest
        if digest is None:
            digest = self.digest = _digest(self.source)
        return digest


_SHARED: weakref.WeakValueDictionary[tuple[Any, ...], SharedViews] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()


def shared_views_count() -> int:
    """How many distinct config contents have shared views right now (for tests)."""
    with _SHARED_LOCK:
        return len(_SHARED)


@dataclass
class Profile:
    """What differs between OpenClaw generations in the config handling."""

    modern: bool
    version: str


class ConfigStore:
    """One gateway's config file and the derived views the protocol exposes."""

    def __init__(
        self,
        *,
        profile: Profile,
        schema: CompiledSchema,
        path: str,
        install_key: bytes,
        env: Mapping[str, str] | None,
        initial: Mapping[str, Any] | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.profile = profile
        self.schema = schema
        self.path = path
        self._key = install_key
        self._env = env
        self._clock = clock
        self.redactor: Redactor = redactor_for(schema.sensitive_hints, schema.insensitive_hints)
        self.revision = 0
        self._hash_memo: tuple[Mapping[str, Any], str] | None = None
        self._applied_memo: tuple[Mapping[str, Any], str] | None = None
        self._cache: dict[str, tuple[int, Any]] = {}
        self._hash_rev: tuple[int, str] | None = None
        self.raw: str | None = None
        self.parsed: dict[str, Any] = {}
        self.roster: dict[str, Any] = {"main": {}}
        self.valid = True
        self.issues: list[Issue] = []
        if initial is not None:
            self.load_text(dump_config(initial))
        self.applied: dict[str, Any] = self.source_config()

    # -- hashing -------------------------------------------------------------------------
    def raw_hash(self) -> str:
        return hashlib.sha256((self.raw or "").encode("utf-8")).hexdigest()

    def _project(self, domain: str, digest: str) -> str:
        if not self.profile.modern:
            return digest
        message = json.dumps([domain, digest], separators=(",", ":")).encode("utf-8")
        return "hmac-sha256:v1:" + _b64url(hmac.new(self._key, message, hashlib.sha256).digest())

    @property
    def hash(self) -> str:
        """The revision token clients see and must pass back as ``baseHash``."""
        memo = self._hash_rev
        if memo is not None and memo[0] == self.revision:
            return memo[1]
        token = self._project(_RAW_DOMAIN, self.raw_hash())
        self._hash_rev = (self.revision, token)
        return token

    def resolved_hash(self, config: Mapping[str, Any]) -> str:
        """The revision token of a resolved config (``configRevisionHash``...)."""
        memo = self._hash_memo
        if memo is not None and memo[0] is config:
            return memo[1]
        views = self.views()
        digest = views.source_digest() if config is views.source else _digest(config)
        token = self._project(_RESOLVED_DOMAIN, digest)
        self._hash_memo = (config, token)
        return token

    def applied_hash(self) -> str:
        """``appliedConfigHash``: the revision the running gateway uses."""
        memo = self._applied_memo
        if memo is not None and memo[0] is self.applied:
            return memo[1]
        token = self.resolved_hash(self.applied)
        self._applied_memo = (self.applied, token)
        return token

    @property
    def exists(self) -> bool:
        return self.raw is not None

    # -- loading ------------------------------------------------------------------------
    def load_text(self, raw: str) -> None:
        """Replace the file text (any text: a hand edit may be broken)."""
        from molthub_gitops.gateway.sim.json5 import Json5Error, loads

        self.raw = raw
        self.revision += 1
        try:
            parsed = loads(raw)
        except Json5Error as exc:
            self.parsed, self.valid = {}, False
            self.issues = [{"path": "", "message": f"JSON5 parse failed: SyntaxError: {exc}"}]
            return
        if not isinstance(parsed, dict):
            self.parsed, self.valid = {}, False
            self.issues = self.schema.issues(parsed)
            return
        self.parsed = parsed
        self.issues = self.check(parsed)
        self.valid = not self.issues

    def check(self, config: Any) -> list[Issue]:
        """Schema issues plus unresolvable ``${VAR}`` references."""
        issues = self.schema.issues(config)
        if issues or self._env is None:
            return issues
        return self._env_issues(config, "")

    def _env_issues(self, node: Any, path: str) -> list[Issue]:
        assert self._env is not None
        issues: list[Issue] = []
        if isinstance(node, str):
            for name in _ENV_REF.findall(node):
                if name not in self._env:
                    message = f'Missing env var "{name}" referenced at config path: {path}'
                    issues.append({"path": path, "message": message})
        elif isinstance(node, dict):
            for key, value in node.items():
                issues.extend(self._env_issues(value, f"{path}.{key}" if path else key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                issues.extend(self._env_issues(value, f"{path}.{index}"))
        return issues

    # -- views --------------------------------------------------------------------------
    def source_config(self) -> dict[str, Any]:
        """The file as the gateway understands it (2026.9 adds the main agent).

        Shared with every store holding the same content: callers must not modify it.
        """
        return self.views().source

    def views(self) -> SharedViews:
        """The views of the current content, shared with every store holding the same content
        (looked up once per revision; read-only)."""
        hit = self._cache.get("views")
        if hit is not None and hit[0] == self.revision:
            views: SharedViews = hit[1]
            return views
        views = self._lookup_views()
        self._cache["views"] = (self.revision, views)
        return views

    def _views_key(self) -> tuple[Any, ...]:
        env = self._env
        return (
            self.profile.modern,
            self.profile.version,
            id(self.schema),
            self.path,
            self.raw,
            json.dumps(self.roster, sort_keys=True) if self.profile.modern else None,
            None if env is None else tuple(sorted(env.items())),
        )

    def _lookup_views(self) -> SharedViews:
        key = self._views_key()
        with _SHARED_LOCK:
            views = _SHARED.get(key)
        if views is not None and views.schema is self.schema:
            return views
        fresh = SharedViews(key, self.schema, self._build_source())
        with _SHARED_LOCK:
            views = _SHARED.setdefault(key, fresh)
        return views if views.schema is self.schema else fresh

    def _build_source(self) -> dict[str, Any]:
        source = clone(self.parsed)
        if self.profile.modern:
            agents = source.get("agents")
            if not isinstance(agents, dict):
                agents = {}
                source["agents"] = agents
            entries = agents.get("entries")
            if not isinstance(entries, dict) or not entries:
                agents["entries"] = clone(self.roster)
        return source

    def resolve(self, config: Any) -> Any:
        """``config`` with ``${VAR}`` references substituted (unknown ones kept)."""
        env = self._env
        if env is None:
            return clone(config)
        if isinstance(config, str):
            return _ENV_REF.sub(lambda m: env.get(m.group(1), m.group(0)), config)
        if isinstance(config, dict):
            return {k: self.resolve(v) for k, v in config.items()}
        if isinstance(config, list):
            return [self.resolve(v) for v in config]
        return config

    def runtime_config(self, source: Mapping[str, Any], *, resolve: bool = True) -> dict[str, Any]:
        """What the running gateway uses: the resolved config over its defaults."""
        if self.profile.modern:
            defaults: dict[str, Any] = {
                "agents": {
                    "defaults": {
                        "maxConcurrent": 8,
                        "subagents": {"maxConcurrent": 8, "archiveAfterMinutes": 60},
                        "compaction": {"mode": "safeguard"},
                    }
                },
                "messages": {"ackReactionScope": "group-mentions"},
            }
            if self.exists:
                defaults["commands"] = {"native": "auto", "nativeSkills": "auto", "restart": True}
        else:
            defaults = _legacy_runtime_defaults()
        resolved = self.resolve(source) if resolve else source
        merged = _deep_merge_defaults(defaults, resolved)
        if "meta" in merged:
            merged = {"meta": merged.pop("meta"), **merged}
        return merged

    def get_payload(self) -> dict[str, Any]:
        """The ``config.get`` result, redacted like the real one (shared: do not mutate)."""
        applied = self.applied_hash() if self.profile.modern else None
        hit = self._cache.get("get")
        if hit is not None and hit[0] == self.revision and hit[1][0] == applied:
            cached: dict[str, Any] = hit[1][1]
            return cached
        head, tail = self._payload_parts()
        payload = {**head, "hash": self.hash, **tail}
        if self.profile.modern:
            payload["configRevisionHash"] = self._revision_hash()
            payload["appliedConfigHash"] = applied
        self._cache["get"] = (self.revision, (applied, payload))
        return payload

    def get_payload_json(self) -> str:
        """:meth:`get_payload` serialized like ``json.dumps(payload, ensure_ascii=False)``.

        Spliced from the shared serialized body and this gateway's own hashes (cached while
        nothing changes).
        """
        applied = self.applied_hash() if self.profile.modern else None
        hit = self._cache.get("get-json")
        if hit is not None and hit[0] == self.revision and hit[1][0] == applied:
            text: str = hit[1][1]
            return text
        views = self.views()
        parts = views.json_parts
        if parts is None:
            head, tail = self._payload_parts()
            parts = (
                json.dumps(head, ensure_ascii=False)[:-1],
                json.dumps(tail, ensure_ascii=False)[1:-1],
            )
            views.json_parts = parts
        text = f'{parts[0]}, "hash": {json.dumps(self.hash)}, {parts[1]}'
        if self.profile.modern:
            revision, applied_text = json.dumps(self._revision_hash()), json.dumps(applied)
            text += f', "configRevisionHash": {revision}, "appliedConfigHash": {applied_text}'
        text += "}"
        self._cache["get-json"] = (self.revision, (applied, text))
        return text

    def _revision_hash(self) -> str | None:
        return self.resolved_hash(self.source_config()) if self.valid else None

    def _payload_parts(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The shared ``config.get`` body: what precedes ``hash`` and what follows it."""
        views = self.views()
        parts = views.payload_parts
        if parts is None:
            parts = views.payload_parts = self._build_payload_parts()
        return parts

    def _build_payload_parts(self) -> tuple[dict[str, Any], dict[str, Any]]:
        redactor = self.redactor
        modern = self.profile.modern
        head: dict[str, Any] = {"path": self.path}
        if modern:
            head["includedPaths"] = []
            if self.exists:
                head["includeProvenance"] = []
                head["agentRosterIncludeOwned"] = False
                head["bindingsIncludeOwned"] = False
        head["exists"] = self.exists
        if not self.valid:
            head.update(
                raw=None,
                parsed=None,
                sourceConfig={},
                resolved={},
                valid=False,
                runtimeConfig={},
                config={},
            )
        else:
            source = self.source_config()
            red_runtime, secrets = redactor.redact(self.runtime_view())
            red_parsed, _ = redactor.redact(self.parsed)
            # redact copies; resolve only when there is something to substitute
            red_source, _ = redactor.redact(source if self._env is None else self.resolve(source))
            raw = (
                redactor.redact_raw(self.raw, secrets, self.parsed)
                if self.raw is not None
                else None
            )
            head.update(
                raw=raw,
                parsed=red_parsed,
                sourceConfig=red_source,
                resolved=clone(red_source),
                valid=True,
                runtimeConfig=red_runtime,
                config=clone(red_runtime),
            )
        tail = {"issues": clone(self.issues), "warnings": [], "legacyIssues": []}
        return head, tail

    def runtime_view(self) -> dict[str, Any]:
        """The run-time config (cached per revision; do not mutate)."""
        if not self.valid:
            return {}
        views = self.views()
        result = views.runtime
        if result is None:
            result = views.runtime = self.runtime_config(views.source)
        return result

    def runtime_unresolved(self) -> dict[str, Any]:
        """The run-time config before ``${VAR}`` substitution (cached; do not mutate)."""
        if not self.valid:
            return {}
        views = self.views()
        result = views.runtime_raw
        if result is None:
            result = views.runtime_raw = self.runtime_config(views.source, resolve=False)
        return result

    # -- writing ------------------------------------------------------------------------
    def project_onto_source(self, submitted: dict[str, Any]) -> dict[str, Any]:
        """Keep only what a client changed relative to what the gateway showed it.

        A port of the real ``projectRuntimeChangesOntoSource``: a submitted value equal to the
        run-time value leaves the file as it is (so echoing back defaults writes nothing), a
        key missing from the submission is deleted, anything else is written.
        """
        if not self.valid:
            return submitted
        source = self.source_config()
        runtime = self.runtime_config(source, resolve=False)
        projected = _project(source, runtime, submitted)
        return clone(source) if projected is _UNCHANGED else projected

    def split_roster(self, config: dict[str, Any]) -> dict[str, Any]:
        """2026.9 keeps ``agents.entries`` in its state database, not in the file."""
        if not self.profile.modern:
            return config
        result = dict(config)
        agents = result.get("agents")
        if isinstance(agents, dict) and "entries" in agents:
            entries = agents["entries"]
            if isinstance(entries, dict) and entries:
                self.roster = clone(entries)
                self.revision += 1
            rest = {k: v for k, v in agents.items() if k != "entries"}
            if rest:
                result["agents"] = rest
            else:
                del result["agents"]
        return result

    def stamp(self, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` as the gateway writes it: with ``meta`` and first-write defaults."""
        result = clone(config)
        if not self.exists:
            result = self._first_write_defaults(result)
        meta = result.get("meta")
        meta = dict(meta) if isinstance(meta, dict) else {}
        if self.profile.modern:
            migrations = meta.get("migrations")
            merged = dict(migrations) if isinstance(migrations, dict) else {}
            for key, value in _MIGRATIONS.items():
                merged.setdefault(key, value)
            meta["migrations"] = merged
            meta["lastTouchedVersion"] = self.profile.version
        else:
            meta["lastTouchedVersion"] = self.profile.version
            now = self._clock().isoformat(timespec="milliseconds").replace("+00:00", "Z")
            meta["lastTouchedAt"] = now
        result["meta"] = meta
        return result

    def _first_write_defaults(self, config: dict[str, Any]) -> dict[str, Any]:
        if self.profile.modern:
            plugins = config.setdefault("plugins", {})
            if isinstance(plugins, dict):
                entries = plugins.setdefault("entries", {})
                if isinstance(entries, dict):
                    for name in ("anthropic", "codex"):
                        entry = entries.setdefault(name, {})
                        if isinstance(entry, dict):
                            cfg = entry.setdefault("config", {})
                            if isinstance(cfg, dict):
                                catalog = cfg.setdefault("sessionCatalog", {})
                                if isinstance(catalog, dict):
                                    catalog.setdefault("enabled", False)
            return config
        defaults = _legacy_runtime_defaults()
        defaults["commands"] = {
            "native": "auto",
            "nativeSkills": "auto",
            "restart": True,
            "ownerDisplay": "raw",
        }
        return _deep_merge_defaults(defaults, config)


def _legacy_runtime_defaults() -> dict[str, Any]:
    """Defaults a protocol-3 (2026.3.31) gateway applies at run time, and writes into the
    file on its first write (a fresh dict each call: callers extend it)."""
    return {
        "messages": {"ackReactionScope": "group-mentions"},
        "agents": {
            "defaults": {
                "maxConcurrent": 4,
                "subagents": {"maxConcurrent": 8},
                "compaction": {"mode": "safeguard"},
            }
        },
    }


class _Marker:
    """A unique value (absent / unchanged) for :func:`_project`."""


_ABSENT: Any = _Marker()
_UNCHANGED: Any = _Marker()


def _project(source: Any, runtime: Any, candidate: Any) -> Any:
    if runtime is not _ABSENT and runtime == candidate:
        return _UNCHANGED
    if not isinstance(candidate, dict):
        return clone(candidate)
    source_map = source if isinstance(source, dict) else {}
    runtime_map = runtime if isinstance(runtime, dict) else {}
    projected = clone(source_map)
    changed = not isinstance(runtime, dict)
    for key in dict.fromkeys([*runtime_map, *candidate]):
        if key in candidate:
            value = _project(
                source_map.get(key, _ABSENT), runtime_map.get(key, _ABSENT), candidate[key]
            )
        else:
            value = _ABSENT
        if value is _UNCHANGED:
            continue
        changed = True
        if value is _ABSENT:
            projected.pop(key, None)
        else:
            projected[key] = value
    return projected if changed else _UNCHANGED


# -- merge patch ----------------------------------------------------------------------------
def _id_keyed(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(e, dict) and isinstance(e.get("id"), str) and e["id"] for e in value
    )


def apply_merge_patch(
    base: Any, patch: Any, replace_paths: frozenset[str] = frozenset(), path: str = ""
) -> Any:
    """RFC 7396 merge patch with OpenClaw's rule that id-keyed object arrays merge by ``id``."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        child = f"{path}.{key}" if path else key
        if key in ("__proto__", "constructor", "prototype"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(current, list) and isinstance(value, list):
            if child in replace_paths:
                result[key] = clone(value)
                continue
            if _id_keyed(current):
                merged = list(current)
                index = {e["id"]: i for i, e in enumerate(merged)}
                for entry in value:
                    if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"]:
                        at = index.get(entry["id"])
                        if at is None:
                            merged.append(clone(entry))
                            index[entry["id"]] = len(merged) - 1
                        else:
                            merged[at] = apply_merge_patch(
                                merged[at], entry, replace_paths, child + "[]"
                            )
                    else:
                        merged.append(clone(entry))
                result[key] = merged
                continue
        if isinstance(value, dict):
            result[key] = apply_merge_patch(
                current if isinstance(current, dict) else {}, value, replace_paths, child
            )
            continue
        result[key] = clone(value)
    return result


def destructive_array_paths(base: Any, patch: Any, merged: Any, path: str = "") -> list[str]:
    """Array paths the patch would shrink (the gateway refuses those without replacePaths)."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return []
    merged_map = merged if isinstance(merged, dict) else {}
    paths: list[str] = []
    for key, patch_value in patch.items():
        child = f"{path}.{key}" if path else key
        base_value = base.get(key)
        merged_value = merged_map.get(key)
        if isinstance(base_value, list):
            if patch_value is None or not isinstance(patch_value, list):
                paths.append(child)
                continue
            if isinstance(merged_value, list):
                if _id_keyed(base_value):
                    ids = {e.get("id") for e in merged_value if isinstance(e, dict)}
                    if not all(e["id"] in ids for e in base_value):
                        paths.append(child)
                        continue
                else:
                    remaining = list(merged_value)
                    lost = False
                    for entry in base_value:
                        if entry in remaining:
                            remaining.remove(entry)
                        else:
                            lost = True
                            break
                    if lost:
                        paths.append(child)
                        continue
        elif isinstance(base_value, dict) and not isinstance(patch_value, dict):
            paths.extend(_array_paths(base_value, child))
            continue
        if isinstance(patch_value, dict):
            paths.extend(destructive_array_paths(base_value, patch_value, merged_value, child))
    return paths


def _array_paths(value: Any, path: str) -> list[str]:
    if isinstance(value, list):
        return [path]
    if isinstance(value, dict):
        out: list[str] = []
        for key, item in value.items():
            out.extend(_array_paths(item, f"{path}.{key}"))
        return out
    return []


def leaf_changes(before: Any, after: Any, prefix: str = "") -> list[str]:
    """Leaf paths that differ (the gateway's no-op test for ``config.patch``)."""
    if isinstance(before, dict) or isinstance(after, dict):
        b = before if isinstance(before, dict) else {}
        a = after if isinstance(after, dict) else {}
        keys = list(dict.fromkeys([*b, *a]))
        if not keys:
            return [] if before == after else [prefix or "<root>"]
        out: list[str] = []
        for key in keys:
            out.extend(leaf_changes(b.get(key), a.get(key), f"{prefix}.{key}" if prefix else key))
        return out
    return [] if before == after else [prefix or "<root>"]


def path_value(config: Any, dotted: str) -> tuple[bool, Any]:
    """Whether ``dotted`` exists in ``config``, and its value."""
    return _get(config, tuple(dotted.split(".")))
