"""A JSON state's decision after the scenario's guardrails and DC rule: the env's own decode.

``OnnxPolicy.decide`` is torch- and simulator-free and stops at whole units before the
guardrails. Given the scenario, ``decide_in_world`` writes the state into the compiled
engine and lets the very code the env runs (largest remainder, days of supply, capacity,
supplier capacity, working-capital cap, approval delay, the DC rule's order) turn the
policy's action into the units the env would move.
"""

from __future__ import annotations

import numpy as np

from allocsim.agents.inference import Decision as UnitDecision
from allocsim.agents.inference import OnnxPolicy
from allocsim.agents.mode_adapter import policy_mode
from allocsim.agents.state_input import PlanningState, observation
from allocsim.envs.action_modes import TargetsMode
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.guardrails import Decision
from allocsim.envs.scenario import Scenario


def decide_in_world(policy: OnnxPolicy, state: PlanningState, scenario: Scenario) -> Decision:
    """The units the env would carry out in ``state`` for the policy's action (guardrails applied)."""
    env = AllocationEnv(scenario)
    env.reset(seed=0)
    world = env.get_state()
    most = int(np.iinfo(world.stock.dtype).max)  # a unit cell's width follows the scenario's own bounds
    written = {"dc_on_hand": state.dc_on_hand, "on_hand": state.on_hand, "backlog": state.backlog}
    for name, units in written.items():
        if int(units.max(initial=0)) > most:
            raise ValueError(f"state {name}: {int(units.max()):,} units in one place is more than scenario "
                             f"{scenario.name!r} can ever hold ({most:,} at most)")
    horizon = env.observation_layout.horizon
    world.period[0] = state.period
    world.dc[0] = 0
    world.dc[0, :, 0] = state.dc_on_hand  # ages are not in the JSON state; no guardrail reads them
    world.stock[0] = 0
    world.stock[0, :, :, 0] = state.on_hand
    world.inbound[0] = state.inbound
    world.on_order[0] = state.dc_on_order
    slots = (state.period + np.arange(horizon)) % horizon  # the forecast ring holds period p in slot p % H
    world.forecast_ring[0, slots] = state.forecast
    world.backlog[0] = 0
    world.backlog[0, :, :, 0, 0] = state.backlog  # by channel and age unknown; a position sums them all
    env.set_state(world)
    action = policy.run(observation(state, policy.card))["action"][0]
    mode = policy_mode(policy, env.network)
    if isinstance(mode, TargetsMode):  # targets/residual: the shares action that asks for its units
        action = mode.shares_action(env.state, mode.validate(action))
    return env.preview(action)


def to_unit_decision(decision: Decision, state: PlanningState, policy: OnnxPolicy) -> UnitDecision:
    """The guarded units in the runtime's JSON shape (what stays at the DC included)."""
    available = state.dc_available(policy.card)
    keep = available - decision.allocation.sum(axis=0)
    return UnitDecision(state.period, decision.allocation, np.asarray(keep), decision.transfers,
                        decision.orders)
