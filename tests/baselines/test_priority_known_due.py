"""priority's ``ship_known_due``: contracted lanes with advance notice get exactly the due on arrival."""

from __future__ import annotations

import dataclasses

import numpy as np

from allocsim.baselines.priority import PriorityPolicy
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.state import AllocationState
from allocsim.experiments.evaluation import run_episode

PRESET = "contracts-scarce"  # key-accounts (location 0) sells the strategic channel (0): lead 1, notice 5
TUNED = {"review_periods": 1.0, "safety_factor": 1.5}


def hand_state(env: AllocationEnv) -> AllocationState:
    """Period 0 with key-accounts' stock, backlog, inbound and known orders set by hand, a full DC."""
    state = env.state
    assert state.known_orders is not None
    orders = np.zeros_like(state.known_orders)
    orders[0, 0, :, 0] = [4, 6]  # ordered for period 0: chip-a, chip-b
    orders[1, 0, :, 0] = [11, 9]  # for period 1, when a shipment made now lands
    on_hand, inbound, backlog = state.on_hand.copy(), state.inbound.copy(), state.backlog.copy()
    on_hand[0], inbound[0], backlog[0, :, 0] = [5, 20], [1, 0], [2, 0]
    return dataclasses.replace(state, known_orders=orders, on_hand=on_hand, inbound=inbound, backlog=backlog,
                               dc_available=np.array([500, 500]))


def test_known_due_ships_the_due_on_arrival_less_what_is_left() -> None:
    env = AllocationEnv(PRESET)
    env.reset(seed=10_000)
    policy = PriorityPolicy(env, ship_known_due=True, **TUNED)
    plan = policy.plan(hand_state(env))
    # chip-a: period 0 asks 4 + 2 waiting, 5 on hand all sold; 1 inbound; due min(11, 8) = 8 -> 7
    # chip-b: 20 - 6 = 14 left, due min(9, 12) = 9 -> 0
    assert plan.allocation[0].tolist() == [7, 0]
    forecast_plan = PriorityPolicy(env, **TUNED).plan(hand_state(env))
    assert forecast_plan.allocation[0].tolist() != [7, 0]  # the forecast need is another figure


def test_known_orders_are_open_orders_period_by_period() -> None:
    env = AllocationEnv(PRESET)
    env.reset(seed=40_000)
    for _ in range(3):
        state = env.state
        assert state.known_orders is not None
        assert state.known_orders.shape == (6, 4, 2, 3)
        np.testing.assert_array_equal(state.known_orders.sum(axis=(0, 3)), state.open_orders)
        assert not state.known_orders[..., 1:].any()  # only the strategic channel has notice
        env.step(env.action_space.sample() * 0)


def test_known_due_moves_units_from_excess_contract_orders() -> None:
    env = AllocationEnv(PRESET)
    plain = run_episode(env, PriorityPolicy(env, reserve_periods=3.0, **TUNED), 10_000)
    due = run_episode(env, PriorityPolicy(env, reserve_periods=3.0, ship_known_due=True, **TUNED), 10_000)
    strategic = [row["by_channel"]["strategic"]["units_fulfilled"] for row in (plain, due)]
    assert strategic[1] < strategic[0]
    assert due["profit"] > plain["profit"]


def test_known_due_changes_nothing_without_contracts() -> None:
    env = AllocationEnv("retail-medium")  # advance notice on a channel, but no contract rights
    plain = run_episode(env, PriorityPolicy(env), 10_000)
    due = run_episode(env, PriorityPolicy(env, ship_known_due=True), 10_000)
    assert due == plain
