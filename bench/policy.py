"""Benchmark: policy evaluation of a large synthetic fleet repository.

Generates bench/render.py's synthetic repository (default 10,000 bots over 100 fleets; example-
repo's templates, molthub.yaml and acme-channel-safety pack, so security-baseline,
production-guardrails and the ACME pack are in force: about 40 rules), loads and renders it
(not timed here; see bench/render.py), then times ``evaluate_policies`` and prints:

Timings run with the cyclic GC paused, as repo/validate.py runs the evaluation.

* the first evaluation (cold: compiles the packs, decodes what the checks read),
* the best of ``--repeat`` further evaluations,
* the same evaluation with the renderer's section caches removed (every check runs per bot:
  what the memo saves),
* rules in force, findings, waived findings, bots.

``--scenario shared`` uses a repository whose bots share every config section within their
fleet (the broken-policy base repository, 46 rules): the case the section memo is built for.

Goal: 10,000 bots x ~40 rules well under 0.3 s when bots of a fleet share sections.

    python bench/policy.py [--scenario synthetic|shared] [--bots 10000] [--fleets 100]
                           [--repeat 3] [--by-rule] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# bench/render.py, beside this script (its folder is on sys.path when run as a script)
from render import generate as generate_synthetic  # noqa: E402

from molthub_gitops.policy import engine  # noqa: E402
from molthub_gitops.policy.engine import evaluate_policies  # noqa: E402
from molthub_gitops.policy.rules import BotCheck  # noqa: E402
from molthub_gitops.render.engine import render_repository  # noqa: E402
from molthub_gitops.repo.gcpause import gc_paused  # noqa: E402
from molthub_gitops.repo.load import load  # noqa: E402

TODAY = datetime.date(2026, 6, 1)




BASE = ROOT / "tests" / "broken-policy" / "_base-repo"


def generate_shared(root: Path, bots: int, fleets: int) -> None:
    """A repository whose bots share their config sections within a fleet: the broken-policy
    base (secure, finding-free) with no per-bot values in the config (no per-bot workspace or
    token), fleets alternating dev and prod. Packs: security-baseline, production-guardrails,
    and the base's generic and prod-only packs (without the per-bot unique-token rule)."""
    for path in BASE.rglob("*.yaml"):
        rel = path.relative_to(BASE)
        if rel.parts[0] == "fleets":
            continue
        text = path.read_text(encoding="utf-8")
        if rel.as_posix() == "templates/telegram.yaml":
            text = text.replace('        workspace: "/srv/openclaw/{{ bot.name }}/workspace"\n', "")
            text = text.replace("_{{ bot.name | upper | replace('-', '_') }}", "")
        if rel.as_posix() == "policies/generic.yaml":
            text = text[: text.index("    - id: bot-token-per-bot")]
        if rel.as_posix() == "molthub.yaml":
            text = text.replace("packs: [security-baseline, production-guardrails]",
                                "packs: [security-baseline, production-guardrails, generic, "
                                "prod-only]")
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    per_fleet = [bots // fleets + (1 if f < bots % fleets else 0) for f in range(fleets)]
    n = 0
    for f, count in enumerate(per_fleet):
        env = ("dev", "prod")[f % 2]
        names = [f"bot-{n + i:05d}" for i in range(count)]
        n += count
        target = ("  target:\n    provider: existing\n    settings: {tokenRotationDays: 90}\n"
                  if env == "prod" else "")
        (root / "fleets").mkdir(exist_ok=True)
        (root / "fleets" / f"fleet-{f:03d}.yaml").write_text(
            "apiVersion: molthub/v1\nkind: Fleet\n"
            f"metadata:\n  name: fleet-{f:03d}\n  labels: {{team: support}}\n"
            f"spec:\n  environment: {env}\n  template: telegram\n  profiles: [hardening]\n"
            f'  openclawVersion: "2026.9.6"\n{target}'
            '  gateway:\n    url: "wss://{{ bot.name }}.bots.internal:18789"\n'
            "    auth: token\n    secret: {env: GW_TOKEN}\n  bots:\n"
            + "".join(f"    - name: {name}\n" for name in names),
            encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=10_000)
    parser.add_argument("--fleets", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one evaluation")
    parser.add_argument("--scenario", choices=("synthetic", "shared"), default="synthetic",
                        help="synthetic: bench/render.py's repository (agents unique per bot); "
                             "shared: bots of a fleet share every config section")
    parser.add_argument("--by-rule", action="store_true", help="time every rule alone")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.scenario == "shared":
            generate_shared(root, args.bots, args.fleets)
        else:
            generate_synthetic(root, args.bots, args.fleets, 5, 50)
        repo = load(root)
        bots = render_repository(repo).bots

    # As repo/validate.py runs it: with the cyclic GC paused.
    with gc_paused():
        start = time.perf_counter()
        result = evaluate_policies(repo, bots, today=TODAY)
        first = time.perf_counter() - start

    best = best_cpu = float("inf")
    for _ in range(max(1, args.repeat)):
        with gc_paused():
            start, cpu = time.perf_counter(), time.process_time()
            evaluate_policies(repo, bots, today=TODAY)
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - cpu)

    plain_bots = [dataclasses.replace(b, section_json={}, section_values={}) for b in bots]
    with gc_paused():
        start = time.perf_counter()
        plain = evaluate_policies(repo, plain_bots, today=TODAY)
        unshared = time.perf_counter() - start
    assert plain.findings == result.findings, "memoised and per-bot verdicts differ"

    rules = [r for r in result.rules if not r.rule.startswith("policy/")]
    print(f"bots                      {len(bots):>8}")
    print(f"rules in force            {len(rules):>8}")
    print(f"findings / waived         {len(result.findings):>8} / {len(result.waived)}")
    print(f"bot findings (per bot)    {sum(len(f.bots) for f in result.findings):>8}")
    print(f"evaluate, first run       {first:>8.3f} s")
    print(f"evaluate, best of {args.repeat:<2}      {best:>8.3f} s  (CPU {best_cpu:.3f} s)")
    print(f"evaluate, no section memo {unshared:>8.3f} s  (every check per bot)")

    if args.by_rule:
        print("\nslowest rules (each alone, memo groups built once and shared):")
        run = engine._Run(repo, bots)
        timings: list[tuple[float, str]] = []
        with gc_paused():
            for pack in engine.compile_packs(repo):
                scope = None if pack.scope.everything else [pack.scope.covers(b) for b in bots]
                for cr in pack.rules:
                    start = time.perf_counter()
                    if isinstance(cr.check, BotCheck):
                        run.run_bot_check(cr, cr.check, scope)
                    else:
                        run.run_fleetwide(cr, cr.check, scope)
                    timings.append((time.perf_counter() - start, cr.qualified))
        for took, name in sorted(timings, reverse=True)[:12]:
            print(f"  {took:8.3f} s  {name}")
        print(f"  {sum(t for t, _ in timings):8.3f} s  all rules")

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        evaluate_policies(repo, bots, today=TODAY)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
