"""One events-mode period computed by hand, to the unit and to the minute.

A shop sells one SKU to two channels: ``contract`` (priority 2, price 30) and ``spot``
(priority 1, price 20, penalty 1 per lost unit). A holdback keeps 2 units for contract.
Demand is replayed from a CSV; each channel's time-of-day profile has 1440 one-minute
slots with weight in a single minute, so every order's minute is known in advance.
"""

from __future__ import annotations

import numpy as np
import pytest

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import scenario_from_dict

CENT = 1e-9
MINUTES = 1440


def one_minute(minute: int) -> list[float]:
    """A profile whose every arrival falls in ``minute`` (of 1440)."""
    weights = [0.0] * MINUTES
    weights[minute] = 1.0
    return weights


def test_three_orders_a_midday_receipt_and_a_holdback(tmp_path) -> None:
    csv = tmp_path / "demand.csv"
    csv.write_text("period,sku,location,channel,quantity\n1,w,shop,spot,3\n1,w,shop,contract,5\n")
    data = {
        "name": "hand-events", "periods": 2,
        "skus": [{"name": "w", "unit_cost": 10, "price": {"contract": 30, "spot": 20}, "holding_cost": 0,
                  "salvage_value": 10}],
        "channels": [{"name": "contract", "priority": 2, "shortage_penalty": 5},
                     {"name": "spot", "priority": 1, "shortage_penalty": 1}],
        "supplier": {"replenishment": {"rule": "none"}},
        "dc": {"initial_stock": {"w": 4}},
        "locations": [{"name": "shop", "channels": ["contract", "spot"], "lead_time": 1,
                       "initial_stock": {"w": 3}}],
        "demand": {"csv": str(csv), "resample": "none"},
        "forecast": {"noise_cv": 0.0, "horizon": 1},
        "timing": {
            "mode": "events",
            # spot: orders of 2 units (the last takes the rest) at 08:00; contract: one order of 5 at 17:00
            "channels": {"spot": {"profile": one_minute(480), "order_size": {"low": 2, "high": 2}},
                         "contract": {"profile": one_minute(1020), "order_size": {"low": 5, "high": 5}}},
            "location_arrival": {"shop": 0.5},  # shipments reach the shop at 12:00
            "holdbacks": [{"channel": "contract", "units": 2, "location": "shop", "sku": "w"}],
        },
    }
    log: list[tuple[str, float, int]] = []

    def hook(kind: str) -> None:
        assert env._clock is not None
        log.append((kind, env._clock.now, int(env.engine.state.stock[0, 0, 0].sum())))

    env = AllocationEnv(scenario_from_dict(data), event_hook=hook)
    env.reset(seed=0)
    # period 0: no demand; ship the DC's 4 units to the shop (lead time 1: they arrive in period 1)
    allocation = np.array([[4]], dtype=np.int64)
    env.step(env.action_layout.encode(allocation, env.state.dc_available))
    assert env.get_state().inbound[0, 0, 0] == 4
    # period 1 starts: the shop's receipt is due at 12:00, so at the decision it holds only its 3
    assert int(env.get_state().stock[0, 0, 0].sum()) == 3
    log.clear()
    keep = env.action_layout.encode(np.zeros((1, 1), dtype=np.int64), env.state.dc_available)
    _, reward, terminated, _, info = env.step(keep)
    assert terminated

    orders = [(t, units) for kind, t, units in log if kind == "order"]
    receipts = [(t, units) for kind, t, units in log if kind == "receipt"]
    # 08:00: spot orders of 2 and 1 from 3 on hand, 2 held back for contract: whichever comes
    # first takes 1 (3 -> 2); the other finds only protected stock (lost). Spot: 1 sold, 2 lost.
    assert len(orders) == 3
    for t, _ in orders[:2]:
        assert 1 + 480 / MINUTES <= t < 1 + 481 / MINUTES
    assert [units for _, units in orders[:2]] == [2, 2]
    # 12:00: the 4 units reach the shop: 2 + 4 = 6
    assert receipts == [(1.5, 6)]
    # 17:00: the contract order of 5 takes 5 of 6 (nothing protected from the top channel): 1 left
    assert 1 + 1020 / MINUTES <= orders[2][0] < 1 + 1021 / MINUTES
    assert orders[2][1] == 1
    assert [kind for kind, _, _ in log][-1] == "close" and log[-1][1] == 2.0

    k = info["kpis"]
    assert (k["units_requested"], k["units_fulfilled"], k["lost_sales_units"]) == (8, 6, 2)
    # revenue 1 x 20 + 5 x 30 = 170; cogs 6 x 10 = 60; spot penalty 2 x 1 = 2; no holding,
    # shipping or salvage loss (salvage value = unit cost): profit 170 - 60 - 2 = 108
    assert k["revenue"] == pytest.approx(170.0, abs=CENT)
    assert k["profit"] == pytest.approx(108.0, abs=CENT)
    assert reward == pytest.approx(108.0, abs=CENT)
    by_channel = info["episode_kpis"]["by_channel"]
    assert by_channel["spot"]["units_fulfilled"] == 1 and by_channel["spot"]["lost_sales_units"] == 2
    assert by_channel["contract"]["units_fulfilled"] == 5 and by_channel["contract"]["lost_sales_units"] == 0
