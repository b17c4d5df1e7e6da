"""Draft-07 JSON Schemas of the molthub/v1 documents, generated from the pydantic models.

Editors (yaml-language-server) validate with draft-07, so the output uses draft-07 constructs
only: ``definitions`` with ``#/definitions/...`` references (never ``$defs``), ``allOf``
around a ``$ref`` that carries a description, and no ``prefixItems``, ``unevaluated*``,
``dependentSchemas`` or ``$anchor``. Field descriptions come from the models' docstrings.

One schema per kind (``fleet.schema.json``...) and ``molthub.schema.json``, which accepts any
document and dispatches on ``kind`` with draft-07 ``if``/``then``.
"""

from __future__ import annotations

import json
from typing import Any

from molthub_gitops.model.documents import API_VERSION, DOCUMENT_KINDS

__all__ = [
    "ANY_DOCUMENT_FILE",
    "DRAFT_07",
    "FORBIDDEN_KEYWORDS",
    "SCHEMA_BASE_URL",
    "document_schemas",
    "schema_file_name",
    "serialize_schema",
]

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
SCHEMA_BASE_URL = "https://molthub.dev/schemas/v1/"
ANY_DOCUMENT_FILE = "molthub.schema.json"
FORBIDDEN_KEYWORDS = frozenset({
    "$defs", "prefixItems", "unevaluatedProperties", "unevaluatedItems", "dependentSchemas",
    "dependentRequired", "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef",
})
"""Keywords newer than draft-07 that must never appear in the output."""

_REF_TEMPLATE = "#/definitions/{model}"


def schema_file_name(kind: str) -> str:
    """``Fleet`` -> ``fleet.schema.json``."""
    return f"{kind.lower()}.schema.json"


def _draft07(node: Any, *, in_properties: bool = False) -> Any:
    """Rewrite a pydantic schema fragment into plain draft-07."""
    if isinstance(node, list):
        return [_draft07(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if in_properties:
            out[key] = _draft07(value)  # keys here are field names, not keywords
        elif key in ("properties", "patternProperties", "definitions", "$defs"):
            out["definitions" if key == "$defs" else key] = _draft07(value, in_properties=True)
        elif key == "title" and isinstance(value, str) and "properties" not in node:
            continue  # pydantic's per-field titles ("Openclawversion") only add noise
        else:
            out[key] = _draft07(value)
    if "$ref" in out and len(out) > 1 and not in_properties:
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}], **out}
    return out


def _kind_schema(kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(top-level schema without definitions, its definitions) of one kind."""
    model = DOCUMENT_KINDS[kind]
    raw = model.model_json_schema(by_alias=True, ref_template=_REF_TEMPLATE, mode="validation")
    schema: dict[str, Any] = _draft07(raw)
    definitions: dict[str, Any] = schema.pop("definitions", {})
    return schema, definitions


def _merge_definitions(into: dict[str, Any], more: dict[str, Any]) -> None:
    for name, schema in more.items():
        if name in into and into[name] != schema:
            raise AssertionError(f"two different models are both named {name!r}")
        into[name] = schema


def document_schemas() -> dict[str, dict[str, Any]]:
    """File name -> draft-07 schema: one per kind plus ``molthub.schema.json`` (any kind)."""
    result: dict[str, dict[str, Any]] = {}
    every: dict[str, Any] = {}
    for kind, model in DOCUMENT_KINDS.items():
        schema, definitions = _kind_schema(kind)
        name = schema_file_name(kind)
        doc = {
            "$schema": DRAFT_07,
            "$id": SCHEMA_BASE_URL + name,
            **schema,
            "title": f"molthub {kind}",
            "description": (model.__doc__ or kind).strip().split("\n\n")[0].replace("\n", " "),
        }
        if definitions:
            doc["definitions"] = definitions
        result[name] = doc
        _merge_definitions(every, definitions)
        _merge_definitions(every, {kind: {**schema, "title": kind}})
    kinds = list(DOCUMENT_KINDS)
    result[ANY_DOCUMENT_FILE] = {
        "$schema": DRAFT_07,
        "$id": SCHEMA_BASE_URL + ANY_DOCUMENT_FILE,
        "title": "molthub document",
        "description": "Any molthub/v1 document; the kind field selects which.",
        "type": "object",
        "required": ["apiVersion", "kind"],
        "properties": {
            "apiVersion": {"const": API_VERSION, "description": "Always molthub/v1."},
            "kind": {"enum": kinds, "description": "What this document is."},
        },
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": {"$ref": f"#/definitions/{kind}"},
            }
            for kind in kinds
        ],
        "definitions": every,
    }
    for schema in result.values():
        _check_draft07(schema)
    return result


def _check_draft07(node: Any) -> None:
    todo = [node]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            bad = FORBIDDEN_KEYWORDS.intersection(item)
            if bad:
                raise AssertionError(f"non-draft-07 keywords in a schema: {sorted(bad)}")
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)


def serialize_schema(schema: dict[str, Any]) -> str:
    """Stable text of a schema file: sorted keys, indent 2, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
