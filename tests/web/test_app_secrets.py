"""Nothing secret is ever shown, and hostile text from the status is escaped.

The app is configured with an API token and webhook secrets; no page, API body, metric or
error response may contain them, even when a status field (by a bug elsewhere) held one.
A bot label, error or reason holding HTML shows as text.
"""

from __future__ import annotations

import html

import aiohttp
import pytest

from molthub_gitops.sync.audit import AuditChain, AuditDraft
from molthub_gitops.web.webhooks import WebhookSecrets

from ._webapp import (
    HOSTILE_ERROR,
    HOSTILE_KEY,
    HOSTILE_LABEL,
    HOSTILE_REASON,
    TIMEOUT,
    FakePort,
    parse_page,
    sample_audit,
    sample_status,
    serve,
)

API_TOKEN = "api-7Hq2xV9pL4mN8rT1"
SECRETS = WebhookSecrets(github="gh-Zx81Kq0wPe5Rt7Yu", gitlab="gl-Mn3Bv6Cx9Za2Sd4F",
                         generic="gen-Lk5Jh8Gf1Ds4Aq7W")
ALL = [API_TOKEN, "gh-Zx81Kq0wPe5Rt7Yu", "gl-Mn3Bv6Cx9Za2Sd4F", "gen-Lk5Jh8Gf1Ds4Aq7W"]
GET_PATHS = ["/", "/api/status", "/api/audit", "/api/audit?limit=1000", "/metrics", "/healthz",
             "/readyz", "/static/style.css", "/nope", "/api/audit?limit=oops"]


async def _collect(base: str) -> list[tuple[str, str]]:
    bodies: list[tuple[str, str]] = []
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        for path in GET_PATHS:
            async with session.get(base + path) as resp:
                bodies.append((path, await resp.text() + str(dict(resp.headers))))
        for header in (None, "Bearer wrong", f"Bearer {API_TOKEN}"):
            headers = {"Authorization": header} if header else {}
            async with session.post(base + "/api/fleets/support/abort", headers=headers,
                                    json={"reason": f"leak {API_TOKEN}"}) as resp:
                bodies.append((f"POST {header}", await resp.text() + str(dict(resp.headers))))
        for hook in ("github", "gitlab", "generic"):
            async with session.post(base + f"/hooks/{hook}", data=b"{}",
                                    headers={"X-GitHub-Event": "push"}) as resp:
                bodies.append((hook, await resp.text() + str(dict(resp.headers))))
    return bodies


def _assert_clean(bodies: list[tuple[str, str]]) -> None:
    for where, body in bodies:
        for secret in ALL:
            assert secret not in body, (where, secret)
            assert html.escape(secret) not in body, (where, secret)


async def test_no_configured_secret_appears_in_any_response() -> None:
    port = FakePort(sample_status(), sample_audit())
    async with serve(port, api_token=API_TOKEN, webhook_secrets=SECRETS) as base:
        bodies = await _collect(base)
    _assert_clean(bodies)
    # the authorised abort went through; its reason reached the daemon with the token masked
    assert [c.reason for c in port.calls] == ["leak ***"]


async def test_a_secret_that_leaked_into_the_status_is_masked_on_the_way_out() -> None:
    status = sample_status()
    status.bots["echo"].last_error = f"connect failed with token {API_TOKEN}"
    status.fleets["sales"].last_failed_reason = f"hook secret {SECRETS.github}"
    status.bots["alpha"].labels["oops"] = SECRETS.gitlab or ""
    audit = AuditChain().append([AuditDraft(actor="molthub-sync", action="drift",
                                            reason=f"saw {SECRETS.generic}")])
    port = FakePort(status, audit)
    async with serve(port, api_token=API_TOKEN, webhook_secrets=SECRETS) as base:
        bodies = await _collect(base)
    _assert_clean(bodies)
    page = dict(bodies)["/"]
    assert "connect failed with token ***" in page


@pytest.mark.parametrize("refresh", [5, 0])
async def test_hostile_text_is_escaped_on_the_page(refresh: int) -> None:
    port = FakePort(sample_status(), sample_audit())
    async with serve(port, refresh_seconds=refresh) as base, \
            aiohttp.ClientSession(timeout=TIMEOUT) as session, session.get(base + "/") as resp:
        page = await resp.text()
    text, tags = parse_page(page)
    # shown as text ...
    assert f"note={HOSTILE_LABEL}" in text
    assert f"{HOSTILE_KEY}=x" in text
    assert HOSTILE_ERROR in text
    assert HOSTILE_REASON in text
    # ... and never as markup
    assert "<script" not in page
    assert "<img" not in page
    assert not [t for t, _ in tags if t in {"script", "img", "iframe", "object", "embed"}]
    assert not [attrs for _, attrs in tags if any(k.startswith("on") for k in attrs)]
    assert html.escape(HOSTILE_LABEL) in page
