"""Action modes: ``targets`` and ``residual`` reproduce base-stock; every mode decodes to feasible units."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from allocsim.baselines.base_stock import BaseStockParams
from allocsim.baselines.registry import make_policy
from allocsim.baselines.tuned_params import load_tuned
from allocsim.envs import ENV_ID, preset_names
from allocsim.envs.action_modes import ResidualCentre, TargetsMode
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.vector_env import AllocationVectorEnv

MODES = ("shares", "targets", "residual")


def _tuned(scenario: str) -> BaseStockParams:
    return BaseStockParams(**(load_tuned(scenario, "base-stock") or {}))


def _constant_targets_action(env: AllocationEnv, p: BaseStockParams) -> np.ndarray:
    """The float32 ``targets`` action whose parameters are the rule's: cover lead + review, z, keep 0."""
    net, mode = env.network, env.action_mode
    assert isinstance(mode, TargetsMode)
    values = [np.repeat(net.lead_time + p.review_periods, net.n_skus), np.full(net.n_skus, p.safety_factor),
              np.zeros(net.n_skus)]
    if net.policy_orders:
        values.append(np.full(net.n_skus, p.order_cover_periods))
    return mode.ranges().action_for(np.concatenate(values)).astype(np.float32)


def _same_episode(scenario: str, env: AllocationEnv, action: np.ndarray, seed: int,
                  params: BaseStockParams) -> int:
    """Play base-stock with ``params`` and the constant ``action`` side by side; assert every decision and
    the KPIs."""
    ref = AllocationEnv(scenario)
    rule = make_policy("base-stock", ref, **params.model_dump())
    obs, _ = ref.reset(seed=seed)
    env.reset(seed=seed)
    done, periods, shipped = False, 0, 0
    while not done:
        rule_action, _ = rule.predict(obs)
        want, got = ref.preview(rule_action), env.preview(action)
        for part in ("allocation", "transfers", "orders", "transfer_delay"):
            np.testing.assert_array_equal(getattr(got, part), getattr(want, part), f"{part} t={periods}")
        shipped += int(want.allocation.sum())
        obs, reward, done, _, _ = ref.step(rule_action)
        _, got_reward, got_done, _, _ = env.step(action)
        assert (got_reward, got_done) == (reward, done)
        periods += 1
    assert env.kpis() == ref.kpis()
    assert shipped > 0  # the rule did move stock: the comparison is not of two idle policies
    return periods


@pytest.mark.parametrize("scenario", preset_names())
def test_constant_targets_action_is_the_tuned_base_stock_rule(scenario: str) -> None:
    """``targets`` has no order stop (a constant of ``residual``'s centre): the rule without its stop."""
    env = AllocationEnv(scenario, action_mode="targets")
    params = _tuned(scenario).model_copy(update={"order_stop_periods": 0.0})
    action = _constant_targets_action(env, params)
    assert _same_episode(scenario, env, action, seed=20000, params=params) == env.network.periods


@pytest.mark.parametrize("scenario", preset_names())
def test_zero_residual_is_the_rule_it_is_centred_on(scenario: str) -> None:
    params = _tuned(scenario)
    env = AllocationEnv(scenario, action_mode="residual", residual_around=params.model_dump())
    zero = np.zeros(env.action_space.shape, dtype=np.float32)
    _same_episode(scenario, env, zero, seed=20001, params=params)


@pytest.mark.parametrize("stop", [0.0, 12.0, 12.9, 30.0])
def test_zero_residual_keeps_the_rules_order_stop(stop: float) -> None:
    """Around base-stock with an order stop the zero action is that rule, orders stopped alike."""
    params = BaseStockParams(review_periods=2.0, safety_factor=1.0, order_stop_periods=stop)
    env = AllocationEnv("omnichannel-transfers", action_mode="residual", residual_around=params.model_dump())
    zero = np.zeros(env.action_space.shape, dtype=np.float32)
    _same_episode("omnichannel-transfers", env, zero, seed=20002, params=params)


def test_residual_defaults_are_the_rules_defaults() -> None:
    """``residual`` without ``residual_around`` centres on base-stock with its default parameters."""
    assert ResidualCentre().model_dump() == BaseStockParams().model_dump()


def test_hand_example_of_the_targets_decode() -> None:
    """retail-small, period 0: zero cover and safety ship nothing; keeping everything back ships nothing."""
    env = AllocationEnv("retail-small", action_mode="targets")
    env.reset(seed=3)
    mode = env.action_mode
    assert isinstance(mode, TargetsMode)
    net = env.network
    cells = net.n_locations * net.n_skus
    nothing = -np.ones(mode.size)  # cover 0, safety 0, keep 0
    assert env.preview(nothing).allocation.sum() == 0
    lots = np.ones(mode.size)  # cover lead + 14, safety 4, keep everything
    assert env.preview(lots).allocation.sum() == 0
    lots[cells + net.n_skus : cells + 2 * net.n_skus] = -1.0  # keep nothing back: the DC is drained
    state = env.state
    decision = env.preview(lots)
    assert (decision.allocation.sum(axis=0) == state.dc_available).all()
    params = mode.parameters(lots)
    assert (params.cover == (net.lead_time + 14.0)[:, None]).all() and (params.safety == 4.0).all()


@pytest.mark.parametrize("mode", MODES)
def test_gym_make_and_make_vec_take_the_mode(mode: str) -> None:
    single = gym.make(ENV_ID, scenario="retail-small", action_mode=mode).unwrapped
    vec = gym.make_vec(ENV_ID, num_envs=3, scenario="retail-small", action_mode=mode)
    assert isinstance(vec, AllocationVectorEnv)
    assert vec.single_action_space.shape == single.action_space.shape
    assert single.observation_space.shape == AllocationEnv("retail-small").observation_space.shape
    rng = np.random.default_rng(4)
    actions = rng.uniform(-1, 1, (3, single.action_space.shape[0])).astype(np.float32)
    vec.reset(seed=50)
    _, rewards, *_ = vec.step(actions)
    for i in range(3):  # copy i of the batch is the single env on the same seed and action
        single.reset(seed=50 + i)
        _, reward, *_ = single.step(actions[i])
        assert reward == rewards[i]


@pytest.mark.parametrize("bad", [{"action_mode": "levels"}, {"action_mode": "targets", "residual_around": {}},
                                 {"action_mode": "residual", "residual_around": {"review_period": 1}},
                                 {"action_mode": "residual", "residual_around": {"safety_factor": 99}}])
def test_bad_mode_arguments_are_one_clear_line(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as err:
        AllocationEnv("retail-small", **bad)
    message = str(err.value)
    assert "\n" not in message and ("action_mode" in message or "residual_around" in message)


@pytest.fixture(scope="module")
def mid_episode() -> dict[tuple[str, str], AllocationEnv]:
    """Envs of every mode ten periods into an episode of presets with capacity and policy orders."""
    envs = {}
    for scenario in ("contracts-scarce", "omnichannel-transfers"):
        for mode in MODES:
            env = AllocationEnv(scenario, action_mode=mode)
            env.reset(seed=7)
            env.action_space.seed(7)
            for _ in range(10):
                env.step(env.action_space.sample())
            envs[scenario, mode] = env
    return envs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), scenario=st.sampled_from(["contracts-scarce", "omnichannel-transfers"]),
       mode=st.sampled_from(MODES))
def test_any_action_decodes_to_feasible_whole_units(
    mid_episode: dict[tuple[str, str], AllocationEnv], data: st.DataObject, scenario: str, mode: str
) -> None:
    env = mid_episode[scenario, mode]
    size = env.action_space.shape[0]
    action = data.draw(arrays(np.float32, size, elements=st.floats(-1, 1, width=32)))
    state = env.state
    decision = env.preview(action)
    net = env.network
    for part in (decision.allocation, decision.transfers, decision.orders):
        assert part.dtype.kind == "i" and (part >= 0).all()
    assert (decision.allocation.sum(axis=0) <= state.dc_available).all()
    if net.scenario.guardrails.enforce_capacity:
        incoming = decision.allocation.sum(axis=1).astype(np.int64)
        np.add.at(incoming, net.lane_target, decision.transfers.sum(axis=1))
        assert (incoming <= state.headroom).all()
    assert (decision.orders <= net.supplier_capacity).all()
