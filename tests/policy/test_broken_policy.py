"""Every tests/broken-policy/<case> breaks exactly one rule: evaluating it gives exactly the
findings (rule, severity, file:line, bots) and waivers its expect.yaml lists, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from molthub_gitops.policy.findings import PolicyResult

from .policyhelpers import (
    BASE_REPO,
    BROKEN_POLICY,
    assert_case,
    case_dirs,
    evaluate,
    read_tree,
    repository_yaml,
    with_base,
)

CASES = case_dirs(BROKEN_POLICY)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_gives_exactly_its_findings(case: Path) -> None:
    assert_case(case)


def test_base_repository_is_clean_with_every_pack() -> None:
    """The base breaks nothing, not even with its own generic and prod-only packs listed, so
    each case's findings come from the one thing it changes."""
    packs = ("security-baseline", "production-guardrails", "generic", "prod-only")
    result = evaluate(with_base({"molthub.yaml": repository_yaml(packs)}))
    assert isinstance(result, PolicyResult)
    assert result.findings == ()
    assert result.waived == ()
    assert result.bots_checked == 4
    # every generic type is exercised by the base's generic pack
    types = {info.type for info in result.rules if info.rule.startswith("generic/")}
    assert types >= {"required", "forbidden", "equals", "oneOf", "noneOf", "pattern", "format",
                     "range", "maxItems", "minItems", "jsonSchema", "unique"}


def test_cases_cover_every_kind_of_finding() -> None:
    names = {c.name for c in CASES}
    assert names >= {
        "generic-required", "generic-forbidden", "generic-equals", "generic-one-of",
        "generic-none-of", "generic-pattern", "generic-format", "generic-range",
        "generic-max-items", "generic-min-items", "generic-json-schema", "generic-unique",
        "port-spacing", "applies-to", "fail-on-warning", "exception-expired",
        "exception-unused", "exception-waived", "exception-split", "exception-not-waivable",
        "exception-unknown-rule",
    }


def test_every_case_changes_the_base() -> None:
    base = read_tree(BASE_REPO)
    for case in CASES:
        overlay = read_tree(case / "repo")
        assert overlay, case.name
        assert any(base.get(path) != data for path, data in overlay.items()), case.name


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The runner is strict: an extra finding, a wrong line or a missing waiver fails it."""
    case = tmp_path / "wrong-line"
    (case / "repo").mkdir(parents=True)
    source = BROKEN_POLICY / "generic-one-of"
    for path, data in read_tree(source / "repo").items():
        target = case / "repo" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    text = (source / "expect.yaml").read_text().replace("line: 11", "line: 12")
    (case / "expect.yaml").write_text(f"base: {BASE_REPO}\n" + text)
    with pytest.raises(AssertionError, match="expected finding"):
        assert_case(case)
    (case / "expect.yaml").write_text(f"base: {BASE_REPO}\nfindings: []\n")
    with pytest.raises(AssertionError, match="unexpected finding"):
        assert_case(case)
