"""Reward: a weighted sum of named per-period components (HighwayEnv style).

Components (all "more is better", so costs enter with a minus sign):

* ``profit``: the period's contribution to the episode's ``profit`` KPI;
* ``lost_units``: minus the units lost this period;
* ``inventory_value``: minus the inventory value at cost at the close;
* ``aged_units``: minus the units older than the aging goal at the close.

The weights and an overall scale come from the scenario's ``objective``; the
default is pure profit, so the episode reward equals the episode profit.
"""

from __future__ import annotations

from collections.abc import Mapping

COMPONENTS = ("profit", "lost_units", "inventory_value", "aged_units")


class WeightedReward:
    """Combine named components with fixed weights and a scale."""

    def __init__(self, weights: Mapping[str, float], scale: float = 1.0) -> None:
        unknown = sorted(set(weights) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"unknown reward component(s) {unknown}; known: {list(COMPONENTS)}")
        self.weights = {k: float(v) * scale for k, v in weights.items() if v}

    def __call__(self, components: Mapping[str, float]) -> float:
        return sum(w * components[k] for k, w in self.weights.items())
