"""The web app's read-only routes over a real loopback socket: the page, the JSON API,
health, static files and the security headers every response carries."""

from __future__ import annotations

import json

import aiohttp
import pytest

from molthub_gitops.sync.state import DaemonStatus
from molthub_gitops.web.app import CONTENT_SECURITY_POLICY

from ._webapp import (
    C1,
    C2,
    C3,
    C4,
    TIMEOUT,
    FakePort,
    parse_page,
    sample_audit,
    sample_status,
    serve,
)


@pytest.fixture
def port() -> FakePort:
    return FakePort(sample_status(hostile=False), sample_audit(8, hostile=False))


async def get(url: str) -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.get(url) as resp:
        return resp.status, dict(resp.headers), await resp.text()


async def test_page_shows_header_fleets_rollout_bots_and_audit(port: FakePort) -> None:
    async with serve(port) as base:
        code, headers, page = await get(base + "/")
    assert code == 200
    assert headers["Content-Type"].startswith("text/html")
    text, _tags = parse_page(page)
    # header: repository, branch, commit in force, head, failing gate with its problem
    assert "https://git.example.com/acme/fleet.git" in text
    assert C3[:12] in text
    assert C4[:12] in text
    assert "failed validation and was not applied" in text
    assert "gateway.port is not an integer" in text
    # counts by state, every state shown (Unknown at 0)
    assert 'data-state="Unknown"><span class="n">0</span>' in page
    assert 'data-state="Synced"><span class="n">2</span>' in page
    # fleets with their flags and commits
    assert 'data-fleet="support"' in page
    assert 'data-fleet="sales"' in page
    assert "suspended" in text
    assert "self-heal" in text
    assert "provider: simulated" in text
    assert "strategy: canary" in text
    assert "2 failures > threshold 1" in text  # last failed reason
    assert f"until the branch moves past {C3[:12]}" in text
    assert C1[:12] in text
    assert C2[:12] in text
    # the rollout: phase, wave n of m, failures/threshold, bake until
    assert "wave 1 of 3" in text
    assert "Baking" in text
    assert "0 / threshold 1" in text
    assert "2026-11-26T15:01:00Z" in text
    # bots: state classes, health detail, versions, hashes, drift, last error
    assert 'data-bot="alpha"' in page
    assert 'data-bot="foxtrot"' in page
    assert 'class="badge bad state">Unreachable' in page
    assert 'class="badge ok state">Synced' in page
    assert "channel telegram failed" in text
    assert 'class="mismatch">2026.3.31' in page
    assert "d" * 12 in text
    assert "d" * 13 not in text
    assert "2 paths" in text
    assert "gateway.port, tools.exec" in text
    assert "connection refused" in text
    assert "team=support" in text
    # recent audit, newest first
    assert "Recent audit events" in text
    assert text.index("event 7") < text.index("event 6") < text.index("event 0")
    # live page: meta refresh, no script at all
    assert '<meta http-equiv="refresh" content="5">' in page
    assert "<script" not in page
    assert "Live from the daemon" in text


async def test_refresh_interval_follows_the_option_and_zero_turns_it_off(port: FakePort) -> None:
    async with serve(port, refresh_seconds=17) as base:
        _, _, page = await get(base + "/")
    assert '<meta http-equiv="refresh" content="17">' in page
    async with serve(port, refresh_seconds=0) as base:
        _, _, page = await get(base + "/")
    assert 'http-equiv="refresh"' not in page
    assert "refreshes every" not in page


async def test_page_before_the_first_commit_renders_empty_state() -> None:
    empty = FakePort(DaemonStatus())
    async with serve(empty) as base:
        code, _, page = await get(base + "/")
    assert code == 200
    assert "No fleets yet" in page
    assert "No audit events yet" in page
    assert "not checked yet" in page


async def test_static_files_are_served_with_types_and_unknown_ones_are_404(port: FakePort) -> None:
    async with serve(port) as base:
        code, headers, css = await get(base + "/static/style.css")
        assert code == 200
        assert headers["Content-Type"].startswith("text/css")
        assert ".badge" in css
        code, headers, svg = await get(base + "/static/favicon.svg")
        assert code == 200
        assert headers["Content-Type"] == "image/svg+xml"
        assert svg.startswith("<svg")
        for bad in ("/static/nope.css", "/static/..%2Fapp.py", "/static/%2e%2e%2fpages.py"):
            code, _, _ = await get(base + bad)
            assert code == 404, bad
        _, _, page = await get(base + "/")
    assert 'href="static/style.css"' in page
    assert 'href="static/favicon.svg"' in page


async def test_api_status_is_the_status_model_as_camel_case_json(port: FakePort) -> None:
    async with serve(port) as base:
        code, headers, body = await get(base + "/api/status")
    assert code == 200
    assert headers["Content-Type"].startswith("application/json")
    data = json.loads(body)
    assert data["appliedCommit"] == C3
    assert data["headCommit"] == C4
    assert data["fleets"]["support"]["rollout"]["phase"] == "Baking"
    assert DaemonStatus.model_validate(data) == port.state


async def test_api_audit_limit_and_filters(port: FakePort) -> None:
    async with serve(port) as base:
        code, _, body = await get(base + "/api/audit")
        assert code == 200
        entries = json.loads(body)["entries"]
        assert [e["seq"] for e in entries] == list(range(1, 9))  # oldest first
        _, _, body = await get(base + "/api/audit?limit=3")
        assert [e["seq"] for e in json.loads(body)["entries"]] == [6, 7, 8]
        _, _, body = await get(base + "/api/audit?fleet=sales")
        sales = json.loads(body)["entries"]
        assert sales
        assert {e["fleet"] for e in sales} == {"sales"}
        assert [e["seq"] for e in sales] == [2, 4, 6, 8]
        _, _, body = await get(base + "/api/audit?fleet=sales&limit=2")
        assert [e["seq"] for e in json.loads(body)["entries"]] == [6, 8]
        _, _, body = await get(base + "/api/audit?bot=bot-3")
        assert [e["bot"] for e in json.loads(body)["entries"]] == ["bot-3"]
        _, _, body = await get(base + "/api/audit?fleet=nope")
        assert json.loads(body)["entries"] == []
        for bad in ("0", "1001", "-1", "ten", ""):
            code, _, body = await get(base + f"/api/audit?limit={bad}")
            assert code == 400, bad
            assert "limit" in json.loads(body)["error"]


async def test_healthz_and_readyz_follow_the_daemon(port: FakePort) -> None:
    port.is_ready = False
    async with serve(port) as base:
        assert (await get(base + "/healthz"))[0] == 200
        code, _, body = await get(base + "/readyz")
        assert code == 503
        assert json.loads(body) == {"ready": False}
        port.is_ready = True
        assert (await get(base + "/readyz"))[0] == 200
        port.is_live = False
        code, _, body = await get(base + "/healthz")
        assert code == 503
        assert json.loads(body) == {"live": False}


async def test_every_response_carries_the_security_headers(port: FakePort) -> None:
    async with serve(port) as base:
        for path in ("/", "/api/status", "/api/audit", "/metrics", "/healthz", "/readyz",
                     "/static/style.css", "/no-such-page", "/api/audit?limit=x"):
            _, headers, _ = await get(base + path)
            assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
            assert headers["X-Content-Type-Options"] == "nosniff", path
            assert headers["X-Frame-Options"] == "DENY", path
            assert headers["Referrer-Policy"] == "no-referrer", path
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session, \
                session.post(base + "/api/fleets/support/pause") as resp:
            assert resp.status == 403
            assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src" not in CONTENT_SECURITY_POLICY  # default-src 'none' forbids scripts
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


async def test_api_responses_are_not_cached_but_static_files_may_be(port: FakePort) -> None:
    async with serve(port) as base:
        assert (await get(base + "/api/status"))[1]["Cache-Control"] == "no-store"
        assert (await get(base + "/"))[1]["Cache-Control"] == "no-store"
        assert "max-age" in (await get(base + "/static/style.css"))[1]["Cache-Control"]


async def test_an_internal_error_is_a_500_without_details() -> None:
    class Broken(FakePort):
        def status(self) -> DaemonStatus:
            raise RuntimeError("secret-detail-xyz")

    async with serve(Broken(DaemonStatus())) as base:
        code, headers, body = await get(base + "/api/status")
    assert code == 500
    assert json.loads(body) == {"error": "internal error"}
    assert "secret-detail-xyz" not in body
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_large_fleet_lists_bots_needing_attention_first_and_says_how_many_are_left() -> None:
    from molthub_gitops.sync.state import BotStatus, FleetStatus
    from molthub_gitops.web.pages import render_page

    bots = {f"b{i:03d}": BotStatus(name=f"b{i:03d}", fleet="big",
                                   state="Unreachable" if i % 60 == 59 else "Synced")
            for i in range(300)}
    status = DaemonStatus(fleets={"big": FleetStatus(name="big")}, bots=bots)
    page = render_page(status, [], live=True, max_bots_per_fleet=20)
    _text, tags = parse_page(page)
    rows = [attrs["data-bot"] for tag, attrs in tags if tag == "tr" and "data-bot" in attrs]
    assert len(rows) == 20
    assert rows == sorted(rows)
    assert {"b059", "b119", "b179", "b239", "b299"} <= set(rows)  # every Unreachable one
    assert "280 more bots not listed here" in page
    assert 'data-state="Synced"><span class="n">295</span>' in page  # counts cover them all
    full = render_page(status, [], live=True)  # the default (250) with 300 bots
    assert "50 more bots" in full
    small = render_page(status, [], live=True, max_bots_per_fleet=300)
    assert "more bot" not in small


def test_hashes_are_shortened_past_their_algorithm_prefix() -> None:
    from molthub_gitops.web.pages import short, short_hash

    assert short_hash("hmac-sha256:0123456789abcdef0123") == "0123456789ab"
    assert short_hash("f" * 64) == "f" * 12
    assert short_hash(None) == ""
    assert short("a" * 40) == "a" * 12
    assert short(None) == ""
