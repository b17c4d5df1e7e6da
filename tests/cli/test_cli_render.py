"""`molthub render`: document shape, filters, stability across runs, seeds and Git revisions."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from clihelpers import EXAMPLE, commit_all, run_cli, run_subprocess

from molthub_gitops.render.canonical import canonical_json

KEYS = ["name", "fleet", "environment", "labels", "openclawVersion", "gatewayUrl",
        "configHash", "config"]


def _docs(text: str) -> list[dict[str, object]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def test_render_example_yaml_every_bot() -> None:
    result = run_cli(["render", str(EXAMPLE)])
    assert result.code == 0, result.stderr
    docs = _docs(result.stdout)
    assert len(docs) == 36
    assert result.stdout.startswith("---\n")
    for doc in docs:
        assert list(doc) == KEYS
        config = doc["config"]
        assert isinstance(config, dict)
        assert doc["configHash"] == hashlib.sha256(canonical_json(config)).hexdigest()
    names = [d["name"] for d in docs]
    assert len(set(names)) == len(names)


def test_render_json_matches_yaml() -> None:
    as_yaml = _docs(run_cli(["render", str(EXAMPLE)]).stdout)
    result = run_cli(["render", str(EXAMPLE), "-o", "json"])
    assert result.code == 0
    as_json = json.loads(result.stdout)
    assert as_json == as_yaml


def test_render_document_fields() -> None:
    result = run_cli(["render", str(EXAMPLE), "--bot", "support-eu-07", "-o", "json"])
    [doc] = json.loads(result.stdout)
    assert doc["fleet"] == "support-prod-eu"
    assert doc["environment"] == "prod"
    assert doc["labels"] == {"customer": "globex", "region": "eu", "team": "support"}
    assert doc["openclawVersion"] == "2026.9.6"
    assert doc["gatewayUrl"] == "ws://support-eu-07.bots-prod-eu.internal:18789"
    telegram = doc["config"]["channels"]["telegram"]
    assert telegram["historyLimit"] == 200  # the per-bot exception overlay
    assert telegram["botToken"] == "${TELEGRAM_BOT_TOKEN}"  # passed through untouched
    commands = [c["command"] for c in telegram["customCommands"]]
    assert commands == ["help", "ticket", "status", "export"]  # mergeBy: command
    assert telegram["customCommands"][1]["description"] == "Open a priority support ticket"


def test_render_filters_by_fleet_and_bot() -> None:
    result = run_cli(["render", str(EXAMPLE), "--fleet", "support-prod-us", "--fleet",
                      "concierge-dev", "-o", "json"])
    docs = json.loads(result.stdout)
    assert {d["fleet"] for d in docs} == {"support-prod-us", "concierge-dev"}
    assert len(docs) == 7
    result = run_cli(["render", str(EXAMPLE), "--bot", "assistant-eng", "--bot",
                      "concierge-bob", "-o", "json"])
    assert sorted(d["name"] for d in json.loads(result.stdout)) == ["assistant-eng",
                                                                   "concierge-bob"]


@pytest.mark.parametrize("option", ["--bot", "--fleet"])
def test_render_unknown_name_is_an_input_error(option: str) -> None:
    result = run_cli(["render", str(EXAMPLE), option, "no-such-thing"])
    assert result.code == 2
    assert "no-such-thing" in result.stderr
    assert result.stdout == ""


def test_render_missing_directory() -> None:
    result = run_cli(["render", "/nonexistent/molthub-repo"])
    assert result.code == 2
    assert "Traceback" not in result.stderr


def test_render_default_path_is_cwd() -> None:
    result = run_subprocess(["render", "--bot", "support-dev-01"], cwd=EXAMPLE)
    assert result.code == 0, result.stderr
    assert _docs(result.stdout)[0]["name"] == "support-dev-01"


def test_render_is_byte_identical_across_runs_and_hash_seeds() -> None:
    outputs = {
        run_subprocess(["render", str(EXAMPLE)], env={"PYTHONHASHSEED": seed}).stdout_bytes
        for seed in ("0", "1", "12345")
    }
    outputs.add(run_cli(["render", str(EXAMPLE)]).stdout_bytes)
    assert len(outputs) == 1
    assert len(next(iter(outputs))) > 10_000


def test_render_directory_and_git_revision_are_byte_identical(tmp_path: Path) -> None:
    work = tmp_path / "fleet-repo"
    shutil.copytree(EXAMPLE, work)
    commit_all(work, "example")
    from_dir = run_cli(["render", str(work)])
    assert from_dir.code == 0
    # Change the working tree afterwards: --rev must read the commit, not the files.
    (work / "fleets" / "prod" / "support-prod-eu.yaml").write_text("garbage: [", "utf-8")
    shutil.rmtree(work / "overlays")
    from_rev = run_cli(["render", str(work), "--rev", "HEAD"])
    assert from_rev.code == 0, from_rev.stderr
    assert from_rev.stdout_bytes == from_dir.stdout_bytes
    as_json = run_cli(["render", str(EXAMPLE), "-o", "json"]).stdout_bytes
    rev_json = run_subprocess(["render", str(work), "--rev", "main", "-o", "json"],
                              env={"PYTHONHASHSEED": "7"}).stdout_bytes
    assert as_json == rev_json


def test_render_unknown_revision(tmp_path: Path) -> None:
    work = tmp_path / "fleet-repo"
    shutil.copytree(EXAMPLE, work)
    commit_all(work)
    result = run_cli(["render", str(work), "--rev", "no-such-branch"])
    assert result.code == 2
    assert "no-such-branch" in result.stderr


def test_render_never_prints_the_engines_own_secrets() -> None:
    secret = "s3cr3t-gateway-token-value-0123456789"
    env = {name: secret for name in (
        "MOLTHUB_GATEWAY_TOKEN_DEV", "MOLTHUB_GATEWAY_TOKEN_STAGING",
        "MOLTHUB_GATEWAY_TOKEN_PROD_EU", "OPENCLAW_GATEWAY_TOKEN", "TELEGRAM_BOT_TOKEN")}
    result = run_subprocess(["render", str(EXAMPLE), "-o", "json"], env=env)
    assert result.code == 0
    assert secret not in result.stdout
    assert secret not in result.stderr


def test_render_into_a_closed_pipe_stops_quietly() -> None:
    """`molthub render | head -1` once head has gone: no 'internal error', no traceback, exit 0.

    The pipe's read end is closed before molthub starts, so its first write fails (EPIPE)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(EXAMPLE.parent)
    env.pop("MOLTHUB_DEBUG", None)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "molthub_gitops", "render", str(EXAMPLE)],
            stdout=write_end, stderr=subprocess.PIPE, env=env, timeout=120, check=False,
        )
    finally:
        os.close(write_end)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "error" not in err
