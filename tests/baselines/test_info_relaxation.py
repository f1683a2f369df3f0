"""The penalised information-relaxation bound: penalty mean zero, per-path validity, tighter bound."""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from allocsim.baselines import dp
from allocsim.baselines.clairvoyant import build
from allocsim.baselines.info_relaxation import (
    SalesPenalty,
    fit_penalty,
    lost_sales_lanes,
    penalised_bound,
    unknown_channels,
)
from allocsim.baselines.registry import make_policy
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand import sample_episode
from allocsim.experiments.bounds import fit_seeds
from allocsim.experiments.seeds import seed_block

EVALUATION = range(40_000, 40_300)  # test block: never a fit seed


@functools.cache
def env(name: str) -> AllocationEnv:
    return AllocationEnv(name)


@functools.cache
def tiny_penalty() -> SalesPenalty:
    e = env("tiny-dp")
    return fit_penalty(e.network, e.profile, fit_seeds(53))


def _ci95(values: np.ndarray) -> float:
    return float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))


def _played(name: str, rule: str, seed: int) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """(profit, shipments, stock on hand when demand is served, units sold) of ``rule`` on ``seed``.

    For lead time 0 from the DC, no shelf life and lost sales (tiny-dp, retail-small).
    """
    e = env(name)
    policy = make_policy(rule, e, seed=seed)
    obs, _ = e.reset(seed=seed)
    ships, stock, sold, done = [], [], [], False
    while not done:
        action, _ = policy.predict(obs)
        shipped = e.preview(action).allocation
        held = e.state.on_hand + shipped
        obs, _, done, _, _ = e.step(action)
        ships.append(shipped)
        stock.append(held)
        sold.append(held - e.state.on_hand)
    return e.kpis()["profit"], np.array(ships), np.array(stock, float), np.array(sold, float)


def test_fit_seeds_are_tuning_seeds_never_evaluation_seeds() -> None:
    tuning = seed_block("tuning")
    for columns in (53, 20_000, 10**9):
        seeds = fit_seeds(columns)
        assert 2 <= len(seeds) <= 200 and all(tuning.start <= s < tuning.start + tuning.size for s in seeds)
    assert len(fit_seeds(53)) > len(fit_seeds(20_000))


def test_expected_sales_match_the_sampler() -> None:
    """E[min(Y, D)] from the penalty's segments against realised demand of many seeds (tiny-dp)."""
    e, penalty = env("tiny-dp"), tiny_penalty()
    draws = np.array([sample_episode(e.profile, e.network, s).demand.sum(-1) for s in range(4000)])
    for y in (0, 1, 2, 4, 9):
        realised = np.minimum(y, draws)  # (seeds, T, L, S)
        expected = penalty.expected_sales(np.full(penalty.weight.shape, float(y)))
        half = 4 * realised.std(axis=0) / np.sqrt(len(draws)) + 1e-12
        assert (np.abs(realised.mean(axis=0) - expected) <= half).all(), y
    assert penalty.expected_sales(np.zeros(penalty.weight.shape)) == pytest.approx(0.0)


def test_penalty_has_mean_zero_under_a_non_anticipative_policy() -> None:
    """Differential dual-feasibility check: base-stock played in the simulator, penalty summed per seed."""
    penalty = tiny_penalty()
    assert (penalty.weight > 0).any()
    totals = []
    for seed in range(300):
        _, _, stock, sold = _played("tiny-dp", "base-stock", seed)
        demand = sample_episode(env("tiny-dp").profile, env("tiny-dp").network, seed).demand.sum(-1)
        assert np.array_equal(sold, np.minimum(stock, demand))  # the simulator sells min(Y, D)
        totals.append(float((penalty.weight * (sold - penalty.expected_sales(stock))).sum()))
    values = np.array(totals)
    assert values.std() > 1.0  # the penalty is not trivially zero on a path
    assert abs(values.mean()) <= _ci95(values), (values.mean(), _ci95(values))


@pytest.mark.parametrize("rule", ["base-stock", "random"])
def test_penalised_lp_with_pinned_shipments_is_at_least_profit_minus_penalty(rule: str) -> None:
    """The per-path inequality the bound rests on, for a simulated trajectory."""
    e, penalty = env("tiny-dp"), tiny_penalty()
    for seed in range(5):
        profit, ships, stock, _ = _played("tiny-dp", rule, seed)
        demand = sample_episode(e.profile, e.network, seed).demand.sum(-1)
        charged = float((penalty.weight * (np.minimum(stock, demand) - penalty.expected_sales(stock))).sum())
        plan = build(e.network, sample_episode(e.profile, e.network, seed))
        penalty.apply(plan)
        plan.lp.fix(plan.ship, ships)
        assert plan.lp.solve().objective >= profit - charged - 1e-6


def test_penalised_bound_is_valid_and_tighter_on_tiny_dp() -> None:
    """Mean not below the DP optimum beyond its CI; mean below the zero-penalty bound (paired CI)."""
    e, penalty = env("tiny-dp"), tiny_penalty()
    results = [penalised_bound(e.network, s, e.profile, penalty) for s in EVALUATION]
    pen = np.array([r.penalised for r in results])
    zero = np.array([r.clairvoyant.bound for r in results])
    optimum = dp.solution_for(e.network, e.profile).value
    assert pen.mean() + _ci95(pen) >= optimum
    diff = zero - pen
    assert diff.mean() - _ci95(diff) > 0, (zero.mean(), pen.mean())


def test_zero_weights_give_the_zero_penalty_bound() -> None:
    e = env("retail-small")
    penalty = fit_penalty(e.network, e.profile, fit_seeds(1281)[:2], alphas=(1.0,))
    off = replace(penalty, weight=np.zeros_like(penalty.weight))
    plan = build(e.network, sample_episode(e.profile, e.network, 3))
    off.apply(plan)
    result = penalised_bound(e.network, 3, e.profile, off)
    assert plan.lp.solve().objective == pytest.approx(result.clairvoyant.bound)
    assert result.penalised == result.clairvoyant.bound


def test_advance_notice_demand_is_not_in_the_penalised_demand() -> None:
    """Orders known at the decision are part of B, not of D: D's mean is the other channels' mean."""
    e = env("contracts-scarce")
    unknown = unknown_channels(e.network)
    assert not unknown.all()
    penalty = fit_penalty(e.network, e.profile, fit_seeds(2482)[:2], alphas=(1.0,))
    mean_d = penalty.expected_sales(penalty.segments.astype(float))  # E[D] up to the tail
    expected = e.profile.mean[: e.network.periods][..., unknown].sum(-1)
    assert mean_d == pytest.approx(expected, abs=1e-4)
    assert (penalty.weight >= 0).all()


def test_lanes_with_backorders_or_notice_get_their_own_scale() -> None:
    assert lost_sales_lanes(env("tiny-dp").network, env("tiny-dp").profile).all()
    e = env("retail-medium")  # stores lose sales; online is half backordered, wholesale has notice
    lanes = lost_sales_lanes(e.network, e.profile)
    assert lanes.any() and not lanes.all()
    penalty = tiny_penalty()
    assert penalty.alpha[1] == 0.0 and penalty.alpha[0] > 0  # tiny-dp has only lost-sales lanes
