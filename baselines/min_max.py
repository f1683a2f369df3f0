"""``min-max``: an (s, S) rule per location, with both levels in days of forecast cover.

What: a location whose position (on hand + in transit - backorders) is at or
below its reorder point ``s`` = forecast over (lead time + ``min_days``) is filled
up to ``S`` = forecast over (lead time + ``max_days``); otherwise it gets nothing.
The lead time is added so one pair of parameters suits fast and slow lanes. When
the DC is short, requests are rationed in proportion to their size.

Why: (s, S) in days of cover is how many retailers parametrise store
replenishment; batching shipments saves handling at the cost of more stock.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from allocsim.baselines.common import Plan, RuleParams, RulePolicy, net_position, ration, window_demand
from allocsim.envs.state import AllocationState


class MinMaxParams(RuleParams):
    """Reorder point and order-up-to level in periods of forecast cover beyond the lead time."""

    min_days: float = Field(default=2.0, ge=0.0, description="reorder point s: cover beyond lead time")
    max_days: float = Field(default=5.0, gt=0.0, description="order-up-to S: cover beyond lead time")

    @model_validator(mode="after")
    def _min_below_max(self) -> MinMaxParams:
        if self.min_days > self.max_days:
            raise ValueError(f"min_days ({self.min_days}) must not exceed max_days ({self.max_days})")
        return self


class MinMaxPolicy(RulePolicy):
    """Fill to S days of cover once a location drops to s days; proportional rationing."""

    Params = MinMaxParams
    params: MinMaxParams

    def plan(self, state: AllocationState) -> Plan:
        p, lead = self.params, self.net.lead_time
        low = window_demand(state.forecast, lead + p.min_days)
        high = window_demand(state.forecast, lead + p.max_days)
        position = net_position(state)
        request = np.where(position <= low, high - position, 0.0)
        return Plan(ration(request, state.dc_available))
