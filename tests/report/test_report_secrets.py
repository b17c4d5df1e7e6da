"""No format shows a secret: values at sensitive paths are redacted again at display time,
even when a producer failed to redact them, nested in objects and lists."""

from __future__ import annotations

import json

import pytest

from molthub_gitops.model.sensitive import REDACTED
from molthub_gitops.plan.types import BlastRadius, BotChange, PathChange, RevisionDiff
from molthub_gitops.report.formats import FORMATS, render_report
from molthub_gitops.report.github import job_summary
from molthub_gitops.report.outcome import Outcome

from .builders import SECRET

PASSWORD = "hunter2-correct-horse-battery"
API_KEY = "AKIA-not-really-but-secret-0042"


def _leaky() -> Outcome:
    changes = (
        PathChange("gateway.auth", "added", after={"mode": "token", "token": SECRET}),
        PathChange("channels.telegram.accounts", "changed",
                   before=[{"name": "main", "botToken": "${TG_TOKEN}"}],
                   after=[{"name": "main", "botToken": SECRET}]),
        PathChange("models.providers.openai.apiKey", "changed", before=API_KEY,
                   after="${OPENAI_API_KEY}"),
        PathChange("gateway.auth.password", "removed", before=PASSWORD),
    )
    diff = RevisionDiff("main", "HEAD", (
        BotChange("bot-a", "support", "prod", "changed", "1" * 64, "2" * 64, changes),),
        unchanged=0, blast_radius=BlastRadius(1, ("support",), ("prod",), 1), waves=())
    return Outcome(command="validate", source="repo", diff=diff)


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_in_any_format(fmt: str) -> None:
    out = render_report(fmt, _leaky(), color=True)
    for secret in (SECRET, PASSWORD, API_KEY):
        assert secret not in out


def test_no_secret_in_job_summary() -> None:
    out = job_summary(_leaky())
    for secret in (SECRET, PASSWORD, API_KEY):
        assert secret not in out
    assert "${OPENAI_API_KEY}" in out  # references are not secrets and stay readable


def test_json_shows_redaction_marker_and_keeps_the_rest() -> None:
    doc = json.loads(render_report("json", _leaky()))
    auth, accounts, api_key, password = doc["diff"]["bots"][0]["changes"]
    assert auth["after"] == {"mode": "token", "token": REDACTED}
    assert accounts["after"] == [{"name": "main", "botToken": REDACTED}]
    assert accounts["before"] == [{"name": "main", "botToken": "${TG_TOKEN}"}]
    assert api_key["before"] == REDACTED
    assert api_key["after"] == "${OPENAI_API_KEY}"
    assert password["before"] == REDACTED
