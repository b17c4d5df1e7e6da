"""The daemon's clock, injected so tests and benchmarks can drive time.

``Clock.now()`` is wall time (seconds since the epoch, for timestamps), ``monotonic()`` is for
deadlines, ``sleep()`` waits. :class:`SystemClock` is the real one. ``iso()`` formats a wall
time as the ISO-8601 UTC text used in status and audit (``2026-11-26T15:04:05Z``).
"""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Protocol

__all__ = ["Clock", "SystemClock", "iso"]


class Clock(Protocol):
    def now(self) -> float: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


def iso(when: float) -> str:
    """``when`` (epoch seconds) as ISO-8601 UTC with a ``Z`` and whole seconds."""
    stamp = datetime.datetime.fromtimestamp(when, tz=datetime.UTC).replace(microsecond=0)
    return stamp.isoformat().replace("+00:00", "Z")
