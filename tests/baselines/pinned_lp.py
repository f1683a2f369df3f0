"""Play one episode and price it with the clairvoyant LP, its shipments and orders pinned to the play's."""

from __future__ import annotations

from typing import Any

from allocsim.baselines.clairvoyant import build, played_decisions
from allocsim.baselines.registry import Predictor
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand import sample_episode


def pinned_replay(e: AllocationEnv, policy: Predictor, seed: int) -> tuple[dict[str, Any], float]:
    """(the episode's KPIs, the LP optimum with the episode's shipments and supplier orders fixed)."""
    ships, orders = played_decisions(e, policy, seed)
    plan = build(e.network, sample_episode(e.profile, e.network, seed))
    plan.lp.fix(plan.ship, ships)
    if plan.orders:
        plan.lp.fix(plan.order, orders)
    return e.kpis(), plan.lp.solve().objective
