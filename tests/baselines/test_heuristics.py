"""Heuristic rule sets: they beat ``random``, stay feasible, and run everywhere."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from allocsim.baselines.common import fill_level, ration, round_columns, window_demand
from allocsim.baselines.registry import POLICIES, make_policy, rule_names
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import preset_names
from allocsim.experiments.evaluation import run_episode

HEURISTICS = ["proportional", "balanced", "priority", "base-stock", "min-max", "myopic-lp"]
SEEDS = range(20)


@pytest.fixture(scope="module")
def retail_small_runs() -> dict[str, list[dict[str, Any]]]:
    env = AllocationEnv("retail-small")
    runs = {}
    for name in ["random", *HEURISTICS]:
        policy = make_policy(name, env, seed=0)
        runs[name] = [run_episode(env, policy, seed) for seed in SEEDS]
    return runs


def test_every_heuristic_is_registered() -> None:
    assert set(HEURISTICS) | {"random", "hold"} == set(rule_names())
    assert set(POLICIES) - set(rule_names()) == {"dp", "rollout", "sp-mpc"}


@pytest.mark.parametrize("name", HEURISTICS)
@pytest.mark.slow
def test_heuristic_beats_random_on_common_random_numbers(
    retail_small_runs: dict[str, list[dict[str, Any]]], name: str
) -> None:
    rule = np.mean([row["profit"] for row in retail_small_runs[name]])
    random = np.mean([row["profit"] for row in retail_small_runs["random"]])
    assert rule > random, f"{name}: mean profit {rule:.0f} <= random {random:.0f}"


def test_units_requested_are_the_same_for_every_policy(
    retail_small_runs: dict[str, list[dict[str, Any]]],
) -> None:
    reference = [row["units_requested"] for row in retail_small_runs["random"]]
    for name, rows in retail_small_runs.items():
        assert [row["units_requested"] for row in rows] == reference, name


@pytest.mark.parametrize("scenario", ["retail-medium", "omnichannel-transfers"])
def test_myopic_lp_respects_stock_and_capacity(scenario: str) -> None:
    env = AllocationEnv(scenario)
    net = env.network
    policy = make_policy("myopic-lp", env)
    obs, _ = env.reset(seed=3)
    done = False
    moved = 0
    while not done:
        state = env.state
        planned, transfers, _ = policy.decide(state)
        action, _ = policy.predict(obs)
        decision = env.preview(action)
        alloc = decision.allocation
        assert np.array_equal(alloc, planned), "encode/decode changed the LP's allocation"
        assert (alloc >= 0).all() and (alloc.sum(axis=0) <= state.dc_available).all()
        incoming = np.zeros(net.n_locations, dtype=np.int64)
        if net.n_lanes:
            assert transfers is not None and (decision.transfers <= transfers).all()
            np.add.at(incoming, net.lane_target, decision.transfers.sum(axis=1))
            outgoing = np.zeros_like(state.on_hand)
            np.add.at(outgoing, net.lane_source, decision.transfers)
            assert (outgoing <= state.on_hand).all()
            moved += int(decision.transfers.sum())
        load = state.on_hand.sum(axis=1) + state.inbound.sum(axis=1) + alloc.sum(axis=1) + incoming
        assert (load <= net.capacity).all()
        obs, _, done, _, info = env.step(action)
        assert not [t for t in info["decision_log"] if t.rule == "capacity"]
    if net.n_lanes:
        assert moved > 0, "the LP never used a transfer lane"


@pytest.mark.parametrize("scenario", preset_names())
def test_every_rule_runs_on_every_preset(scenario: str) -> None:
    env = AllocationEnv(scenario)
    shape = env.action_space.shape
    for name in HEURISTICS:
        policy = make_policy(name, env, seed=1)
        obs, _ = env.reset(seed=7)
        for _ in range(min(12, env.network.periods)):
            action, state = policy.predict(obs)
            assert state is None and action.shape == shape and action.dtype == np.float64  # exact units
            assert np.isfinite(action).all() and (np.abs(action) <= 1.0).all()
            obs, _, done, _, _ = env.step(action)
            if done:
                break
        batch, _ = policy.predict(obs[None])
        assert batch.shape == (1, *shape)


def test_params_are_typed_and_closed() -> None:
    env = AllocationEnv("retail-small")
    assert make_policy("base-stock", env, safety_factor=0.5).params.safety_factor == 0.5  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        make_policy("base-stock", env, safty_factor=1.0)
    with pytest.raises(ValidationError):
        make_policy("min-max", env, min_days=6.0, max_days=3.0)
    with pytest.raises(ValidationError):
        make_policy("myopic-lp", env, quantiles=(0.9, 0.5))


def test_integer_helpers_conserve_units() -> None:
    request = np.array([[3.0, 0.0], [5.0, 2.0], [2.0, 1.0]])
    given = ration(request, np.array([6, 10]))
    assert given.sum(axis=0).tolist() == [6, 3] and (given <= request).all()
    weight, cap = np.array([[1.0], [3.0]]), np.array([[10.0], [2.0]])
    amounts = fill_level(weight, np.zeros((2, 1)), cap, np.array([6.0]))
    assert np.allclose(amounts[:, 0], [4.0, 2.0], atol=1e-6)
    assert round_columns(np.array([[0.5], [0.5], [1.0]]), np.array([2])).sum() == 2
    forecast = np.ones((3, 2, 1))
    assert np.allclose(window_demand(forecast, np.array([1.5, 5.0]))[:, 0], [1.5, 5.0])
