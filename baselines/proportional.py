"""``proportional``: fair share of the DC's stock by forecast demand, never more than the need.

What: each location's *need* is its forecast demand over a cover window (its lead
time plus the review period, times ``cover_multiplier``) net of what it already
has (on hand + in transit - backorders). When the DC can meet every need it does;
when it cannot, stock is shared in proportion to each location's forecast demand
over the window, capped at the need, with what a capped location cannot take
handed on to the others (capped proportional water-filling).

Why: the classic "fair share" rule of allocation planning. It spreads scarcity in
proportion to sales potential, ignores margins and channels, and keeps nothing at
a location beyond its cover, so unneeded stock stays flexible at the DC.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from allocsim.baselines.common import (
    Plan,
    RuleParams,
    RulePolicy,
    fill_level,
    net_position,
    round_columns,
    window_demand,
)
from allocsim.envs.state import AllocationState


class ProportionalParams(RuleParams):
    """Cover window of the fair-share rule."""

    review_periods: float = Field(
        default=2.0, ge=0.0, description="periods between reviews added to each lead time"
    )
    cover_multiplier: float = Field(
        default=1.3, gt=0.0, description="scale on the window's forecast demand (>1 adds a buffer)"
    )


class ProportionalPolicy(RulePolicy):
    """Fair share by forecast demand over lead time + review, capped at each location's need."""

    Params = ProportionalParams
    params: ProportionalParams

    def plan(self, state: AllocationState) -> Plan:
        p = self.params
        window = window_demand(state.forecast, self.net.lead_time + p.review_periods)
        need = np.maximum(np.ceil(p.cover_multiplier * window - net_position(state) - 1e-9), 0.0)
        available = state.dc_available.astype(np.float64)
        amounts = fill_level(window, np.zeros_like(window), need, available)
        totals = np.minimum(need.sum(axis=0), available).astype(np.int64)
        return Plan(round_columns(amounts, totals))
