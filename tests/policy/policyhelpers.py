"""Shared helpers of the policy tests: small repositories from files, rendering, evaluation,
and the broken-policy case runner (``<case>/expect.yaml`` + ``<case>/repo/`` over a base).

Case format (see /work/notes/requests.md): ``repo/`` files are laid over the base repository
(``base:`` in expect.yaml, relative to the case folder; default ``tests/broken-policy/_base-repo``);
``remove:`` drops base files; ``findings:`` / ``waived:`` list exactly the findings expected
(rule, severity, file, line, bots, optional path, message substring, waived_by); ``fails:``
whether the repository's ``failOn`` makes the result fail; ``today:`` the evaluation date.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from molthub_gitops.model.loader import load_files
from molthub_gitops.model.repository import FleetRepository
from molthub_gitops.policy.engine import evaluate_policies
from molthub_gitops.policy.findings import Finding, PolicyResult
from molthub_gitops.render.engine import render_repository
from molthub_gitops.render.types import RenderedBot

__all__ = [
    "BASE_REPO",
    "BROKEN_POLICY",
    "TODAY",
    "Case",
    "assert_case",
    "base_files",
    "case_dirs",
    "describe",
    "evaluate",
    "evaluate_case",
    "load_case",
    "only",
    "pack_yaml",
    "read_tree",
    "render",
    "replaced",
    "repo_from_files",
    "repository_yaml",
    "with_base",
    "with_rules",
]

TESTS = Path(__file__).resolve().parents[1]
BROKEN_POLICY = TESTS / "broken-policy"
BASE_REPO = BROKEN_POLICY / "_base-repo"
TODAY = datetime.date(2026, 6, 1)
"""The evaluation date of every policy test (exceptions in the base expire after it)."""

Files = Mapping[str, "str | bytes | None"]


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by relative posix path."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def base_files(base: Path = BASE_REPO) -> dict[str, bytes]:
    """The files of the base repository (valid, compliant with the built-in packs)."""
    return read_tree(base)


def with_base(changes: Files, *, base: Path = BASE_REPO) -> dict[str, bytes]:
    """The base repository's files with ``changes`` applied (``None`` removes a file)."""
    files = base_files(base)
    for path, value in changes.items():
        if value is None:
            files.pop(path, None)
        else:
            files[path] = _bytes(value)
    return files


def replaced(path: str, old: str, new: str, *, base: Path = BASE_REPO) -> dict[str, str]:
    """``{path: text}``: the base file ``path`` with ``old`` replaced by ``new`` (which must
    occur), for ``with_base`` / ``with_rules`` changes."""
    text = (base / path).read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    return {path: text.replace(old, new)}


def repo_from_files(files: Files, *, source: str = "test") -> FleetRepository:
    """Load a repository from ``{relative path: YAML text or bytes}`` (``None`` values are
    ignored). Raises InputError like the real loader."""
    return load_files({p: _bytes(v) for p, v in files.items() if v is not None}, source=source)


def render(repo: FleetRepository) -> tuple[RenderedBot, ...]:
    """Every bot of ``repo``, rendered."""
    return render_repository(repo).bots


def evaluate(files: Files, *, today: datetime.date = TODAY) -> PolicyResult:
    """Load, render and policy-check ``files`` (a whole repository)."""
    repo = repo_from_files(files)
    return evaluate_policies(repo, render(repo), today=today)


def describe(findings: Iterable[Finding]) -> str:
    """Findings one per line, for assertion messages."""
    lines = []
    for f in findings:
        where = str(f.location) if f.location is not None else "-"
        waived = f" waived_by={f.waived_by}" if f.waived_by else ""
        lines.append(f"{where} {f.severity} {f.rule} bots={list(f.bots)} path={f.path!r} "
                     f"{f.message!r}{waived}")
    return "\n".join(lines) or "(none)"


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One broken-policy case, loaded and rendered."""

    name: str
    dir: Path
    expect: Mapping[str, Any]
    files: Mapping[str, bytes]
    repo: FleetRepository
    bots: tuple[RenderedBot, ...]

    @property
    def today(self) -> datetime.date:
        value = self.expect.get("today", TODAY)
        return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(
            str(value))


def case_dirs(root: Path) -> list[Path]:
    """Case folders under ``root`` (those holding expect.yaml; ``_*`` skipped), sorted."""
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith("_") and (p / "expect.yaml").exists())


def load_case(case_dir: Path) -> Case:
    """The case's files (repo/ over its base), loaded and rendered."""
    expect = yaml.safe_load((case_dir / "expect.yaml").read_text(encoding="utf-8")) or {}
    base = (case_dir / expect["base"]).resolve() if "base" in expect else BASE_REPO
    files = base_files(base)
    for path in expect.get("remove", []) or []:
        assert path in files, f"{case_dir.name}: remove: {path} is not in the base"
        del files[path]
    overlay = case_dir / "repo"
    if overlay.is_dir():
        files.update(read_tree(overlay))
    repo = repo_from_files(files, source=case_dir.name)
    return Case(case_dir.name, case_dir, expect, files, repo, render(repo))


def evaluate_case(case: Case) -> PolicyResult:
    return evaluate_policies(case.repo, case.bots, today=case.today)


def _matches(f: Finding, want: Mapping[str, Any]) -> bool:
    loc = f.location
    if f.rule != want["rule"] or f.severity != want.get("severity", f.severity):
        return False
    if "file" in want and (loc is None or loc.file != want["file"]):
        return False
    if "line" in want and (loc is None or loc.line != want["line"]):
        return False
    if "bots" in want and tuple(sorted(want["bots"] or [])) != f.bots:
        return False
    if "path" in want and f.path != want["path"]:
        return False
    if "message" in want and str(want["message"]) not in f.message:
        return False
    return not ("waived_by" in want and f.waived_by != want["waived_by"])


def _assert_exactly(kind: str, got: Sequence[Finding], wanted: Sequence[Mapping[str, Any]],
                    case: str) -> None:
    left = list(got)
    for want in wanted:
        hit = next((f for f in left if _matches(f, want)), None)
        assert hit is not None, (
            f"{case}: expected {kind} {json.dumps(want, default=str)}\ngot:\n{describe(got)}")
        left.remove(hit)
    assert not left, f"{case}: unexpected {kind}:\n{describe(left)}"


def assert_case(case_dir: Path) -> PolicyResult:
    """Evaluate one case and assert it gives exactly the findings (and waivers) it expects."""
    case = load_case(case_dir)
    result = evaluate_case(case)
    _assert_exactly("finding", result.findings, case.expect.get("findings", []) or [],
                    case.name)
    _assert_exactly("waived finding", result.waived, case.expect.get("waived", []) or [],
                    case.name)
    if "fails" in case.expect:
        fail_on = case.repo.repository.doc.spec.policy.fail_on
        assert bool(result.failing(fail_on)) == bool(case.expect["fails"]), (
            f"{case.name}: fails={case.expect['fails']} with failOn {fail_on}\n"
            f"{describe(result.findings)}")
    return result


# --------------------------------------------------------------------------- packs in tests


def repository_yaml(packs: Sequence[str] = ("security-baseline", "production-guardrails"),
                    *, fail_on: str = "error") -> str:
    """A molthub.yaml listing ``packs``."""
    return yaml.safe_dump({
        "apiVersion": "molthub/v1", "kind": "Repository", "metadata": {"name": "policy-base"},
        "spec": {"policy": {"packs": list(packs), "failOn": fail_on},
                 "openclawVersions": ["2026.9.6"]},
    }, sort_keys=False)


def pack_yaml(name: str, rules: Sequence[Mapping[str, Any]],
              applies_to: Mapping[str, Any] | None = None) -> str:
    """A PolicyPack document (one rule per list item, keys as in YAML)."""
    spec: dict[str, Any] = {}
    if applies_to:
        spec["appliesTo"] = dict(applies_to)
    spec["rules"] = [dict(r) for r in rules]
    return yaml.safe_dump({"apiVersion": "molthub/v1", "kind": "PolicyPack",
                           "metadata": {"name": name}, "spec": spec}, sort_keys=False)


def with_rules(rules: Sequence[Mapping[str, Any]], changes: Files | None = None, *,
               applies_to: Mapping[str, Any] | None = None, pack: str = "test") -> dict[
                   str, bytes]:
    """The base repository plus a pack ``pack`` (policies/<pack>.yaml) holding ``rules``,
    listed in molthub.yaml, with ``changes`` applied last."""
    return with_base({
        "molthub.yaml": repository_yaml(("security-baseline", "production-guardrails", pack)),
        f"policies/{pack}.yaml": pack_yaml(pack, rules, applies_to),
        **(changes or {}),
    })


def only(result: PolicyResult, pack: str = "test") -> tuple[Finding, ...]:
    """The findings of one pack."""
    return tuple(f for f in result.findings if f.pack == pack)
