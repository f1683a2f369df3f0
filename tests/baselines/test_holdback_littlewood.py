"""The holdback search reaches Littlewood's protection level (issue 24 item 14), by hand.

One shop, 10 units on the shelf, one day: spot customers (price 55, nothing lost when turned
away) come in the morning, contract customers (price 45, 30 penalty per unit missed) in the
afternoon. Holding back y units for contract, a protected unit earns 45 + 30 = 75 when the
contract demand D reaches it and nothing otherwise; sold to spot it earns 55. Littlewood: protect
the y-th unit while 75 P(D >= y) >= 55. The coarse shares {0, .25, .5, .75, 1} of 10 units
give 0, 2, 5, 8 or 10 units (half to even): never 7.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from allocsim.core.unit_decode import holdback_units
from allocsim.envs.scenario import Scenario
from allocsim.experiments.grids import holdback_refinement, parse_grid_option
from allocsim.experiments.tuning import tune

SPOT, CONTRACT, PENALTY, ON_HAND = 55.0, 45.0, 30.0, 10
COARSE = (0.0, 0.25, 0.5, 0.75, 1.0)


def littlewood(mean: float) -> int:
    """The largest y with (CONTRACT + PENALTY) P(D >= y) >= SPOT for Poisson(``mean``) contract demand."""
    tail, pmf, y = 1.0, math.exp(-mean), 0  # tail = P(D >= y)
    while (CONTRACT + PENALTY) * (tail - pmf) >= SPOT:  # P(D >= y + 1) = P(D >= y) - P(D = y)
        tail, y = tail - pmf, y + 1
        pmf *= mean / y
    return y


def test_littlewood_level_by_hand_is_7_of_10_and_the_coarse_grid_misses_it() -> None:
    # Poisson(9): P(D >= 7) = 1 - 0.2068 = 0.7932 (75 x = 59.5 >= 55), P(D >= 8) = 0.6761 (50.7 < 55)
    assert littlewood(9.0) == 7
    assert sorted({holdback_units(h, ON_HAND) for h in COARSE}) == [0, 2, 5, 8, 10]
    best_coarse = 0.75  # 8 units: the coarse point nearest 7
    reached = {holdback_units(h, ON_HAND) for h in holdback_refinement(best_coarse, COARSE)}
    assert 7 in reached and reached <= set(range(5, 11))
    for start in COARSE:  # from any coarse winner the refinement covers every unit within 2.5 of it
        near = {holdback_units(h, ON_HAND) for h in (*holdback_refinement(start, COARSE), start)}
        assert {u for u in range(ON_HAND + 1) if abs(u - 10 * start) < 2.5} <= near


def day_scenario(history: Path) -> Scenario:
    """The one-day shop above; demand replayed from ``history`` (no resampling)."""
    return Scenario.model_validate({
        "name": "littlewood", "periods": 1,
        "skus": [{"name": "w", "unit_cost": 1.0, "price": {"contract": CONTRACT, "spot": SPOT},
                  "holding_cost": 0.0, "salvage_value": 0.0}],
        "channels": [{"name": "contract", "priority": 2, "shortage_penalty": PENALTY},
                     {"name": "spot", "priority": 1, "shortage_penalty": 0.0}],
        "dc": {"initial_stock": {"w": 0}},
        "locations": [{"name": "shop", "channels": ["contract", "spot"], "initial_stock": {"w": ON_HAND},
                       "lead_time": 0}],
        "supplier": {"replenishment": {"rule": "none"}},
        "demand": {"csv": str(history), "resample": "none", "streams": [{"mean": 1.0}]},
        "timing": {"mode": "events", "holdback_decision": {"channels": ["contract"]},
                   "channels": {"spot": {"profile": [0] * 7 + [1] * 6 + [0] * 11},
                                "contract": {"profile": [0] * 14 + [1] * 6 + [0] * 4}}},
    })


def test_tune_finds_the_protection_level_the_coarse_grid_cannot(tmp_path: Path) -> None:
    """Known demand (spot 40, contract 7): protecting y units earns 55 (10 - y) + 45 min(7, y)
    - 30 (7 - y)+ less the 10 units' cost (1 each), best at y = 7: 165 + 315 - 10 = 470 against
    430 at the coarse grid's best, 5 units (275 + 225 - 60 - 10)."""
    history = tmp_path / "history.csv"
    history.write_text("period,sku,location,channel,quantity\n0,w,shop,spot,40\n0,w,shop,contract,7\n")
    scenario = day_scenario(history)
    fixed = dict(parse_grid_option(t) for t in ("review_periods=1", "safety_factor=1", "reserve_periods=0"))
    result = tune(scenario, "priority", 1, n_workers=1, overrides=fixed)
    for candidate in result.candidates:
        y = holdback_units(candidate.params["holdback"], ON_HAND)
        by_hand = SPOT * (ON_HAND - y) + CONTRACT * min(7, y) - PENALTY * max(7 - y, 0) - ON_HAND * 1.0
        assert candidate.profit.mean == pytest.approx(by_hand), candidate.params
    best = result.best.params["holdback"]
    assert holdback_units(best, ON_HAND) == 7 and best not in COARSE and result.best.profit.mean == 470.0
    coarse = [c.profit.mean for c in result.candidates if c.params["holdback"] in COARSE]
    assert max(coarse) == 430.0  # 5 units: what the coarse grid alone would have kept
