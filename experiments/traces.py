"""Per-period series of one episode: by location, and for the whole network.

Read after every step from the period's own accounts (``env.last_period()``: units and
stock value by location, the network's flows, working capital and supplier receipts of
the period just closed), and the DC's units on hand at each decision (``env.state``).
By location and SKU (``stock``): units on hand and their ages at each decision (after the
period's receipts), the period's demand, and the units shipped from the DC after the
guardrails (the engine's decision log, its last allocation stage): the allocation plan.
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
    stock: list[dict[str, Any]] = field(default_factory=list)  # period x location (DC last) x SKU

    def extend(self, other: Trace) -> None:
        self.locations += other.locations
        self.network += other.network
        self.stock += other.stock


def _stock_rows(env: Any, spec: PolicySpec, seed: int, period: int,
                at_decision: tuple[Any, Any, Any]) -> list[dict[str, Any]]:
    """Per location (the DC last) and SKU: on hand and unit-ages at the decision, demand, units shipped."""
    engine = env.unwrapped.engine
    net, state = engine.net, engine.state
    stock, dc, demand = at_decision  # (L, S, A), (S, A) age last: the index is the age in periods; (L, S)
    ages = np.arange(stock.shape[-1])
    shipped = state.log_allocation[0, period, -1]  # after every guardrail
    rows = []
    for where, (units, weights, asked, sent) in enumerate(
            [*zip(stock.sum(-1), stock @ ages, demand, shipped, strict=True),
             (dc.sum(-1), dc @ ages, np.zeros(len(net.skus)), np.zeros(len(net.skus)))]):
        name = net.locations[where] if where < len(net.locations) else net.scenario.dc.name
        for k, sku in enumerate(net.skus):
            rows.append({"policy": spec.label, "seed": seed, "period": period, "location": name, "sku": sku,
                         "on_hand": int(units[k]), "unit_ages": int(weights[k]), "demand": int(asked[k]),
                         "shipped": int(sent[k])})
    return rows


def trace_episode(scenario: Scenario, spec: PolicySpec, seed: int) -> Trace:
    """The per-period series of ``spec`` on ``seed`` (deterministic actions, as in the evaluation)."""
    env = env_for(scenario)
    policy = build_policy(spec, env, seed)
    dc_at_decision: list[float] = []
    engine = env.unwrapped.engine
    cohorts: list[tuple[Any, Any, Any]] = []  # stock, DC stock and the period's demand at each decision

    def act(obs: np.ndarray) -> Any:
        dc_at_decision.append(float(env.state.dc_on_hand.sum()))
        state = engine.state
        cohorts.append((state.stock[0].copy(), state.dc[0].copy(),
                        state.demand_at(0, int(state.period[0])).sum(axis=-1)))
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
        trace.stock += _stock_rows(env, spec, seed, step.period, cohorts[-1])
    return trace
