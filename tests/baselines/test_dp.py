"""The exact DP beyond tiny-dp: small-dp against the simulator, the information-relaxation check, refusals."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import numpy as np
import pytest
import yaml
from pinned_lp import pinned_replay
from scipy import stats

from allocsim.baselines import dp, dp_dual
from allocsim.baselines.clairvoyant import clairvoyant_bound
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand import sample_episode
from allocsim.envs.network import Network
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import run_episode


def preset_dict(name: str) -> dict[str, Any]:
    return yaml.safe_load((resources.files("allocsim.envs") / "presets" / f"{name}.yaml").read_text())


NODE_HOLDING = "small-dp, holding per node"  # DC 0.1, stores 0.8 / 0.6 / 0.4 per unit and period


@functools.cache
def env(name: str) -> AllocationEnv:
    if name == NODE_HOLDING:
        data = preset_dict("small-dp")
        data["dc"]["holding_cost"] = {"widget": 0.1}
        for loc, cost in zip(data["locations"], (0.8, 0.6, 0.4), strict=True):
            loc["holding_cost"] = {"widget": cost}
        return AllocationEnv(Scenario.model_validate(data))
    return AllocationEnv(name)


@functools.cache
def solution(name: str) -> dp.DPSolution:
    return dp.solution_for(env(name).network, env(name).profile)


def network_of(data: dict[str, Any]) -> Network:
    return Network.compile(Scenario.model_validate(data))


# ------------------------------------------------------- small-dp vs the simulator
def _replayed_profit(name: str, seed: int) -> float:
    """The DP's allocations on the seed's demand, accounted by hand (base-stock DC, lead time 1)."""
    e, sol = env(name), solution(name)
    net = e.network
    demand = sample_episode(e.profile, net, seed).demand[:, :, 0, 0]
    level = net.scenario.supplier.replenishment.level["widget"]
    lead = net.scenario.supplier.lead_time.periods
    price, cost = net.price[0, 0], net.unit_cost[0]
    dc_hold, store_hold = net.dc_holding_cost[0], net.location_holding_cost[:, 0]
    due = np.zeros(net.periods + lead + 1, dtype=np.int64)
    dc, on_order = int(net.initial_dc_stock[0]), 0
    stock, transit = net.initial_location_stock[:, 0].copy(), np.zeros(net.n_locations, dtype=np.int64)
    profit = 0.0
    for t in range(net.periods):
        dc, on_order, stock = dc + due[t], on_order - due[t], stock + transit
        pipeline = due[t + 1 : t + lead].reshape(1, -1)
        ship = sol.allocation(t, np.array([dc]), stock[:, None], pipeline)[:, 0]
        order = min(max(level - (dc + on_order), 0), int(net.supplier_capacity[0]))
        on_order += order
        if t + lead < net.periods:
            due[t + lead] += order
        dc, transit = dc - int(ship.sum()), ship
        sold = np.minimum(stock, demand[t])
        stock = stock - sold
        profit += (price - cost) * sold.sum() - net.shortage_penalty[0] * (demand[t] - sold).sum()
        profit -= dc_hold * dc + store_hold @ stock + ship @ net.shipping_cost
        if t == net.periods - 1:
            profit += (net.salvage_value[0] - cost) * (dc + stock.sum() + transit.sum())
    return profit


@pytest.mark.parametrize("name", ["small-dp", NODE_HOLDING])
def test_small_dp_model_is_the_simulator_on_every_seed(name: str) -> None:
    """Supplier orders with a lead time and lead-time-1 stores: the env's profit is the hand account."""
    e = env(name)
    policy = dp.DPPolicy(e)
    for seed in range(25):
        expected = _replayed_profit(name, seed)
        assert run_episode(e, policy, seed)["profit"] == pytest.approx(expected, abs=1e-9)


def test_small_dp_is_within_the_targets() -> None:
    sol = solution("small-dp")
    assert sol.pairs >= 1_000_000  # state-allocation pairs per period
    assert sol.states == 15 * 7 * 8 * 7 * 6 and len(sol.actions) == 8 * 7 * 6
    assert dp.refusal(env("small-dp").network) is None


# ``allocsim bound --json``'s DP sizes and time on small-dp: asserted in test_lagrangian_bound's
# test_every_reported_bound_is_above_the_dp_optimum_per_seed_mean, on the report it builds anyway
# (a report of its own here cost ~20 s: the lane-penalty bound takes seconds a seed on small-dp).


def test_dp_table_reaches_only_states_inside_the_grid_with_total_probability_one() -> None:
    sol = solution("small-dp")
    rows = sol.table()
    assert rows[0]["value_to_go"] == pytest.approx(sol.value)
    for t in range(sol.net.periods):
        assert sum(r["probability"] for r in rows if r["period"] == t) == pytest.approx(1.0, abs=1e-9)
    assert all(r["due+1.widget"] <= 6 for r in rows)  # supplier capacity caps an order


# ----------------------------------------------------- information relaxation
@pytest.mark.parametrize(
    ("name", "seeds"), [("tiny-dp", range(60)), pytest.param("small-dp", range(3), marks=pytest.mark.slow)]
)
def test_ideal_penalty_gives_the_optimum_on_every_path(name: str, seeds: range) -> None:
    sol = solution(name)
    for seed in seeds:
        assert dp_dual.ideal_penalty_value(sol, seed) == pytest.approx(sol.value, rel=1e-6), seed


def test_path_optimum_without_penalty_sits_between_the_policy_and_the_lp_bound() -> None:
    """Integer perfect-information optimum: >= the DP policy's profit on the path, <= the LP relaxation."""
    e, sol = env("tiny-dp"), solution("tiny-dp")
    policy = dp.DPPolicy(e)
    for seed in range(30):
        demand = sample_episode(e.profile, e.network, seed).demand
        best = dp_dual.penalised_value(sol, demand, "none")
        assert best >= run_episode(e, policy, seed)["profit"] - 1e-9
        assert best <= clairvoyant_bound(e.network, seed, e.profile).bound + 1e-6


def test_value_only_penalty_is_a_bound_in_the_mean_but_not_path_by_path() -> None:
    e, sol = env("tiny-dp"), solution("tiny-dp")
    values = np.array([dp_dual.penalised_value(sol, sample_episode(e.profile, e.network, s).demand, "value")
                       for s in range(100)])
    ci = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    assert values.mean() + ci >= sol.value
    assert values.std() > 1.0  # unlike the ideal penalty, paths differ


def test_unknown_penalty_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="unknown penalty 'exact'; choose one of none, value, ideal"):
        dp_dual.penalised_value(solution("tiny-dp"), np.zeros((8, 2, 1, 1), dtype=np.int64), "exact")


# ------------------------------------------------------------------ refusals
def _tiny_with(**changes: Any) -> dict[str, Any]:
    data = preset_dict("tiny-dp")
    for path, value in changes.items():
        node = data
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[leaf] = value
    return data


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"locations__0__lead_time": 2}, "a location lead time above 1"),
        ({"channels__0__unmet": "backorder"}, "backorders"),
        ({"supplier__lead_time": {"kind": "uniform", "low": 1, "high": 2},
          "supplier__replenishment": {"rule": "base-stock", "level": {"widget": 4}}},
         "a random supplier lead time"),
        ({"guardrails__working_capital_cap": 1000}, "a working-capital cap"),
    ],
)
def test_dp_refuses_what_it_does_not_model_in_one_line(changes: dict[str, Any], named: str) -> None:
    reason = dp.refusal(network_of(_tiny_with(**changes)))
    assert reason is not None and "\n" not in reason
    assert f"outside the exact DP's model: it has {named}" in reason


def test_dp_refuses_a_grid_beyond_the_state_limit_with_its_count() -> None:
    data = _tiny_with(supplier__replenishment={"rule": "base-stock", "level": {"widget": 40}})
    for loc in data["locations"]:
        loc["capacity"] = 30
    data["locations"].append({**data["locations"][0], "name": "store-c"})  # DC 0..40 x 31^3 stock
    reason = dp.refusal(network_of(data))
    assert reason == ("scenario 'tiny-dp' is too large for the exact DP: 1,221,431 states per period "
                      "(limit 1,000,000; tiny-dp has 250)")


# ------------------------------------------------------------ holding per node
def test_lp_prices_an_episode_with_holding_per_node_exactly() -> None:
    """The clairvoyant LP with the DP policy's shipments pinned prices the episode, DC and stores apart."""
    e = env(NODE_HOLDING)
    seed = 11
    kpis, objective = pinned_replay(e, dp.DPPolicy(e), seed)
    assert objective == pytest.approx(kpis["profit"], abs=1e-6)
    uniform = run_episode(env("small-dp"), dp.DPPolicy(env("small-dp")), seed)["holding_cost"]
    assert kpis["holding_cost"] != pytest.approx(uniform)  # the overrides do change what is charged
