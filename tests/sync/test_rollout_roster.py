"""OpenClaw 2026.9 keeps the agent roster (``agents.entries``) beside its config file: after an
apply, ``config.get`` reports it in ``sourceConfig`` only. A rollout that resumes must still
see that such a bot already holds its config, or it would write it a second time."""

from __future__ import annotations

from typing import Any

from molthub_gitops.sync.state import Rollout

from ._rollout_support import BASE, fleet, make_runner, pool, spec

ROSTER: dict[str, Any] = {"gateway": {"mode": "local"},
                          "agents": {"defaults": {"heartbeat": {"every": "45m"}},
                                     "entries": {"main": {}}}}


async def test_a_bot_holding_a_config_with_a_roster_is_not_applied_again() -> None:
    async with fleet(3) as sims:
        async with pool() as gateways:
            runner, _audit, _clock, rec = make_runner(
                sims, spec(healthTimeout="10s"), gateways, desired=ROSTER, previous=BASE)
            done = await runner.run()
        assert done.phase == "Succeeded", done.reason
        parsed = sims.gateways["bot-01"].config
        assert "entries" not in parsed.get("agents", {}), "the simulator keeps the roster aside"
        writes = {name: gw.apply_count for name, gw in sims.gateways.items()}
        assert set(writes.values()) == {1}

        # as if the daemon was killed before it recorded any result: every bot pending again
        data = dict(rec.snapshots[-1])
        data["phase"] = "Progressing"
        data["currentWave"] = 0
        data["results"] = {k: {"bot": k, "result": "pending"} for k in data["results"]}
        async with pool() as gateways:
            again, _audit, _clock, _rec = make_runner(
                sims, spec(healthTimeout="10s"), gateways, desired=ROSTER, previous=BASE,
                rollout=Rollout.model_validate(data))
            resumed = await again.run()
        assert resumed.phase == "Succeeded", resumed.reason
        assert {name: gw.apply_count for name, gw in sims.gateways.items()} == writes
        assert all(r.result == "applied" for r in resumed.results.values())
