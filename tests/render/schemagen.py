"""Random instances of a JSON Schema, valid and deliberately broken, for equivalence tests."""

from __future__ import annotations

import random
from typing import Any

_BAD_VALUES: list[Any] = [None, True, 0, -1, 1.5, "", "x", [], [1], {}, {"zz": 1}, 10**6]


class Generator:
    def __init__(self, seed: int, *, error_rate: float = 0.08, max_depth: int = 6) -> None:
        self.rnd = random.Random(seed)
        self.error_rate = error_rate
        self.max_depth = max_depth

    def broken(self) -> bool:
        return self.rnd.random() < self.error_rate

    def value(self, schema: Any, depth: int = 0) -> Any:
        rnd = self.rnd
        if not isinstance(schema, dict) or any(k in schema for k in ("$ref", "$defs")):
            return rnd.choice(["s", 1, True])
        if self.broken():
            return rnd.choice(_BAD_VALUES)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self.value(rnd.choice(schema[key]), depth)
        if "allOf" in schema:
            return self.value(schema["allOf"][0], depth)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return rnd.choice(schema["enum"])
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = rnd.choice(kind)
        if kind is None:
            kind = "object" if "properties" in schema else rnd.choice(["string", "integer"])
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            if depth >= self.max_depth:
                return []
            items = schema.get("items", {})
            if isinstance(items, list):
                return [self.value(s, depth + 1) for s in items]
            count = rnd.randint(schema.get("minItems", 0), min(schema.get("maxItems", 3), 3))
            return [self.value(items, depth + 1) for _ in range(count)]
        if kind == "string":
            low = schema.get("minLength", 0)
            return "v" * max(low, rnd.randint(0, 5))
        if kind == "integer":
            low = schema.get("minimum", schema.get("exclusiveMinimum", -5) + 1)
            high = schema.get("maximum", low + 100)
            return rnd.randint(int(low), int(max(low, high)))
        if kind == "number":
            return rnd.choice([0.5, 1, 2.25])
        if kind == "boolean":
            return rnd.choice([True, False])
        if kind == "null":
            return None
        return "?"

    def object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        rnd = self.rnd
        out: dict[str, Any] = {}
        if depth >= self.max_depth:
            return out
        props = schema.get("properties", {})
        required = [k for k in schema.get("required", []) if k in props]
        chosen = set(required)
        if props:
            chosen |= set(rnd.sample(sorted(props), min(len(props), rnd.randint(0, 4))))
        for key in sorted(chosen):
            if key in required and self.broken():
                continue  # a missing required key
            out[key] = self.value(props[key], depth + 1)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and rnd.random() < 0.5:
            for i in range(rnd.randint(1, 2)):
                out[f"k{i}"] = self.value(extra, depth + 1)
        for pattern, sub in list(schema.get("patternProperties", {}).items())[:1]:
            if pattern == "^x-" and rnd.random() < 0.5:
                out["x-extra"] = self.value(sub, depth + 1)
        if self.broken():
            out["unknownKey"] = 1
        return out
