"""Backoff arithmetic (injected randomness) and secret handling."""

from __future__ import annotations

from pathlib import Path

import pytest

from molthub_gitops.errors import InputError
from molthub_gitops.gateway.backoff import Backoff
from molthub_gitops.gateway.secrets import (
    REDACTION_SENTINEL,
    Redactor,
    contains_redaction,
    resolve_secret,
)


def test_backoff_grows_exponentially_and_caps() -> None:
    b = Backoff(initial=0.1, maximum=1.0, factor=2.0, jitter=0.0)
    assert [round(b.next_delay(), 3) for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    b.reset()
    assert b.next_delay() == pytest.approx(0.1)
    assert b.delay(10_000) == 1.0  # huge attempts do not overflow


def test_backoff_jitter_bounds_use_the_injected_random() -> None:
    low = Backoff(initial=1.0, maximum=10.0, jitter=0.5, random=lambda: 0.0)
    high = Backoff(initial=1.0, maximum=10.0, jitter=0.5, random=lambda: 1.0)
    mid = Backoff(initial=1.0, maximum=10.0, jitter=0.5, random=lambda: 0.5)
    assert low.delay(0) == pytest.approx(0.5)
    assert high.delay(0) == pytest.approx(1.5)
    assert mid.delay(0) == pytest.approx(1.0)
    capped = Backoff(initial=8.0, maximum=10.0, jitter=0.5, random=lambda: 1.0)
    assert capped.delay(0) == 10.0  # jitter never exceeds the cap


@pytest.mark.parametrize("kwargs", [{"initial": -1}, {"factor": 0.5}, {"jitter": 2}])
def test_backoff_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**kwargs)  # type: ignore[arg-type]


def test_redactor_masks_every_known_secret() -> None:
    r = Redactor(["tok-123456", None, "ab", "pw-abcdef"])
    assert r.scrub("x tok-123456 y pw-abcdef") == "x *** y ***"
    assert r.scrub("ab stays") == "ab stays"  # too short to be a secret
    assert r.scrub_obj({"a": ["tok-123456", 1], "b": ("pw-abcdef",)}) == {
        "a": ["***", 1], "b": ["***"]}
    assert "tok-123456" not in repr(r)


def test_contains_redaction() -> None:
    assert contains_redaction({"a": [{"b": REDACTION_SENTINEL}]})
    assert not contains_redaction({"a": ["x", 1, None]})


def test_resolve_secret_from_env_and_file(tmp_path: Path) -> None:
    assert resolve_secret() is None
    assert resolve_secret(env="T", environ={"T": " v1 \n"}) == "v1"
    with pytest.raises(InputError) as info:
        resolve_secret(env="T", environ={})
    assert info.value.problems[0].code == "secret-env-missing"
    f = tmp_path / "tok"
    f.write_text("file-secret\nsecond line\n")
    assert resolve_secret(file=f) == "file-secret"
    with pytest.raises(InputError) as info:
        resolve_secret(file=tmp_path / "missing")
    assert info.value.problems[0].code == "secret-file-unreadable"
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    with pytest.raises(InputError) as info:
        resolve_secret(file=empty)
    assert info.value.problems[0].code == "secret-file-empty"
    assert "file-secret" not in str(info.value)


def test_non_utf8_secret_file_is_an_input_error_without_its_bytes(tmp_path: Path) -> None:
    f = tmp_path / "tok"
    f.write_bytes(b"s3cr\xe9t-\xff-value\n")
    with pytest.raises(InputError) as info:
        resolve_secret(file=f)
    problem = info.value.problems[0]
    assert problem.code == "secret-file-unreadable"
    assert "not UTF-8" in problem.message
    assert problem.location is not None
    assert problem.location.file == str(f)
    assert "s3cr" not in str(info.value)
    assert "value" not in str(info.value)
