"""The simulator's pure pieces: JSON5, frame validation, merge patch, redaction, hashing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from molthub_gitops.gateway.sim.configstore import (
    ConfigStore,
    Profile,
    apply_merge_patch,
    destructive_array_paths,
    dump_config,
    leaf_changes,
)
from molthub_gitops.gateway.sim.frames import CONNECT_PARAMS, format_errors, validate
from molthub_gitops.gateway.sim.json5 import Json5Error, loads
from molthub_gitops.gateway.sim.redact import SENTINEL, RedactionError, Redactor, is_sensitive_path
from molthub_gitops.gateway.sim.schema import compile_schema, summarize_issues


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        (
            "{a: 1, 'b': [1, 2,], /* c */ c: null, // x\n d: true,}",
            {"a": 1, "b": [1, 2], "c": None, "d": True},
        ),
        ("[0x1F, .5, 5., +3, -2e2, 1.0]", [31, 0.5, 5, 3, -200, 1]),
        ('"\\u0041\\x42\\n\\t"', "AB\n\t"),
        ("'it\\'s'", "it's"),
        ("  42  ", 42),
    ],
)
def test_json5_values(text: str, value: Any) -> None:
    assert loads(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "JSON5: invalid character 'j' at 1:6"),
        ("{", "JSON5: invalid end of input at 1:2"),
        ('{"a": 1}\n x', "JSON5: invalid character 'x' at 2:2"),
        ("[1 2]", "JSON5: invalid character '2' at 1:4"),
        ("", "JSON5: invalid end of input at 1:1"),
        ('"open', "JSON5: invalid end of input at 1:6"),
    ],
)
def test_json5_errors_use_the_json5_wording(text: str, message: str) -> None:
    with pytest.raises(Json5Error) as info:
        loads(text)
    assert str(info.value) == message


def test_connect_params_validation_messages() -> None:
    params = {
        "minProtocol": 0,
        "maxProtocol": 4,
        "client": {"id": "cli", "version": "", "platform": "x", "mode": "cli"},
        "scopes": "x",
    }
    errors = validate(params, CONNECT_PARAMS)
    assert format_errors(errors) == (
        "at /minProtocol: must be >= 1; "
        "at /client/version: must NOT have fewer than 1 characters; at /scopes: must be array"
    )
    assert format_errors([]) == "unknown validation error"
    assert validate("x", CONNECT_PARAMS) == [("type", "", "must be object")]


def test_merge_patch_semantics() -> None:
    base = {
        "a": {"b": 1, "c": 2},
        "list": [1, 2],
        "ids": [{"id": "x", "v": 1}, {"id": "y", "v": 2}],
    }
    patch = {
        "a": {"b": None, "d": 3},
        "list": [3],
        "ids": [{"id": "y", "v": 5}, {"id": "z"}],
        "new": {"k": "v"},
    }
    merged = apply_merge_patch(base, patch)
    assert merged == {
        "a": {"c": 2, "d": 3},
        "list": [3],
        "ids": [{"id": "x", "v": 1}, {"id": "y", "v": 5}, {"id": "z"}],
        "new": {"k": "v"},
    }
    assert base["a"] == {"b": 1, "c": 2}  # the base is not modified
    assert apply_merge_patch(base, {"ids": [{"id": "q"}]}, frozenset({"ids"}))["ids"] == [
        {"id": "q"}
    ]
    assert apply_merge_patch(base, {"__proto__": {"x": 1}}) == base
    assert destructive_array_paths(base, patch, merged) == ["list"]
    assert (
        destructive_array_paths(
            base, {"list": [2, 1, 0]}, apply_merge_patch(base, {"list": [2, 1, 0]})
        )
        == []
    )
    assert destructive_array_paths(base, {"a": None}, apply_merge_patch(base, {"a": None})) == []
    assert destructive_array_paths({"x": {"l": [1]}}, {"x": None}, {}) == ["x.l"]


def test_leaf_changes() -> None:
    assert leaf_changes({"a": {"b": 1}}, {"a": {"b": 1}}) == []
    assert leaf_changes({"a": {"b": 1}}, {"a": {"b": 2, "c": {}}}) == ["a.b", "a.c"]
    assert leaf_changes({}, {}) == []


def test_redaction_heuristics_and_hints() -> None:
    assert is_sensitive_path("gateway.auth.token")
    assert is_sensitive_path("x.apiKey")
    assert not is_sensitive_path("agents.defaults.contextTokens")
    assert not is_sensitive_path("gateway.mode")
    redactor = Redactor(frozenset(), frozenset())
    config = {
        "gateway": {"auth": {"token": "abc", "password": "${PW}"}},
        "hooks": {"token": ""},
        "list": [{"apiKey": "k"}],
    }
    redacted, secrets = redactor.redact(config)
    assert redacted == {
        "gateway": {"auth": {"token": SENTINEL, "password": "${PW}"}},
        "hooks": {"token": ""},
        "list": [{"apiKey": SENTINEL}],
    }
    assert sorted(secrets) == ["abc", "k"]
    # "k" also occurs in the key "token": plain text replacement breaks the document -> no raw
    assert redactor.redact_raw(dump_config(config), secrets, config) is None
    safe = {"gateway": {"auth": {"token": "long-secret-value"}}, "note": "no secret here"}
    _, safe_secrets = redactor.redact(safe)
    raw = redactor.redact_raw(dump_config(safe), safe_secrets, safe)
    assert raw is not None
    assert "long-secret-value" not in raw
    assert raw.count(SENTINEL) == 1
    assert redactor.redact({"apiKeys": ["a1", "${B}"]})[0] == {"apiKeys": [SENTINEL, "${B}"]}
    assert redactor.restore(redacted, config) == config
    with pytest.raises(RedactionError, match=r"gateway\.remote\.token"):
        redactor.restore({"gateway": {"remote": {"token": SENTINEL}}}, config)
    with pytest.raises(RedactionError, match="Reserved redaction sentinel"):
        redactor.restore({"gateway": {"mode": SENTINEL}}, config)

    hinted = Redactor(
        frozenset({"models.providers.*.apiKey", "custom.secretish"}), frozenset({"x.token"})
    )
    value = {
        "models": {"providers": {"openai": {"apiKey": "sk-1"}}},
        "custom": {"secretish": {"a": "b"}},
        "x": {"token": "visible"},
    }
    out, found = hinted.redact(value)
    assert out == {
        "models": {"providers": {"openai": {"apiKey": SENTINEL}}},
        "custom": {"secretish": SENTINEL},
        "x": {"token": "visible"},
    }
    assert sorted(found) == ["b", "sk-1"]


def test_schema_payload_with_hints_is_used_for_redaction() -> None:
    payload = {
        "schema": {
            "type": "object",
            "properties": {"weird": {"type": "string"}},
            "additionalProperties": False,
        },
        "uiHints": {"weird": {"sensitive": True}},
        "version": "2026.9.6",
        "generatedAt": "x",
    }
    compiled = compile_schema(payload)
    assert compile_schema(payload) is compiled
    assert compiled.sensitive_hints == frozenset({"weird"})
    assert compiled.issues({"weird": 1, "other": 2}) == [
        {"path": "weird", "message": "Invalid input: expected string, received number"},
        {"path": "", "message": 'Unrecognized key: "other"'},
    ]
    assert compiled.response("2026.9.6")["uiHints"] == payload["uiHints"]


def test_nested_defs_of_plugin_schemas_resolve() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "plugin": {
                "type": "object",
                "$defs": {
                    "route": {
                        "type": "object",
                        "properties": {"path": {"type": "string"}},
                        "additionalProperties": False,
                    }
                },
                "properties": {"routes": {"type": "array", "items": {"$ref": "#/$defs/route"}}},
            }
        },
    }
    compiled = compile_schema(schema)
    assert "$id" not in schema["properties"]["plugin"]  # the caller's schema is not modified
    assert compiled.issues({"plugin": {"routes": [{"path": 1}]}}) == [
        {
            "path": "plugin.routes.0.path",
            "message": "Invalid input: expected string, received number",
        }
    ]


def test_summary_caps_at_three_issues() -> None:
    issues = [{"path": f"p{i}", "message": "m"} for i in range(5)]
    assert summarize_issues(issues) == "invalid config: p0: m; p1: m; p2: m (+2 more issues)"
    assert summarize_issues([]) == "invalid config"


def _store(modern: bool, config: dict[str, Any] | None = None) -> ConfigStore:
    return ConfigStore(
        profile=Profile(modern=modern, version="2026.9.6" if modern else "2026.3.31"),
        schema=compile_schema(None),
        path="/p",
        install_key=b"k" * 32,
        env=None,
        initial=config,
    )


def test_hash_is_the_projected_sha256_of_the_file_text() -> None:
    store = _store(True, {"a": 1})
    digest = hashlib.sha256(store.raw.encode()).hexdigest() if store.raw else ""
    message = json.dumps(
        ["openclaw.gateway.config-revision.raw.v1", digest], separators=(",", ":")
    ).encode()
    mac = hmac.new(b"k" * 32, message, hashlib.sha256).digest()
    assert store.hash == "hmac-sha256:v1:" + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    legacy = _store(False)
    assert legacy.hash == hashlib.sha256(b"").hexdigest()


def test_dump_config_matches_json_stringify() -> None:
    assert (
        dump_config({"a": 1.0, "b": [1.5, {}], "c": "é"})
        == '{\n  "a": 1,\n  "b": [\n    1.5,\n    {}\n  ],\n  "c": "é"\n}\n'
    )


def test_projection_drops_echoed_defaults_and_keeps_changes() -> None:
    store = _store(True, {"gateway": {"mode": "local"}})
    submitted = {
        "gateway": {"mode": "local"},
        "agents": {"entries": {"main": {}}, "defaults": {"maxConcurrent": 8}},
        "messages": {"ackReactionScope": "group-mentions"},
        "cron": {"enabled": True},
    }
    # like the real projection, dropping run-time-only keys leaves an (empty) object behind
    assert store.project_onto_source(submitted) == {
        "gateway": {"mode": "local"},
        "agents": {"entries": {"main": {}}, "defaults": {}},
        "cron": {"enabled": True},
    }
    assert store.project_onto_source(
        {"gateway": {"mode": "local"}, "messages": {"ackReactionScope": "group-mentions"}}
    ) == {"gateway": {"mode": "local"}}
    changed = store.project_onto_source({"agents": {"defaults": {"maxConcurrent": 2}}})
    assert changed == {"agents": {"defaults": {"maxConcurrent": 2}}}  # gateway and entries: deleted
