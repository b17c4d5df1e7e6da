"""Acceptance: a plaintext token planted in a template is an error finding, and its value
appears in no output format -- not in the report, not in the diff against the base, not on
stderr, not in any file written, not in the GitHub job summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from clihelpers import commit_all, run_subprocess

from molthub_gitops.report.formats import FORMATS

PLANTED = "7731902264:AAH-planted-SeCrEt-t0ken-do-not-leak-9x2Qz"


def _plant(repo: Path) -> int:
    """Replace the ${VAR} reference of the Telegram template with a literal token; return
    the line."""
    template = repo / "templates" / "telegram-support.yaml"
    text = template.read_text("utf-8")
    old = 'botToken: "${TELEGRAM_BOT_TOKEN}"'
    assert old in text
    template.write_text(text.replace(old, f'botToken: "{PLANTED}"'), "utf-8")
    for number, line in enumerate(template.read_text("utf-8").splitlines(), 1):
        if PLANTED in line:
            return number
    raise AssertionError("planted line not found")


@pytest.fixture
def planted(example_copy: Path) -> tuple[Path, int]:
    commit_all(example_copy, "clean base")
    line = _plant(example_copy)
    commit_all(example_copy, "plant a token")
    return example_copy, line


def _no_leak(*texts: str) -> None:
    for text in texts:
        assert PLANTED not in text
        # Nor a recognisable piece of it.
        assert "planted-SeCrEt" not in text
        assert "7731902264" not in text


def test_planted_token_is_an_error_finding_at_the_template_line(planted: tuple[Path, int]
                                                                ) -> None:
    repo, line = planted
    result = run_subprocess(["validate", str(repo), "-o", "json"])
    assert result.code == 1, result.stderr
    report = json.loads(result.stdout)
    hits = [f for f in report["findings"]
            if f["severity"] == "error" and f["path"] == "channels.telegram.botToken"]
    assert hits, report["findings"]
    finding = hits[0]
    assert finding["location"]["file"] == "templates/telegram-support.yaml"
    assert finding["location"]["line"] == line
    assert "support-eu-01" in finding["bots"]
    _no_leak(result.stdout, result.stderr)


@pytest.mark.parametrize("fmt", FORMATS)
def test_planted_token_appears_in_no_format(planted: tuple[Path, int], fmt: str,
                                            tmp_path: Path) -> None:
    repo, _ = planted
    summary = tmp_path / "summary.md"
    summary.write_text("", "utf-8")
    out_file = tmp_path / f"report.{fmt}"
    result = run_subprocess(
        ["validate", str(repo), "--base", "HEAD~1", "--head", "HEAD",
         "-o", fmt, "-o", f"{fmt}={out_file}", "--color"],
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.code == 1, result.stderr
    written = out_file.read_text("utf-8")
    assert written.strip()
    # The file holds the same report as stdout (colour aside).
    plain = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert re.sub(r"\x1b\[[0-9;]*m", "", written) == plain
    _no_leak(result.stdout, result.stderr, written, summary.read_text("utf-8"))
    # The diff shows that the token changed, without its value.
    assert "botToken" in written


def test_diff_shows_the_token_change_redacted(planted: tuple[Path, int]) -> None:
    repo, _ = planted
    for fmt in ("text", "json", "markdown"):
        result = run_subprocess(["diff", str(repo), "--base", "HEAD~1", "--head", "HEAD",
                                 "-o", fmt])
        assert result.code == 1, result.stderr
        assert "botToken" in result.stdout
        assert "<redacted>" in result.stdout
        _no_leak(result.stdout, result.stderr)


def test_working_tree_token_is_caught_before_commit(example_copy: Path) -> None:
    """The pre-commit case: nothing committed yet, the files on disk hold the token."""
    _plant(example_copy)
    result = run_subprocess(["validate", str(example_copy)])
    assert result.code == 1
    assert "channels.telegram.botToken" in result.stdout + result.stderr
    _no_leak(result.stdout, result.stderr)


# Other ways a secret can be written into the repository. Each: (file, old, new, secret).
VECTORS = {
    "number-at-secret-path": (
        "profiles/baseline.yaml", None, None, "918273645546372819"),
    "jinja-error-in-a-token": (
        "templates/telegram-support.yaml", 'botToken: "${TELEGRAM_BOT_TOKEN}"',
        'botToken: "LEAKJINJA0123456789{{ params.nope }}"', "LEAKJINJA0123456789"),
    "password-in-gateway-url": (
        "fleets/prod/support-prod-eu.yaml", 'url: "ws://{{ bot.name }}',
        'url: "wss://admin:LEAKURLPW0123@{{ bot.name }}', "LEAKURLPW0123"),
    "secret-in-target-settings": (
        "fleets/prod/support-prod-eu.yaml", "tokenRotationDays: 30",
        "tokenRotationDays: 30\n      dbPassword: LEAKTARGETPW4567", "LEAKTARGETPW4567"),
}


def _plant_vector(repo: Path, name: str) -> str:
    file, old, new, secret = VECTORS[name]
    path = repo / file
    text = path.read_text("utf-8")
    if name == "number-at-secret-path":
        # a numeric gateway token written into a profile
        old, new = "    gateway:\n", f"    gateway:\n      auth: {{token: {secret}}}\n"
    assert old is not None
    assert new is not None
    assert old in text, (file, old)
    path.write_text(text.replace(old, new, 1), "utf-8")
    return secret


@pytest.mark.parametrize("vector", sorted(VECTORS))
def test_secret_vectors_are_refused_and_never_shown(example_copy: Path, vector: str,
                                                     tmp_path: Path) -> None:
    commit_all(example_copy, "clean base")
    secret = _plant_vector(example_copy, vector)
    commit_all(example_copy, f"plant: {vector}")
    outputs: list[str] = []
    codes = set()
    for fmt in FORMATS:
        result = run_subprocess(["validate", str(example_copy), "--base", "HEAD~1",
                                 "--head", "HEAD", "-o", fmt],
                                env={"GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")})
        codes.add(result.code)
        outputs += [result.stdout, result.stderr]
    for fmt in ("text", "json", "markdown"):
        result = run_subprocess(["diff", str(example_copy), "--base", "HEAD~1",
                                 "--head", "HEAD", "-o", fmt])
        outputs += [result.stdout, result.stderr]
    if (tmp_path / "summary.md").exists():
        outputs.append((tmp_path / "summary.md").read_text("utf-8"))
    assert codes <= {1, 2}, codes  # refused: a finding (1) or unprocessable input (2)
    assert 0 not in codes
    for text in outputs:
        assert secret not in text, vector
