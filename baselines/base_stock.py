"""``base-stock``: order-up-to level per location, rationed in proportion to shortfall.

What: each location's order-up-to level is its forecast demand over lead time +
review period plus ``safety_factor`` x sqrt(that forecast) of safety stock (the
standard deviation of Poisson demand over the window). The request is the level
minus the position (on hand + in transit - backorders). When the DC cannot fill
every request, each location gets the same fraction of its shortfall.

Why: the policy most planning systems start from; with ``safety_factor`` it trades
holding and shipping cost for service, and proportional rationing is the usual
"fair share of shortfall" when the DC is short.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from allocsim.baselines.common import Plan, RuleParams, RulePolicy, net_position, ration
from allocsim.envs.engine.targets import COMPILED
from allocsim.envs.state import AllocationState


class BaseStockParams(RuleParams):
    """Order-up-to level = forecast over (lead + review) + safety_factor x sqrt(forecast)."""

    review_periods: float = Field(default=1.0, ge=0.0, description="periods between reviews")
    safety_factor: float = Field(
        default=2.5, ge=0.0, description="z: safety stock in standard deviations (sqrt of window demand)"
    )


class BaseStockPolicy(RulePolicy):
    """Fill each location up to its forecast demand over lead time and review plus a safety stock; when
    the DC is short, each gets the same share of what it asked for.

    Order up to forecast + z sqrt(forecast) per location; shortfall-proportional rationing."""

    Params = BaseStockParams
    params: BaseStockParams

    def levels(self, state: AllocationState) -> np.ndarray:
        """Order-up-to level per location and SKU (L, S)."""
        p = self.params
        return COMPILED.order_up_to_levels(state.forecast, self.cover(), p.safety_factor)

    def cover(self) -> np.ndarray:
        """Periods of forecast cover in the level (L, S): each location's lead time + the review period."""
        cover = self.net.lead_time + self.params.review_periods
        return np.repeat(cover[:, None].astype(np.float64), self.net.n_skus, axis=1)

    def plan(self, state: AllocationState) -> Plan:
        request = self.levels(state) - net_position(state)
        return Plan(ration(request, state.dc_available))
