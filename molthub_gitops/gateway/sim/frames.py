"""Strict validation of protocol frames and method params, with the real gateway's messages.

The real gateway validates frames and params with TypeBox schemas compiled by Ajv (all errors
collected) and formats the errors with its own ``formatValidationErrors``. This module holds
the schemas the simulator needs, written as small JSON-Schema-like dicts, and a tiny
interpreter that yields the same texts, e.g. ``at root: unexpected property 'bogus'`` or
``at /minProtocol: must be integer``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = [
    "CLIENT_IDS",
    "CLIENT_MODES",
    "CONNECT_PARAMS",
    "METHOD_PARAMS",
    "REQUEST_FRAME",
    "format_errors",
    "validate",
]

Schema = Mapping[str, Any]

CLIENT_IDS: Final = (
    "webchat-ui",
    "openclaw-control-ui",
    "openclaw-browser-copilot",
    "openclaw-tui",
    "webchat",
    "cli",
    "gateway-client",
    "openclaw-macos",
    "openclaw-linux",
    "openclaw-ios",
    "openclaw-watchos",
    "openclaw-android",
    "node-host",
    "openclaw-worker",
    "test",
    "fingerprint",
    "openclaw-probe",
)
CLIENT_MODES: Final = ("webchat", "cli", "ui", "backend", "node", "worker", "probe", "test")


def _obj(properties: Mapping[str, Schema], required: Sequence[str] = ()) -> Schema:
    return {"type": "object", "properties": dict(properties), "required": list(required)}


_NON_EMPTY: Final[Schema] = {"type": "string", "minLength": 1}
_STRING: Final[Schema] = {"type": "string"}
_UNKNOWN: Final[Schema] = {}
_INT_MIN1: Final[Schema] = {"type": "integer", "minimum": 1}

REQUEST_FRAME: Final[Schema] = _obj(
    {
        "type": {"const": "req"},
        "id": _NON_EMPTY,
        "method": _NON_EMPTY,
        "params": _UNKNOWN,
        "traceparent": {"type": "string", "maxLength": 128},
        "expectedProfileId": _NON_EMPTY,
    },
    ("type", "id", "method"),
)

CONNECT_PARAMS: Final[Schema] = _obj(
    {
        "minProtocol": _INT_MIN1,
        "maxProtocol": _INT_MIN1,
        "client": _obj(
            {
                "id": {"enum": list(CLIENT_IDS)},
                "displayName": _NON_EMPTY,
                "version": _NON_EMPTY,
                "buildId": {"type": "string", "minLength": 1, "maxLength": 96},
                "platform": _NON_EMPTY,
                "deviceFamily": _NON_EMPTY,
                "modelIdentifier": _NON_EMPTY,
                "timeZone": {"type": "string", "minLength": 1, "maxLength": 64},
                "mode": {"enum": list(CLIENT_MODES)},
                "instanceId": _NON_EMPTY,
            },
            ("id", "version", "platform", "mode"),
        ),
        "caps": {"type": "array", "items": _NON_EMPTY},
        "commands": {"type": "array", "items": _NON_EMPTY},
        "computerUse": _UNKNOWN,
        "workerRuns": _UNKNOWN,
        "permissions": {"type": "object", "additionalProperties": {"type": "boolean"}},
        "pathEnv": _STRING,
        "role": _NON_EMPTY,
        "scopes": {"type": "array", "items": _NON_EMPTY},
        "modelCatalog": _UNKNOWN,
        "device": _obj(
            {
                "id": _NON_EMPTY,
                "publicKey": _NON_EMPTY,
                "signature": _NON_EMPTY,
                "signedAt": {"type": "integer", "minimum": 0},
                "nonce": _NON_EMPTY,
            },
            ("id", "publicKey", "signature", "signedAt", "nonce"),
        ),
        "auth": _obj(
            {
                "token": _STRING,
                "bootstrapToken": _STRING,
                "deviceToken": _STRING,
                "password": _STRING,
                "approvalRuntimeToken": _STRING,
                "agentRuntimeIdentityToken": _STRING,
            }
        ),
        "locale": _STRING,
        "userAgent": _STRING,
    },
    ("minProtocol", "maxProtocol", "client"),
)

_APPLY_LIKE: Final[dict[str, Schema]] = {
    "raw": _NON_EMPTY,
    "baseHash": _NON_EMPTY,
    "sessionKey": _STRING,
    "deliveryContext": _UNKNOWN,
    "note": _STRING,
    "restartDelayMs": {"type": "integer", "minimum": 0},
}

METHOD_PARAMS: Final[Mapping[str, Schema]] = {
    "config.get": _obj({}),
    "config.schema": _obj({}),
    "config.set": _obj({"raw": _NON_EMPTY, "baseHash": _NON_EMPTY}, ("raw",)),
    "config.apply": _obj(_APPLY_LIKE, ("raw",)),
    "config.patch": _obj(
        {**_APPLY_LIKE, "replacePaths": {"type": "array", "items": _NON_EMPTY, "maxItems": 256}},
        ("raw",),
    ),
}

_JS_TYPES: Final = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def validate(value: Any, schema: Schema, path: str = "") -> list[tuple[str, str, str]]:
    """All errors of ``value`` against ``schema`` as (keyword, instancePath, message) tuples.

    The order follows Ajv with ``allErrors``: type, then required, then unknown properties,
    then each declared property in declaration order.
    """
    errors: list[tuple[str, str, str]] = []
    if "const" in schema and value != schema["const"]:
        errors.append(("const", path, "must be equal to constant"))
        return errors
    if "enum" in schema and value not in schema["enum"]:
        errors.append(("enum", path, "must be equal to one of the allowed values"))
        return errors
    kind = schema.get("type")
    if kind is not None and not _JS_TYPES[kind](value):
        errors.append(("type", path, f"must be {kind}"))
        return errors
    if kind == "string":
        if "minLength" in schema and len(value) < schema["minLength"]:
            n = schema["minLength"]
            errors.append(("minLength", path, f"must NOT have fewer than {n} characters"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            n = schema["maxLength"]
            errors.append(("maxLength", path, f"must NOT have more than {n} characters"))
    elif kind in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(("minimum", path, f"must be >= {schema['minimum']}"))
    elif kind == "array":
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            n = schema["maxItems"]
            errors.append(("maxItems", path, f"must NOT have more than {n} items"))
        items = schema.get("items")
        if items is not None:
            for index, item in enumerate(value):
                errors.extend(validate(item, items, f"{path}/{index}"))
    elif kind == "object":
        errors.extend(_validate_object(value, schema, path))
    return errors


def _validate_object(
    value: dict[str, Any], schema: Schema, path: str
) -> list[tuple[str, str, str]]:
    errors: list[tuple[str, str, str]] = []
    properties: Mapping[str, Schema] | None = schema.get("properties")
    for name in schema.get("required", ()):
        if name not in value:
            errors.append(("required", path, f"must have required property '{name}'"))
    if properties is not None:
        for key in value:
            if key not in properties:
                errors.append(("additionalProperties", path, f"unexpected property '{key}'"))
        for name, sub in properties.items():
            if name in value:
                errors.extend(validate(value[name], sub, f"{path}/{_escape(name)}"))
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        for key, item in value.items():
            errors.extend(validate(item, extra, f"{path}/{_escape(key)}"))
    return errors


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def format_errors(errors: Sequence[tuple[str, str, str]]) -> str:
    """Join errors the way the real gateway's ``formatValidationErrors`` does."""
    parts: list[str] = []
    for keyword, path, message in errors:
        if keyword == "additionalProperties":
            where = f"at {path}" if path else "at root"
            part = f"{where}: {message}"
        else:
            part = f"at {path}: {message}" if path else message
        if part not in parts:
            parts.append(part)
    return "; ".join(parts) if parts else "unknown validation error"
