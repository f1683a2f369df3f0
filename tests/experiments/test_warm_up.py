"""Warm-up discard: hand-made snapshots, and agreement with the per-period KPIs the env reports."""

from __future__ import annotations

import pytest

from allocsim.baselines.registry import make_policy
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.experiments.evaluation import run_episode
from allocsim.experiments.warmup import WHOLE_EPISODE, after_warm_up


def test_after_warm_up_on_hand_made_snapshots() -> None:
    end = {"units_requested": 100.0, "units_fulfilled": 90.0, "fill_rate": 90.0, "profit": 500.0,
           "cogs": 300.0, "avg_inventory_value": 40.0, "inventory_turns": 7.5, "avg_age": 2.0,
           "by_channel": {"store": {"units_requested": 100.0, "units_fulfilled": 90.0, "fill_rate": 90.0}}}
    start = {"units_requested": 20.0, "units_fulfilled": 10.0, "fill_rate": 50.0, "profit": 50.0,
             "cogs": 60.0, "avg_inventory_value": 100.0, "inventory_turns": 0.6, "avg_age": 5.0,
             "by_channel": {"store": {"units_requested": 20.0, "units_fulfilled": 10.0, "fill_rate": 50.0}}}
    out = after_warm_up(end, start, periods=10, warm_up=2)
    assert out["units_requested"] == 80.0 and out["profit"] == 450.0
    assert out["fill_rate"] == pytest.approx(100.0)  # 80 of 80 after the warm-up
    assert out["avg_inventory_value"] == pytest.approx((40 * 10 - 100 * 2) / 8)
    assert out["inventory_turns"] == pytest.approx(240.0 / 25.0)
    assert out["avg_age"] == 2.0 and "avg_age" in WHOLE_EPISODE
    assert out["by_channel"]["store"]["fill_rate"] == pytest.approx(100.0)
    assert after_warm_up(end, start, 10, 0) is end
    with pytest.raises(ValueError, match="warm-up"):
        after_warm_up(end, start, 10, 10)


def test_warm_up_matches_the_sum_of_later_periods() -> None:
    env = AllocationEnv("retail-small")
    warm_up, seed = 7, 40_003
    policy = make_policy("balanced", env, seed=seed)
    obs, _ = env.reset(seed=seed)
    later = {"units_requested": 0.0, "units_fulfilled": 0.0, "profit": 0.0}
    done, period = False, 0
    while not done:
        action, _ = policy.predict(obs)
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        if period >= warm_up:
            for key in later:
                later[key] += info["kpis"][key]
        period += 1
    row = run_episode(env, make_policy("balanced", env, seed=seed), seed, warm_up=warm_up)
    full = run_episode(env, make_policy("balanced", env, seed=seed), seed)
    for key, value in later.items():
        assert row[key] == pytest.approx(value)
    assert row["fill_rate"] == pytest.approx(100 * later["units_fulfilled"] / later["units_requested"])
    assert row["units_requested"] < full["units_requested"]
