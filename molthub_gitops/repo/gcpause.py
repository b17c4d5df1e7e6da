"""Pausing Python's cyclic garbage collector around large batch computations (an I/O-edge job).

Rendering and schema-checking thousands of bots allocate millions of small, acyclic objects;
each allocation burst makes the cyclic collector traverse the whole (large) heap again and
again, which can double the run time without freeing anything. Reference counting still
frees everything as usual while the collector is paused; it is re-enabled (if it was enabled)
as soon as the batch ends, even on error.

The collector is process-wide state, so the pure core never toggles it: the pipeline
(:mod:`molthub_gitops.repo.pipeline`) wraps its calls into the renderer and the schema check.
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
