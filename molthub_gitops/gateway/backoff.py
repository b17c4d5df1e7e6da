"""Capped exponential backoff with jitter, for reconnecting to a gateway.

The random source is injectable, so tests get exact delays without patching anything.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass
class Backoff:
    """Delays ``initial * factor**attempt``, capped at ``maximum``, spread by +/- ``jitter``.

    ``jitter`` is a fraction (0.2 = up to 20 % shorter or longer); the result never exceeds
    ``maximum`` and never goes below zero. ``next_delay()`` advances the attempt counter;
    ``reset()`` starts over after a success.
    """

    initial: float = 0.1
    maximum: float = 5.0
    factor: float = 2.0
    jitter: float = 0.2
    random: Callable[[], float] = field(default=_random.random, repr=False)
    attempt: int = 0

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0:
            raise ValueError("backoff delays must not be negative")
        if self.factor < 1:
            raise ValueError("backoff factor must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff jitter must be between 0 and 1")

    def delay(self, attempt: int) -> float:
        """The delay before retry number ``attempt`` (0-based), jittered and capped."""
        exponent = min(max(attempt, 0), 64)
        base = min(self.maximum, self.initial * self.factor**exponent)
        spread = 1.0 + self.jitter * (2.0 * self.random() - 1.0)
        return max(0.0, min(self.maximum, base * spread))

    def next_delay(self) -> float:
        value = self.delay(self.attempt)
        self.attempt += 1
        return value

    def reset(self) -> None:
        self.attempt = 0
