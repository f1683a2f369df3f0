"""The env's state as the JSON a planning system hands to ``allocsim infer`` (the schema of
``allocsim.agents.state_input``): for examples, integration tests and parity checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from allocsim.baselines.registry import make_policy
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.episode import play


def _named(values: np.ndarray, skus: tuple[str, ...], whole: bool) -> dict[str, Any]:
    return {s: (int(v) if whole else float(v)) for s, v in zip(skus, values, strict=True)}


def planning_state(env: AllocationEnv) -> dict[str, Any]:
    """The JSON state of ``env`` now: stock, pipeline, backlog, known orders, ages and forecasts."""
    net, state = env.network, env.state
    skus = net.skus
    ages = np.arange(net.age_buckets, dtype=np.float64)
    avg_age = env.get_state().stock[0] @ ages / np.maximum(state.on_hand, 1)
    backlog = state.backlog.sum(axis=-1)
    locations = {}
    for i, name in enumerate(net.locations):
        locations[name] = {
            "on_hand": _named(state.on_hand[i], skus, whole=True),
            "inbound": _named(state.inbound[i], skus, whole=True),
            "backlog": _named(backlog[i], skus, whole=True),
            "open_orders": _named(state.open_orders[i], skus, whole=False),
            "avg_age": _named(avg_age[i], skus, whole=False),
            "forecast": {s: [float(v) for v in state.forecast[:, i, j]] for j, s in enumerate(skus)},
        }
        if env.observation_layout.known_orders and state.known_orders is not None:  # the opt-in block
            by_period = state.known_orders.sum(axis=-1)  # (D, L, S) over the advance-notice channels
            locations[name]["known_orders"] = {s: [float(v) for v in by_period[:, i, j]]
                                               for j, s in enumerate(skus)}
    return {
        "period": int(state.period),
        "dc": {
            "on_hand": _named(state.dc_on_hand, skus, whole=True),
            "on_order": _named(state.dc_on_order, skus, whole=True),
        },
        "locations": locations,
    }


def state_after(env: AllocationEnv, seed: int, period: int, policy: str = "proportional") -> dict[str, Any]:
    """The JSON state at the start of ``period`` of episode ``seed``, the rule ``policy`` playing before."""
    if not 0 <= period < env.network.periods:
        raise ValueError(f"period must be in 0..{env.network.periods - 1}, got {period}")
    rule = make_policy(policy, env, seed=seed)
    if period == 0:
        env.reset(seed=seed)
    for step in play(env, lambda obs: rule.predict(obs, deterministic=True)[0], seed):
        if step.period + 1 == period:
            break
    return planning_state(env)
