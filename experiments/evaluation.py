"""Run policies on seeds: one KPI row per episode, the same seeds for every policy."""

from __future__ import annotations

import math
from typing import Any

from allocsim.baselines.registry import Predictor, make_policy
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import Scenario


def run_episode(env: AllocationEnv, policy: Predictor, seed: int) -> dict[str, Any]:
    """Play one episode on ``seed`` and return its KPI dict (with ``seed``)."""
    obs, _ = env.reset(seed=seed)
    done = False
    while not done:
        action, _ = policy.predict(obs, deterministic=True)
        obs, _, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
    return {"seed": seed, **env.kpis()}


def simulate(
    scenario: str | Scenario, policy: str, episodes: int, seed: int
) -> dict[str, Any]:
    """The ``allocsim simulate`` result: episodes on seeds ``seed .. seed + episodes - 1``."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    env = AllocationEnv(scenario)
    agent = make_policy(policy, env, seed=seed)
    rows = [run_episode(env, agent, seed + i) for i in range(episodes)]
    return {
        "scenario": env.scenario.name,
        "policy": policy,
        "episodes": rows,
        "summary": summarise(rows),
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Mean of every scalar KPI over the rows (NaN where a KPI is undefined in all)."""
    keys = [k for k, v in rows[0].items() if isinstance(v, int | float) and k != "seed"]
    out: dict[str, float] = {}
    for key in keys:
        values = [float(r[key]) for r in rows if not math.isnan(float(r[key]))]
        out[key] = sum(values) / len(values) if values else float("nan")
    return out
