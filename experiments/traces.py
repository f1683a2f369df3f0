"""Per-period series of one episode: by location, and for the whole network.

Read after every step from the period's own accounts (``env.last_period()``: units and
stock value by location, the network's flows, working capital and supplier receipts of
the period just closed), and the DC's units on hand at each decision (``env.state``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from allocsim.envs.episode import play
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import PolicySpec, build_policy, env_for

LOCATION_FLOWS = ("units_requested", "units_fulfilled", "lost_sales_units")


@dataclass
class Trace:
    """Rows of one or more traced episodes: ``locations`` (period x location) and ``network`` (period)."""

    locations: list[dict[str, Any]] = field(default_factory=list)
    network: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: Trace) -> None:
        self.locations += other.locations
        self.network += other.network


def trace_episode(scenario: Scenario, spec: PolicySpec, seed: int) -> Trace:
    """The per-period series of ``spec`` on ``seed`` (deterministic actions, as in the evaluation)."""
    env = env_for(scenario)
    policy = build_policy(spec, env, seed)
    dc_at_decision: list[float] = []

    def act(obs: np.ndarray) -> Any:
        dc_at_decision.append(float(env.state.dc_on_hand.sum()))
        return policy.predict(obs, deterministic=True)[0]

    trace = Trace()
    for step in play(env, act, seed):
        closed = env.unwrapped.last_period()
        for location, figures in closed["by_location"].items():
            trace.locations.append({
                "policy": spec.label, "seed": seed, "period": step.period, "location": location,
                **{k: figures[k] for k in ("inventory_value", *LOCATION_FLOWS)},
            })
        flows = closed["kpis"]
        trace.network.append({
            "policy": spec.label, "seed": seed, "period": step.period,
            **{k: flows[k] for k in (*LOCATION_FLOWS, "inventory_value", "working_capital")},
            "dc_units": dc_at_decision[-1], "supplier_units": flows["supplier_units"],
        })
    return trace
