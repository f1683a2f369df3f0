"""Per-period series of one episode by location: inventory value, demand and units served.

Read from the public ``env.kpis()`` after every step: its ``by_location`` figures
are cumulative, so one period's units are the difference of two snapshots and its
inventory value is (average to date x t) - (average to date x (t - 1)). The engine
keeps running totals, so each ``kpis()`` costs the same at every period: a trace is
linear in the horizon.
"""

from __future__ import annotations

from typing import Any

from allocsim.envs.episode import play
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import PolicySpec, build_policy, env_for


def trace_episode(scenario: Scenario, spec: PolicySpec, seed: int) -> list[dict[str, Any]]:
    """One row per period x location (the DC included): inventory value, units requested and fulfilled."""
    env = env_for(scenario)
    policy = build_policy(spec, env, seed)
    previous: dict[str, dict[str, float]] = {}
    rows: list[dict[str, Any]] = []
    for step in play(env, lambda obs: policy.predict(obs, deterministic=True)[0], seed):
        period = step.period + 1
        current = env.kpis()["by_location"]
        for location, figures in current.items():
            before = previous.get(location, {})
            stock = figures["avg_inventory_value"] * period - before.get("avg_inventory_value", 0.0) * (
                period - 1
            )
            rows.append({
                "policy": spec.label,
                "seed": seed,
                "period": period - 1,
                "location": location,
                "inventory_value": max(stock, 0.0),
                "units_requested": figures.get("units_requested", 0.0) - before.get("units_requested", 0.0),
                "units_fulfilled": figures.get("units_fulfilled", 0.0) - before.get("units_fulfilled", 0.0),
            })
        previous = current
    return rows
