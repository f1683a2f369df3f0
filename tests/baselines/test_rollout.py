"""The rollout policy: its vector-copy rollouts equal the same rollouts replayed in a single env, and it
never sees the episode's own future demand."""

from __future__ import annotations

import numpy as np
import pytest

from allocsim.baselines.registry import make_policy
from allocsim.baselines.rollout import RolloutPolicy
from allocsim.baselines.tuned_params import load_tuned
from allocsim.envs.allocation_env import AllocationEnv

SCENARIO = "tiny-dp"


def _env_two_periods_in() -> tuple[AllocationEnv, np.ndarray]:
    env = AllocationEnv(SCENARIO)
    obs, _ = env.reset(seed=40_003)
    rule = make_policy("base-stock", env, **(load_tuned(SCENARIO, "base-stock") or {}))
    for _ in range(2):
        obs, *_ = env.step(rule.predict(obs)[0])
    return env, obs


def _replayed(env: AllocationEnv, policy: RolloutPolicy, k: int, j: int, obs: np.ndarray) -> float:
    """Candidate ``k`` on future ``j``, played in a fresh single env from the same state."""
    state = env.get_state()
    other = AllocationEnv(SCENARIO)
    other.reset(seed=0)
    other.set_state(state)
    other.engine.follow_future([0], [policy.rollouts.future_seeds[j]])
    rule = make_policy("base-stock", other, **(load_tuned(SCENARIO, "base-stock") or {}))
    action = policy.candidates[k].predict(obs)[0]
    total = 0.0
    for _ in range(policy.params.horizon):
        obs_next, reward, done, *_ = other.step(action)
        total += reward
        if done:
            break
        action = rule.predict(obs_next)[0]
    return total


def test_vector_rollouts_equal_single_env_replays() -> None:
    env, obs = _env_two_periods_in()
    policy = RolloutPolicy(env, samples=2, horizon=3)
    means = policy.evaluate(obs)
    assert len(means) == len(policy.candidates) >= 3
    for k in range(len(policy.candidates)):
        expected = np.mean([_replayed(env, policy, k, j, obs) for j in range(2)])
        assert means[k] == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_the_episodes_own_future_demand_changes_nothing() -> None:
    env, obs = _env_two_periods_in()
    policy = RolloutPolicy(env, samples=3, horizon=4)
    before = policy.evaluate(obs)
    action = policy.predict(obs)[0]
    ring = env.get_state().demand_ring.copy()
    env.engine.follow_future([0], [987_654])  # a very different future for this episode
    assert not np.array_equal(env.get_state().demand_ring, ring)
    obs_again = env.set_state(env.get_state())
    np.testing.assert_array_equal(policy.evaluate(obs_again), before)
    np.testing.assert_array_equal(policy.predict(obs_again)[0], action)


def test_the_played_decision_is_the_best_candidates() -> None:
    env, obs = _env_two_periods_in()
    policy = RolloutPolicy(env, samples=2, horizon=2, shift=0.0)  # stage one only
    action = policy.predict(obs)[0]
    best = int(np.argmax(policy.last_means))
    np.testing.assert_array_equal(action, policy.candidates[best].predict(obs)[0])


def test_bad_parameters_are_refused() -> None:
    env, _ = _env_two_periods_in()
    with pytest.raises(ValueError, match="samples"):
        RolloutPolicy(env, samples=0)


def test_events_mode_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="aggregated timing mode only"):
        RolloutPolicy(AllocationEnv(SCENARIO, timing="events"))


def test_perturbations_move_one_cell_each_within_the_dc_stock() -> None:
    """Stage two: the best action, then each location/SKU's shipment moved down and up by the shift
    (one cell at a time, never below 0 or beyond what the DC keeps); the played action is one of them."""
    env = AllocationEnv("retail-small")
    obs, _ = env.reset(seed=40_003)  # the DC has stock to move
    policy = RolloutPolicy(env, samples=2, horizon=3, shift=1.0)
    best = policy.first_actions(obs)[0]
    rows = policy.perturbations(best)
    base = env.preview(best, guardrails=False).allocation
    available = env.state.dc_available
    assert policy.perturbed is not None and len(rows) == policy.perturbed.candidates == 1 + 2 * base.size
    np.testing.assert_array_equal(rows[0], best)
    moved_any = False
    for row in rows[1:]:
        moved = env.preview(row, guardrails=False).allocation
        assert np.count_nonzero(moved - base) <= 1
        assert (moved >= 0).all() and (moved.sum(axis=0) <= available).all()
        moved_any |= bool((moved != base).any())
    assert moved_any
    action = policy.predict(obs)[0]
    assert any(np.array_equal(action, row) for row in policy.perturbations(policy.first_actions(obs)[
        int(np.argmax(policy.last_means))]))
