"""Helpers every report format shares: counts, bot lists, value display, size budgets.

Pure: no I/O. Formats escape user text themselves (each has its own rules); what lives here
is format-neutral.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from molthub_gitops.errors import Location, Problem
from molthub_gitops.model.sensitive import redact_value
from molthub_gitops.plan.types import FleetWaves, PathChange, RevisionDiff, Wave
from molthub_gitops.policy.findings import Finding, sorted_findings
from molthub_gitops.report.outcome import Outcome

__all__ = [
    "Budget",
    "Counts",
    "bots_phrase",
    "counts",
    "diff_phrase",
    "display_value",
    "duration",
    "findings",
    "location_text",
    "no_control",
    "plural",
    "prefixed",
    "problems",
    "safe_value",
    "single_line",
    "truncate",
    "verdict",
    "waived",
    "wave_phrase",
    "waves_count_phrase",
]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Counts:
    """The totals every format shows."""

    errors: int
    warnings: int
    info: int
    waived: int
    problems: int
    bots_checked: int
    failing: int


def findings(outcome: Outcome) -> tuple[Finding, ...]:
    """Findings in force, in report order (worst first, then file and line)."""
    return sorted_findings(outcome.policy.findings) if outcome.policy else ()


def waived(outcome: Outcome) -> tuple[Finding, ...]:
    """Waived findings, in report order."""
    return sorted_findings(outcome.policy.waived) if outcome.policy else ()


def problems(outcome: Outcome) -> tuple[Problem, ...]:
    """Input problems, in file order."""
    return tuple(sorted(outcome.problems, key=Problem.sort_key))


def counts(outcome: Outcome) -> Counts:
    policy = outcome.policy
    if policy is None:
        return Counts(0, 0, 0, 0, len(outcome.problems), 0, 0)
    return Counts(
        errors=policy.count("error"),
        warnings=policy.count("warning"),
        info=policy.count("info"),
        waived=len(policy.waived),
        problems=len(outcome.problems),
        bots_checked=policy.bots_checked or outcome.bots,
        failing=len(policy.failing(outcome.fail_on)),
    )


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 error``, ``2 errors`` (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def verdict(outcome: Outcome) -> str:
    """One of ``input-error``, ``failed``, ``passed`` (validate) or ``changes``, ``no-changes``
    (diff); follows :attr:`Outcome.exit_code`."""
    code = outcome.exit_code
    if code == 2:
        return "input-error"
    if outcome.command == "diff":
        return "changes" if code == 1 else "no-changes"
    return "failed" if code == 1 else "passed"


def single_line(text: str) -> str:
    """``text`` on one line with control characters shown as escapes (so user text can
    neither break a line-oriented format nor send terminal escape sequences)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", " ").replace("\t", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def no_control(text: str) -> str:
    """``text`` with control characters other than newline shown as escapes."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, with ``…`` when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + "…"


def bots_phrase(bots: Sequence[str], limit: int = 10) -> str:
    """``a, b, c`` or ``a, b and 3 more`` (at most ``limit`` names)."""
    if len(bots) <= limit:
        return ", ".join(bots)
    return f"{', '.join(bots[:limit])} and {len(bots) - limit} more"


def safe_value(path: str, value: Any) -> Any:
    """A before/after value as shown: the diff already redacts secrets; this redacts again
    (defence in depth) so no format can show a literal secret at a sensitive path."""
    return redact_value((path,), value)


def display_value(change: PathChange, side: str, limit: int = 200) -> str:
    """One side of a path change as compact JSON (``(absent)`` when the path is missing)."""
    if side == "before":
        if not change.present_before:
            return "(absent)"
        value = change.before
    else:
        if not change.present_after:
            return "(absent)"
        value = change.after
    shown = safe_value(change.path, value)
    text = json.dumps(shown, ensure_ascii=False, sort_keys=True, default=str)
    return truncate(single_line(text), limit)


def duration(seconds: float) -> str:
    """``90`` -> ``1m30s``; ``0.5`` -> ``0.5s``; ``3600`` -> ``1h``."""
    if seconds < 60:
        return f"{seconds:g}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "",
             f"{secs}s" if secs else ""]
    return "".join(parts)


def wave_phrase(wave: Wave, limit: int = 5) -> str:
    """``1 canary: a (bake 10m)`` / ``2 batch: 12 bots``."""
    who = ", ".join(wave.bots) if len(wave.bots) <= limit else plural(len(wave.bots), "bot")
    extra = []
    if wave.bake_seconds:
        extra.append(f"bake {duration(wave.bake_seconds)}")
    if wave.pause_seconds:
        extra.append(f"pause {duration(wave.pause_seconds)}")
    tail = f" ({', '.join(extra)})" if extra else ""
    return f"{wave.index} {wave.kind}: {who}{tail}"


def waves_count_phrase(waves: Iterable[FleetWaves]) -> str:
    """``support 3, sales 1`` (waves per fleet)."""
    return ", ".join(f"{fw.fleet} {len(fw.waves)}" for fw in waves)


def diff_phrase(diff: RevisionDiff) -> str:
    """``3 bots changed (1 added, 0 removed, 2 changed) of 36 in 2 fleets (1 environment)``."""
    if diff.empty:
        return "no bot changes"
    br = diff.blast_radius
    return (
        f"{plural(len(diff.bots), 'bot')} changed ({diff.count('added')} added, "
        f"{diff.count('removed')} removed, {diff.count('changed')} changed) of {br.bots_total} "
        f"in {plural(len(br.fleets), 'fleet')} ({plural(len(br.environments), 'environment')})"
    )


def prefixed(outcome: Outcome, location: Location | None) -> str:
    """The location's file relative to the Git work tree (``path_prefix`` + file)."""
    if location is None or not location.file:
        return ""
    prefix = outcome.path_prefix
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return prefix + location.file.lstrip("/")


def location_text(location: Location | None) -> str:
    return single_line(str(location)) if location is not None and location.file else ""


class Budget:
    """Appends blocks of text while they fit in ``limit`` UTF-8 bytes, keeping ``reserve``
    bytes for a closing note. Blocks are never cut: a table row or code block is either whole
    or absent."""

    def __init__(self, limit: int, reserve: int = 1024) -> None:
        self.limit = limit
        self.reserve = reserve
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def remaining(self) -> int:
        return self.limit - self.reserve - self.size

    def fits(self, block: str) -> bool:
        return len(block.encode("utf-8")) <= self.remaining()

    def add(self, block: str) -> bool:
        """Append ``block`` if it fits (and nothing was refused before); say whether it did."""
        if self.truncated:
            return False
        if not self.fits(block):
            self.truncated = True
            return False
        self.parts.append(block)
        self.size += len(block.encode("utf-8"))
        return True

    def add_all(self, blocks: Iterable[str]) -> int:
        """Append blocks in order until one does not fit; return how many were left out."""
        left = 0
        for block in blocks:
            if left or not self.add(block):
                left += 1
        return left

    def text(self) -> str:
        return "".join(self.parts)
