"""``molthub validate`` and ``molthub diff``: load, render, check, apply policy, diff against a
base revision, and gather it all into one :class:`~molthub_gitops.report.outcome.Outcome`.

Stages, in order (``Outcome.stage`` names the one that failed, ``done`` otherwise):

``load`` -> ``render`` -> ``schema`` -> ``policy`` -> ``base`` -> ``done``

* The head is the files on disk (``head=None``) or a Git revision read from the object
  database (no checkout). ``diff`` skips ``schema`` and ``policy``.
* ``policy``: a wrong rule definition (unknown type, bad regex...) is a problem there.
* ``base``: a base revision that cannot be read, loaded or rendered. Its problems describe
  files *of the base*, which a report must not annotate on the head's lines, so each such
  problem is reported without a location, its message prefixed ``base <ref>:`` and the base
  file:line (``base main: fleets/a.yaml:3: ...``). A base that is not a commit (``unknown
  revision``) is the same kind of problem. Problems always mean exit 2, never a traceback.

Reuse across revisions (``--base`` must not cost two full renders): both revisions are loaded
with one :class:`~molthub_gitops.model.loader.DocumentCache`, so a file with the same bytes
on both sides is parsed once and its documents are the very same objects. The base side
then renders only the fleets whose render inputs differ (:func:`stale_fleets`: the fleet
document, its template, its fleet and bot profiles, any overlay that differs and selects
one of its bots, molthub.yaml); the bots of every other fleet are the head's bots, which
identical inputs render identically. Schema and policy checks run on the head only.

``today`` (exception expiry) defaults to the clock here, at the edge; the policy core gets
it injected.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, TypeVar

import pygit2

from molthub_gitops.errors import InputError, Problem
from molthub_gitops.model.documents import Fleet
from molthub_gitops.model.loader import DocumentCache
from molthub_gitops.model.repository import FleetRepository, SourceDoc
from molthub_gitops.plan.diff import diff_revisions
from molthub_gitops.plan.types import RevisionDiff
from molthub_gitops.policy.engine import evaluate_policies
from molthub_gitops.policy.findings import SEVERITIES, PolicyResult, Severity
from molthub_gitops.render.engine import render_repository
from molthub_gitops.render.selectors import SelectorMatcher
from molthub_gitops.render.types import RenderedBot
from molthub_gitops.repo.gcpause import gc_paused
from molthub_gitops.repo.load import load_directory, load_with_commit
from molthub_gitops.repo.pipeline import check_schemas
from molthub_gitops.report.outcome import Outcome

__all__ = [
    "CommitVerdict",
    "config_path_prefix",
    "render_base",
    "run_diff",
    "run_validate",
    "stale_fleets",
    "tool_version",
    "validate_commit",
]

T = TypeVar("T")


# --------------------------------------------------------------------------- small edges


def tool_version() -> str:
    """The installed molthub-gitops version ("0" when not installed as a distribution)."""
    try:
        return metadata.version("molthub-gitops")
    except metadata.PackageNotFoundError:
        return "0"


def config_path_prefix(path: Path) -> str:
    """The config repository's folder inside its Git work tree (``example-repo/``), "" at the
    work tree's root or outside any Git repository."""
    try:
        found = pygit2.discover_repository(str(path))
        if found is None:
            return ""
        repo = pygit2.Repository(found)
    except (pygit2.GitError, OSError, ValueError):
        return ""
    if repo.is_bare or repo.workdir is None:
        return ""
    try:
        rel = path.resolve().relative_to(Path(repo.workdir).resolve())
    except ValueError:
        return ""
    text = rel.as_posix()
    return "" if text in ("", ".") else text.rstrip("/") + "/"


def _source(path: Path, rev: str | None) -> str:
    return f"{path}@{rev}" if rev else str(path)


def _label(rev: str | None, commit: str | None) -> str:
    """How a revision is named in the diff: ``main (0123456789ab)``, ``working tree``."""
    if rev is None:
        return "working tree"
    if commit and not commit.startswith(rev):
        return f"{rev} ({commit[:12]})"
    return rev


def _load(path: Path, rev: str | None, cache: DocumentCache, subdir: str | None = None
          ) -> tuple[FleetRepository, str | None]:
    if rev is None:
        return load_directory(path, cache=cache), None
    return load_with_commit(path, rev, cache=cache, subdir=subdir)


# --------------------------------------------------------------------------- reuse


def _same(a: SourceDoc[Any] | None, b: SourceDoc[Any] | None) -> bool:
    if a is b:
        return True
    return a is not None and b is not None and a == b


def _changed(base: Mapping[str, SourceDoc[Any]], head: Mapping[str, SourceDoc[Any]]
             ) -> set[str]:
    return {n for n in base.keys() | head.keys() if not _same(base.get(n), head.get(n))}


def stale_fleets(base: FleetRepository, head: FleetRepository) -> frozenset[str] | None:
    """Fleets of ``base`` whose render inputs differ from ``head``'s (``None``: all of them).

    A fleet is stale when its document differs or is new, or its template, one of its
    fleet or bot profiles, or an overlay that differs (added, removed, changed, on either
    side) and whose selector picks at least one of the fleet's bots. A different
    molthub.yaml makes every fleet stale. Unchanged documents are usually the same objects
    (a shared DocumentCache); otherwise they are compared by value.
    """
    if not _same(base.repository, head.repository):
        return None
    templates = _changed(base.templates, head.templates)
    profiles = _changed(base.profiles, head.profiles)
    overlay_names = _changed(base.overlays, head.overlays)
    matchers = [
        SelectorMatcher(sd.doc.spec.selector)
        for name in sorted(overlay_names)
        for sd in (base.overlays.get(name), head.overlays.get(name))
        if sd is not None
    ]
    stale: set[str] = set()
    for name, fleet in base.fleets.items():
        spec = fleet.doc.spec
        if (
            not _same(fleet, head.fleets.get(name))
            or spec.template in templates
            or any(p in profiles for p in spec.profiles)
            or any(p in profiles for bot in spec.bots for p in bot.profiles)
            or any(_selects_some_bot(m, fleet) for m in matchers)
        ):
            stale.add(name)
    return frozenset(stale)


def _selects_some_bot(matcher: SelectorMatcher, fleet: SourceDoc[Fleet]) -> bool:
    """Whether an overlay with this selector applies to at least one bot of ``fleet`` (the
    renderer's own test: fleet and environment, then each bot's name and labels, which are
    the fleet's labels overridden by the bot's)."""
    spec = fleet.doc.spec
    if not matcher.matches_fleet(fleet.name, spec.environment):
        return False
    labels = dict(fleet.doc.metadata.labels)
    return any(matcher.matches_bot(bot.name, {**labels, **bot.labels}) for bot in spec.bots)


def render_base(
    base: FleetRepository,
    head: FleetRepository,
    head_bots: Sequence[RenderedBot],
    *,
    reuse: bool = True,
) -> tuple[RenderedBot, ...]:
    """The rendered bots of ``base``: only its stale fleets rendered, the others taken from
    ``head_bots`` (``reuse=False`` renders everything, for comparison). Raises InputError."""
    stale = stale_fleets(base, head) if reuse else None
    if stale is None:
        with gc_paused():
            return render_repository(base).bots
    rendered: list[RenderedBot] = []
    if stale:
        with gc_paused():
            rendered.extend(render_repository(base, fleets=sorted(stale)).bots)
    rendered.extend(b for b in head_bots if b.fleet in base.fleets and b.fleet not in stale)
    rendered.sort(key=lambda b: (b.fleet, b.name))
    return tuple(rendered)


# --------------------------------------------------------------------------- the pipeline


def _base_problem(ref: str, problem: Problem) -> Problem:
    where = f"{problem.location}: " if problem.location is not None else ""
    return Problem(problem.code, f"base {ref}: {where}{problem.message}", None, problem.hint)


class _Stop(Exception):
    def __init__(self, stage: str, problems: Sequence[Problem]) -> None:
        super().__init__(stage)
        self.stage = stage
        self.problems = tuple(sorted(problems, key=Problem.sort_key))


def _stage(stage: str, run: Callable[[], T]) -> T:
    try:
        return run()
    except InputError as exc:
        raise _Stop(stage, exc.problems) from None


class _Run:
    """The state of one validate/diff run, filled stage by stage."""

    def __init__(self, path: Path, head: str | None, subdir: str | None = None) -> None:
        self.path = path
        self.head = head
        self.subdir = subdir
        self.cache = DocumentCache()
        self.repo: FleetRepository | None = None
        self.commit: str | None = None
        self.bots: tuple[RenderedBot, ...] = ()
        self.policy: PolicyResult | None = None
        self.diff: RevisionDiff | None = None

    def load_head(self) -> None:
        self.repo, self.commit = _stage(
            "load", lambda: _load(self.path, self.head, self.cache, self.subdir))

    def render_head(self) -> None:
        repo = self.repo
        assert repo is not None

        def render() -> tuple[RenderedBot, ...]:
            with gc_paused():
                return render_repository(repo).bots
        self.bots = _stage("render", render)

    def diff_base(self, base: str, reuse: bool) -> None:
        repo = self.repo
        assert repo is not None
        label: str
        try:
            base_repo, base_commit = _load(self.path, base, self.cache, self.subdir)
            base_bots = render_base(base_repo, repo, self.bots, reuse=reuse)
            label = _label(base, base_commit)
        except InputError as exc:
            if not _absent_at_base(exc):
                raise _Stop("base", [_base_problem(base, p) for p in exc.problems]) from None
            # The pull request that adds (or moves) the config repository: nothing to compare
            # with, so every bot is added.
            base_bots = ()
            label = f"{base} (no config repository there)"
        with gc_paused():
            self.diff = diff_revisions(
                base_bots, self.bots, base=label, head=_label(self.head, self.commit))

    def outcome(self, command: Literal["validate", "diff"], fail_on: Severity, stage: str,
                problems: Sequence[Problem] = ()) -> Outcome:
        repo = self.repo
        fleets = tuple(sorted(repo.fleets)) if repo is not None else ()
        return Outcome(
            command=command,
            source=_source(self.path, self.head),
            fail_on=fail_on,
            stage=stage,
            problems=tuple(problems),
            bots=len(self.bots),
            fleets=fleets,
            environments=tuple(sorted({b.environment for b in self.bots})),
            openclaw_versions=tuple(sorted({b.openclaw_version for b in self.bots})),
            policy=self.policy,
            diff=self.diff,
            path_prefix=config_path_prefix(self.path),
            tool_version=tool_version(),
        )


def _absent_at_base(exc: InputError) -> bool:
    """Whether the base revision simply has no config repository at this path (the folder or
    its molthub.yaml does not exist there yet), as opposed to a broken one."""
    if len(exc.problems) != 1:
        return False
    problem = exc.problems[0]
    if problem.code == "not-found":
        return True
    # "no molthub.yaml at the repository root" (line 0), not "molthub.yaml holds no
    # Repository document" (a broken one).
    return (problem.code == "missing-repository" and problem.location is not None
            and problem.location.line == 0)


def _fail_on(given: str | None, repo: FleetRepository | None) -> Severity:
    for level in SEVERITIES:
        if given == level:
            return level
    if repo is not None:
        return repo.repository.doc.spec.policy.fail_on
    return "error"


def _bad_fail_on(given: str | None) -> Problem | None:
    if given is None or given in SEVERITIES:
        return None
    return Problem("bad-option", f"--fail-on {given!r} is not a severity", None,
                   "use one of: error, warning, info")


def _validate(run: _Run, *, base: str | None, fail_on: str | None,
              today: datetime.date | None, reuse: bool) -> Outcome:
    bad = _bad_fail_on(fail_on)
    if bad is not None:
        return run.outcome("validate", "error", "load", [bad])
    try:
        run.load_head()
        run.render_head()
        repo = run.repo
        assert repo is not None
        problems = _stage("schema", lambda: check_schemas(run.bots))
        if problems:
            raise _Stop("schema", problems)
        when = today if today is not None else datetime.date.today()

        def policy() -> PolicyResult:
            with gc_paused():
                return evaluate_policies(repo, run.bots, today=when)
        run.policy = _stage("policy", policy)
        if base is not None:
            run.diff_base(base, reuse)
    except _Stop as stop:
        return run.outcome("validate", _fail_on(fail_on, run.repo), stop.stage, stop.problems)
    return run.outcome("validate", _fail_on(fail_on, run.repo), "done")


def run_validate(
    path: Path,
    *,
    head: str | None = None,
    base: str | None = None,
    fail_on: str | None = None,
    today: datetime.date | None = None,
    reuse: bool = True,
) -> Outcome:
    """Validate the repository at ``path`` (the files on disk, or revision ``head``): load,
    render, schema check, policy, and with ``base`` the diff against that revision.

    ``fail_on`` overrides the Repository's ``spec.policy.failOn``; ``today`` the clock (for
    exception expiry). ``reuse=False`` renders the whole base (tests compare both ways).
    """
    return _validate(_Run(path, head), base=base, fail_on=fail_on, today=today, reuse=reuse)


@dataclass(frozen=True)
class CommitVerdict:
    """What the sync daemon's gate learns of one commit: the same :class:`Outcome` as
    ``molthub validate --head COMMIT`` (``outcome.exit_code == 0`` means it may be applied),
    and, when it got that far, the loaded repository and the rendered bots."""

    outcome: Outcome
    commit: str | None
    repository: FleetRepository | None
    bots: tuple[RenderedBot, ...]

    @property
    def ok(self) -> bool:
        return self.outcome.exit_code == 0


def validate_commit(repo_path: Path, commit: str, *, subdir: str = "",
                    today: datetime.date | None = None) -> CommitVerdict:
    """Validate revision ``commit`` of the Git repository at ``repo_path`` (a bare clone is
    fine), with the config repository in its folder ``subdir`` ('' = the root)."""
    run = _Run(repo_path, commit, subdir=subdir)
    outcome = _validate(run, base=None, fail_on=None, today=today, reuse=True)
    return CommitVerdict(outcome, run.commit, run.repo, run.bots)


def run_diff(path: Path, *, base: str, head: str | None = None, reuse: bool = True
             ) -> Outcome:
    """The diff alone between revision ``base`` and ``head`` (None: the files on disk):
    load and render both, no schema or policy checks. Exit code 0 none, 1 some, 2 error."""
    run = _Run(path, head)
    try:
        run.load_head()
        run.render_head()
        run.diff_base(base, reuse)
    except _Stop as stop:
        return run.outcome("diff", _fail_on(None, run.repo), stop.stage, stop.problems)
    return run.outcome("diff", _fail_on(None, run.repo), "done")

