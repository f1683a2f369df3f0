"""Per-period series of one episode: by location, and for the whole network.

Read from the public env after every step. ``env.kpis()`` figures are cumulative, so one
period's units are the difference of two snapshots and a period's value of an averaged
figure is (average to date x t) - (average to date x (t - 1)); the network's flows come
from the step's own ``info["kpis"]``. At each decision (before the policy acts) the DC's
units on hand and the units received from the supplier since the last decision are read
(``env.state`` and ``env.units_accounted()``). The engine keeps running totals, so each
read costs the same at every period: a trace is linear in the horizon.
"""

from __future__ import annotations

import math
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


def _period_value(average_now: float, average_before: float, period: int) -> float:
    """One period's value of a running average over ``period`` closes."""
    return average_now * period - average_before * (period - 1)


def _working_capital(kpis: dict[str, Any]) -> float:
    """Average operating working capital to date: average stock value / inventory_to_working_capital."""
    ratio = float(kpis["inventory_to_working_capital"])
    return float(kpis["avg_inventory_value"]) / ratio if ratio and math.isfinite(ratio) else math.nan


def trace_episode(scenario: Scenario, spec: PolicySpec, seed: int) -> Trace:
    """The per-period series of ``spec`` on ``seed`` (deterministic actions, as in the evaluation)."""
    env = env_for(scenario)
    policy = build_policy(spec, env, seed)
    at_decision: list[tuple[float, float]] = []  # (DC units on hand, units received so far)

    def act(obs: np.ndarray) -> Any:
        at_decision.append((float(env.state.dc_on_hand.sum()), float(env.units_accounted()[0])))
        return policy.predict(obs, deterministic=True)[0]

    trace = Trace()
    previous: dict[str, Any] = {}
    received_before = None
    for step in play(env, act, seed):
        period = step.period + 1
        current = env.kpis()
        for location, figures in current["by_location"].items():
            before = previous.get("by_location", {}).get(location, {})
            average = figures["avg_inventory_value"]
            stock = _period_value(average, before.get("avg_inventory_value", 0.0), period)
            trace.locations.append({
                "policy": spec.label, "seed": seed, "period": step.period, "location": location,
                "inventory_value": max(stock, 0.0),
                **{k: figures.get(k, 0.0) - before.get(k, 0.0) for k in LOCATION_FLOWS},
            })
        dc_units, received = at_decision[-1]
        wc_before = _working_capital(previous) if previous else 0.0
        flows = step.info["kpis"]
        trace.network.append({
            "policy": spec.label, "seed": seed, "period": step.period,
            "units_requested": flows["units_requested"], "units_fulfilled": flows["units_fulfilled"],
            "lost_sales_units": flows["lost_sales_units"], "inventory_value": flows["inventory_value"],
            "dc_units": dc_units,
            "supplier_units": received - received_before if received_before is not None else math.nan,
            "working_capital": _period_value(_working_capital(current), wc_before, period),
        })
        received_before = received
        previous = current
    return trace
