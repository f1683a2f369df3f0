"""The best possible: the exact DP on tiny-dp and the clairvoyant LP bound on every preset."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from pinned_lp import pinned_replay
from scipy import stats

from allocsim.baselines import dp
from allocsim.baselines.clairvoyant import clairvoyant_bound
from allocsim.baselines.demand_pmf import lane_pmf, location_period
from allocsim.baselines.registry import make_policy, rule_names
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand import DemandProfile, sample_episode
from allocsim.envs.scenario import preset_names
from allocsim.experiments.evaluation import run_episode

SEED_HALVES = {"seeds 0-9": range(0, 10), "seeds 10-19": range(10, 20)}  # 20 seeds, split for xdist
DP_SEEDS = range(400)


@functools.cache
def env(name: str) -> AllocationEnv:
    return AllocationEnv(name)


@functools.cache
def tiny_solution() -> dp.DPSolution:
    return dp.solution_for(env("tiny-dp").network, env("tiny-dp").profile)


def _ci95(values: np.ndarray) -> float:
    return float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))


# --------------------------------------------------------------- clairvoyant bound
@pytest.mark.parametrize("half", SEED_HALVES)
@pytest.mark.parametrize("name", preset_names())
@pytest.mark.slow
def test_bound_is_above_every_rule_on_every_seed(name: str, half: str) -> None:
    e = env(name)
    for seed in SEED_HALVES[half]:
        result = clairvoyant_bound(e.network, seed, e.profile)
        assert result.rows > 0 and result.cols > 0 and result.nnz > 0
        for rule in rule_names():
            profit = run_episode(e, make_policy(rule, e, seed=seed), seed)["profit"]
            assert result.bound >= profit - 1e-6 * max(1.0, abs(result.bound)), (
                f"{name} seed {seed}: {rule} earned {profit:.2f} above the bound {result.bound:.2f}"
            )


def _replayed(name: str, rule: str, seed: int) -> tuple[float, float]:
    """(simulated profit, LP optimum with the simulation's shipments and orders pinned)."""
    e = env(name)
    kpis, objective = pinned_replay(e, make_policy(rule, e, seed=seed), seed)
    return kpis["profit"], objective


@pytest.mark.parametrize("name", ["retail-small", "tiny-dp"])
@pytest.mark.parametrize("rule", ["base-stock", "random"])
def test_lp_prices_a_simulated_episode_exactly(name: str, rule: str) -> None:
    """Lost sales, one channel per location, no transfers: the LP's objective is the profit KPI."""
    profit, replay = _replayed(name, rule, seed=3)
    assert replay == pytest.approx(profit, abs=1e-6)


@pytest.mark.parametrize("name", ["retail-medium", "contracts-scarce", "seasonal-aging"])
def test_lp_with_pinned_decisions_is_at_least_the_simulated_profit(name: str) -> None:
    """Service order, backorder split, markdowns and expiry are relaxed, so >= (and not far off for hold)."""
    profit, replay = _replayed(name, "base-stock", seed=5)
    assert replay >= profit - 1e-6


def test_bound_is_reproducible_and_uses_the_seed() -> None:
    e = env("retail-small")
    first, again, other = (clairvoyant_bound(e.network, s, e.profile).bound for s in (7, 7, 8))
    assert first == again and first != other


# ---------------------------------------------------------------------- exact DP
def test_dp_refuses_large_scenarios_naming_the_state_count() -> None:
    for name in ("retail-small", "retail-medium"):
        with pytest.raises(ValueError, match=r"states per period \(limit 1,000,000") as err:
            make_policy("dp", env(name))
        assert "\n" not in str(err.value) and name in str(err.value)
    assert dp.refusal(env("tiny-dp").network) is None


def test_dp_model_is_the_simulator_on_every_seed() -> None:
    """Following the DP's table on a seed's realised demand, the DP's accounting gives the env's profit."""
    e, sol = env("tiny-dp"), tiny_solution()
    net = e.network
    policy = dp.DPPolicy(e)
    price, cost = net.price[0, 0], net.unit_cost[0]
    for seed in range(60):
        demand = sample_episode(e.profile, net, seed).demand[:, :, 0, 0]
        dc = int(net.initial_dc_stock[0] + net.planned_receipts[0, 0])
        stock = net.initial_location_stock[:, 0].copy()
        profit = 0.0
        for t in range(net.periods):
            ship = sol.allocation(t, np.array([dc]), stock[:, None])[:, 0]
            dc, held = dc - int(ship.sum()), stock + ship
            sold = np.minimum(held, demand[t])
            stock = held - sold
            profit += (price - cost) * sold.sum() - net.shortage_penalty[0] * (demand[t] - sold).sum()
            profit -= net.holding_cost[0] * (dc + stock.sum()) + ship @ net.shipping_cost
            if t == net.periods - 1:
                profit += (net.salvage_value[0] - cost) * (dc + stock.sum())
            else:
                dc += int(net.planned_receipts[t + 1, 0])
        assert run_episode(e, policy, seed)["profit"] == pytest.approx(profit, abs=1e-9)


@pytest.mark.parametrize("name", ["tiny-dp", "small-dp"])
@pytest.mark.slow
def test_dp_policy_simulated_matches_the_dp_value(name: str) -> None:
    e = env(name)
    sol = dp.solution_for(e.network, e.profile)
    policy = make_policy("dp", e)
    profits = np.array([run_episode(e, policy, seed)["profit"] for seed in DP_SEEDS])
    assert abs(profits.mean() - sol.value) <= _ci95(profits), (profits.mean(), sol.value)


@pytest.mark.parametrize("rule", rule_names())
@pytest.mark.slow
def test_dp_value_is_at_least_every_rule_mean(rule: str) -> None:
    """The optimum in expectation; the rule's sample mean may sit above it only within its own CI."""
    e, value = env("tiny-dp"), tiny_solution().value
    profits = np.array([run_episode(e, make_policy(rule, e, seed=s), s)["profit"] for s in range(200)])
    assert value >= profits.mean() - _ci95(profits), (rule, profits.mean(), value)


def test_mean_clairvoyant_bound_is_above_the_dp_value() -> None:
    e = env("tiny-dp")
    bounds = np.array([clairvoyant_bound(e.network, s, e.profile).bound for s in range(100)])
    assert bounds.mean() - _ci95(bounds) >= tiny_solution().value


def test_dp_table_follows_the_optimal_policy() -> None:
    sol = tiny_solution()
    rows = sol.table()
    first = rows[0]
    assert first["period"] == 0 and first["probability"] == 1.0
    assert first["value_to_go"] == pytest.approx(sol.value)
    for t in range(sol.net.periods):
        assert sum(r["probability"] for r in rows if r["period"] == t) == pytest.approx(1.0, abs=1e-9)


# ------------------------------------------------------------------- demand pmfs
@pytest.mark.slow
def test_lane_pmfs_match_the_sampler() -> None:
    """Poisson, negative binomial and rounded normal lanes: the DP's pmf against sampled episodes."""
    e = env("retail-medium")
    profile: DemandProfile = e.profile
    lanes = [(0, 0, 0), (0, 2, 0), (10, 0, 1), (10, 0, 2)]  # store poisson / NB, online NB, wholesale normal
    draws = np.array([sample_episode(profile, e.network, seed).demand[5] for seed in range(3000)])
    for lane in lanes:
        pmf = lane_pmf(profile, 5, *lane)
        seen = draws[(slice(None), *lane)]
        empirical = np.bincount(seen, minlength=len(pmf))[: len(pmf)] / len(seen)
        assert pmf.sum() == pytest.approx(1.0)
        assert np.abs(empirical - pmf).max() < 0.03, lane
        assert abs(seen.mean() - np.arange(len(pmf)) @ pmf) < 4 * seen.std() / np.sqrt(len(seen)), lane


def test_location_period_serves_in_priority_order() -> None:
    first, second = stats.poisson(1.5).pmf(np.arange(40)), stats.poisson(2.0).pmf(np.arange(40))
    out = location_period([first, second], top=6)
    rng = np.random.default_rng(0)
    d1, d2 = rng.poisson(1.5, 200_000), rng.poisson(2.0, 200_000)
    for y in range(7):
        s1 = np.minimum(y, d1)
        s2 = np.minimum(y - s1, d2)
        assert out.served[y, 0] == pytest.approx(s1.mean(), abs=0.02)
        assert out.served[y, 1] == pytest.approx(s2.mean(), abs=0.02)
    assert np.allclose(out.transition.sum(axis=1), 1.0)
