"""Checking rendered configs against the OpenClaw config schema of each bot's version.

The vendored schema is large (about 1 MB, ``additionalProperties: false`` everywhere) and fleets
hold thousands of bots whose configs mostly repeat. :class:`FastValidator` gives the verdicts
and error paths of plain ``Draft7Validator(schema).iter_errors`` (a test compares them), much
faster:

* An object schema node is split into a *shell* (the node with each ``properties`` /
  ``patternProperties`` subschema replaced by ``true``, and a schema-valued
  ``additionalProperties`` replaced by ``true``) and its children: the shell is checked with
  jsonschema, and each child value is checked against every subschema that applies to its key
  (its ``properties`` entry, each matching ``patternProperties`` entry, or the
  ``additionalProperties`` schema), exactly the descents jsonschema makes. Arrays with a single
  ``items`` schema split the same way.
* Every check is memoised per schema node by the value's canonical JSON (scalars by type and
  value), so a section that repeats across bots is checked once, and a bot-specific leaf costs
  only the checks along its path. A shell whose keywords only look at an object's keys is
  memoised by its key set.
* A rendered bot's sections are checked by their canonical JSON text (the renderer's
  ``section_json``); a section not seen before is checked part by part on the renderer's own
  values (``section_values``), whose unchanged parts are shared between bots and recognised
  by identity once found valid (within one :func:`check_openclaw_schema` call only: an id
  names the same object only while it lives). Only "valid" verdicts are taken from that
  walk; any problem is reported by the exact check of the decoded section, so messages do not
  depend on it.
* ``$ref`` resolves against the whole schema, as in plain validation; a node holding
  ``$ref`` is checked whole (in draft-07 ``$ref`` overrides its siblings). A node *below the
  root* that declares ``$defs``/``definitions`` is checked whole with itself as the root: the
  vendored schema's plugin schemas refer to their own ``$defs`` as ``#/$defs/...``. (Plain
  validation from the root cannot resolve those at all and raises; here they resolve as their
  authors meant.)
* The ``format`` keyword is not asserted, as in plain ``Draft7Validator``.
* Validators (:func:`validator_for`) and their content-keyed memos outlive a call, so
  validating two revisions one after the other shares work; the memos are bounded by the size
  of their keys (:data:`_MEMO_BYTES`) and cleared when full.

Error messages come from jsonschema; a message that shows a dict shows it in the key order
of the value first seen with that canonical JSON (rendered configs are key-sorted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.protocols import Validator

from molthub_gitops.errors import Problem
from molthub_gitops.model.repository import PathKey
from molthub_gitops.render.issues import Issue, IssueCollector
from molthub_gitops.render.paths import format_path
from molthub_gitops.render.provenance import MISSING, step
from molthub_gitops.render.types import Origin, RenderedBot

__all__ = ["FastValidator", "SchemaError", "check_openclaw_schema", "redact", "validator_for"]

_KEY_ONLY = frozenset({
    "type", "properties", "patternProperties", "additionalProperties", "required",
    "propertyNames", "title", "description", "default", "examples", "$comment", "$schema",
    "$id", "$defs", "definitions", "format", "readOnly", "writeOnly", "deprecated",
})
"""Keywords of a shell whose verdict depends only on the object's key set (when the
``additionalProperties`` left in the shell is a boolean)."""

_ANNOTATIONS = frozenset({
    "title", "description", "default", "examples", "$comment", "readOnly", "writeOnly",
    "deprecated",
})
_SURE_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "boolean": (bool,), "integer": (int,), "number": (int, float),
}
"""Python types certainly valid for a JSON Schema type (bool is excluded from numbers by
checking the exact type; anything else goes to jsonschema)."""

_MEMO_BYTES = 64 * 1024 * 1024
"""Bound of a validator's memo: the characters of its keys (canonical JSON of checked
values, key sets of shells) plus :data:`_ENTRY_OVERHEAD` per entry. Past it, every memo is
cleared: verdicts are reused across calls (two revisions validated one after the other share
most sections) without a long-running process holding more and more memory."""
_ENTRY_OVERHEAD = 64
_MESSAGE_LIMIT = 300


@dataclass(frozen=True, slots=True)
class SchemaError:
    """One schema violation: where (path in the config), what, and which keyword failed.

    ``extras`` lists the unexpected keys of an ``additionalProperties: false`` failure.
    """

    path: PathKey
    message: str
    keyword: str
    extras: tuple[str, ...] = ()

    def under(self, seg: str | int) -> SchemaError:
        return SchemaError((seg, *self.path), self.message, self.keyword, self.extras)


_DEFS_KEYWORDS = ("$defs", "definitions")


def _extras(instance: Any, schema: Any) -> tuple[str, ...]:
    if not isinstance(instance, dict) or not isinstance(schema, dict):
        return ()
    props = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return tuple(sorted(
        k for k in instance
        if k not in props and not any(re.search(p, k) for p in patterns)
    ))


_KEY_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _key_bytes(key: Any) -> int:
    """What a memo key counts towards :data:`_MEMO_BYTES`."""
    if type(key) is str:
        return len(key) + _ENTRY_OVERHEAD
    return _ENTRY_OVERHEAD + sum(len(k) for k in key if type(k) is str)


def _memo_key(value: Any) -> Any:
    t = type(value)
    if t is dict or t is list:
        return _KEY_ENCODER.encode(value)
    return (t, value)


class _Node:
    """One schema node, compiled on first use."""

    __slots__ = (
        "_full", "_shell", "additional", "children_cache", "items", "key_only", "memo", "owner",
        "patterns", "props", "schema", "shell_memo", "split_array", "split_object",
        "sure_types", "valid_objects",
    )

    def __init__(self, owner: FastValidator, schema: Any, *, is_root: bool = False) -> None:
        self.owner = owner
        self.schema = schema
        self.memo: dict[Any, tuple[SchemaError, ...]] = {}
        self.shell_memo: dict[Any, tuple[SchemaError, ...]] = {}
        self.valid_objects: dict[int, Any] = {}
        """Dicts and lists (by ``id``, kept alive here) known valid at this node: only
        within one :func:`check_openclaw_schema` call (see :meth:`FastValidator.forget_objects`)."""
        self.children_cache: dict[str, tuple[_Node, ...]] = {}
        self.split_object = False
        self.split_array = False
        self.props: dict[str, _Node] = {}
        self.patterns: list[tuple[re.Pattern[str], _Node]] = []
        self.additional: _Node | None = None
        self.items: _Node | None = None
        self.key_only = False
        self.sure_types: tuple[type, ...] = ()
        self._full: Validator | None = None
        self._shell: Validator | None = None
        if not isinstance(schema, dict):
            self._full = Draft7Validator(schema)
            return
        if not is_root and any(k in schema for k in _DEFS_KEYWORDS):
            # Definitions declared below the root: references to them ("#/$defs/...") are
            # meant relative to this node, so it is checked whole, as its own root.
            self._full = Draft7Validator(schema)
            return
        if "$ref" in schema:  # draft-07: $ref overrides its siblings
            return
        kind = schema.get("type")
        if isinstance(kind, str) and kind in _SURE_TYPES and set(schema) - {"type"} <= _ANNOTATIONS:
            # A bare type check: values of these exact types pass without asking jsonschema.
            self.sure_types = _SURE_TYPES[kind]
        shell = dict(schema)
        obj_keys = ("properties", "patternProperties", "additionalProperties")
        if any(isinstance(schema.get(k), dict) for k in obj_keys):
            self.split_object = True
            if isinstance(schema.get("properties"), dict):
                self.props = {k: owner.node(v) for k, v in schema["properties"].items()}
                shell["properties"] = dict.fromkeys(schema["properties"], True)
            if isinstance(schema.get("patternProperties"), dict):
                self.patterns = [
                    (re.compile(p), owner.node(v)) for p, v in schema["patternProperties"].items()
                ]
                shell["patternProperties"] = dict.fromkeys(schema["patternProperties"], True)
            if isinstance(schema.get("additionalProperties"), dict):
                self.additional = owner.node(schema["additionalProperties"])
                shell["additionalProperties"] = True
        if isinstance(schema.get("items"), (dict, bool)):
            self.split_array = True
            self.items = owner.node(schema["items"])
            shell["items"] = True
        if self.split_object or self.split_array:
            self._shell = owner.subvalidator(shell)
            self.key_only = set(shell) <= _KEY_ONLY and not self.split_array

    @property
    def full(self) -> Validator:
        """Validator of the whole node (built on first use: many nodes only ever need their
        shell or a type check)."""
        if self._full is None:
            self._full = self.owner.subvalidator(self.schema)
        return self._full

    @property
    def shell(self) -> Validator:
        """Validator of the node without its children's subschemas (the whole node when it
        does not split)."""
        return self._shell if self._shell is not None else self.full

    def children(self, key: str) -> tuple[_Node, ...]:
        found = self.children_cache.get(key)
        if found is None:
            nodes = []
            if key in self.props:
                nodes.append(self.props[key])
            matched = False
            for pattern, node in self.patterns:
                if pattern.search(key):
                    nodes.append(node)
                    matched = True
            if self.additional is not None and key not in self.props and not matched:
                nodes.append(self.additional)
            found = tuple(nodes)
            self.children_cache[key] = found
        return found


class FastValidator:
    """Draft-07 validation of many similar instances against one large schema."""

    def __init__(self, schema: Mapping[str, Any] | bool) -> None:
        self.schema = schema
        self._nodes: dict[int, _Node] = {}
        self.memo_bytes = 0
        """What the memos hold now, counted as in :data:`_MEMO_BYTES`."""
        self._object_bytes = 0
        self._root_validator = Draft7Validator(schema)
        self.root = _Node(self, schema, is_root=True)
        self._nodes[id(schema)] = self.root

    def _grow(self, nbytes: int) -> None:
        """Account for a memo entry about to be stored; clear every memo first when it would
        pass the bound."""
        if self.memo_bytes + nbytes > _MEMO_BYTES:
            for n in self._nodes.values():
                n.memo.clear()
                n.shell_memo.clear()
                n.valid_objects.clear()
            self.memo_bytes = 0
            self._object_bytes = 0
        self.memo_bytes += nbytes

    def forget_objects(self) -> None:
        """Drop the verdicts recorded by identity (:attr:`_Node.valid_objects`): an ``id`` is
        only the same object while that object lives, so they are valid within one call."""
        for n in self._nodes.values():
            n.valid_objects.clear()
        self.memo_bytes -= self._object_bytes
        self._object_bytes = 0

    def subvalidator(self, schema: Any) -> Validator:
        """A validator of a subschema that resolves ``$ref`` against the whole schema."""
        return self._root_validator.evolve(schema=schema)

    def node(self, schema: Any) -> _Node:
        found = self._nodes.get(id(schema))
        if found is None:
            found = _Node(self, schema)
            self._nodes[id(schema)] = found
        return found

    def _run(self, validator: Validator, value: Any) -> list[SchemaError]:
        out = []
        try:
            for e in validator.iter_errors(value):
                extras = (
                    _extras(e.instance, e.schema)
                    if e.validator == "additionalProperties" and e.validator_value is False
                    else ()
                )
                out.append(SchemaError(tuple(e.absolute_path), e.message, str(e.validator), extras))
        except Exception as exc:  # a schema jsonschema cannot apply (bad regex, bad $ref)
            out.append(SchemaError((), f"the schema could not be applied here: {exc}", "schema"))
        return out

    def _errors(self, node: _Node, value: Any, text: str | None = None) -> tuple[SchemaError, ...]:
        key = text if text is not None else _memo_key(value)
        try:
            found = node.memo.get(key)
        except TypeError:  # unhashable scalar key: cannot happen for JSON values
            return tuple(self._evaluate(node, value))
        if found is None:
            found = tuple(self._evaluate(node, value))
            self._grow(_key_bytes(key))
            node.memo[key] = found
        return found

    def _evaluate(self, node: _Node, value: Any, texts: Mapping[str, str] | None = None
                  ) -> list[SchemaError]:
        t = type(value)
        if t in node.sure_types:
            return []
        if t is dict and node.split_object:
            if node.key_only:
                shell_key = tuple(sorted(value))
                shell = node.shell_memo.get(shell_key)
                if shell is None:
                    shell = tuple(self._run(node.shell, value))
                    self._grow(_key_bytes(shell_key))
                    node.shell_memo[shell_key] = shell
                errors = list(shell)
            else:
                errors = self._run(node.shell, value)
            for k, v in value.items():
                for child in node.children(k):
                    sub = self._errors(child, v, texts.get(k) if texts is not None else None)
                    if sub:
                        errors.extend(e.under(k) for e in sub)
            return errors
        if t is list and node.split_array:
            errors = self._run(node.shell, value)
            assert node.items is not None
            for i, item in enumerate(value):
                sub = self._errors(node.items, item)
                if sub:
                    errors.extend(e.under(i) for e in sub)
            return errors
        return self._run(node.full, value)

    def iter_errors(
        self, instance: Any, section_json: Mapping[str, str] | None = None
    ) -> Iterator[SchemaError]:
        """Every violation, sorted by path. ``section_json`` (canonical JSON text of each
        top-level value, as in :attr:`RenderedBot.section_json`) saves re-serialising."""
        errors = self._evaluate(self.root, instance, section_json or None)
        yield from sorted(errors, key=lambda e: (tuple(map(str, e.path)), e.message))

    def _valid(self, node: _Node, value: Any) -> bool:
        """Whether ``value`` has no violation at ``node``; False also when unsure (the caller
        then runs the exact check). For values whose parts are shared between instances (a
        renderer's merged sections): parts already found valid are known by identity, so a
        section that differs from others in one leaf costs the checks along that leaf's path.
        Only verdicts are recorded here; messages always come from the exact check."""
        t = type(value)
        if t in node.sure_types:
            return True
        if t is not dict and t is not list:
            return not self._errors(node, value)
        known = node.valid_objects.get(id(value))
        if known is not None and known is value:
            return True
        if t is dict and node.split_object:
            if node.key_only:
                shell_key = tuple(sorted(value))
                shell = node.shell_memo.get(shell_key)
                if shell is None:
                    ok = not self._run(node.shell, value)
                    if ok:  # no messages to keep, so key order does not matter
                        self._grow(_key_bytes(shell_key))
                        node.shell_memo[shell_key] = ()
                else:
                    ok = not shell
            else:
                ok = not self._run(node.shell, value)
            if not ok or not all(
                self._valid(child, v) for k, v in value.items() for child in node.children(k)
            ):
                return False
        elif t is list and node.split_array:
            assert node.items is not None
            if self._run(node.shell, value) or not all(
                self._valid(node.items, item) for item in value
            ):
                return False
        else:
            text = _KEY_ENCODER.encode(value)
            found = node.memo.get(text)
            if found is None:
                found = self._errors(node, json.loads(text), text)
            return not found
        if self.memo_bytes + _ENTRY_OVERHEAD > _MEMO_BYTES:  # _grow, inlined: a hot path
            self._grow(_ENTRY_OVERHEAD)
        else:
            self.memo_bytes += _ENTRY_OVERHEAD
        self._object_bytes += _ENTRY_OVERHEAD
        node.valid_objects[id(value)] = value  # kept alive here, so the id stays its own
        return True

    def iter_section_errors(self, section_json: Mapping[str, str],
                            section_values: Mapping[str, Any] | None = None
                            ) -> Iterator[SchemaError]:
        """Every violation of the object whose top-level values have these canonical JSON
        texts (as :meth:`iter_errors` on that object). A section is decoded only when its
        text was not checked before, the whole object only when the root's key set is new or
        the root cannot be split. ``section_values`` (the sections' values, as in
        :attr:`RenderedBot.section_values`) lets a new section be checked part by part."""
        root = self.root
        if not (root.split_object and root.key_only):
            yield from self.iter_errors(_decode(section_json), section_json)
            return
        shell_key = tuple(sorted(section_json))
        shell = root.shell_memo.get(shell_key)
        if shell is None:
            shell = tuple(self._run(root.shell, _decode(section_json)))
            self._grow(_key_bytes(shell_key))
            root.shell_memo[shell_key] = shell
        errors = list(shell)
        for k, text in section_json.items():
            for child in root.children(k):
                sub = child.memo.get(text)
                if sub is None:
                    if section_values is not None and k in section_values and self._valid(
                        child, section_values[k]
                    ):
                        sub = ()
                        self._grow(_key_bytes(text))
                        child.memo[text] = sub
                    else:
                        sub = self._errors(child, json.loads(text), text)
                if sub:
                    errors.extend(e.under(k) for e in sub)
        yield from sorted(errors, key=lambda e: (tuple(map(str, e.path)), e.message))


def _decode(section_json: Mapping[str, str]) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in section_json.items()}


_VALIDATORS: dict[int, tuple[Any, FastValidator]] = {}


def validator_for(schema: Mapping[str, Any]) -> FastValidator:
    """The (cached) fast validator of a schema object."""
    found = _VALIDATORS.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    if len(_VALIDATORS) >= 8:
        _VALIDATORS.clear()
    validator = FastValidator(schema)
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator


def _origin(bot: RenderedBot, path: PathKey) -> Origin | None:
    prov = bot.provenance
    find = getattr(prov, "find", None)
    if callable(find):
        found = find(path)
        return found if isinstance(found, Origin) else None
    probe = path
    while True:
        if probe in prov:
            return prov[probe]
        below = sorted((p for p in prov if p[: len(probe)] == probe), key=repr)
        if below:
            return prov[below[0]]
        if not probe:
            return None
        probe = probe[:-1]


_SENSITIVE = re.compile(r"token|passw|secret|api[-_]?key|credential|private[-_]?key|cookie",
                        re.IGNORECASE)
_ENV_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")


def _has_secret(value: Any, sensitive: bool) -> bool:
    """Whether ``value`` holds a literal (not ``${VAR}``) string under a secret-looking key."""
    if isinstance(value, str):
        return sensitive and _ENV_REF.match(value) is None
    if isinstance(value, dict):
        return any(_has_secret(v, sensitive or bool(_SENSITIVE.search(k)))
                   for k, v in value.items())
    if isinstance(value, list):
        return any(_has_secret(v, sensitive) for v in value)
    return sensitive and value is not None


def _at(config: Any, path: PathKey) -> Any:
    for seg in path:
        config = step(config, seg)
        if config is MISSING:
            return None
    return config


def redact(message: str, config: Any, path: PathKey) -> str:
    """``message`` without the value at ``path`` when that value is (or holds) a literal
    secret: a string under a key such as ``token``, ``password`` or ``apiKey``. ``${VAR}``
    references are not secrets and stay visible."""
    sensitive = any(isinstance(s, str) and _SENSITIVE.search(s) for s in path)
    value = _at(config, path)
    if _has_secret(value, sensitive):
        return message.replace(repr(value), "<redacted>")
    return message


def _short(message: str) -> str:
    return message if len(message) <= _MESSAGE_LIMIT else message[: _MESSAGE_LIMIT - 3] + "..."


def check_openclaw_schema(
    bots: Sequence[RenderedBot], schemas: Mapping[str, Mapping[str, Any]]
) -> list[Problem]:
    """Problems of each bot's config under the OpenClaw schema of its pinned version.

    A problem names the bots, the config path and jsonschema's message, and points at the
    layer file:line that set the offending value (for an unknown key: that key; for a missing
    required key: the object that lacks it). A version with no schema is one problem at the
    fleet's ``openclawVersion``. Bots sharing a mistake share one problem.
    """
    try:
        return _check(bots, schemas)
    finally:
        for _, validator in _VALIDATORS.values():
            validator.forget_objects()


def _check(bots: Sequence[RenderedBot], schemas: Mapping[str, Mapping[str, Any]]
           ) -> list[Problem]:
    issues = IssueCollector()
    for bot in bots:
        schema = schemas.get(bot.openclaw_version)
        if schema is None:
            known = ", ".join(sorted(schemas)) or "none"
            issues.add(Issue(
                "openclaw-version-unknown",
                f"fleet {bot.fleet} pins OpenClaw {bot.openclaw_version}, which has no "
                "vendored config schema",
                bot.openclaw_version_location or bot.location,
                hint=f"versions with a schema: {known}",
            ), bot.name)
            continue
        validator = validator_for(schema)
        errors = (
            validator.iter_section_errors(bot.section_json, bot.section_values)
            if bot.section_json
            else validator.iter_errors(bot.config)
        )
        for error in errors:
            path = error.path
            if error.keyword == "additionalProperties" and error.extras:
                path = (*path, error.extras[0])
            origin = _origin(bot, path)
            set_by = f" (set by {origin.layer} {origin.document})" if origin else ""
            message = redact(error.message, bot.config, error.path)
            issues.add(Issue(
                "openclaw-schema",
                f"config path {format_path(error.path)}: {_short(message)}{set_by}",
                origin.location if origin else bot.location,
                hint=f"OpenClaw {bot.openclaw_version} rejects this config "
                "(its schema: schemas/openclaw/" + bot.openclaw_version + ".json)",
            ), bot.name)
    return issues.problems()
