"""Building small config repositories for the rendering tests, as YAML text through the loader."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from molthub_gitops.errors import InputError, Problem
from molthub_gitops.model.loader import load_files
from molthub_gitops.model.repository import FleetRepository
from molthub_gitops.render.engine import render_repository
from molthub_gitops.render.types import RenderedBot

REPOSITORY = """\
apiVersion: molthub/v1
kind: Repository
metadata: {name: test}
"""

GATEWAY = {"url": "ws://127.0.0.1:18789", "auth": "token", "secret": {"env": "GW_TOKEN"}}


def doc(kind: str, name: str, spec: Mapping[str, Any], labels: Mapping[str, str] | None = None
        ) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": "molthub/v1", "kind": kind, "metadata": meta, "spec": dict(spec)}


def template(name: str = "base", config: Mapping[str, Any] | None = None, **spec: Any
             ) -> dict[str, Any]:
    return doc("Template", name, {**spec, "config": dict(config or {})})


def profile(name: str, config: Mapping[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return doc("Profile", name, {**spec, "config": dict(config or {})})


def overlay(name: str, config: Mapping[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return doc("Overlay", name, {**spec, "config": dict(config or {})})


def fleet(
    name: str = "dev",
    bots: Sequence[Mapping[str, Any]] = ({"name": "bot-a"},),
    *,
    labels: Mapping[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    full = {
        "environment": "dev",
        "template": "base",
        "openclawVersion": "2026.9.6",
        "gateway": GATEWAY,
        **spec,
        "bots": [dict(b) for b in bots],
    }
    return doc("Fleet", name, full, labels)


def to_yaml(value: Any) -> str:
    if isinstance(value, str):
        return textwrap.dedent(value)
    return yaml.safe_dump(value, sort_keys=False)


def load(files: Mapping[str, Any]) -> FleetRepository:
    """A repository from ``{path: YAML text or document dict}`` (molthub.yaml added)."""
    data = {"molthub.yaml": REPOSITORY.encode()}
    data.update({path: to_yaml(v).encode() for path, v in files.items()})
    return load_files(data, source="test")


def render(files: Mapping[str, Any], **kwargs: Any) -> dict[str, RenderedBot]:
    return render_repository(load(files), **kwargs).by_name()


def render_one(files: Mapping[str, Any], bot: str = "bot-a") -> RenderedBot:
    return render(files)[bot]


def problems(files: Mapping[str, Any], **kwargs: Any) -> tuple[Problem, ...]:
    repo = load(files)
    try:
        render_repository(repo, **kwargs)
    except InputError as exc:
        return exc.problems
    raise AssertionError("rendering succeeded, problems were expected")


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line of ``text`` containing ``needle``."""
    seen = 0
    for number, line in enumerate(textwrap.dedent(text).splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"{needle!r} not in text")


def where(problem: Problem) -> str:
    assert problem.location is not None, problem
    return f"{problem.location.file}:{problem.location.line}"
