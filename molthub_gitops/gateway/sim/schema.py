"""The OpenClaw config schema as a simulated gateway uses it: compiled once, shared by all.

A fleet of a thousand simulated gateways passes the same (1 MB) schema object to each of
them; :func:`compile_schema` returns one :class:`CompiledSchema` per schema object, so the
validator is built and the schema copied only once. Validation errors are translated into the
issues the real gateway reports (Zod wording: ``Unrecognized key: "x"``,
``Invalid input: expected number, received string``, ``Invalid option: expected one of ...``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jsonschema
import referencing.exceptions

__all__ = ["CompiledSchema", "Issue", "compile_schema", "summarize_issues"]

Issue = dict[str, Any]
"""One validation issue as the gateway reports it: ``{path, message, ...}``."""

_MAX_ISSUES_IN_MESSAGE = 3
_PERMISSIVE: Mapping[str, Any] = {"type": "object"}


@dataclass
class CompiledSchema:
    """A config schema ready for validation, plus what ``config.schema`` answers."""

    json_schema: Mapping[str, Any]
    ui_hints: Mapping[str, Any]
    version: str | None
    validator: Any
    sensitive_hints: frozenset[str] = field(default_factory=frozenset)
    insensitive_hints: frozenset[str] = field(default_factory=frozenset)
    present: bool = True

    def response(self, version: str) -> dict[str, Any]:
        """The ``config.schema`` payload: ``{schema, uiHints, version, generatedAt}``."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {
            "schema": self.json_schema,
            "uiHints": self.ui_hints,
            "version": self.version or version,
            "generatedAt": now,
        }

    def issues(self, config: Any) -> list[Issue]:
        """Every problem of ``config`` as gateway issues, in the gateway's order."""
        if not isinstance(config, dict):
            received = _js_type(config)
            return [{"path": "", "message": f"Invalid input: expected object, received {received}"}]
        if not self.present:
            return []
        found: dict[str, Issue] = {}
        order: list[tuple[tuple[tuple[int, str], ...], str]] = []
        for error in _iter_errors(self.validator, config):
            for issue, is_own in _to_issues(error):
                key = issue["path"] + ("\0own" if is_own else "")
                previous = found.get(key)
                if previous is not None and not _prefer(issue, previous):
                    continue
                if previous is None:
                    parts = [(0, str(p)) for p in error.absolute_path]
                    if is_own:
                        parts.append((1, ""))
                    order.append((tuple(parts), key))
                found[key] = issue
        order.sort(key=lambda item: item[0])
        return [found[key] for _, key in order]


_CACHE: dict[int, tuple[Mapping[str, Any], CompiledSchema]] = {}
_LOCK = threading.Lock()


def compile_schema(schema: Mapping[str, Any] | None) -> CompiledSchema:
    """The compiled form of ``schema`` (a bare JSON Schema or a ``config.schema`` payload).

    Compiled once per schema object and cached for the life of the process: pass the same
    object to every gateway of a fleet.
    """
    key = id(schema)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None and cached[0] is schema:
            return cached[1]
        compiled = _compile(schema)
        if schema is not None:
            _CACHE[key] = (schema, compiled)
        return compiled


_NONE_SCHEMA: CompiledSchema | None = None


def _compile(schema: Mapping[str, Any] | None) -> CompiledSchema:
    global _NONE_SCHEMA
    if schema is None:
        if _NONE_SCHEMA is None:
            _NONE_SCHEMA = CompiledSchema(
                json_schema=_PERMISSIVE,
                ui_hints={},
                version=None,
                validator=jsonschema.Draft7Validator(_PERMISSIVE),
                present=False,
            )
        return _NONE_SCHEMA
    if "schema" in schema and isinstance(schema.get("schema"), Mapping):
        json_schema: Mapping[str, Any] = schema["schema"]
        hints: Mapping[str, Any] = schema.get("uiHints") or {}
        version = schema.get("version") if isinstance(schema.get("version"), str) else None
    else:
        json_schema, hints, version = schema, {}, None
    validating = _anchor_nested_defs(json_schema)
    validator = jsonschema.Draft7Validator(validating)
    sensitive = frozenset(
        k for k, v in hints.items() if isinstance(v, Mapping) and v.get("sensitive") is True
    )
    insensitive = frozenset(
        k for k, v in hints.items() if isinstance(v, Mapping) and v.get("sensitive") is False
    )
    return CompiledSchema(json_schema, hints, version, validator, sensitive, insensitive)


def _anchor_nested_defs(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Give sub-schemas that carry their own ``$defs`` an ``$id`` so ``#/$defs/..`` resolves.

    OpenClaw's plugin config schemas are inlined with their local ``$defs``; resolved from the
    root those references point nowhere. Only the nodes on the way to such sub-schemas are
    copied; everything else is shared with the caller's schema.
    """
    counter = iter(range(1, 1_000_000))

    def visit(node: Any, top: bool) -> Any:
        if isinstance(node, Mapping):
            changed: dict[str, Any] = {}
            for key, value in node.items():
                new = visit(value, False)
                if new is not value:
                    changed[key] = new
            needs_id = not top and "$defs" in node and "$id" not in node
            if not changed and not needs_id:
                return node
            result = dict(node)
            result.update(changed)
            if needs_id:
                result["$id"] = f"urn:molthub-sim:defs:{next(counter)}"
            return result
        if isinstance(node, list):
            items = [visit(v, False) for v in node]
            if all(a is b for a, b in zip(items, node, strict=True)):
                return node
            return items
        return node

    result: Mapping[str, Any] = visit(schema, True)
    return result


def _has_nested_defs(node: Any, top: bool) -> bool:
    if isinstance(node, Mapping):
        if not top and "$defs" in node:
            return True
        return any(_has_nested_defs(v, False) for v in node.values())
    if isinstance(node, list):
        return any(_has_nested_defs(v, False) for v in node)
    return False


def _iter_errors(validator: Any, config: Any) -> Iterator[Any]:
    try:
        yield from validator.iter_errors(config)
    except referencing.exceptions.Unresolvable:
        return


def _dotted(path: Sequence[Any]) -> str:
    return ".".join(str(p) for p in path)


def _js_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _prefer(new: Issue, old: Issue) -> bool:
    """Keep the more specific of two issues at one path (an enum beats a type mismatch)."""
    return "allowedValues" in new and "allowedValues" not in old


def _quote_list(values: Sequence[Any], sep: str) -> str:
    import json

    return sep.join(json.dumps(v, ensure_ascii=False) for v in values)


def _to_issues(error: Any) -> list[tuple[Issue, bool]]:
    """Translate one jsonschema error into gateway issues; True marks an object's own issue."""
    path = list(error.absolute_path)
    where = _dotted(path)
    keyword = error.validator
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    instance = error.instance
    if keyword == "additionalProperties" and isinstance(instance, dict):
        allowed = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        extra = [k for k in instance if k not in allowed and not _matches_any(k, patterns)]
        if not extra:
            return []
        noun = "key" if len(extra) == 1 else "keys"
        return [
            ({"path": where, "message": f"Unrecognized {noun}: {_quote_list(extra, ', ')}"}, True)
        ]
    if keyword == "enum":
        values = list(error.validator_value)
        message = f"Invalid option: expected one of {_quote_list(values, '|')}"
        return [
            (
                {
                    "path": where,
                    "message": message,
                    "allowedValues": values,
                    "allowedValuesHiddenCount": 0,
                },
                False,
            )
        ]
    if keyword in ("anyOf", "oneOf"):
        consts = [
            s.get("const") for s in error.validator_value if isinstance(s, Mapping) and "const" in s
        ]
        if consts and len(consts) == len(error.validator_value):
            message = f"Invalid input (allowed: {_quote_list(consts, ', ')})"
            return [
                (
                    {
                        "path": where,
                        "message": message,
                        "allowedValues": consts,
                        "allowedValuesHiddenCount": 0,
                    },
                    False,
                )
            ]
        return [({"path": where, "message": "Invalid input"}, False)]
    if keyword == "const":
        return [
            (
                {
                    "path": where,
                    "message": "Invalid input: expected "
                    + _quote_list([error.validator_value], ""),
                },
                False,
            )
        ]
    if keyword == "type":
        expected = error.validator_value
        expected_name = expected if isinstance(expected, str) else "|".join(expected)
        received = _js_type(instance)
        if expected_name == "integer":
            expected_name = (
                "int"
                if isinstance(instance, (int, float)) and not isinstance(instance, bool)
                else "number"
            )
        return [
            (
                {
                    "path": where,
                    "message": f"Invalid input: expected {expected_name}, received {received}",
                },
                False,
            )
        ]
    if keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        small = keyword.endswith("inimum")
        op = (
            (">=" if small else "<=")
            if not keyword.startswith("exclusive")
            else (">" if small else "<")
        )
        bound = error.validator_value
        name = "minimum" if small else "maximum"
        head = "Too small" if small else "Too big"
        message = f"{head}: expected number to be {op}{bound} ({name}: {bound})"
        return [({"path": where, "message": message}, False)]
    if keyword in ("minLength", "maxLength", "minItems", "maxItems"):
        small = keyword.startswith("min")
        noun = "characters" if keyword.endswith("Length") else "items"
        kind = "string" if noun == "characters" else "array"
        head = "Too small" if small else "Too big"
        op = ">=" if small else "<="
        message = f"{head}: expected {kind} to have {op}{error.validator_value} {noun}"
        return [({"path": where, "message": message}, False)]
    if keyword == "pattern":
        return [
            (
                {
                    "path": where,
                    "message": f"Invalid string: must match pattern /{error.validator_value}/",
                },
                False,
            )
        ]
    if keyword == "required":
        missing = [
            k for k in error.validator_value if isinstance(instance, dict) and k not in instance
        ]
        issues: list[tuple[Issue, bool]] = []
        for name in missing:
            sub = schema.get("properties", {}).get(name, {})
            if isinstance(sub, Mapping) and "default" in sub:
                continue  # Zod fills defaults before it checks (schemas of 2026.3 list them)
            expected = sub.get("type", "nonoptional") if isinstance(sub, Mapping) else "nonoptional"
            issue = {
                "path": _dotted([*path, name]),
                "message": f"Invalid input: expected {expected}, received undefined",
            }
            issues.append((issue, False))
        return issues
    return [({"path": where, "message": str(error.message)}, False)]


def _matches_any(key: str, patterns: Mapping[str, Any]) -> bool:
    import re

    return any(re.search(pattern, key) for pattern in patterns)


def summarize_issues(issues: Sequence[Issue]) -> str:
    """The gateway's error message for invalid config: at most 3 issues, then ``(+N more)``."""
    shown = issues[:_MAX_ISSUES_IN_MESSAGE]
    lines = [f"{issue['path'] or '<root>'}: {issue['message']}" for issue in shown]
    if not lines:
        return "invalid config"
    hidden = len(issues) - len(lines)
    more = f" (+{hidden} more issue{'' if hidden == 1 else 's'})" if hidden > 0 else ""
    return f"invalid config: {'; '.join(lines)}{more}"
