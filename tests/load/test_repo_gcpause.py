"""The garbage collector pause used around batch rendering restores the collector's state."""

from __future__ import annotations

import gc

import pytest

from molthub_gitops.repo.gcpause import gc_paused


def _fail_while_paused() -> None:
    with gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")


def test_restores_enabled_collector_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="boom"):
        _fail_while_paused()
    assert gc.isenabled()


def test_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
