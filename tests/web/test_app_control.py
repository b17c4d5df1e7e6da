"""The control API (bearer token, body, error mapping) and the webhook routes wired into the
app, over a real loopback socket against an in-memory DaemonPort."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import aiohttp
import pytest

from molthub_gitops.web.webhooks import WebhookSecrets

from ._webapp import C1, C2, TIMEOUT, FakePort, sample_status, serve

TOKEN = "tok-3f9a1c2b7d6e5f4a"


@pytest.fixture
def port() -> FakePort:
    return FakePort(sample_status(hostile=False))


async def post(url: str, *, token: str | None = None, header: str | None = None,
               body: Any = None, raw: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    headers: dict[str, str] = {}
    if header is not None:
        headers["Authorization"] = header
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session, \
            session.post(url, data=data, headers=headers) as resp:
        text = await resp.text()
        try:
            parsed: Any = json.loads(text)
        except ValueError:
            parsed = text
        return resp.status, dict(resp.headers), parsed


async def test_control_is_disabled_without_a_configured_token(port: FakePort) -> None:
    async with serve(port, api_token=None) as base:
        for header in (None, "Bearer anything", f"Bearer {TOKEN}"):
            code, _, body = await post(base + "/api/fleets/support/pause", header=header)
            assert code == 403
            assert "disabled" in body["error"]
    async with serve(port, api_token="") as base:
        code, _, _ = await post(base + "/api/fleets/support/pause", token="")
        assert code == 403
    assert port.calls == []


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
    f"Bearer {TOKEN[:-1]}", TOKEN, "Bearer tök-ünicode",
])
async def test_a_missing_or_wrong_token_is_401_with_a_bearer_challenge(
        port: FakePort, header: str | None) -> None:
    async with serve(port, api_token=TOKEN) as base:
        code, headers, body = await post(base + "/api/fleets/support/pause", header=header)
    assert code == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert body == {"error": "a valid bearer token is required"}
    assert port.calls == []


async def test_the_right_token_runs_each_action(port: FakePort) -> None:
    async with serve(port, api_token=TOKEN) as base:
        code, _, body = await post(base + "/api/fleets/support/promote", token=TOKEN,
                                   body={"full": True})
        assert code == 200
        assert body["fleet"]["name"] == "support"
        assert body["fleet"]["rollout"]["promoteFull"] is True
        code, _, body = await post(base + "/api/fleets/support/pause", token=TOKEN)
        assert code == 200
        assert body["fleet"]["rollout"]["phase"] == "Paused"
        code, _, body = await post(base + "/api/fleets/support/resume",
                                   header=f"bearer {TOKEN}")  # the scheme is case-insensitive
        assert code == 200
        assert body["fleet"]["rollout"]["phase"] == "Progressing"
        code, _, body = await post(base + "/api/fleets/support/abort", token=TOKEN,
                                   body={"reason": "bad canary", "actor": "alice"})
        assert code == 200
        assert body["fleet"]["rollout"]["phase"] == "Aborted"
        code, _, body = await post(base + "/api/fleets/sales/rollback", token=TOKEN,
                                   body={"to": C2})
        assert code == 200
        assert body["fleet"]["pinnedCommit"] == C2
    calls = [(c.fleet, c.action, c.actor, c.full, c.to, c.reason) for c in port.calls]
    assert calls == [
        ("support", "promote", "api", True, None, ""),
        ("support", "pause", "api", False, None, ""),
        ("support", "resume", "api", False, None, ""),
        ("support", "abort", "api:alice", False, None, "bad canary"),
        ("sales", "rollback", "api", False, C2, ""),
    ]


async def test_unknown_fleet_is_404_and_a_bad_phase_is_409(port: FakePort) -> None:
    async with serve(port, api_token=TOKEN) as base:
        code, _, body = await post(base + "/api/fleets/nope/pause", token=TOKEN)
        assert code == 404
        assert "nope" in body["error"]
        code, _, body = await post(base + "/api/fleets/sales/pause", token=TOKEN)
        assert code == 409
        assert "no rollout" in body["error"]
        code, _, body = await post(base + "/api/fleets/support/resume", token=TOKEN)
        assert code == 409
        assert "not paused" in body["error"]
        code, _, _ = await post(base + "/api/fleets/support/explode", token=TOKEN)
        assert code == 404
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session, \
                session.get(base + "/api/fleets/support/pause") as resp:
            assert resp.status == 405
    assert [c.action for c in port.calls] == ["pause", "pause", "resume"]


async def test_the_token_is_checked_before_the_fleet_or_action(port: FakePort) -> None:
    async with serve(port, api_token=TOKEN) as base:
        for path in ("/api/fleets/nope/pause", "/api/fleets/support/explode"):
            code, _, _ = await post(base + path, token="wrong")
            assert code == 401, path


@pytest.mark.parametrize(("raw", "word"), [
    (b"not json", "JSON object"),
    (b"[1, 2]", "JSON object"),
    (b'"text"', "JSON object"),
    (b'{"full": "yes"}', "full"),
    (b'{"to": 42}', "to"),
    (b'{"to": ""}', "to"),
    (b'{"reason": ["x"]}', "reason"),
    (b'{"actor": "bad actor!"}', "actor"),
    (b'{"actor": ""}', "actor"),
    (b"\xff\xfe", "JSON object"),
])
async def test_a_bad_body_is_400_and_runs_nothing(port: FakePort, raw: bytes, word: str) -> None:
    async with serve(port, api_token=TOKEN) as base:
        code, _, body = await post(base + "/api/fleets/support/abort", token=TOKEN, raw=raw)
    assert code == 400
    assert word in body["error"]
    assert port.calls == []


async def test_an_oversized_body_is_413(port: FakePort) -> None:
    big = json.dumps({"reason": "x" * 40_000}).encode()
    async with serve(port, api_token=TOKEN) as base:
        code, _, _ = await post(base + "/api/fleets/support/abort", token=TOKEN, raw=big)
        assert code == 413

        async def chunks():  # no Content-Length: the cap holds on the stream too
            for _ in range(40):
                yield b"x" * 1024

        async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.post(
                base + "/api/fleets/support/abort", data=chunks(),
                headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
            assert resp.status == 413
    assert port.calls == []


async def test_a_control_action_that_hangs_answers_504(port: FakePort) -> None:
    port.control_delay = 5.0
    async with serve(port, api_token=TOKEN, control_timeout=0.2) as base:
        code, _, body = await post(base + "/api/fleets/support/pause", token=TOKEN)
    assert code == 504
    assert "did not confirm" in body["error"]


def _sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_webhook_routes_reach_the_daemon_and_count_in_metrics(port: FakePort) -> None:
    secret = "whsec-0a1b2c3d4e5f"
    payload = json.dumps({"ref": "refs/heads/main", "after": C1}).encode()
    async with serve(port, webhook_secrets=WebhookSecrets(github=secret)) as base, \
            aiohttp.ClientSession(timeout=TIMEOUT) as session:
        headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1",
                   "Content-Type": "application/json"}
        async with session.post(base + "/hooks/github", data=payload,
                                headers={**headers,
                                         "X-Hub-Signature-256": _sign(secret, payload)}) as resp:
            assert resp.status == 202
        async with session.post(base + "/hooks/github", data=payload,
                                headers={**headers, "X-GitHub-Delivery": "d-2",
                                         "X-Hub-Signature-256": _sign("wrong", payload)}) as resp:
            assert resp.status == 401
        async with session.get(base + "/metrics") as resp:
            metrics = await resp.text()
    assert [(e.provider, e.delivery, e.ref) for e in port.events] == [
        ("github", "d-1", "refs/heads/main")]
    assert port.metrics.counter("webhook_deliveries_total", provider="github",
                                result="accepted") == 1
    assert port.metrics.counter("webhook_deliveries_total", provider="github",
                                result="unauthorized") == 1
    assert ('molthub_webhook_deliveries_total{provider="github",result="accepted"} 1'
            in metrics)
