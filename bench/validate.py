"""Benchmark: ``molthub validate --base`` on a 10,000-bot repository where a PR changes one
template used by 5% of the bots, beside one plain full render from the same run.

Builds the synthetic repository of ``bench/render.py`` (10,000 bots over 100 fleets) plus a
fourth template, ``support-5pct`` (a copy of telegram-support), used by 5 fleets = 5% of the
bots, as a real Git repository (pygit2) with two commits: the second changes that template.
The working tree is the second commit. Then, each in a fresh process, it measures

* **plain**: one full load + render + OpenClaw schema check of the head (what ``molthub
  validate`` does without policies or a base: ``repo.pipeline.validate_repository``);
* **validate --base**: ``repo.validate.run_validate(path, base="HEAD~1")`` end to end (head
  load, render, schema check, policy packs, base load and render from Git with reuse, the
  diff) and the SARIF report of its outcome (``report.formats.render_report("sarif", ...)``).

and prints the median seconds (and spread) of each, the peak RSS of each process, the ratio,
and the goals: ``validate --base`` under 10 s and at most 1.5 x the plain full render.

    python bench/validate.py [--bots 10000] [--fleets 100] [--runs 3] [--keep DIR]
                             [--profile] [--no-reuse] [--policy-clean]

By default the repository breaks policy rules on every bot (about 40,000 per-bot findings,
grouped into ~1,700): the stress case for policy evaluation and reports. ``--policy-clean``
adds what a fleet passing its packs sets (a secure overlay, prod token rotation), which is
what a pull request's CI normally sees.

``--no-reuse`` measures ``validate --base`` rendering the whole base (for comparison);
``--profile`` prints a cProfile listing of one ``validate --base`` run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# bench/render.py, beside this script (its folder is on sys.path when run as a script)
from render import generate as generate_synthetic  # noqa: E402

CHANGED_TEMPLATE = "support-5pct"
"""The template the second commit changes."""




# --------------------------------------------------------------------------- generation


def _commit(repo: Any, message: str) -> str:
    import pygit2

    signature = pygit2.Signature("Bench", "bench@example.com", 1_700_000_000, 0)
    repo.index.add_all()
    repo.index.write()
    tree = repo.index.write_tree()
    parents = [] if repo.head_is_unborn else [repo.head.target]
    return str(repo.create_commit("HEAD", signature, signature, message, tree, parents))


SECURE_OVERLAY = {
    "apiVersion": "molthub/v1",
    "kind": "Overlay",
    "metadata": {"name": "zz-secure"},
    "spec": {
        "description": "What a fleet that passes its policy packs sets (--policy-clean)",
        "priority": 100,
        "config": {
            "agents": {"defaults": {
                "sandbox": {"mode": "all",
                            "docker": {"readOnlyRoot": True, "capDrop": ["ALL"]}},
                "params": {"maxTokens": 4096},
            }},
            "gateway": {"controlUi": {"allowedOrigins": ["https://ops.example.com"]}},
        },
    },
}


def _make_policy_clean(root: Path) -> None:
    """Turn the synthetic repository into one that passes security-baseline and
    production-guardrails: a secure overlay over every bot, and prod fleets that rotate their
    gateway tokens."""
    import yaml

    (root / "overlays" / "zz-secure.yaml").write_text(
        yaml.safe_dump(SECURE_OVERLAY, sort_keys=False), encoding="utf-8")
    for path in sorted((root / "fleets").glob("*.yaml")):
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        for doc in docs:
            if doc["spec"]["environment"] == "prod":
                doc["spec"]["target"] = {"provider": "existing",
                                         "settings": {"tokenRotationDays": 30}}
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")


def generate(root: Path, bots: int, fleets: int, policy_clean: bool = False) -> dict[str, Any]:
    """Write the repository under ``root`` and make its two commits; returns what changed."""
    import pygit2

    root.mkdir(parents=True, exist_ok=True)
    generate_synthetic(root, bots, fleets, 5, 50)
    if policy_clean:
        _make_policy_clean(root)
    source = (root / "templates" / "telegram-support.yaml").read_text(encoding="utf-8")
    (root / "templates" / f"{CHANGED_TEMPLATE}.yaml").write_text(
        source.replace("name: telegram-support", f"name: {CHANGED_TEMPLATE}", 1),
        encoding="utf-8")
    # fleets f % 3 == 0 use telegram-support; move every third of them until 5% of the bots
    # use the copy
    moved: list[str] = []
    moved_bots = 0
    for f in range(0, fleets, 3):
        if moved_bots * 20 >= bots:
            break
        path = root / "fleets" / f"fleet-{f:03d}.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("template: telegram-support",
                                     f"template: {CHANGED_TEMPLATE}", 1), encoding="utf-8")
        moved.append(path.stem)
        moved_bots += text.count("- name: bot-")
    repo = pygit2.init_repository(str(root), initial_head="main")
    base = _commit(repo, "synthetic fleet")
    template = root / "templates" / f"{CHANGED_TEMPLATE}.yaml"
    text = template.read_text(encoding="utf-8")
    assert "historyLimit: 50" in text
    template.write_text(text.replace("historyLimit: 50", "historyLimit: 80", 1),
                        encoding="utf-8")
    head = _commit(repo, "support-5pct: longer history")
    return {"fleets_moved": moved, "bots_using_changed_template": moved_bots,
            "base": base, "head": head}


# --------------------------------------------------------------------------- one measurement


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_plain(root: Path) -> dict[str, Any]:
    from molthub_gitops.repo.pipeline import validate_repository

    start = time.perf_counter()
    report = validate_repository(root)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_mib": _rss_mib(), "bots": len(report.bots),
            "problems": len(report.problems)}


def _validate_base(root: Path, reuse: bool) -> dict[str, Any]:
    from molthub_gitops.repo.validate import run_validate

    start = time.perf_counter()
    outcome = run_validate(root, base="HEAD~1", reuse=reuse)
    validated = time.perf_counter()
    sarif_bytes = -1
    try:
        from molthub_gitops.report import formats
    except ImportError:
        pass  # the report formats are not there yet: measured without SARIF
    else:
        sarif_bytes = len(formats.render_report("sarif", outcome).encode("utf-8"))
    end = time.perf_counter()
    diff = outcome.diff
    policy = outcome.policy
    return {
        "seconds": end - start,
        "validate_s": validated - start,
        "sarif_s": end - validated,
        "sarif_bytes": sarif_bytes,
        "rss_mib": _rss_mib(),
        "bots": outcome.bots,
        "stage": outcome.stage,
        "problems": [p.format() for p in outcome.problems[:5]],
        "changed": len(diff.bots) if diff is not None else -1,
        "unchanged": diff.unchanged if diff is not None else -1,
        "findings": len(policy.findings) if policy is not None else -1,
        "rules": len(policy.rules) if policy is not None else -1,
    }


def measure_validate(root: Path, reuse: bool = True) -> dict[str, Any]:
    return _validate_base(root, reuse)


def measure_stages(root: Path, reuse: bool = True) -> dict[str, Any]:
    """The stages of ``validate --base`` timed one by one (same calls as run_validate), to
    show where the time goes."""
    import datetime

    from molthub_gitops.model.loader import DocumentCache
    from molthub_gitops.plan.diff import diff_revisions
    from molthub_gitops.policy.engine import evaluate_policies
    from molthub_gitops.render.engine import render_repository
    from molthub_gitops.repo.gcpause import gc_paused
    from molthub_gitops.repo.load import load_directory, load_with_commit
    from molthub_gitops.repo.pipeline import check_schemas
    from molthub_gitops.repo.validate import render_base

    times: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        times[name] = now - mark
        mark = now

    cache = DocumentCache()
    head = load_directory(root, cache=cache)
    lap("head load")
    with gc_paused():
        bots = render_repository(head).bots
    lap("head render")
    check_schemas(bots)
    lap("head schema check")
    with gc_paused():
        evaluate_policies(head, bots, today=datetime.date.today())
    lap("policy")
    base, _commit_id = load_with_commit(root, "HEAD~1", cache=cache)
    lap("base load (Git, cached parses)")
    base_bots = render_base(base, head, bots, reuse=reuse)
    lap("base render (stale fleets only)" if reuse else "base render (all)")
    with gc_paused():
        diff_revisions(base_bots, bots, base="HEAD~1", head="working tree")
    lap("diff")
    return {"stages": times, "rss_mib": _rss_mib()}


def _child(kind: str, root: Path, reuse: bool, bots: int = 0, fleets: int = 0,
           policy_clean: bool = False) -> dict[str, Any]:
    args = [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(root),
            "--bots", str(bots or 10_000), "--fleets", str(fleets or 100)]
    if not reuse:
        args.append("--no-reuse")
    if policy_clean:
        args.append("--policy-clean")
    proc = subprocess.run(args, capture_output=True, text=True, check=False, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bots", type=int, default=10_000)
    ap.add_argument("--fleets", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3,
                    help="measurements of each kind, each in a fresh process (median shown)")
    ap.add_argument("--keep", type=Path, help="generate into this (new) directory and keep it")
    ap.add_argument("--profile", action="store_true",
                    help="print a cProfile listing of one validate --base run")
    ap.add_argument("--no-reuse", action="store_true",
                    help="render the whole base revision (no reuse across revisions)")
    ap.add_argument("--policy-clean", action="store_true",
                    help="a repository that passes its policy packs (no error findings), "
                         "instead of the stress case with ~40,000 per-bot findings")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "ROOT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    reuse = not args.no_reuse

    if args.child is not None:  # one measurement in this fresh process, as JSON
        kind, root_text = args.child
        root = Path(root_text)
        if kind == "generate":
            print(json.dumps(generate(root, args.bots, args.fleets, args.policy_clean)))
        elif kind == "plain":
            print(json.dumps(measure_plain(root)))
        elif kind == "stages":
            print(json.dumps(measure_stages(root, reuse)))
        else:
            print(json.dumps(measure_validate(root, reuse)))
        return 0

    tmp = None
    if args.keep:
        root = args.keep
        root.mkdir(parents=True, exist_ok=False)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="molthub-bench-validate-")
        root = Path(tmp.name)
    try:
        t0 = time.perf_counter()
        # generated in a child, so this process stays small (children inherit its peak RSS)
        gen = _child("generate", root, reuse, args.bots, args.fleets, args.policy_clean)
        gen_s = time.perf_counter() - t0
        print(f"repository: {args.bots} bots in {args.fleets} fleets, Git with 2 commits "
              f"(generated in {gen_s:.1f} s); the 2nd commit changes template "
              f"{CHANGED_TEMPLATE!r}, used by {gen['bots_using_changed_template']} bots "
              f"({len(gen['fleets_moved'])} fleets)", flush=True)
        plain: list[dict[str, Any]] = []
        full: list[dict[str, Any]] = []
        for _ in range(args.runs):  # interleaved, so load on a shared machine hits both
            plain.append(_child("plain", root, reuse))
            full.append(_child("validate", root, reuse))
        last = full[-1]
        if last["stage"] != "done":
            print(f"validate --base stopped at stage {last['stage']}: {last['problems']}")
        med_plain = _median([r["seconds"] for r in plain])
        med_full = _median([r["seconds"] for r in full])
        label = "validate --base" + ("" if reuse else " (no reuse)")
        print(f"{'':<34}{'seconds':>9}{'min-max':>16}{'peak RSS':>11}   "
              f"(median of {args.runs} fresh processes)")

        def row(name: str, runs: list[dict[str, Any]], key: str = "seconds") -> None:
            vals = [r[key] for r in runs]
            rss = max(r["rss_mib"] for r in runs)
            print(f"{name:<34}{_median(vals):>9.3f}{min(vals):>8.3f}-{max(vals):<7.3f}"
                  f"{rss:>8.0f} MiB")

        row("plain full render (load+render+schema)", plain)
        row(label, full)
        inner = _median([r["validate_s"] for r in full])
        sarif = _median([r["sarif_s"] for r in full])
        print(f"  of which run_validate (both revisions, policy, diff) {inner:.3f} s, "
              f"SARIF {sarif:.3f} s")
        if last["sarif_bytes"] < 0:
            print("  SARIF: report.formats.render_report not available; measured without it")
        else:
            print(f"  SARIF report: {last['sarif_bytes'] / 1e3:.0f} kB")
        print(f"diff: {last['changed']} bots changed, {last['unchanged']} unchanged; policy: "
              f"{last['rules']} rules, {last['findings']} findings; bots {last['bots']}")
        ratio = med_full / med_plain
        ratios = [f["seconds"] / p["seconds"] for f, p in zip(full, plain, strict=True)]
        print(f"ratio validate --base / plain full render: {ratio:.2f} "
              f"(per run {min(ratios):.2f}-{max(ratios):.2f})")
        print(f"goal < 10 s: {'met' if med_full < 10 else 'NOT met'}; "
              f"goal <= 1.5x one full render: {'met' if ratio <= 1.5 else 'NOT met'}")
        stages = _child("stages", root, reuse, args.bots, args.fleets)["stages"]
        print("where validate --base spends its time (one more fresh process, stage by stage; "
              "x = share of that run's plain full render):")
        plain_part = sum(v for k, v in stages.items() if k.startswith("head"))
        for name, seconds in stages.items():
            print(f"  {name:<34}{seconds:>8.3f} s{seconds / plain_part:>7.2f}x")

        if args.profile:
            from molthub_gitops.repo.validate import run_validate

            prof = cProfile.Profile()
            prof.enable()
            run_validate(root, base="HEAD~1", reuse=reuse)
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(20)
            print(out.getvalue())
        return 0
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
