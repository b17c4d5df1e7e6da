"""The daemon's Prometheus metrics: counters and a histogram it feeds, gauges from its status.

The daemon counts what happens (reconcile passes, fetches, applies, pushes, webhook
deliveries, finished rollouts); :meth:`Metrics.render` writes those plus gauges read off a
:class:`~molthub_gitops.sync.state.DaemonStatus` (bots by state, every state present even at 0;
rollouts in progress; whether the gate passes) in the Prometheus text exposition format 0.0.4,
which ``/metrics`` serves. No client library: the format is small and written here.

Counting is thread-safe (the status-branch writer pushes from a worker thread).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence

from molthub_gitops.sync.state import BOT_STATES, TERMINAL_PHASES, DaemonStatus

__all__ = ["CONTENT_TYPE", "PASS_BUCKETS", "Metrics", "escape_label_value"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The ``Content-Type`` of the text exposition format."""

PASS_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
"""Upper bounds (seconds) of the reconcile-pass histogram; ``+Inf`` is added."""

_PREFIX = "molthub"

# counter name -> (help, label names, label values pre-created at 0)
_COUNTERS: dict[str, tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    "rollouts_finished_total": (
        "Rollouts that reached a terminal phase, by phase.",
        ("phase",), tuple((p,) for p in sorted(TERMINAL_PHASES))),
    "webhook_deliveries_total": (
        "Webhook deliveries received, by provider and result.", ("provider", "result"), ()),
    "applies_total": (
        "Config writes to bots, by result (ok, failed, rolled-back).",
        ("result",), (("ok",), ("failed",), ("rolled-back",))),
    "fetches_total": (
        "Fetches of the config repository, by result.", ("result",), (("ok",), ("failed",))),
    "status_pushes_total": (
        "Pushes to the status branch, by result (ok, retried, failed).",
        ("result",), (("ok",), ("retried",), ("failed",))),
}


def escape_label_value(value: str) -> str:
    """A label value as the text format wants it: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    inner = ",".join(f'{n}="{escape_label_value(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + inner + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class _Histogram:
    def __init__(self, buckets: Sequence[float]) -> None:
        self.bounds = tuple(sorted(buckets))
        self.counts = [0] * len(self.bounds)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1
        self.total += 1
        self.sum += value


class Metrics:
    """What the daemon counts, rendered for Prometheus together with gauges of its status."""

    def __init__(self, *, buckets: Sequence[float] = PASS_BUCKETS) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple[str, ...], float]] = {}
        for name, (_help, _names, initial) in _COUNTERS.items():
            self._counters[name] = dict.fromkeys(initial, 0.0)
        self._pass = _Histogram(buckets)

    # ------------------------------------------------------------------ counting

    def _inc(self, name: str, *values: str) -> None:
        with self._lock:
            series = self._counters[name]
            series[values] = series.get(values, 0.0) + 1

    def observe_pass(self, seconds: float) -> None:
        """One reconcile (observation) pass took ``seconds``."""
        with self._lock:
            self._pass.observe(max(float(seconds), 0.0))

    def rollout_finished(self, phase: str) -> None:
        self._inc("rollouts_finished_total", phase)

    def webhook(self, provider: str, result: str) -> None:
        self._inc("webhook_deliveries_total", provider, result)

    def apply(self, result: str) -> None:
        """``ok`` | ``failed`` | ``rolled-back``."""
        self._inc("applies_total", result)

    def fetch(self, result: str) -> None:
        """``ok`` | ``failed``."""
        self._inc("fetches_total", result)

    def push(self, result: str) -> None:
        """``ok`` | ``retried`` | ``failed``."""
        self._inc("status_pushes_total", result)

    def counter(self, name: str, **labels: str) -> float:
        """The current value of one counter series (for tests and the CLI); 0 when unseen."""
        _help, names, _initial = _COUNTERS[name]
        key = tuple(labels[n] for n in names)
        with self._lock:
            return self._counters[name].get(key, 0.0)

    # ------------------------------------------------------------------ rendering

    def render(self, status: DaemonStatus) -> str:
        """Every metric in the Prometheus text format 0.0.4 (ends with a newline)."""
        out: list[str] = []
        with self._lock:
            counters = {name: dict(series) for name, series in self._counters.items()}
            hist = self._pass
            bounds, counts, total, total_sum = hist.bounds, list(hist.counts), hist.total, hist.sum

        for name, (help_text, names, _initial) in _COUNTERS.items():
            full = f"{_PREFIX}_{name}"
            out.append(f"# HELP {full} {help_text}")
            out.append(f"# TYPE {full} counter")
            for values, value in sorted(counters[name].items()):
                out.append(f"{full}{_labels(names, values)} {_number(value)}")

        full = f"{_PREFIX}_sync_pass_duration_seconds"
        out.append(f"# HELP {full} Duration of reconcile passes (observe and assess every bot).")
        out.append(f"# TYPE {full} histogram")
        for bound, count in zip(bounds, counts, strict=True):
            out.append(f'{full}_bucket{{le="{_number(bound)}"}} {count}')
        out.append(f'{full}_bucket{{le="+Inf"}} {total}')
        out.append(f"{full}_sum {_number(total_sum)}")
        out.append(f"{full}_count {total}")

        out.extend(self._gauges(status))
        return "\n".join(out) + "\n"

    @staticmethod
    def _gauges(status: DaemonStatus) -> Iterable[str]:
        def gauge(name: str, help_text: str, label_names: Sequence[str],
                  series: Iterable[tuple[Sequence[str], float]]) -> list[str]:
            full = f"{_PREFIX}_{name}"
            lines = [f"# HELP {full} {help_text}", f"# TYPE {full} gauge"]
            lines.extend(f"{full}{_labels(label_names, v)} {_number(x)}" for v, x in series)
            return lines

        counts = status.counts()
        yield from gauge("bots", "Bots by sync state (every state, 0 included).", ("state",),
                         (((s,), float(counts[s])) for s in BOT_STATES))

        per_fleet: dict[str, dict[str, int]] = {
            fleet: dict.fromkeys(BOT_STATES, 0) for fleet in status.fleets}
        for bot in status.bots.values():
            per_fleet.setdefault(bot.fleet, dict.fromkeys(BOT_STATES, 0))[bot.state] += 1
        yield from gauge(
            "fleet_bots", "Bots by fleet and sync state.", ("fleet", "state"),
            (((f, s), float(per_fleet[f][s])) for f in sorted(per_fleet) for s in BOT_STATES))

        active = [f.rollout for f in status.fleets.values()
                  if f.rollout is not None and not f.rollout.terminal]
        yield from gauge("rollouts_in_progress",
                         "Rollouts not yet finished (progressing, baking or paused).", (),
                         [((), float(len(active)))])
        phases = ("Progressing", "Baking", "Paused")
        yield from gauge("rollouts_active", "Unfinished rollouts by phase.", ("phase",),
                         (((p,), float(sum(1 for r in active if r.phase == p))) for p in phases))
        yield from gauge("fleets", "Fleets in the config repository.", (),
                         [((), float(len(status.fleets)))])
        gate = status.gate
        yield from gauge("gate_ok",
                         "1 when the newest commit passed validation, 0 when it failed "
                         "(absent before the first check).", (),
                         [] if gate is None else [((), 1.0 if gate.ok else 0.0)])
