"""Prometheus metrics: the text format parses, counters and the histogram count what the
daemon reports, gauges follow the status (every state present), label values are escaped."""

from __future__ import annotations

import threading

import aiohttp

from molthub_gitops.sync.metrics import CONTENT_TYPE, Metrics, escape_label_value
from molthub_gitops.sync.state import BOT_STATES, BotStatus, DaemonStatus, FleetStatus, Rollout

from ._webapp import TIMEOUT, FakePort, parse_prometheus, sample_status, serve


def _value(families: dict, name: str, **labels: str) -> float:
    fam_name = name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in families:
            fam_name = name[: -len(suffix)]
    found = [v for n, lab, v in families[fam_name].samples if n == name and lab == labels]
    assert len(found) == 1, (name, labels, families[fam_name].samples)
    return found[0]


def test_every_family_has_help_and_type_and_counters_end_in_total() -> None:
    families = parse_prometheus(Metrics().render(sample_status()))
    assert families
    for name, fam in families.items():
        assert fam.help, name
        assert fam.type in {"counter", "gauge", "histogram"}, name
        assert name.startswith("molthub_"), name
        if fam.type == "counter":
            assert name.endswith("_total"), name
    assert families["molthub_sync_pass_duration_seconds"].type == "histogram"
    assert families["molthub_bots"].type == "gauge"


def test_counters_start_at_zero_and_count() -> None:
    metrics = Metrics()
    families = parse_prometheus(metrics.render(DaemonStatus()))
    assert _value(families, "molthub_applies_total", result="ok") == 0
    assert _value(families, "molthub_rollouts_finished_total", phase="Failed") == 0
    for _ in range(3):
        metrics.apply("ok")
    metrics.apply("failed")
    metrics.apply("rolled-back")
    metrics.fetch("ok")
    metrics.fetch("failed")
    metrics.fetch("failed")
    metrics.push("retried")
    metrics.rollout_finished("Succeeded")
    metrics.rollout_finished("Failed")
    metrics.rollout_finished("Failed")
    metrics.webhook("github", "accepted")
    metrics.webhook("gitlab", "unauthorized")
    families = parse_prometheus(metrics.render(DaemonStatus()))
    assert _value(families, "molthub_applies_total", result="ok") == 3
    assert _value(families, "molthub_applies_total", result="failed") == 1
    assert _value(families, "molthub_applies_total", result="rolled-back") == 1
    assert _value(families, "molthub_fetches_total", result="ok") == 1
    assert _value(families, "molthub_fetches_total", result="failed") == 2
    assert _value(families, "molthub_status_pushes_total", result="retried") == 1
    assert _value(families, "molthub_status_pushes_total", result="ok") == 0
    assert _value(families, "molthub_rollouts_finished_total", phase="Failed") == 2
    assert _value(families, "molthub_rollouts_finished_total", phase="Succeeded") == 1
    assert _value(families, "molthub_webhook_deliveries_total",
                  provider="gitlab", result="unauthorized") == 1
    assert metrics.counter("applies_total", result="ok") == 3


def test_the_pass_histogram_is_cumulative_with_inf_sum_and_count() -> None:
    metrics = Metrics()
    for seconds in (0.01, 0.2, 0.2, 3.0, 500.0, -1.0):
        metrics.observe_pass(seconds)
    families = parse_prometheus(metrics.render(DaemonStatus()))
    samples = families["molthub_sync_pass_duration_seconds"].samples
    buckets = [(lab["le"], v) for n, lab, v in samples if n.endswith("_bucket")]
    bounds = [float(le.replace("+Inf", "inf")) for le, _ in buckets]
    assert bounds == sorted(bounds)
    assert buckets[-1][0] == "+Inf"
    counts = [v for _, v in buckets]
    assert counts == sorted(counts)  # cumulative
    by_le = dict(buckets)
    assert by_le["0.05"] == 2  # 0.01 and the negative one (clamped to 0)
    assert by_le["0.25"] == 4
    assert by_le["5"] == 5
    assert by_le["120"] == 5
    assert by_le["+Inf"] == 6
    assert _value(families, "molthub_sync_pass_duration_seconds_count") == 6
    assert abs(_value(families, "molthub_sync_pass_duration_seconds_sum") - 503.41) < 1e-9


def test_bot_gauges_list_every_state_and_follow_the_status() -> None:
    status = sample_status(hostile=False)
    families = parse_prometheus(Metrics().render(status))
    by_state = {lab["state"]: v for _, lab, v in families["molthub_bots"].samples}
    assert list(by_state) == list(BOT_STATES)
    assert by_state == {"Synced": 2, "OutOfSync": 1, "Progressing": 1, "Degraded": 1,
                        "Unreachable": 1, "Unknown": 0}
    assert _value(families, "molthub_fleet_bots", fleet="sales", state="Unreachable") == 1
    assert _value(families, "molthub_fleet_bots", fleet="sales", state="Degraded") == 0
    assert _value(families, "molthub_rollouts_in_progress") == 1
    assert _value(families, "molthub_rollouts_active", phase="Baking") == 1
    assert _value(families, "molthub_gate_ok") == 0
    assert _value(families, "molthub_fleets") == 2

    empty = parse_prometheus(Metrics().render(DaemonStatus()))
    assert {lab["state"]: v for _, lab, v in empty["molthub_bots"].samples} == dict.fromkeys(
        BOT_STATES, 0)
    assert _value(empty, "molthub_rollouts_in_progress") == 0
    assert empty["molthub_gate_ok"].samples == []  # no verdict yet


def test_a_finished_rollout_is_not_in_progress() -> None:
    status = sample_status(hostile=False)
    rollout = status.fleets["support"].rollout
    assert rollout is not None
    rollout.phase = "Succeeded"
    families = parse_prometheus(Metrics().render(status))
    assert _value(families, "molthub_rollouts_in_progress") == 0


def test_label_values_are_escaped() -> None:
    assert escape_label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    hostile = 'we"ird\\fleet\n} 99\nmolthub_fake 1'
    status = DaemonStatus(
        fleets={hostile: FleetStatus(name=hostile, rollout=Rollout(id="r", fleet=hostile,
                                                                    commit="c"))},
        bots={"b": BotStatus(name="b", fleet=hostile, state="Synced")})
    metrics = Metrics()
    metrics.webhook('git"hub\n', "accepted")
    text = metrics.render(status)
    families = parse_prometheus(text)  # would fail on an injected line
    assert "molthub_fake" not in families
    assert _value(families, "molthub_fleet_bots", fleet=hostile, state="Synced") == 1
    assert _value(families, "molthub_webhook_deliveries_total", provider='git"hub\n',
                  result="accepted") == 1


def test_counting_from_threads_loses_nothing() -> None:
    metrics = Metrics()

    def work() -> None:
        for _ in range(2000):
            metrics.push("ok")
            metrics.observe_pass(0.1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    assert metrics.counter("status_pushes_total", result="ok") == 16000
    families = parse_prometheus(metrics.render(DaemonStatus()))
    assert _value(families, "molthub_sync_pass_duration_seconds_count") == 16000


async def test_metrics_endpoint_serves_the_text_format() -> None:
    port = FakePort(sample_status(hostile=False))
    port.metrics.apply("ok")
    async with serve(port) as base, aiohttp.ClientSession(timeout=TIMEOUT) as session, \
            session.get(base + "/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == CONTENT_TYPE
        text = await resp.text()
    families = parse_prometheus(text)
    assert _value(families, "molthub_applies_total", result="ok") == 1
    assert _value(families, "molthub_bots", state="Synced") == 2
