"""Fixtures of the report tests: Outcomes built directly from the dataclasses."""

from __future__ import annotations

import pytest

from molthub_gitops.report.outcome import Outcome

from .builders import ALL, large, large_no_problems


@pytest.fixture(params=sorted(ALL))
def any_outcome(request: pytest.FixtureRequest) -> Outcome:
    """Every small fixture in turn (clean, problems, findings, waived, diff, hostile...)."""
    return ALL[request.param]()


@pytest.fixture(scope="session")
def big() -> Outcome:
    """1,000 findings, 100 waived, 15 input problems, 2,000 changed bots."""
    return large()


@pytest.fixture(scope="session")
def big_clean_input() -> Outcome:
    """As ``big`` without input problems."""
    return large_no_problems()
