"""Helpers of the web-app tests: a status built from the models, an in-memory DaemonPort,
the app served on a real loopback socket, and a small Prometheus text-format parser."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiohttp import web

from molthub_gitops.errors import SyncError
from molthub_gitops.sync.audit import AuditChain, AuditDraft, AuditEntry
from molthub_gitops.sync.metrics import Metrics
from molthub_gitops.sync.state import (
    BotResult,
    BotStatus,
    DaemonInfo,
    DaemonStatus,
    FleetStatus,
    GateStatus,
    Rollout,
    WaveStatus,
)
from molthub_gitops.web.app import create_app
from molthub_gitops.web.webhooks import WebhookEvent, WebhookSecrets

TIMEOUT = aiohttp.ClientTimeout(total=30)

C1 = "1" * 40
C2 = "2" * 40
C3 = "3" * 40
C4 = "4" * 40

HOSTILE_LABEL = "<script>window.__pwned=1</script>"
HOSTILE_KEY = '"><img src=x onerror="window.__pwned=2">'
HOSTILE_ERROR = "<img src=x onerror=\"window.__pwned=3\">boom"
HOSTILE_REASON = "</td></tr></table><script>window.__pwned=4</script>"


def _bot(name: str, fleet: str, state: str, **kw: Any) -> BotStatus:
    data: dict[str, Any] = {
        "name": name, "fleet": fleet, "environment": "prod", "state": state,
        "health": "Healthy" if state == "Synced" else "Unknown",
        "desired_version": "2026.9.6", "reported_version": "2026.9.6",
        "gateway_url": f"ws://127.0.0.1:18789/{name}",
        "desired_hash": "d" * 64, "observed_hash": "e" * 64,
        "labels": {"team": "support"},
    }
    data.update(kw)
    return BotStatus.model_validate(data)


def sample_status(*, hostile: bool = True) -> DaemonStatus:
    """Two fleets, bots in every state, a canary baking, a failing gate, a pinned fleet."""
    labels = {"team": "support", "note": HOSTILE_LABEL, HOSTILE_KEY: "x"} if hostile else {
        "team": "support"}
    bots = {
        "alpha": _bot("alpha", "support", "Synced", labels=labels),
        "bravo": _bot("bravo", "support", "Progressing", rollout_id="support@" + C3[:12] + "#1"),
        "charlie": _bot("charlie", "support", "OutOfSync", drift=["gateway.port", "tools.exec"],
                        drift_count=2),
        "delta": _bot("delta", "support", "Degraded", health="Degraded",
                      health_detail="channel telegram failed"),
        "echo": _bot("echo", "sales", "Unreachable", health="Unknown", reported_version=None,
                     last_error=HOSTILE_ERROR if hostile else "connection refused"),
        "foxtrot": _bot("foxtrot", "sales", "Synced", reported_version="2026.3.31"),
    }
    rollout = Rollout(
        id=f"support@{C3[:12]}#1", fleet="support", kind="sync", commit=C3, previous_commit=C2,
        strategy="canary",
        waves=[WaveStatus(index=1, kind="canary", bots=["bravo"], bake_seconds=60),
               WaveStatus(index=2, kind="batch", bots=["alpha", "charlie"]),
               WaveStatus(index=3, kind="batch", bots=["delta"])],
        current_wave=0, phase="Baking",
        results={"bravo": BotResult(bot="bravo", result="applied"),
                 "alpha": BotResult(bot="alpha"), "charlie": BotResult(bot="charlie"),
                 "delta": BotResult(bot="delta")},
        failures=0, failure_threshold=1, started_at="2026-11-26T15:00:00Z",
        bake_until="2026-11-26T15:01:00Z",
        reason=HOSTILE_REASON if hostile else "",
    )
    fleets = {
        "support": FleetStatus(name="support", environment="prod", provider="simulated",
                               openclaw_version="2026.9.6", strategy="canary", self_heal=True,
                               bots=["alpha", "bravo", "charlie", "delta"],
                               last_synced_commit=C2, rollout=rollout),
        "sales": FleetStatus(name="sales", environment="staging", provider="existing",
                             openclaw_version="2026.9.6", strategy="all", suspended=True,
                             bots=["echo", "foxtrot"], last_synced_commit=C1,
                             last_failed_commit=C2, last_failed_reason="2 failures > threshold 1",
                             pinned_commit=C1, pinned_head=C3),
    }
    return DaemonStatus(
        repo="https://git.example.com/acme/fleet.git", branch="main", head_commit=C4,
        applied_commit=C3,
        gate=GateStatus(commit=C4, ok=False,
                        problems=["fleets/support.yaml:7: error[schema]: gateway.port is not "
                                  "an integer"],
                        checked_at="2026-11-26T15:02:00Z"),
        fleets=fleets, bots=bots, updated_at="2026-11-26T15:02:03Z",
        daemon=DaemonInfo(version="0.1.0", started_at="2026-11-26T14:00:00Z", replica="host-1"),
    )


def sample_audit(count: int = 6, *, hostile: bool = True) -> list[AuditEntry]:
    """A chained audit log: apply/drift events on the two fleets."""
    chain = AuditChain()
    drafts = []
    for i in range(count):
        fleet = "support" if i % 2 == 0 else "sales"
        drafts.append(AuditDraft(
            actor="molthub-sync", action="apply" if i % 3 else "drift",
            result="ok" if i % 4 else "failed", commit=C3, fleet=fleet, bot=f"bot-{i}",
            hash_before="a" * 64, hash_after=f"{i:064d}", rollout_id=f"{fleet}@{C3[:12]}#1",
            reason=HOSTILE_REASON if hostile and i == 1 else f"event {i}",
            time=f"2026-11-26T15:00:{i:02d}Z"))
    return chain.append(drafts)


@dataclass
class ControlCall:
    fleet: str
    action: str
    actor: str
    full: bool
    to: str | None
    reason: str


@dataclass
class FakePort:
    """An in-memory DaemonPort: serves a fixed status and log and records what it is asked."""

    state: DaemonStatus
    audit: list[AuditEntry] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    is_live: bool = True
    is_ready: bool = True
    control_delay: float = 0.0
    calls: list[ControlCall] = field(default_factory=list)
    events: list[WebhookEvent] = field(default_factory=list)

    def status(self) -> DaemonStatus:
        return self.state

    def recent_audit(self, limit: int = 100) -> list[AuditEntry]:
        return sorted(self.audit, key=lambda e: e.seq)[-limit:]

    def live(self) -> bool:
        return self.is_live

    def ready(self) -> bool:
        return self.is_ready

    async def control(self, fleet: str, action: str, *, actor: str, full: bool = False,
                      to: str | None = None, reason: str = "") -> FleetStatus:
        self.calls.append(ControlCall(fleet, action, actor, full, to, reason))
        if self.control_delay:
            await asyncio.sleep(self.control_delay)
        found = self.state.fleets.get(fleet)
        if found is None:
            raise SyncError(f"no fleet named {fleet!r}", code="unknown-fleet")
        rollout = found.rollout
        if action == "rollback":
            found.pinned_commit = to or found.last_synced_commit
            return found
        if rollout is None or rollout.terminal:
            raise SyncError(f"fleet {fleet!r} has no rollout in progress", code="bad-phase")
        if action == "pause":
            rollout.phase = "Paused"
        elif action == "resume":
            if rollout.phase != "Paused":
                raise SyncError("the rollout is not paused", code="bad-phase")
            rollout.phase = "Progressing"
        elif action == "promote":
            if rollout.phase != "Baking":
                raise SyncError("only a baking canary can be promoted", code="bad-phase")
            rollout.promoted = True
            rollout.promote_full = full
        elif action == "abort":
            rollout.phase = "Aborted"
            rollout.reason = reason
        return found

    def on_webhook(self, event: WebhookEvent) -> None:
        self.events.append(event)


@asynccontextmanager
async def serve(port: FakePort, *, api_token: str | None = None,
                webhook_secrets: WebhookSecrets | None = None, refresh_seconds: int = 5,
                control_timeout: float = 30.0) -> AsyncIterator[str]:
    """The app on 127.0.0.1 (a free port); yields its base URL (``http://127.0.0.1:N``)."""
    app = create_app(port, api_token=api_token,
                     webhook_secrets=webhook_secrets or WebhookSecrets(), branch="main",
                     status_branch="molthub-status", refresh_seconds=refresh_seconds,
                     control_timeout=control_timeout)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await asyncio.wait_for(runner.setup(), 30)
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await asyncio.wait_for(site.start(), 30)
        host, number = runner.addresses[0][:2]
        yield f"http://{host}:{number}"
    finally:
        await asyncio.wait_for(runner.cleanup(), 30)


# --------------------------------------------------------------------------- Prometheus text

_SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def _unescape(value: str) -> str:
    out = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


@dataclass
class Family:
    name: str
    help: str = ""
    type: str = ""
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)


def parse_prometheus(text: str) -> dict[str, Family]:
    """Parse the text exposition format strictly enough to catch a malformed line."""
    families: dict[str, Family] = {}
    assert text.endswith("\n"), "the exposition must end with a newline"
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            fam = families.setdefault(name, Family(name))
            assert not fam.help, f"line {lineno}: second HELP for {name}"
            fam.help = help_text
            continue
        if line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in {"counter", "gauge", "histogram", "summary", "untyped"}, line
            fam = families.setdefault(name, Family(name))
            assert not fam.samples, f"line {lineno}: TYPE after samples of {name}"
            fam.type = kind
            continue
        assert not line.startswith("#"), f"line {lineno}: unknown comment {line!r}"
        match = _SAMPLE_RE.match(line)
        assert match, f"line {lineno}: not a sample: {line!r}"
        sample_name, _, raw_labels, raw_value = match.groups()
        labels: dict[str, str] = {}
        rest = raw_labels or ""
        while rest:
            lm = _LABEL_RE.match(rest)
            assert lm, f"line {lineno}: bad labels {raw_labels!r}"
            labels[lm.group(1)] = _unescape(lm.group(2))
            rest = rest[lm.end():]
        value = float(raw_value.replace("+Inf", "inf"))
        base = sample_name
        for suffix in ("_bucket", "_sum", "_count"):
            if sample_name.endswith(suffix) and sample_name[: -len(suffix)] in families \
                    and families[sample_name[: -len(suffix)]].type == "histogram":
                base = sample_name[: -len(suffix)]
        assert base in families, f"line {lineno}: sample {sample_name} without HELP/TYPE"
        families[base].samples.append((sample_name, labels, value))
    return families


# --------------------------------------------------------------------------- page text

class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in {"style", "script", "title"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script", "title"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def parse_page(page: str) -> tuple[str, list[tuple[str, dict[str, str | None]]]]:
    """The page's visible text (whitespace collapsed) and every start tag with its attributes."""
    parser = _TextParser()
    parser.feed(page)
    parser.close()
    return " ".join("".join(parser.parts).split()), parser.tags
