"""`molthub validate` / `molthub diff` options: formats, files, the job summary, --fail-on,
and the exit codes 0 / 1 / 2, run through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

from clihelpers import EXAMPLE, commit_all, run_cli, run_subprocess, snapshot


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), "utf-8")


def _raise_history_limit(repo: Path) -> Path:
    """A warning of acme-channel-safety/history-limit-bounded (max 500) in every bot of the
    Telegram template that the pack applies to (staging and prod)."""
    template = repo / "templates" / "telegram-support.yaml"
    _edit(template, "        historyLimit: 50\n", "        historyLimit: 900\n")
    return template


def test_unknown_format_is_a_usage_error() -> None:
    result = run_cli(["validate", str(EXAMPLE), "-o", "yaml"])
    assert result.code == 2
    assert "unknown output format 'yaml'" in result.stderr


def test_two_formats_on_stdout_are_refused() -> None:
    result = run_cli(["validate", str(EXAMPLE), "-o", "json", "-o", "sarif"])
    assert result.code == 2
    assert "only one format can go to standard output" in result.stderr


def test_missing_output_directory_writes_nothing(tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    result = run_subprocess(["validate", str(EXAMPLE), "-o", "json",
                             "-o", f"sarif={tmp_path / 'nope' / 'x.sarif'}"])
    assert result.code == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert snapshot(tmp_path) == before


def test_output_file_takes_the_stdout_format(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = run_subprocess(["validate", str(EXAMPLE), "-o", "json", "--output-file",
                             str(target), "-o", f"junit={tmp_path / 'junit.xml'}"])
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    report = json.loads(target.read_text("utf-8"))
    assert report["exitCode"] == 0
    assert (tmp_path / "junit.xml").read_text("utf-8").startswith("<?xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "report.json"]


def test_github_format_appends_the_job_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n", "utf-8")
    result = run_subprocess(["validate", str(EXAMPLE), "-o", "github"],
                            env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.code == 0, result.stderr
    text = summary.read_text("utf-8")
    assert text.startswith("# earlier step\n")
    assert len(text) > len("# earlier step\n")
    assert len(text.encode("utf-8")) < 1024 * 1024


def test_fail_on_decides_whether_warnings_fail(example_copy: Path) -> None:
    _raise_history_limit(example_copy)
    default = run_subprocess(["validate", str(example_copy), "-o", "json"])
    assert default.code == 0, default.stderr
    findings = json.loads(default.stdout)["findings"]
    hits = [f for f in findings if f["rule"] == "acme-channel-safety/history-limit-bounded"]
    assert hits
    assert all(f["severity"] == "warning" for f in hits)
    assert all(f["location"]["file"] == "templates/telegram-support.yaml" for f in hits)
    strict = run_subprocess(["validate", str(example_copy), "--fail-on", "warning"])
    assert strict.code == 1
    assert "history-limit-bounded" in strict.stdout


def test_repository_fail_on_is_the_default(example_copy: Path) -> None:
    _raise_history_limit(example_copy)
    _edit(example_copy / "molthub.yaml", "failOn: error", "failOn: warning")
    assert run_subprocess(["validate", str(example_copy)]).code == 1
    # The option wins over the repository's setting.
    assert run_subprocess(["validate", str(example_copy), "--fail-on", "error"]).code == 0


def test_diff_exit_codes(example_copy: Path) -> None:
    commit_all(example_copy, "base")
    same = run_subprocess(["diff", str(example_copy), "--base", "HEAD"])
    assert same.code == 0, same.stderr
    _raise_history_limit(example_copy)
    changed = run_subprocess(["diff", str(example_copy), "--base", "HEAD", "-o", "json"])
    assert changed.code == 1, changed.stderr
    report = json.loads(changed.stdout)
    assert report["diff"]["bots"], report
    bad = run_subprocess(["diff", str(example_copy), "--base", "no-such-ref"])
    assert bad.code == 2
    assert "no-such-ref" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_differences_alone_never_fail_validate(example_copy: Path) -> None:
    commit_all(example_copy, "base")
    _edit(example_copy / "templates" / "telegram-support.yaml",
          "escalateAfterMinutes:\n      type: integer\n      default: 30",
          "escalateAfterMinutes:\n      type: integer\n      default: 45")
    result = run_subprocess(["validate", str(example_copy), "--base", "HEAD", "-o", "json"])
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["diff"]["bots"]
