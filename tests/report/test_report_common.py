"""Shared helpers: bot lists, durations, the size budget."""

from __future__ import annotations

from molthub_gitops.report._common import Budget, bots_phrase, duration, single_line, truncate


def test_bots_phrase_caps() -> None:
    assert bots_phrase(("a", "b")) == "a, b"
    assert bots_phrase(tuple("abcdef"), limit=3) == "a, b, c and 3 more"


def test_duration() -> None:
    assert duration(0.5) == "0.5s"
    assert duration(90) == "1m30s"
    assert duration(3600) == "1h"
    assert duration(3725) == "1h2m5s"


def test_single_line_and_truncate() -> None:
    assert single_line("a\r\nb\tc\x07") == "a b c\\x07"
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("abc", 4) == "abc"


def test_budget_never_cuts_a_block() -> None:
    budget = Budget(limit=30, reserve=10)
    assert budget.add("0123456789")
    assert not budget.fits("x" * 11)
    assert budget.add_all(["abc", "x" * 20, "def"]) == 2  # stops at the first misfit
    assert budget.text() == "0123456789abc"
    assert not budget.add("z")  # nothing more once something was refused
    multi = Budget(limit=10, reserve=0)
    assert not multi.add("ééééé é")  # 13 bytes in UTF-8, 7 characters
