"""Rendering: layering, merge strategies, selectors, templating, provenance -> rendered bots.

Public API:

* :func:`render_repository` (``engine``) -- every bot of a loaded repository, rendered;
* :func:`explain` (``explain``) -- the layer chain behind one config value;
* :func:`check_openclaw_schema` (``schema_check``) -- rendered configs against the OpenClaw
  schema of their version;
* :func:`canonical_json` / :func:`config_hash` (``canonical``);
* the value types :class:`Origin`, :class:`RenderedBot`, :class:`RenderResult` (``types``).
"""

from molthub_gitops.render.canonical import canonical_json, config_hash
from molthub_gitops.render.engine import render_repository
from molthub_gitops.render.explain import ABSENT, ExplainStep, Explanation, explain
from molthub_gitops.render.schema_check import check_openclaw_schema
from molthub_gitops.render.types import Origin, RenderedBot, RenderResult

__all__ = [
    "ABSENT",
    "ExplainStep",
    "Explanation",
    "Origin",
    "RenderResult",
    "RenderedBot",
    "canonical_json",
    "check_openclaw_schema",
    "config_hash",
    "explain",
    "render_repository",
]
