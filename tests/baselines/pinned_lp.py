"""Play one episode and price it with the clairvoyant LP, its shipments and orders pinned to the play's."""

from __future__ import annotations

from typing import Any

import numpy as np

from allocsim.baselines.clairvoyant import build
from allocsim.baselines.registry import Predictor
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand import sample_episode


def pinned_replay(e: AllocationEnv, policy: Predictor, seed: int) -> tuple[dict[str, Any], float]:
    """(the episode's KPIs, the LP optimum with the episode's shipments and supplier orders fixed)."""
    obs, _ = e.reset(seed=seed)
    ships, orders, done = [], [], False
    while not done:
        action, _ = policy.predict(obs)
        decision = e.preview(action)
        ships.append(decision.allocation)
        orders.append(decision.orders)
        obs, _, done, _, _ = e.step(action)
    plan = build(e.network, sample_episode(e.profile, e.network, seed))
    plan.lp.fix(plan.ship, np.array(ships))
    if plan.orders:
        plan.lp.fix(plan.order, np.array(orders))
    return e.kpis(), plan.lp.solve().objective
