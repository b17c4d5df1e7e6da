"""Every report format by name: ``render_report(fmt, outcome)`` is what the CLI calls."""

from __future__ import annotations

from collections.abc import Callable

from molthub_gitops.errors import InputError
from molthub_gitops.report.github import render_github
from molthub_gitops.report.jsonout import render_json
from molthub_gitops.report.junit import render_junit
from molthub_gitops.report.markdown import render_markdown
from molthub_gitops.report.outcome import Outcome
from molthub_gitops.report.sarif import render_sarif
from molthub_gitops.report.text import render_text

__all__ = ["FORMATS", "render_report"]

FORMATS: tuple[str, ...] = ("text", "json", "sarif", "github", "junit", "markdown")

_RENDERERS: dict[str, Callable[[Outcome], str]] = {
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
    "junit": render_junit,
    "markdown": render_markdown,
}


def render_report(fmt: str, outcome: Outcome, *, color: bool = False) -> str:
    """``outcome`` in format ``fmt`` (one of :data:`FORMATS`). ``color`` applies to ``text``
    only. An unknown format is an :class:`InputError` (``unknown-format``)."""
    if fmt == "text":
        return render_text(outcome, color=color)
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise InputError.single("unknown-format", f"unknown report format {fmt!r}",
                                hint="use one of: " + ", ".join(FORMATS))
    return renderer(outcome)
