"""``balanced``: equalise days of supply (run-out time) across locations by water-filling.

What: per SKU, a location's run-out time is its position (on hand + in transit -
backorders) divided by its forecast rate (mean of the forecast horizon). The DC's
available stock is poured into the locations with the shortest run-out time first,
raising them to a common level, until the stock is gone or every location holds
``max_days`` of supply; stock beyond that ceiling stays at the DC.

Why: balancing run-out times is the textbook allocation rule for a
one-warehouse, many-retailer system (Eppen-Schrage style): all locations are
expected to run dry together, which minimises stranded stock in one place while
another is empty, and the ceiling keeps the rule from pushing the whole DC out.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from allocsim.baselines.common import Plan, RuleParams, RulePolicy, fill_level, net_position, round_columns
from allocsim.envs.state import AllocationState


class BalancedParams(RuleParams):
    """Ceiling of the common days-of-supply level."""

    max_days: float = Field(
        default=6.0, gt=0.0, description="highest days of supply the rule fills a location to"
    )


class BalancedPolicy(RulePolicy):
    """Ship first to the locations that will run out soonest, evening out their days of supply up to
    ``max_days``.

    Water-fill the DC's stock on (on hand + in transit) / forecast rate, up to ``max_days``."""

    Params = BalancedParams
    params: BalancedParams

    def plan(self, state: AllocationState) -> Plan:
        rate = state.forecast.mean(axis=0)
        position = net_position(state)
        ceiling = self.params.max_days * rate - position
        available = state.dc_available.astype(np.float64)
        amounts = fill_level(rate, position, ceiling, available)
        totals = np.floor(amounts.sum(axis=0) + 1e-6).astype(np.int64)
        return Plan(round_columns(amounts, totals))
