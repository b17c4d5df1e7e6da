"""Benchmark: load + render + OpenClaw schema check of a large synthetic fleet repository.

Generates a repository in a temporary directory (default 10,000 bots over 100 fleets,
5 profiles, 50 overlays; templates are example-repo's, so configs have its size) and prints,
from one run, side by side:

* bare YAML parse of the same files (``yaml.load_all`` with libyaml's ``CSafeLoader``),
* load (molthub's positioned parse + document validation + cross-checks),
* render (layering, merge strategies, Jinja, provenance, hashes),
* schema check (every rendered config against its OpenClaw version's schema),
* the total, bots per second, the ratio total / bare parse, and peak RSS.

Goal on a 2-core machine: load + render + schema check of 10,000 bots in under 5 s and no
more than 3 times the bare parse. ``--profile`` adds a cProfile listing of the hot spots.

``--runs N`` measures N times, each in a fresh process, and prints the median of each phase
with its spread (the machine may be shared: single runs vary by 2x). Configs are built
lazily (``RenderedBot.config`` on first access), so render time does not include them; the
"rendered MB" line builds them all after the timings.

    python bench/render.py [--bots 10000] [--fleets 100] [--profiles 5] [--overlays 50]
                           [--keep DIR] [--profile] [--repeat N] [--runs N] [--expanded]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from molthub_gitops.cli.formats import yaml_stream  # noqa: E402
from molthub_gitops.model.repository import FleetRepository  # noqa: E402
from molthub_gitops.render.canonical import canonical_json  # noqa: E402
from molthub_gitops.render.engine import RenderResult, render_repository  # noqa: E402
from molthub_gitops.repo.gcpause import gc_paused  # noqa: E402
from molthub_gitops.repo.load import load  # noqa: E402
from molthub_gitops.repo.pipeline import check_schemas  # noqa: E402

EXAMPLE = ROOT / "example-repo"
TEMPLATES = ("telegram-support", "slack-assistant", "whatsapp-personal")
ENVIRONMENTS = ("dev", "staging", "prod")
REGIONS = ("eu", "us", "apac")
T = TypeVar("T")


# --------------------------------------------------------------------------- generation


def _dump(path: Path, docs: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False, width=100),
        encoding="utf-8",
    )


def _doc(kind: str, name: str, spec: dict[str, Any], labels: dict[str, str] | None = None
         ) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "molthub/v1", "kind": kind, "metadata": meta, "spec": spec}


def generate(root: Path, bots: int, fleets: int, profiles: int, overlays: int,
             seed: int = 7) -> None:
    """Write a synthetic repository of the given size under ``root``."""
    rnd = random.Random(seed)
    shutil.copy(EXAMPLE / "molthub.yaml", root / "molthub.yaml")
    shutil.copytree(EXAMPLE / "policies", root / "policies", dirs_exist_ok=True)
    for name in TEMPLATES:
        (root / "templates").mkdir(exist_ok=True)
        shutil.copy(EXAMPLE / "templates" / f"{name}.yaml", root / "templates" / f"{name}.yaml")

    profile_names = [f"profile-{i:02d}" for i in range(profiles)]
    for i, name in enumerate(profile_names):
        spec: dict[str, Any] = {
            "description": f"Synthetic profile {i}",
            "mergeStrategies": {"logging.redactPatterns": "union"},
            "config": {
                "logging": {
                    "level": rnd.choice(["info", "warn", "debug"]),
                    "redactPatterns": [f"secret-{i}-[0-9]+"],
                },
                "gateway": {"port": 18789, "bind": "lan",
                            "auth": {"mode": "token", "token": "${OPENCLAW_GATEWAY_TOKEN}"}},
                "tools": {"elevated": {"enabled": False}, "fs": {"workspaceOnly": True}},
                "session": {"reset": {"mode": "idle", "idleMinutes": 60 + i}},
            },
        }
        if i == 0:
            spec["lockedPaths"] = ["tools.elevated.enabled"]
        _dump(root / "profiles" / f"{name}.yaml", [_doc("Profile", name, spec)])

    for i in range(overlays):
        selector: dict[str, Any]
        kind = i % 3
        if kind == 0:
            selector = {"matchLabels": {"region": REGIONS[(i // 3) % len(REGIONS)]}}
        elif kind == 1:
            selector = {"fleets": [f"fleet-{rnd.randrange(fleets):03d}"]}
        else:
            selector = {"environments": [ENVIRONMENTS[i % 3]],
                        "matchLabels": {"tier": "canary"}}
        spec = {
            "description": f"Synthetic overlay {i}",
            "selector": selector,
            "priority": i % 7,
            "config": {
                "agents": {"defaults": {"timeoutSeconds": 60 + i}},
                "logging": {"redactPatterns": [f"overlay-{i}-[a-z]+"]},
            },
        }
        _dump(root / "overlays" / f"overlay-{i:03d}.yaml", [_doc("Overlay", f"overlay-{i:03d}",
                                                                 spec)])

    per_fleet = [bots // fleets + (1 if f < bots % fleets else 0) for f in range(fleets)]
    n = 0
    for f, count in enumerate(per_fleet):
        template = TEMPLATES[f % len(TEMPLATES)]
        env = ENVIRONMENTS[f % 3]
        fleet_name = f"fleet-{f:03d}"
        params: dict[str, Any] = {}
        if template == "slack-assistant":
            params = {"homeChannel": f"C0FLEET{f:04d}"}
        bot_list: list[dict[str, Any]] = []
        for b in range(count):
            bot: dict[str, Any] = {"name": f"bot-{n:05d}"}
            if b < 2:
                bot["labels"] = {"tier": "canary"}
            if template == "whatsapp-personal":
                bot["parameters"] = {"owner": f"Owner {n}"}
            if b % 10 == 3:
                bot["config"] = {"agents": {"defaults": {"thinkingDefault": "medium"}}}
            bot_list.append(bot)
            n += 1
        spec = {
            "environment": env,
            "template": template,
            "parameters": params,
            "profiles": rnd.sample(profile_names, k=min(3, len(profile_names))),
            "openclawVersion": "2026.9.6",
            "gateway": {"url": f"ws://{{{{ bot.name }}}}.{fleet_name}.internal:18789",
                        "auth": "token", "secret": {"env": "MOLTHUB_GATEWAY_TOKEN"}},
            "rollout": {"strategy": "percentage", "batch": "25%"},
            "bots": bot_list,
        }
        _dump(root / "fleets" / f"{fleet_name}.yaml",
              [_doc("Fleet", fleet_name, spec, {"region": REGIONS[f % len(REGIONS)]})])


# --------------------------------------------------------------------------- measuring


def _timed(fn: Callable[[], T], repeat: int) -> tuple[T, float]:
    best = float("inf")
    result: T | None = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return result, best


def _render_paused(repo: FleetRepository) -> RenderResult:
    """Render as the pipeline does (``render_at`` / ``validate_repository``): gc paused."""
    with gc_paused():
        return render_repository(repo)


def bare_parse(root: Path) -> int:
    docs = 0
    for path in sorted(root.rglob("*.yaml")):
        with path.open("rb") as fh:
            docs += sum(1 for _ in yaml.load_all(fh, Loader=yaml.CSafeLoader))
    return docs


def measure(root: Path, repeat: int) -> dict[str, Any]:
    """One measurement of every phase (in this process) and the figures printed from it."""
    files = sorted(root.rglob("*.yaml"))
    docs, parse_s = _timed(lambda: bare_parse(root), repeat)
    repo, load_s = _timed(lambda: load(root), repeat)
    result, render_s = _timed(lambda: _render_paused(repo), repeat)
    problems, check_s = _timed(lambda: check_schemas(result.bots), repeat)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rendered = len(result.bots)
    return {
        "files": len(files),
        "size": sum(p.stat().st_size for p in files),
        "docs": docs,
        "bots": rendered,
        "layers": sum(1 + len(b.profiles) + len(b.overlays) + 1 for b in result.bots)
        / max(rendered, 1),
        "parse": parse_s,
        "load": load_s,
        "render": render_s,
        "check": check_s,
        "total": load_s + render_s + check_s,
        "rss_mib": rss_mib,
        "problems": len(problems),
        # after the timings: builds every bot's config dict (they are built lazily)
        "out_bytes": sum(len(canonical_json(b.config)) for b in result.bots),
        "_result": result,
    }


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _fresh_runs(root: Path, runs: int, repeat: int) -> list[dict[str, Any]]:
    """``runs`` measurements, each in a new Python process (cold caches)."""
    out = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--measure-only", str(root),
             "--repeat", str(repeat)],
            capture_output=True, text=True, check=True, timeout=600,
        )
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bots", type=int, default=10_000)
    ap.add_argument("--fleets", type=int, default=100)
    ap.add_argument("--profiles", type=int, default=5)
    ap.add_argument("--overlays", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per phase; the best counts. Runs after the first reuse "
                         "in-process caches (compiled schemas, memoised checks), so only the "
                         "default of 1 measures a cold start")
    ap.add_argument("--runs", type=int, default=1,
                    help="measure this many times, each in a fresh process, and print the "
                         "median of each phase (and the spread): steadier on a busy machine")
    ap.add_argument("--keep", type=Path, help="generate into this directory and keep it")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the pipeline")
    ap.add_argument("--expanded", action="store_true",
                    help="also time a bare parse of every rendered config written out in full "
                         "(what a repository without layering would cost to read)")
    ap.add_argument("--measure-only", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.measure_only is not None:  # a child of --runs: one measurement as JSON
        figures = measure(args.measure_only, args.repeat)
        del figures["_result"]
        print(json.dumps(figures))
        return 0

    tmp = None
    if args.keep:
        root = args.keep
        root.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="molthub-bench-")
        root = Path(tmp.name)
    try:
        t0 = time.perf_counter()
        generate(root, args.bots, args.fleets, args.profiles, args.overlays)
        gen_s = time.perf_counter() - t0

        figures = measure(root, args.repeat)
        result = figures.pop("_result")
        runs = [figures]
        if args.runs > 1:
            runs += _fresh_runs(root, args.runs - 1, args.repeat)
        phases = ("parse", "load", "render", "check", "total")
        med = {k: _median([r[k] for r in runs]) for k in phases}
        lo = {k: min(r[k] for r in runs) for k in phases}
        hi = {k: max(r[k] for r in runs) for k in phases}
        rendered = figures["bots"]
        size = figures["size"]
        print(f"repository: {figures['files']} files, {size / 1e6:.1f} MB, {figures['docs']} "
              f"documents, {rendered} bots in {args.fleets} fleets, {args.profiles} profiles, "
              f"{args.overlays} overlays (generated in {gen_s:.1f} s); "
              f"{figures['layers']:.1f} layers per bot")
        kind = "cold runs" if args.repeat == 1 else f"best of {args.repeat}, warm caches"
        if len(runs) > 1:
            print(f"{'phase':<14}{'seconds':>9}{'x parse':>9}   (median of {len(runs)} {kind}, "
                  "each in a fresh process; min-max)")
        else:
            print(f"{'phase':<14}{'seconds':>9}{'x parse':>9}   ({kind.rstrip('s')})")
        for label, key in (("bare parse", "parse"), ("load", "load"), ("render", "render"),
                           ("schema check", "check"), ("total", "total")):
            spread = f"   {lo[key]:.3f}-{hi[key]:.3f}" if len(runs) > 1 else ""
            print(f"{label:<14}{med[key]:>9.3f}{med[key] / med['parse']:>9.2f}{spread}")
        if len(runs) > 1:
            ratios = [r["total"] / r["parse"] for r in runs]
            print(f"ratio total / bare parse per run: median {_median(ratios):.2f}, "
                  f"{min(ratios):.2f}-{max(ratios):.2f}")
        print(f"bots/second   {rendered / med['total']:>9.0f}")
        # From this process's run (children inherit their parent's peak across exec).
        print(f"peak RSS      {figures['rss_mib']:>9.0f} MiB")
        print(f"schema problems: {figures['problems']}")
        out_bytes = figures["out_bytes"]
        print(f"rendered      {out_bytes / 1e6:>9.1f} MB of canonical JSON "
              f"({out_bytes / size:.0f}x the repository's YAML)")
        if args.expanded:
            expanded_tmp = tempfile.TemporaryDirectory(prefix="molthub-bench-expanded-")
            expanded = Path(expanded_tmp.name)
            for fleet in sorted({b.fleet for b in result.bots}):
                configs = [b.config for b in result.bots if b.fleet == fleet]
                (expanded / f"{fleet}.yaml").write_text(yaml_stream(configs), encoding="utf-8")
            exp_docs, exp_s = _timed(lambda: bare_parse(expanded), args.repeat)
            print(f"bare parse of the {exp_docs} configs written out in full: {exp_s:.3f} s "
                  f"(molthub total = {med['total'] / exp_s:.2f}x that)")
            expanded_tmp.cleanup()
        goal = med["total"] < 5.0 and med["total"] <= 3 * med["parse"]
        print(f"goal (< 5 s and <= 3x bare parse): {'met' if goal else 'NOT met'}")

        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            r = load(root)
            res = _render_paused(r)
            check_schemas(res.bots)
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
            out.write("\n")
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
            print(out.getvalue())
        return 0
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
