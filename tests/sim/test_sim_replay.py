"""Replay of a real recorded session: the simulator answers the same requests with the same shapes.

/work/shared/data/openclaw-2026.9.6-session.jsonl (copied to tests/data/) holds frames of
a real openclaw 2026.9.6 gateway. The same requests are sent to a simulator seeded with the
same config; each answer must have the same keys and value types (values differ: ids,
times, the per-install hash key).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from simclient import RawClient, connect_params

from molthub_gitops.gateway.sim import SimulatedGateway

SESSION = Path(__file__).resolve().parent.parent / "data" / "openclaw-2026.9.6-session.jsonl"
REAL_TOKEN = "testtoken123"


def _frames() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SESSION.read_text().splitlines() if line.strip()]


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively; a list is described by its first element."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def same_shape(real: Any, sim: Any, path: str = "$", *, lists: bool = True) -> list[str]:
    """Differences between two shapes (empty when they agree; null matches any type)."""
    if isinstance(real, dict) and isinstance(sim, dict):
        problems = [f"{path}: missing {k!r}" for k in real if k not in sim]
        problems += [f"{path}: extra {k!r}" for k in sim if k not in real]
        for key in real:
            if key in sim:
                problems += same_shape(real[key], sim[key], f"{path}.{key}", lists=lists)
        return problems
    if isinstance(real, list) and isinstance(sim, list):
        if real and sim and lists:
            return same_shape(real[0], sim[0], f"{path}[0]", lists=lists)
        return []
    if real == sim or "null" in (real, sim):  # nullable fields hold null or a value
        return []
    return [f"{path}: {real} != {sim}"]


class Replay:
    """The real session, indexed by request id."""

    def __init__(self) -> None:
        self.frames = _frames()
        self.requests = {f["frame"]["id"]: f["frame"] for f in self.frames if f["dir"] == "send"}
        self.responses = {
            f["frame"]["id"]: f["frame"]
            for f in self.frames
            if f["dir"] == "recv" and f["frame"].get("type") == "res"
        }

    def pairs(self, method: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [
            (req, self.responses[rid])
            for rid, req in self.requests.items()
            if req["method"] == method
        ]

    def first_config(self) -> dict[str, Any]:
        _, response = self.pairs("config.get")[0]
        parsed: dict[str, Any] = response["payload"]["parsed"]
        return parsed


@pytest.fixture(scope="module")
def replay() -> Replay:
    return Replay()


def _real(params: dict[str, Any]) -> dict[str, Any]:
    """Our connect params with the session's token replaced by the simulator's."""
    fixed: dict[str, Any] = json.loads(json.dumps(params))
    if fixed.get("auth", {}).get("token") == REAL_TOKEN:
        fixed["auth"]["token"] = "sim-token"
    return fixed


async def _sim(replay: Replay) -> SimulatedGateway:
    sim = SimulatedGateway(token="sim-token", config=replay.first_config())
    await sim.start()
    return sim


def test_session_file_is_the_shared_recording(replay: Replay) -> None:
    # shared/ lies beside the checkout on the team's machines and in CI
    shared = Path(__file__).resolve().parents[3] / "shared" / "data" / SESSION.name
    if shared.exists():
        assert shared.read_bytes() == SESSION.read_bytes()
    methods = {req["method"] for req in replay.requests.values()}
    assert {
        "connect",
        "config.get",
        "config.patch",
        "config.apply",
        "health",
        "no.such.method",
    } <= methods


async def test_challenge_and_hello_have_the_real_shape(replay: Replay) -> None:
    sim = await _sim(replay)
    try:
        real_challenge = next(
            f["frame"] for f in replay.frames if f["frame"].get("event") == "connect.challenge"
        )
        ok_pairs = [(q, r) for q, r in replay.pairs("connect") if r["ok"]]
        request, real = ok_pairs[0]
        client = await RawClient.open(sim.url)
        assert same_shape(shape(real_challenge), shape(client.challenge)) == []
        response = await client.request("connect", _real(request["params"]), rid=request["id"])
        real_hello, sim_hello = real["payload"], response["payload"]
        assert set(sim_hello) == set(real_hello)
        for key in ("server", "policy", "auth"):
            assert same_shape(shape(real_hello[key]), shape(sim_hello[key])) == [], key
        assert set(sim_hello["snapshot"]) == set(real_hello["snapshot"])
        assert set(sim_hello["features"]) == set(real_hello["features"])
        # the real snapshot holds an older health report: the simulator may have more keys
        problems = same_shape(
            shape(real_hello["snapshot"]["health"]),
            shape(sim_hello["snapshot"]["health"]),
            lists=False,
        )
        assert [p for p in problems if "extra" not in p] == []
        assert response["type"] == "res"
        assert response["id"] == request["id"]
        await client.close()
    finally:
        await sim.stop()


async def test_wrong_token_error_is_identical(replay: Replay) -> None:
    sim = await _sim(replay)
    try:
        request, real = next((q, r) for q, r in replay.pairs("connect") if not r["ok"])
        client = await RawClient.open(sim.url)
        response = await client.request("connect", request["params"], rid=request["id"])
        assert response == real
        note = next(
            f["frame"]["closed"]
            for f in replay.frames
            if f["dir"] == "note" and "closed" in f["frame"]
        )
        closed = await client.closed()
        assert f"code={closed.code}" in note
        assert closed.reason in note
    finally:
        await sim.stop()


async def test_reads_writes_and_errors_have_the_real_shape(replay: Replay) -> None:
    sim = await _sim(replay)
    try:
        client = await RawClient.open(sim.url)
        assert (await client.connect(connect_params(auth={"token": "sim-token"})))["ok"]

        request, real = replay.pairs("config.get")[0]
        got = await client.request("config.get", request["params"], rid=request["id"])
        assert list(got["payload"]) == list(real["payload"])
        assert same_shape(shape(real["payload"]), shape(got["payload"])) == []
        assert got["payload"]["raw"] == real["payload"]["raw"]
        assert got["payload"]["parsed"] == real["payload"]["parsed"]
        assert got["payload"]["sourceConfig"] == real["payload"]["sourceConfig"]
        assert got["payload"]["runtimeConfig"] == real["payload"]["runtimeConfig"]

        request, real = replay.pairs("config.patch")[0]
        response = await client.request("config.patch", request["params"], rid=request["id"])
        assert response == real

        request, real = replay.pairs("config.apply")[0]
        params = dict(request["params"], baseHash=got["payload"]["hash"])
        response = await client.request("config.apply", params, rid=request["id"])
        assert same_shape(shape(real["payload"]), shape(response["payload"])) == []
        assert response["payload"]["config"] == real["payload"]["config"]
        assert response["payload"]["hash"] == got["payload"]["hash"]  # same file, same hash

        request, real = next((q, r) for q, r in replay.pairs("config.apply") if not r["ok"])
        response = await client.request("config.apply", request["params"], rid=request["id"])
        assert response == real

        request, real = replay.pairs("health")[0]
        response = await client.request("health", request["params"], rid=request["id"])
        assert same_shape(shape(real["payload"]), shape(response["payload"]), lists=False) == []
        assert set(response["payload"]["eventLoop"]) == set(real["payload"]["eventLoop"])

        request, real = replay.pairs("no.such.method")[0]
        response = await client.request("no.such.method", request["params"], rid=request["id"])
        assert response == real
        await client.close()
    finally:
        await sim.stop()


def test_shape_comparison_reports_differences() -> None:
    assert same_shape(shape({"a": 1, "b": [1]}), shape({"a": 2.5, "b": [3]})) == []
    assert same_shape(shape({"a": 1}), shape({"a": "x", "c": None})) == [
        "$: extra 'c'",
        "$.a: number != str",
    ]
