"""Webhook receivers over real HTTP on loopback (aiohttp TestServer/TestClient), fed with the
real GitHub payloads from tests/data, signed in the test."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from molthub_gitops.sync.source import FetchTrigger
from molthub_gitops.web.webhooks import (
    DeliveryCache,
    WebhookEvent,
    WebhookSecrets,
    add_webhook_routes,
    verify_generic,
    verify_github,
    verify_gitlab,
)

# the real GitHub payloads (recorded deliveries), vendored in tests/data
DATA = Path(__file__).resolve().parents[1] / "data"

GH_SECRET = "gh-hook-secret-4f1c"
GL_SECRET = "gl-hook-secret-93ab"
GEN_SECRET = "generic-hook-secret-77de"
SECRETS = WebhookSecrets(github=GH_SECRET, gitlab=GL_SECRET, generic=GEN_SECRET)
CAP = 64 * 1024


def payload(name: str) -> bytes:
    return (DATA / name).read_bytes()


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def with_ref(name: str, ref: str) -> bytes:
    doc = json.loads(payload(name))
    doc["ref"] = ref
    return json.dumps(doc).encode()


@dataclass
class Hooks:
    client: TestClient[web.Request, web.Application]
    events: list[WebhookEvent] = field(default_factory=list)
    counts: list[tuple[str, str]] = field(default_factory=list)

    async def github(self, body: bytes, *, event: str = "push", delivery: str = "d-1",
                     signature: str | None = None, secret: str = GH_SECRET,
                     content_type: str = "application/json") -> tuple[int, Any]:
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
                   "Content-Type": content_type,
                   "X-Hub-Signature-256": signature if signature is not None
                   else sign(body, secret)}
        resp = await self.client.post("/hooks/github", data=body, headers=headers)
        return resp.status, await resp.json()


async def start(secrets: WebhookSecrets = SECRETS, *, branch: str = "master",
                max_body: int = CAP) -> tuple[Hooks, TestClient[web.Request, web.Application]]:
    app = web.Application()
    events: list[WebhookEvent] = []
    counts: list[tuple[str, str]] = []
    add_webhook_routes(app, secrets=secrets, on_event=events.append, branch=branch,
                       status_branch="molthub-status", max_body=max_body,
                       count=lambda p, r: counts.append((p, r)))
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return Hooks(client=client, events=events, counts=counts), client


@pytest.fixture
async def hooks() -> AsyncIterator[Hooks]:
    h, client = await start()
    try:
        yield h
    finally:
        await client.close()


# --------------------------------------------------------------------------- GitHub


async def test_github_ping_is_answered_and_triggers_nothing(hooks: Hooks) -> None:
    status, body = await hooks.github(payload("github-ping-payload.json"), event="ping")
    assert (status, body) == (200, {"pong": True})
    assert hooks.events == []
    assert hooks.counts == [("github", "ping")]


async def test_github_push_to_the_branch_is_accepted_once(hooks: Hooks) -> None:
    body = payload("github-push-with-new-branch.payload.json")
    status, answer = await hooks.github(body, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert (status, answer) == (202, {"accepted": True})
    assert hooks.events == [WebhookEvent(provider="github",
                                         delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958",
                                         event="push", ref="refs/heads/master")]
    # GitHub redelivers: same id -> duplicate, no second trigger
    status, answer = await hooks.github(body, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert (status, answer) == (200, {"duplicate": True})
    assert len(hooks.events) == 1
    # a new delivery id for the same push is a new trigger (the fetch decides what changed)
    status, _ = await hooks.github(body, delivery="another")
    assert status == 202
    assert len(hooks.events) == 2
    assert hooks.counts == [("github", "accepted"), ("github", "duplicate"),
                            ("github", "accepted")]


async def test_github_form_encoded_payload(hooks: Hooks) -> None:
    raw = payload("github-push-with-new-branch.payload.json").decode()
    body = urllib.parse.urlencode({"payload": raw}).encode()
    status, _ = await hooks.github(body, content_type="application/x-www-form-urlencoded")
    assert status == 202
    assert hooks.events[0].ref == "refs/heads/master"


async def test_github_tag_push_is_ignored(hooks: Hooks) -> None:
    status, answer = await hooks.github(payload("github-push-payload.json"))
    assert status == 200
    assert "tag" in answer["ignored"]
    assert hooks.events == []


async def test_push_to_the_status_branch_never_triggers(hooks: Hooks) -> None:
    body = with_ref("github-push-with-new-branch.payload.json", "refs/heads/molthub-status")
    status, answer = await hooks.github(body)
    assert (status, answer) == (200, {"ignored": "push to the status branch"})
    assert hooks.events == []
    assert hooks.counts == [("github", "ignored")]


async def test_push_to_another_branch_is_ignored(hooks: Hooks) -> None:
    body = with_ref("github-push-with-new-branch.payload.json", "refs/heads/feature/x")
    status, answer = await hooks.github(body)
    assert status == 200
    assert "another branch" in answer["ignored"]
    assert hooks.events == []


async def test_non_push_event_is_ignored(hooks: Hooks) -> None:
    status, answer = await hooks.github(b'{"action": "opened"}', event="pull_request")
    assert status == 200
    assert "not a push" in answer["ignored"]
    assert hooks.events == []


@pytest.mark.parametrize("signature", [
    "", "sha256=", "sha1=abc", "sha256=" + "0" * 64, "sha256=zz-not-hex", "sha256=é",
])
async def test_github_bad_signature_is_401_without_trigger(hooks: Hooks, signature: str) -> None:
    body = payload("github-push-with-new-branch.payload.json")
    status, answer = await hooks.github(body, signature=signature)
    assert status == 401
    assert GH_SECRET not in json.dumps(answer)
    assert hooks.events == []
    assert hooks.counts == [("github", "unauthorized")]


async def test_github_signature_with_another_secret_or_body(hooks: Hooks) -> None:
    body = payload("github-push-with-new-branch.payload.json")
    status, _ = await hooks.github(body, secret="some-other-secret")
    assert status == 401
    tampered = body.replace(b"refs/heads/master", b"refs/heads/mastex")
    status, _ = await hooks.github(tampered, signature=sign(body, GH_SECRET))
    assert status == 401
    resp = await hooks.client.post("/hooks/github", data=body,
                                   headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": "z"})
    assert resp.status == 401  # no signature header at all
    assert hooks.events == []


async def test_a_bad_signature_does_not_burn_the_delivery_id(hooks: Hooks) -> None:
    body = payload("github-push-with-new-branch.payload.json")
    status, _ = await hooks.github(body, delivery="d-9", signature="sha256=" + "1" * 64)
    assert status == 401
    status, _ = await hooks.github(body, delivery="d-9")
    assert status == 202
    assert len(hooks.events) == 1


async def test_github_bad_json_and_missing_event(hooks: Hooks) -> None:
    for body in (b"{not json", b"[1, 2]", b"", b"\xff\xfe"):
        status, answer = await hooks.github(body)
        assert status == 400, body
        assert "error" in answer
    body = payload("github-push-with-new-branch.payload.json")
    status, _ = await hooks.github(body, event="")
    assert status == 400
    assert hooks.events == []


async def test_unconfigured_provider_is_404() -> None:
    h, client = await start(WebhookSecrets(github=None, gitlab="", generic=None))
    try:
        body = payload("github-push-with-new-branch.payload.json")
        status, _ = await h.github(body)
        assert status == 404
        resp = await client.post("/hooks/gitlab", data=b"{}",
                                 headers={"X-Gitlab-Token": ""})
        assert resp.status == 404
        resp = await client.post("/hooks/generic", data=b"{}")
        assert resp.status == 404
        assert h.events == []
    finally:
        await client.close()


# --------------------------------------------------------------------------- body cap


async def test_declared_oversized_body_is_413(hooks: Hooks) -> None:
    body = b'{"ref": "refs/heads/master", "pad": "' + b"x" * (CAP + 10) + b'"}'
    status, answer = await hooks.github(body)
    assert status == 413
    assert "larger than" in answer["error"]
    assert hooks.events == []
    assert hooks.counts == [("github", "too-large")]


async def test_chunked_body_without_length_is_capped(hooks: Hooks) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 4096  # 160 KiB in total, no Content-Length

    resp = await hooks.client.post(
        "/hooks/github", data=chunks(),
        headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert resp.status == 413
    assert hooks.events == []


async def test_the_cap_is_enforced_while_reading(hooks: Hooks) -> None:
    """A sender that streams more than the cap and then stalls (never finishing its body) gets
    413 at once: the receiver stops reading at cap + 1 bytes instead of waiting for the end."""
    server = hooks.client.server
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", server.port), 10)
    try:
        writer.write(b"POST /hooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece = b"y" * 8192
        for _ in range(CAP // len(piece) + 2):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        assert status_line.startswith(b"HTTP/1.1 413")
    finally:
        writer.close()
    assert hooks.events == []


async def test_body_at_the_cap_is_read_whole() -> None:
    h, client = await start(max_body=2048)
    try:
        doc = {"ref": "refs/heads/master", "pad": ""}
        doc["pad"] = "p" * (2048 - len(json.dumps(doc)))
        body = json.dumps(doc).encode()
        assert len(body) == 2048
        status, _ = await h.github(body)
        assert status == 202
        status, _ = await h.github(body + b" ")
        assert status == 413
    finally:
        await client.close()


# --------------------------------------------------------------------------- GitLab, generic


GITLAB_PUSH = {"object_kind": "push", "event_name": "push", "ref": "refs/heads/master",
               "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
               "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
               "project": {"path_with_namespace": "mike/diaspora"}, "commits": []}


async def gitlab(h: Hooks, doc: dict[str, Any], token: str | None = GL_SECRET,
                 event: str = "Push Hook", uuid: str = "gl-1") -> tuple[int, Any]:
    headers = {"X-Gitlab-Event": event, "X-Gitlab-Event-UUID": uuid}
    if token is not None:
        headers["X-Gitlab-Token"] = token
    resp = await h.client.post("/hooks/gitlab", json=doc, headers=headers)
    return resp.status, await resp.json()


async def test_gitlab_token(hooks: Hooks) -> None:
    assert await gitlab(hooks, GITLAB_PUSH) == (202, {"accepted": True})
    assert hooks.events == [WebhookEvent("gitlab", "gl-1", "Push Hook", "refs/heads/master")]
    assert await gitlab(hooks, GITLAB_PUSH) == (200, {"duplicate": True})
    status, _ = await gitlab(hooks, GITLAB_PUSH, token="wrong", uuid="gl-2")
    assert status == 401
    status, _ = await gitlab(hooks, GITLAB_PUSH, token=None, uuid="gl-3")
    assert status == 401
    tag = dict(GITLAB_PUSH, object_kind="tag_push", event_name="tag_push",
               ref="refs/tags/v1")
    status, answer = await gitlab(hooks, tag, event="Tag Push Hook", uuid="gl-4")
    assert status == 200
    assert "ignored" in answer
    status, _ = await gitlab(hooks, dict(GITLAB_PUSH, ref="refs/heads/molthub-status"),
                             uuid="gl-5")
    assert status == 200
    assert len(hooks.events) == 1


async def generic(h: Hooks, body: bytes, *, secret: str = GEN_SECRET,
                  delivery: str | None = None) -> tuple[int, Any]:
    headers = {"X-Molthub-Signature": sign(body, secret)}
    if delivery is not None:
        headers["X-Molthub-Delivery"] = delivery
    resp = await h.client.post("/hooks/generic", data=body, headers=headers)
    return resp.status, await resp.json()


async def test_generic_hmac(hooks: Hooks) -> None:
    assert await generic(hooks, b"") == (202, {"accepted": True})
    assert hooks.events == [WebhookEvent("generic", "", "push", None)]
    assert (await generic(hooks, b'{"ref": "refs/heads/master"}', delivery="g1"))[0] == 202
    assert (await generic(hooks, b'{"ref": "refs/heads/master"}', delivery="g1"))[0] == 200
    status, answer = await generic(hooks, b'{"ref": "refs/heads/molthub-status"}')
    assert (status, answer) == (200, {"ignored": "push to the status branch"})
    status, _ = await generic(hooks, b'{"ref": "refs/heads/master"}', secret=GH_SECRET)
    assert status == 401
    status, _ = await generic(hooks, b"[]")
    assert status == 400
    assert len(hooks.events) == 2
    assert ("generic", "unauthorized") in hooks.counts


async def test_secrets_never_leave_the_receiver(hooks: Hooks) -> None:
    body = payload("github-push-with-new-branch.payload.json")
    texts = []
    for sig in ("sha256=" + "2" * 64, None):
        resp = await hooks.client.post("/hooks/github", data=body, headers={
            "X-GitHub-Event": "push", "X-GitHub-Delivery": "s",
            "X-Hub-Signature-256": sig or sign(body, GH_SECRET)})
        texts.append(await resp.text())
    for text in [*texts, repr(SECRETS), str(SECRETS)]:
        for secret in (GH_SECRET, GL_SECRET, GEN_SECRET):
            assert secret not in text


# --------------------------------------------------------------------------- pure helpers


def test_verify_functions() -> None:
    body = b'{"a": 1}'
    good = sign(body, "s3cret")
    assert verify_github(body, good, "s3cret")
    assert verify_github(body, good.upper().replace("SHA256=", "sha256="), "s3cret")
    assert not verify_github(body, good, "other")
    assert not verify_github(body + b" ", good, "s3cret")
    assert not verify_github(body, None, "s3cret")
    assert not verify_github(body, good[7:], "s3cret")  # no prefix
    assert not verify_github(body, good, "")
    assert verify_generic(body, good, "s3cret")
    assert not verify_generic(body, "sha256=ünïcode", "s3cret")
    assert verify_gitlab("tok", "tok")
    assert not verify_gitlab("tok2", "tok")
    assert not verify_gitlab(None, "tok")
    assert not verify_gitlab("", "")
    assert not verify_gitlab("é", "tok")


def test_delivery_cache_is_bounded() -> None:
    cache = DeliveryCache(capacity=3)
    assert [cache.seen(x) for x in "abc"] == [False, False, False]
    assert cache.seen("a")  # refreshes a
    assert not cache.seen("d")  # evicts b, the oldest
    assert len(cache) == 3
    assert "b" not in cache
    assert not cache.seen("b")
    assert DeliveryCache().capacity == 10_000
    big = DeliveryCache()
    for i in range(10_050):
        big.seen(str(i))
    assert len(big) == 10_000
    assert "0" not in big
    assert "10049" in big


async def test_a_burst_of_deliveries_wakes_one_fetch() -> None:
    """Webhooks feed a FetchTrigger (as the daemon wires them): 10 deliveries sent at once
    give one wake-up carrying 10 reasons, i.e. one fetch."""
    trigger = FetchTrigger()
    app = web.Application()
    add_webhook_routes(app, secrets=SECRETS, branch="master", status_branch="molthub-status",
                       on_event=lambda e: trigger.request(f"{e.provider}:{e.delivery}"))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        body = payload("github-push-with-new-branch.payload.json")

        async def deliver(i: int) -> int:
            resp = await client.post("/hooks/github", data=body, headers={
                "X-GitHub-Event": "push", "X-GitHub-Delivery": f"burst-{i}",
                "X-Hub-Signature-256": sign(body, GH_SECRET)})
            return resp.status

        statuses = await asyncio.wait_for(asyncio.gather(*(deliver(i) for i in range(10))), 30)
        assert statuses == [202] * 10
        reasons = await trigger.wait(5.0)
        assert sorted(reasons) == sorted(f"github:burst-{i}" for i in range(10))
        assert await trigger.wait(0.01) == []
