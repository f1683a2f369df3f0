"""ONNX export of ``targets`` and ``residual`` policies: the runtime decides as the env of that mode does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3 import PPO

from allocsim.agents.export import export_policy
from allocsim.agents.guarded_decision import decide_in_world
from allocsim.agents.inference import OnnxPolicy
from allocsim.agents.policy import LearnedPolicy, ObsNormalizer
from allocsim.agents.policy_card import CardError, PolicyCard
from allocsim.agents.state_input import observation, parse_state
from allocsim.core.order_up_to import feasible_allocation
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.replenishment import order_rule
from allocsim.experiments.evaluation import build_policy, learned_spec, run_episode
from allocsim.experiments.planning_state import planning_state

CASES = [("retail-small", "targets"), ("omnichannel-transfers", "targets"), ("contracts-scarce", "residual"),
         ("omnichannel-transfers", "residual")]
AROUND = {"review_periods": 2.0, "safety_factor": 1.0, "order_cover_periods": 4.0}


def _exported(scenario: str, mode: str, tmp_path: Path) -> tuple[AllocationEnv, LearnedPolicy, OnnxPolicy]:
    """An untrained PPO of ``mode`` with a made-up normalisation, exported (the graph is what matters)."""
    around = AROUND if mode == "residual" else None
    env = AllocationEnv(scenario, action_mode=mode, residual_around=around)
    model = PPO("MlpPolicy", env, seed=3, device="cpu", policy_kwargs={"net_arch": [16, 16]})
    rng = np.random.default_rng(5)
    size = env.observation_space.shape[0]
    normalizer = ObsNormalizer(rng.uniform(0, 2, size), rng.uniform(0.1, 3, size), 5.0, 1e-8)
    learned = LearnedPolicy(model, normalizer, action_mode=mode, residual_around=around)
    return env, learned, OnnxPolicy.load(export_policy(learned, "ppo", env, tmp_path / f"{mode}.onnx"))


@pytest.mark.parametrize(("scenario", "mode"), CASES)
def test_runtime_units_are_the_env_units(scenario: str, mode: str, tmp_path: Path) -> None:
    """Real states under random actions: the JSON state's decision equals the env's, unit for unit.

    Without the scenario the runtime stops before the capacity cut (as for ``shares``): the env's
    units are the runtime's cut to capacity. With the scenario (``allocsim infer --scenario``)
    every part equals the env's guarded decision.
    """
    env, learned, policy = _exported(scenario, mode, tmp_path)
    assert policy.card.action_mode == mode and policy.card.action_size == env.action_space.shape[0]
    env.reset(seed=40011)
    env.action_space.seed(40011)
    exact = 0
    for _ in range(40):
        state = env.state
        parsed = parse_state(json.loads(json.dumps(planning_state(env))), policy.card)
        action = policy.run(observation(parsed, policy.card))["action"][0]
        np.testing.assert_allclose(action, learned.predict(env.engine.obs[0])[0], atol=1e-5)
        decision = policy.decide_arrays(parsed)
        proposed, guarded = env.preview(action, guardrails=False), env.preview(action)
        rule_orders = order_rule(env.network)(state.dc_on_hand + state.dc_on_order)
        np.testing.assert_array_equal(decision.orders, proposed.orders - rule_orders)
        assert (decision.allocation.sum(axis=0) + decision.keep_at_dc == state.dc_available).all()
        # the env cuts its proposal to capacity by largest remainder before its guardrails see it
        cut = feasible_allocation(decision.allocation, state.dc_available, state.supply_room, state.headroom)
        np.testing.assert_array_equal(proposed.allocation, cut)
        exact += int((cut == decision.allocation).all())
        got = decide_in_world(policy, parsed, env.scenario)
        for part in ("allocation", "transfers", "orders", "transfer_delay"):
            np.testing.assert_array_equal(getattr(got, part), getattr(guarded, part), err_msg=part)
        _, _, terminated, _, _ = env.step(env.action_space.sample())
        assert not terminated
    assert exact > 0 or scenario == "omnichannel-transfers"  # there the centre's cover always fills capacity


def test_runtime_keeps_the_centres_order_stop(tmp_path: Path) -> None:
    """Residual around base-stock with an order stop: the card carries the stop, and over the last 20
    periods the runtime orders what the env orders: something before the stop, nothing within it."""
    around = {**AROUND, "order_stop_periods": 12.0}
    env = AllocationEnv("omnichannel-transfers", action_mode="residual", residual_around=around)
    model = PPO("MlpPolicy", env, seed=3, device="cpu", policy_kwargs={"net_arch": [16, 16]})
    learned = LearnedPolicy(model, None, action_mode="residual", residual_around=around)
    policy = OnnxPolicy.load(export_policy(learned, "ppo", env, tmp_path / "stop.onnx"))
    assert policy.card.order_stop_periods == 12.0
    env.reset(seed=40012)
    zero = np.zeros(env.action_space.shape, dtype=np.float32)
    for _ in range(env.network.periods - 20):
        env.step(zero)
    ordered = {True: 0, False: 0}
    for _ in range(20):
        state = env.state
        parsed = parse_state(json.loads(json.dumps(planning_state(env))), policy.card)
        action = policy.run(observation(parsed, policy.card))["action"][0]
        decision, proposed = policy.decide_arrays(parsed), env.preview(action, guardrails=False)
        np.testing.assert_array_equal(decision.orders, proposed.orders)  # no DC rule: the policy orders
        ordered[env.network.periods - state.period <= 12] += int(decision.orders.sum())
        env.step(action)
    assert ordered[False] > 0 and ordered[True] == 0


def test_evaluation_plays_a_targets_policy_in_a_shares_env_as_its_own_env(tmp_path: Path) -> None:
    """The evaluator's shares env driven through the adapter gives the episode of the targets env."""
    env, _, policy = _exported("retail-small", "targets", tmp_path)
    path = tmp_path / "targets.onnx"
    shares_env = AllocationEnv("retail-small")
    played = run_episode(shares_env, build_policy(learned_spec(path), shares_env, seed=0), seed=123)
    obs, _ = env.reset(seed=123)
    done = False
    while not done:
        obs, _, done, _, _ = env.step(policy.predict(obs)[0])
    assert played["profit"] == pytest.approx(env.kpis()["profit"], abs=0)


def test_cards_before_action_modes_still_load_and_bad_mode_cards_are_refused(tmp_path: Path) -> None:
    _, _, policy = _exported("retail-small", "targets", tmp_path)
    meta = policy.card.to_metadata()
    data = json.loads(meta["allocsim.card"])
    old = {k: v for k, v in data.items() if k not in ("action_mode", "target_ranges", "supplier_lead")}
    old["action_layout"] = {"allocation": [0, 9], "transfers": [9, 9], "orders": [9, 9]}
    assert PolicyCard.from_metadata({"allocsim.card": json.dumps(old)}).action_mode == "shares"
    broken = {**data, "target_ranges": {**data["target_ranges"], "half": [1.0]}}
    with pytest.raises(CardError, match="target_ranges"):
        PolicyCard.from_metadata({"allocsim.card": json.dumps(broken)})
