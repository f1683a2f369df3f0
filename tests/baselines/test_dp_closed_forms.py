"""The exact DP against optima computed by hand from scipy's Poisson pmf (not by the DP's code).

One store fed by a DC with plenty of stock, holding cost only at the store (per-node
holding: the DC's is 0), no shipping cost, lost sales. Every unit left at the end is
revalued alike wherever it is, so the economics of a period are the newsvendor's:
underage ``m = price - cost + penalty`` per unit short, overage ``h`` per unit left at
the store.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

from allocsim.baselines import dp
from allocsim.envs.demand import DemandProfile
from allocsim.envs.network import Network
from allocsim.envs.scenario import Scenario

PRICE, COST, PENALTY, HOLD, SALVAGE, MEAN, DC_STOCK = 20.0, 8.0, 3.0, 2.5, 5.0, 3.0, 80


def store_scenario(periods: int, lead_time: int, initial: int) -> Network:
    data: dict[str, Any] = {
        "name": "newsvendor", "periods": periods,
        "skus": [{"name": "w", "unit_cost": COST, "price": {"store": PRICE}, "holding_cost": HOLD,
                  "salvage_value": SALVAGE}],
        "channels": [{"name": "store", "unmet": "lost", "shortage_penalty": PENALTY}],
        "supplier": {"replenishment": {"rule": "none"}},
        "dc": {"initial_stock": {"w": DC_STOCK}, "holding_cost": {"w": 0.0}},
        "locations": [{"name": "shop", "channels": ["store"], "capacity": 14, "lead_time": lead_time,
                       "initial_stock": {"w": initial}}],
        "demand": {"streams": [{"sku": "w", "mean": MEAN}]},
        "forecast": {"noise_cv": 0.0, "horizon": 1},
    }
    return Network.compile(Scenario.model_validate(data))


def solved(net: Network) -> dp.DPSolution:
    return dp.solve(net, DemandProfile.build(net))


def period_profit(level: int) -> float:
    """Expected (price - salvage) x sold - penalty x lost - holding x left, ``level`` units at the store."""
    k = np.arange(200)
    pmf = stats.poisson(MEAN).pmf(k)
    sold = np.minimum(level, k)
    return float(pmf @ ((PRICE - SALVAGE) * sold - PENALTY * (k - sold) - HOLD * (level - sold)))


def test_newsvendor_with_carry_over_orders_up_to_the_critical_ratio_level() -> None:
    periods = 4
    sol = solved(store_scenario(periods, lead_time=0, initial=0))
    m = PRICE - COST + PENALTY
    level = int(stats.poisson(MEAN).ppf(m / (m + HOLD)))  # smallest y with F(y) >= m / (m + h)
    assert stats.poisson(MEAN).cdf(level) >= m / (m + HOLD) > stats.poisson(MEAN).cdf(level - 1)
    for t in range(periods):
        for on_hand in range(level + 1):
            ship = sol.allocation(t, np.array([DC_STOCK - 20]), np.array([[on_hand]]))
            assert on_hand + int(ship[0, 0]) == level, (t, on_hand)
    # value: T newsvendor periods at that level; every unit of the DC's stock is carried at cost
    # and the unsold ones revalued to salvage: (salvage - cost) x stock + (price - salvage) x sold ...
    expected = periods * period_profit(level) + (SALVAGE - COST) * DC_STOCK
    assert sol.value == pytest.approx(expected, rel=1e-9)


def test_lead_time_one_ships_the_hand_computed_best_quantity_one_period_ahead() -> None:
    """Two periods, lead time 1: what period 0 ships serves period 1; the last shipment never arrives."""
    pmf = stats.poisson(MEAN).pmf(np.arange(200))
    for initial in (0, 2, 5):
        sol = solved(store_scenario(2, lead_time=1, initial=initial))
        left = np.maximum(initial - np.arange(200), 0)  # units left after period 0, per demand
        second = [float(pmf @ np.array([period_profit(int(z) + x) for z in left])) for x in range(15)]
        feasible = [v if x + initial <= 14 else -np.inf for x, v in enumerate(second)]
        best = int(np.argmax(feasible))  # first of equals, as the DP breaks ties
        assert int(sol.allocation(0, np.array([DC_STOCK]), np.array([[initial]]))[0, 0]) == best, initial
        assert int(sol.allocation(1, np.array([DC_STOCK - best]), np.array([[3]]))[0, 0]) == 0
        expected = period_profit(initial) + feasible[best] + (SALVAGE - COST) * (DC_STOCK + initial)
        assert sol.value == pytest.approx(expected, rel=1e-9), initial
