"""Every built-in rule, broken on purpose: tests/policy/cases/<rule>/ lays a few files over the
broken-policy base repository and expect.yaml lists exactly the findings that must follow, at
the file:line a reviewer must change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from molthub_gitops.policy.builtin import BUILTIN_PACKS

from .policyhelpers import assert_case, case_dirs

CASES = Path(__file__).resolve().parent / "cases"


@pytest.mark.parametrize("case", case_dirs(CASES), ids=lambda p: p.name)
def test_case(case: Path) -> None:
    assert_case(case)


def test_every_built_in_rule_has_a_case() -> None:
    names = {p.name for p in case_dirs(CASES)}
    rules = {rule.id for pack in BUILTIN_PACKS.values() for rule in pack.spec.rules}
    assert rules - names == set()


PLANTED = "123456789:AAE-planted-literal-bot-token-xyz"


def test_a_planted_token_is_an_error_and_shown_in_no_format(tmp_path: Path) -> None:
    from molthub_gitops.report.formats import FORMATS

    from .policyhelpers import load_case

    case = load_case(CASES / "plaintext-secrets")
    for rel, data in case.files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    assert PLANTED.encode() in (tmp_path / "templates" / "telegram.yaml").read_bytes()
    for fmt in FORMATS:
        done = subprocess.run(
            [sys.executable, "-m", "molthub_gitops", "validate", str(tmp_path), "-o", fmt],
            capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 1, (fmt, done.stderr[-2000:])
        assert "plaintext-secrets" in done.stdout + done.stderr, fmt
        assert PLANTED not in done.stdout + done.stderr, fmt
        assert "planted-literal" not in done.stdout + done.stderr, fmt
