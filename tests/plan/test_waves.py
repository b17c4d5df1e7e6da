"""Rollout waves for each strategy, and the edge cases documented in plan/waves.py."""

from __future__ import annotations

from typing import Any

import pytest

from molthub_gitops.model.documents import RolloutSpec
from molthub_gitops.plan.waves import batch_size, plan_waves


def rollout(**spec: Any) -> RolloutSpec:
    return RolloutSpec.model_validate(spec, by_alias=True, by_name=False)


def waves(spec: dict[str, Any], bots: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    return [(w.kind, w.bots) for w in plan_waves("f", rollout(**spec), bots).waves]


BOTS = [f"b{i:02d}" for i in range(10)]


def test_all_is_one_wave_in_name_order() -> None:
    planned = plan_waves("f", rollout(strategy="all"), ["c", "a", "b", "a"])
    assert planned.fleet == "f"
    assert planned.strategy == "all"
    assert [(w.index, w.kind, w.bots, w.bake_seconds, w.pause_seconds)
            for w in planned.waves] == [(1, "all", ("a", "b", "c"), 0.0, 0.0)]


def test_percentage_rounds_up_and_pauses_between_batches() -> None:
    planned = plan_waves("f", rollout(strategy="percentage", batch="25%",
                                      pauseBetweenBatches="2m"), list(reversed(BOTS)))
    assert [w.bots for w in planned.waves] == [
        ("b00", "b01", "b02"), ("b03", "b04", "b05"), ("b06", "b07", "b08"), ("b09",)]
    assert [w.index for w in planned.waves] == [1, 2, 3, 4]
    assert [w.pause_seconds for w in planned.waves] == [120.0, 120.0, 120.0, 0.0]
    assert {w.kind for w in planned.waves} == {"batch"}


def test_percentage_by_count() -> None:
    assert waves({"strategy": "percentage", "batch": 4}, BOTS) == [
        ("batch", tuple(BOTS[0:4])), ("batch", tuple(BOTS[4:8])), ("batch", tuple(BOTS[8:]))]


@pytest.mark.parametrize(("batch", "total", "size"), [
    ("1%", 10, 1), ("10%", 10, 1), ("11%", 10, 2), ("100%", 3, 3), ("50%", 1, 1), (7, 3, 7),
])
def test_batch_size(batch: str | int, total: int, size: int) -> None:
    assert batch_size(batch, total) == size


def test_canary_named_then_batches_with_bake() -> None:
    spec = {"strategy": "canary", "canary": {"bots": ["b07", "b03"], "bake": "30m"},
            "batch": "50%", "pauseBetweenBatches": "10s"}
    planned = plan_waves("f", rollout(**spec), BOTS)
    assert [(w.kind, w.bots) for w in planned.waves] == [
        ("canary", ("b03", "b07")),
        ("batch", ("b00", "b01", "b02", "b04", "b05")),
        ("batch", ("b06", "b08", "b09")),
    ]
    canary, first, last = planned.waves
    assert (canary.bake_seconds, canary.pause_seconds) == (1800.0, 0.0)
    assert (first.bake_seconds, first.pause_seconds) == (0.0, 10.0)
    assert last.pause_seconds == 0.0


def test_canary_named_but_only_some_changed() -> None:
    spec = {"strategy": "canary", "canary": {"bots": ["b01", "zz-not-changed"]}, "batch": 10}
    assert waves(spec, BOTS[:4]) == [("canary", ("b01",)), ("batch", ("b00", "b02", "b03"))]


def test_canary_named_none_changed_falls_back_to_count_or_one() -> None:
    named = {"strategy": "canary", "canary": {"bots": ["zz"]}, "batch": 10}
    assert waves(named, ["c", "a", "b"]) == [("canary", ("a",)), ("batch", ("b", "c"))]
    both = {"strategy": "canary", "canary": {"bots": ["zz"], "count": 2}, "batch": 10}
    assert waves(both, ["c", "a", "b"]) == [("canary", ("a", "b")), ("batch", ("c",))]


def test_canary_by_count_takes_first_by_name() -> None:
    spec = {"strategy": "canary", "canary": {"count": 2}, "batch": "100%"}
    assert waves(spec, ["d", "b", "a", "c"]) == [("canary", ("a", "b")), ("batch", ("c", "d"))]


def test_more_canaries_than_changed_bots_is_one_canary_wave() -> None:
    spec = {"strategy": "canary", "canary": {"count": 5, "bake": "1m"},
            "pauseBetweenBatches": "1m"}
    planned = plan_waves("f", rollout(**spec), ["b", "a"])
    assert [(w.kind, w.bots, w.bake_seconds, w.pause_seconds) for w in planned.waves] == [
        ("canary", ("a", "b"), 60.0, 0.0)]


@pytest.mark.parametrize("spec", [
    {"strategy": "all"},
    {"strategy": "percentage", "batch": "10%"},
    {"strategy": "canary", "canary": {"count": 1}},
])
def test_zero_bots_zero_waves(spec: dict[str, Any]) -> None:
    planned = plan_waves("f", rollout(**spec), [])
    assert planned.waves == ()
    assert planned.strategy == spec["strategy"]


def test_every_bot_in_exactly_one_wave() -> None:
    spec = {"strategy": "canary", "canary": {"bots": ["b05"], "count": 3}, "batch": "30%"}
    planned = plan_waves("f", rollout(**spec), BOTS)
    seen = [b for w in planned.waves for b in w.bots]
    assert sorted(seen) == BOTS
    assert len(seen) == len(set(seen))
    assert [w.index for w in planned.waves] == list(range(1, len(planned.waves) + 1))
