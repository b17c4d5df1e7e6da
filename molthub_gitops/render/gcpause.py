"""Pausing Python's cyclic garbage collector during large batch computations.

Rendering and schema-checking thousands of bots allocate millions of small, acyclic objects;
each allocation burst makes the cyclic collector traverse the whole (large) heap again and
again, which can double the run time without freeing anything. Reference counting still
frees everything as usual while the collector is paused; it is re-enabled (if it was enabled)
as soon as the batch ends, even on error.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the body with the cyclic garbage collector disabled."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
