"""The pure parts of operations: desired-in-observed comparison and health summaries (the
latter checked on the real recorded health payloads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from molthub_gitops.gateway.operations import config_contains, summarize_health
from molthub_gitops.gateway.secrets import REDACTION_SENTINEL

SESSION = Path(__file__).resolve().parent.parent / "data" / "openclaw-2026.9.6-session.jsonl"


def _recorded_health() -> tuple[dict[str, Any], dict[str, Any]]:
    """(the `health` response, the health inside hello-ok's snapshot) of the recording."""
    rows = [json.loads(line) for line in SESSION.read_text().splitlines() if line.strip()]
    ids = {r["frame"]["id"] for r in rows
           if r["dir"] == "send" and r["frame"].get("method") == "health"}
    response = next(r["frame"]["payload"] for r in rows
                    if r["dir"] == "recv" and r["frame"].get("id") in ids)
    snapshot = next(r["frame"]["payload"]["snapshot"]["health"] for r in rows
                    if r["dir"] == "recv" and isinstance(r["frame"].get("payload"), dict)
                    and r["frame"]["payload"].get("type") == "hello-ok")
    return response, snapshot


def test_gateway_additions_do_not_count_as_differences() -> None:
    observed = {"gateway": {"mode": "local"}, "meta": {"lastTouchedVersion": "2026.9.6"},
                "plugins": {"entries": {"codex": {"config": {"sessionCatalog":
                                                             {"enabled": False}}}}}}
    assert config_contains(observed, {"gateway": {"mode": "local"}})
    assert config_contains(observed, {"gateway": {"mode": "local"}, "meta": {"x": 1}})
    assert not config_contains(observed, {"gateway": {"mode": "remote"}})
    assert not config_contains(observed, {"gateway": {"mode": "local", "port": 1}})
    assert not config_contains({}, {"gateway": {}})


def test_value_comparison_rules() -> None:
    assert config_contains({"a": [1, {"b": 2, "c": 3}]}, {"a": [1, {"b": 2}]})
    assert not config_contains({"a": [1, 2]}, {"a": [1]})  # lists replace, so must match
    assert not config_contains({"a": [1]}, {"a": "x"})
    assert config_contains({"a": 1.0}, {"a": 1})
    assert not config_contains({"a": 1}, {"a": True})  # booleans are not numbers
    assert not config_contains({"a": "1"}, {"a": 1})
    assert config_contains({"token": REDACTION_SENTINEL}, {"token": "${BOT_TOKEN}"})
    assert not config_contains({"n": REDACTION_SENTINEL}, {"n": 5})


def test_recorded_health_payloads() -> None:
    response, snapshot = _recorded_health()
    summary = summarize_health(response)
    assert summary.ok
    assert summary.healthy
    assert summary.channels_ok == ()
    assert not summary.degraded
    busy = summarize_health(snapshot)  # the hello-ok snapshot had a CPU-degraded event loop
    assert busy.healthy
    assert busy.degraded
    assert busy.degraded_reasons == ("eventLoop(cpu)",)


def test_failed_channels_make_a_gateway_unhealthy() -> None:
    health = {
        "ok": True,
        "channels": {
            "telegram": {"probe": {"ok": True}},
            "discord": {"probe": {"ok": False, "error": "401"}},
            "slack": {"running": False, "lastError": "socket closed"},
            "matrix": {"running": True, "lastError": "transient"},
        },
        "plugins": {"errors": [{"id": "x"}]},
        "modelRuntime": {"degraded": True},
    }
    summary = summarize_health(health)
    assert summary.ok
    assert not summary.healthy
    assert summary.channels_failed == ("discord", "slack")
    assert summary.channels_ok == ("matrix", "telegram")
    assert summary.degraded_reasons == ("modelRuntime", "plugins")
    assert summary.as_dict()["healthy"] is False
    assert not summarize_health({"ok": False}).healthy
    assert not summarize_health({}).ok
