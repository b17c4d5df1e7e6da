"""`molthub explain`: the whole layer chain of a value with file:line, then the final value."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from clihelpers import EXAMPLE, commit_all, run_cli, run_subprocess


def _line_of(rel: str, needle: str) -> int:
    for number, line in enumerate((EXAMPLE / rel).read_text("utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_explain_override_chain_text() -> None:
    result = run_subprocess(["explain", "support-eu-07", "channels.telegram.historyLimit",
                             str(EXAMPLE)])
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "support-eu-07 (fleet support-prod-eu): channels.telegram.historyLimit"
    template_line = _line_of("templates/telegram-support.yaml", "historyLimit: 50")
    overlay_line = _line_of("overlays/exception-support-eu-07.yaml", "historyLimit: 200")
    assert re.search(rf"1\.\s+set\s+Template/telegram-support\s+"
                     rf"templates/telegram-support\.yaml:{template_line}:\d+\s+50$", lines[1])
    assert re.search(rf"2\.\s+override\s+Overlay/exception-support-eu-07\s+"
                     rf"overlays/exception-support-eu-07\.yaml:{overlay_line}:\d+\s+200$",
                     lines[2])
    assert lines[3] == "final: 200"
    assert len(lines) == 4


def test_explain_list_strategies_in_order() -> None:
    result = run_cli(["explain", "support-eu-01", "logging.redactPatterns", str(EXAMPLE),
                      "-o", "json"])
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    chain = [(s["action"], s["document"], s["file"]) for s in data["steps"]]
    assert chain == [
        ("set", "Profile/baseline", "profiles/baseline.yaml"),
        ("union", "Profile/env-prod", "profiles/env-prod.yaml"),
        ("union", "Overlay/region-eu", "overlays/region-eu.yaml"),
    ]
    assert all(isinstance(s["line"], int) and s["line"] > 0 for s in data["steps"])
    assert data["final"] == data["steps"][-1]["value"]
    assert len(data["final"]) == 4
    assert data["present"] is True


def test_explain_rendered_jinja_value_and_canary_overlay() -> None:
    result = run_cli(["explain", "support-eu-01", "agents.defaults.model.primary",
                      str(EXAMPLE), "-o", "json"])
    data = json.loads(result.stdout)
    assert [s["document"] for s in data["steps"]] == ["Template/telegram-support",
                                                      "Overlay/canary-tier"]
    assert data["steps"][0]["value"] == "anthropic/claude-sonnet-4-5"  # {{ params.model }}
    assert data["final"] == "anthropic/claude-opus-4-5"


def test_explain_from_a_git_revision(tmp_path: Path) -> None:
    work = tmp_path / "fleet-repo"
    shutil.copytree(EXAMPLE, work)
    commit_all(work)
    shutil.rmtree(work / "overlays")
    in_rev = run_cli(["explain", "support-eu-07", "channels.telegram.historyLimit", str(work),
                      "--rev", "HEAD"])
    assert in_rev.code == 0, in_rev.stderr
    assert in_rev.stdout.endswith("final: 200\n")
    in_dir = run_cli(["explain", "support-eu-07", "channels.telegram.historyLimit", str(work)])
    assert in_dir.stdout.endswith("final: 50\n")


def test_explain_unknown_bot_and_path() -> None:
    result = run_cli(["explain", "support-eu-77", "gateway.port", str(EXAMPLE)])
    assert result.code == 2
    assert "support-eu-77" in result.stderr
    result = run_cli(["explain", "support-eu-07", "gateway.prot", str(EXAMPLE)])
    assert result.code == 2
    assert "gateway.port" in result.stderr  # suggested
    assert "Traceback" not in result.stderr
