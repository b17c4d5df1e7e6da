"""Fixtures of the policy tests (helpers live in policyhelpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from molthub_gitops.policy.rules import RULE_TYPES, RuleType


@pytest.fixture
def extra_rule_type() -> Iterator[list[RuleType]]:
    """Rule types a test registers (append to the list, then register); removed afterwards."""
    added: list[RuleType] = []
    yield added
    for rule_type in added:
        RULE_TYPES.pop(rule_type.name, None)
