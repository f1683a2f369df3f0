"""The DP's model of a period against the simulator, on random scenarios of the DP's class.

For each generated scenario (1-2 SKUs, 1-2 locations with lead time 0 or 1, one or two
lost-sales channels in priority order, an inbound schedule, no orders / base-stock /
min-max / the policy's own orders at the DC with a supplier lead time of 0-2 and a
capacity, a safety reserve, holding per node), the DP's policy is played in the env, and
the DP's own accounting of the same path (``dp_dual.policy_profit``: its orders,
transitions and rewards) must give the env's profit to the cent on every seed.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocsim.baselines import dp, dp_dual
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand import sample_episode
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import run_episode

SKUS, CHANNELS = ("a", "b"), ("walk-in", "online")


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    n_skus = draw(st.integers(1, 2))
    n_locs = draw(st.integers(1, 3 - n_skus))  # at most 2 location x SKU axes beyond one SKU
    skus = SKUS[:n_skus]
    money = st.floats(0.0, 3.0).map(lambda x: round(x, 2))
    rule = draw(st.sampled_from(["none", "base-stock", "min-max", "policy"]))
    replenishment: dict[str, Any] = {"rule": rule}
    if rule == "base-stock":
        replenishment["level"] = {s: draw(st.integers(0, 6)) for s in skus}
    elif rule == "min-max":
        low = {s: draw(st.integers(0, 3)) for s in skus}
        replenishment.update(min=low, max={s: low[s] + draw(st.integers(0, 3)) for s in skus})
    elif rule == "policy":
        replenishment["max_order"] = {s: draw(st.integers(0, 3)) for s in skus}
    periods = draw(st.integers(2, 5))
    locations = []
    for i in range(n_locs):
        capacity = draw(st.integers(1, 4))
        stock = {s: draw(st.integers(0, capacity // n_skus)) for s in skus}
        locations.append({
            "name": f"loc{i}", "region": f"r{i}", "capacity": capacity, "initial_stock": stock,
            "channels": draw(st.sampled_from([["walk-in"], ["online"], ["walk-in", "online"]])),
            "lead_time": draw(st.integers(0, 1)), "shipping_cost": draw(money),
            "holding_cost": draw(st.dictionaries(st.sampled_from(skus), money, max_size=n_skus)),
        })
    return {
        "name": "differential", "periods": periods,
        "skus": [{"name": s, "unit_cost": 5.0, "price": {c: 5.0 + draw(money) * 4 for c in CHANNELS},
                  "holding_cost": draw(money), "salvage_value": draw(st.floats(0.0, 5.0))} for s in skus],
        "channels": [{"name": c, "unmet": "lost", "shortage_penalty": draw(money),
                      "priority": draw(st.integers(0, 3))} for c in CHANNELS],
        "supplier": {
            "lead_time": {"kind": "fixed", "periods": draw(st.integers(0, 2))},
            "capacity_per_period": {s: draw(st.integers(1, 4)) for s in skus},
            "inbound_schedule": [
                {"period": draw(st.integers(0, periods - 1)), "sku": draw(st.sampled_from(skus)),
                 "quantity": draw(st.integers(0, 3))} for _ in range(draw(st.integers(0, 2)))
            ],
            "replenishment": replenishment,
        },
        "dc": {"initial_stock": {s: draw(st.integers(0, 5)) for s in skus},
               "safety_reserve": {s: draw(st.integers(0, 1)) for s in skus},
               "holding_cost": draw(st.dictionaries(st.sampled_from(skus), money, max_size=n_skus))},
        "locations": locations,
        "demand": {"streams": [{"mean": draw(st.floats(0.2, 2.0))}]},
        "forecast": {"noise_cv": 0.0, "horizon": 1},
        "guardrails": {"enforce_capacity": True},
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scenarios())
def test_dp_accounting_of_its_own_policy_is_the_simulators_profit(data: dict[str, Any]) -> None:
    env = AllocationEnv(Scenario.model_validate(data))
    assert dp.refusal(env.network) is None
    policy = dp.DPPolicy(env)
    for seed in range(3):
        demand = sample_episode(env.profile, env.network, seed).demand
        expected = dp_dual.policy_profit(policy.solution, demand)
        assert run_episode(env, policy, seed)["profit"] == pytest.approx(expected, abs=1e-8), seed
