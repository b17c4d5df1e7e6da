"""Load, render and check a config repository: the orchestration behind the CLI commands.

Each function here does one user-facing job from a path (and optional Git revision):

* :func:`render_at` -- load and render (``molthub render``);
* :func:`explain_at` -- load, render and trace one config value (``molthub explain``);
* :func:`validate_repository` -- load, render, check every config against the OpenClaw schema
  of its fleet's pinned version (``molthub validate``), returning a :class:`ValidationReport`.

Rendering and checking run with the cyclic garbage collector paused (process-wide state, so
the pure core leaves it alone and this edge decides). Loading reads files or Git objects, so
this module sits in the repo layer; the pure core never imports it. User mistakes surface
as :class:`~molthub_gitops.errors.InputError` (from ``render_at`` / ``explain_at``) or as
problems in the report (``validate_repository``), so callers can print every problem at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from molthub_gitops.errors import InputError, Problem
from molthub_gitops.model.repository import FleetRepository
from molthub_gitops.render.engine import RenderedBot, RenderResult, render_repository
from molthub_gitops.render.explain import Explanation, explain
from molthub_gitops.render.schema_check import check_openclaw_schema
from molthub_gitops.repo.gcpause import gc_paused
from molthub_gitops.repo.load import load
from molthub_gitops.repo.resources import openclaw_schema

__all__ = [
    "ValidationReport",
    "check_schemas",
    "explain_at",
    "load_schemas",
    "render_at",
    "validate_repository",
]


@dataclass(frozen=True)
class ValidationReport:
    """What ``molthub validate`` found.

    ``problems`` are reasons the input could not be processed or is invalid (exit 2); when
    loading or rendering failed, ``bots`` is empty. Later stages (policy findings, a diff
    against a base revision) add fields here without changing the existing ones.
    """

    source: str
    bots: tuple[RenderedBot, ...] = ()
    fleets: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    stage: str = "done"
    """How far validation got: ``load``, ``render``, ``schema`` (failed there) or ``done``."""
    repository: FleetRepository | None = field(default=None, repr=False, compare=False)
    """The loaded repository (None when loading failed), for later stages such as policy."""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def environments(self) -> tuple[str, ...]:
        return tuple(sorted({b.environment for b in self.bots}))


def _source_name(path: Path, rev: str | None) -> str:
    return f"{path}@{rev}" if rev else str(path)


def _select(result: RenderResult, fleets: Sequence[str], bots: Sequence[str]
            ) -> tuple[RenderedBot, ...]:
    return tuple(
        b for b in result.bots
        if (not fleets or b.fleet in fleets) and (not bots or b.name in bots)
    )


def render_at(path: Path, rev: str | None = None, *, fleets: Sequence[str] = (),
              bots: Sequence[str] = ()) -> tuple[RenderedBot, ...]:
    """Load the repository at ``path`` (or Git revision ``rev`` of it) and render the bots
    of the named fleets and bots (all when both are empty), in the engine's stable order."""
    repo = load(path, rev)
    with gc_paused():
        result = render_repository(repo, fleets=list(fleets) or None, bots=list(bots) or None)
    return _select(result, fleets, bots)


def explain_at(path: Path, bot: str, config_path: str, rev: str | None = None) -> Explanation:
    """Every layer that set or overrode ``config_path`` of ``bot``, and the final value."""
    return explain(load(path, rev), bot, config_path)


def load_schemas(versions: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The vendored OpenClaw config schema of each of ``versions`` that has one.

    Versions without a schema are left out; the schema check reports them at the fleets that
    pin them.
    """
    schemas: dict[str, dict[str, Any]] = {}
    for version in sorted(set(versions)):
        try:
            schemas[version] = openclaw_schema(version)
        except InputError:
            continue
    return schemas


def check_schemas(bots: Sequence[RenderedBot]) -> list[Problem]:
    """Check each rendered config against the OpenClaw schema of its fleet's version (with
    the cyclic garbage collector paused: see :mod:`molthub_gitops.repo.gcpause`)."""
    schemas = load_schemas(b.openclaw_version for b in bots)
    with gc_paused():
        return check_openclaw_schema(bots, schemas)


def validate_repository(path: Path, rev: str | None = None) -> ValidationReport:
    """Load, render and schema-check the repository at ``path`` (or revision ``rev``)."""
    source = _source_name(path, rev)
    try:
        repo = load(path, rev)
    except InputError as exc:
        return ValidationReport(source, problems=exc.problems, stage="load")
    fleets = tuple(sorted(repo.fleets))
    try:
        with gc_paused():
            result = render_repository(repo)
    except InputError as exc:
        return ValidationReport(source, fleets=fleets, problems=exc.problems, stage="render",
                                repository=repo)
    problems = check_schemas(result.bots)
    return ValidationReport(
        source,
        bots=result.bots,
        fleets=fleets,
        problems=tuple(sorted(problems, key=Problem.sort_key)),
        stage="schema" if problems else "done",
        repository=repo,
    )
