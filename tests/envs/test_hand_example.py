"""Three periods computed by hand, to the unit and the cent.

Demand is replayed from a CSV written to ``tmp_path`` and the forecast has no noise,
so nothing is random. Order inside a period (see ``allocsim.envs.engine``): receipts
due now are booked, the decision is dispatched (lead time 0 arrives at once), demand
is served from on-hand stock, then the close charges holding on what is on hand at
the DC and at the locations (not in transit), ages stock and, at the last close,
revalues leftover stock (on hand and in transit) by (salvage_value - unit_cost).
"""

from __future__ import annotations

import numpy as np
import pytest

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import scenario_from_dict

CENT = 1e-9


def _env(tmp_path, rows, locations, sku, channel, supplier=None, dc_stock=10):
    csv = tmp_path / "demand.csv"
    csv.write_text(
        "period,sku,location,channel,quantity\n"
        + "".join(f"{t},w,{loc},store,{q}\n" for t, loc, q in rows)
    )
    data = {
        "name": "hand",
        "periods": 3,
        "skus": [{"name": "w", **sku}],
        "channels": [{"name": "store", **channel}],
        "supplier": supplier or {"replenishment": {"rule": "none"}},
        "dc": {"initial_stock": {"w": dc_stock}},
        "locations": locations,
        "demand": {"csv": str(csv)},
        "forecast": {"noise_cv": 0.0, "horizon": 1},
    }
    return AllocationEnv(scenario_from_dict(data))


def _ask(env, units_per_location):
    """The action asking for these units (one SKU) given what the DC can allocate now."""
    allocation = np.array([[u] for u in units_per_location], dtype=np.int64)
    return env.action_layout.encode(allocation, env.state.dc_available)


def _money(kpis_after, kpis_before, key):
    return kpis_after[key] - kpis_before[key]


def test_one_store_with_lead_time_one(tmp_path):
    # unit cost 10, price 25, holding 0.50 per unit and period, salvage 4, penalty 2 per lost
    # unit; DC starts with 10, the shop (lead time 1, shipping 0.30 per unit) with 4; a
    # planned receipt of 5 reaches the DC at period 1. Demand: 3, 6, 5.
    env = _env(
        tmp_path,
        rows=[(0, "shop", 3), (1, "shop", 6), (2, "shop", 5)],
        locations=[{"name": "shop", "channels": ["store"], "capacity": 20, "lead_time": 1,
                    "shipping_cost": 0.3, "initial_stock": {"w": 4}}],
        sku={"unit_cost": 10, "price": {"store": 25}, "holding_cost": 0.5, "salvage_value": 4},
        channel={"unmet": "lost", "shortage_penalty": 2},
        supplier={"replenishment": {"rule": "none"}, "lead_time": {"kind": "fixed", "periods": 1},
                  "inbound_schedule": [{"period": 1, "sku": "w", "quantity": 5}]},
    )
    env.reset(seed=0)
    assert env.get_state().dc.sum() == 10 and env.get_state().stock.sum() == 4

    # period 0: no receipts. Ship 6 (arrives at period 1): DC 10 - 6 = 4, in transit 6,
    # shipping 6 x 0.30 = 1.80. Demand 3 from the shop's 4: sold 3, lost 0, shop 1.
    # revenue 3 x 25 = 75, cogs 3 x 10 = 30. Holding at close: (shop 1 + DC 4) x 0.50 = 2.50.
    # profit 75 - 30 - 2.50 - 1.80 = 40.70
    before = env.kpis()
    _, reward, terminated, _, info = env.step(_ask(env, [6]))
    after = env.kpis()
    assert not terminated
    assert info["decision_log"] == []
    assert info["kpis"]["units_fulfilled"] == 3 and info["kpis"]["lost_sales_units"] == 0
    assert info["kpis"]["revenue"] == pytest.approx(75.0, abs=CENT)
    assert _money(after, before, "holding_cost") == pytest.approx(2.50, abs=CENT)
    assert _money(after, before, "shipping_cost") == pytest.approx(1.80, abs=CENT)
    assert info["kpis"]["profit"] == pytest.approx(40.70, abs=CENT)
    assert reward == pytest.approx(40.70, abs=CENT)

    # period 1: receipts first: the 6 reach the shop (1 + 6 = 7), the planned 5 reach the
    # DC (4 + 5 = 9); step() returns once they are booked, i.e. at the next decision.
    # Ship 2 (arrive at period 2): DC 7, in transit 2, shipping 0.60.
    # Demand 6 from 7: sold 6, shop 1. revenue 150, cogs 60.
    # Holding: (shop 1 + DC 7) x 0.50 = 4.00. profit 150 - 60 - 4.00 - 0.60 = 85.40
    world = env.get_state()
    assert world.stock.sum() == 7 and world.dc.sum() == 9 and world.inbound.sum() == 0
    assert env.state.dc_available.tolist() == [9]
    before = after
    _, reward, terminated, _, info = env.step(_ask(env, [2]))
    after = env.kpis()
    assert not terminated
    assert info["kpis"]["units_fulfilled"] == 6 and info["kpis"]["lost_sales_units"] == 0
    assert info["kpis"]["revenue"] == pytest.approx(150.0, abs=CENT)
    assert _money(after, before, "holding_cost") == pytest.approx(4.00, abs=CENT)
    assert _money(after, before, "shipping_cost") == pytest.approx(0.60, abs=CENT)
    assert reward == pytest.approx(85.40, abs=CENT)

    # period 2 (last): the 2 reach the shop (1 + 2 = 3). Keep everything at the DC.
    # Demand 5 from 3: sold 3, lost 2. revenue 75, cogs 30, shortage penalty 2 x 2 = 4.
    # Holding: (shop 0 + DC 7) x 0.50 = 3.50. Salvage of the 7 left: 7 x (4 - 10) = -42.
    # profit 75 - 30 - 3.50 - 0 - 4 - 42 = -4.50
    world = env.get_state()
    assert world.stock.sum() == 3 and world.dc.sum() == 7 and world.inbound.sum() == 0
    before = after
    _, reward, terminated, _, info = env.step(_ask(env, [0]))
    after = env.kpis()
    assert terminated
    assert env.get_state().stock.sum() == 0 and env.get_state().dc.sum() == 7
    assert info["kpis"]["units_fulfilled"] == 3 and info["kpis"]["lost_sales_units"] == 2
    assert info["kpis"]["revenue"] == pytest.approx(75.0, abs=CENT)
    assert _money(after, before, "holding_cost") == pytest.approx(3.50, abs=CENT)
    assert _money(after, before, "shipping_cost") == pytest.approx(0.0, abs=CENT)
    assert _money(after, before, "shortage_penalty") == pytest.approx(4.0, abs=CENT)
    assert reward == pytest.approx(-4.50, abs=CENT)

    # episode: revenue 300, cogs 120, margin 180, holding 10.00, shipping 2.40, penalty 4,
    # salvage -42: profit 180 - 10 - 2.40 - 4 - 42 = 121.60 = 40.70 + 85.40 - 4.50.
    # units: 14 requested, 12 fulfilled, 2 lost; fill rate 1200 / 14 %.
    # conservation: initial 14 + received 5 = DC 7 + sold 12.
    k = info["episode_kpis"]
    assert (k["units_requested"], k["units_fulfilled"], k["lost_sales_units"]) == (14, 12, 2)
    assert k["fill_rate"] == pytest.approx(1200 / 14)
    expected = {"revenue": 300, "cogs": 120, "gross_margin": 180, "holding_cost": 10.0,
                "shipping_cost": 2.4, "transfer_cost": 0, "writeoff_cost": 0,
                "shortage_penalty": 4, "salvage": -42, "profit": 121.6, "reward": 121.6}
    for key, value in expected.items():
        assert k[key] == pytest.approx(value, abs=CENT), key
    assert env.units_accounted() == (19, 19)


def test_two_stores_same_day_delivery_and_a_capacity_trim(tmp_path):
    # unit cost 10, price 20, holding 1.00, salvage 6, penalty 3 per lost unit; DC 12.
    # a: capacity 5, lead 0, shipping 0.50, starts with 2. b: no capacity, lead 0,
    # shipping 1.00, starts with 0. Demand a: 4, 1, 3; b: 2, 5, 0.
    env = _env(
        tmp_path,
        rows=[(0, "a", 4), (1, "a", 1), (2, "a", 3), (0, "b", 2), (1, "b", 5)],
        locations=[
            {"name": "a", "channels": ["store"], "capacity": 5, "lead_time": 0,
             "shipping_cost": 0.5, "initial_stock": {"w": 2}},
            {"name": "b", "channels": ["store"], "lead_time": 0, "shipping_cost": 1.0},
        ],
        sku={"unit_cost": 10, "price": {"store": 20}, "holding_cost": 1.0, "salvage_value": 6},
        channel={"unmet": "lost", "shortage_penalty": 3},
        dc_stock=12,
    )
    env.reset(seed=0)

    # period 0: ask a 6, b 3. a has room for 5 - 2 = 3, so the capacity guardrail trims a
    # to 3 (logged). DC 12 - 6 = 6; same day: a 2 + 3 = 5, b 3. Shipping 3 x 0.50 + 3 x 1.00
    # = 4.50. Demand a 4 (a 1 left), b 2 (b 1 left): sold 6, revenue 120, cogs 60.
    # Holding: (a 1 + b 1 + DC 6) x 1.00 = 8.00. profit 120 - 60 - 8.00 - 4.50 = 47.50
    before = env.kpis()
    _, reward, _, _, info = env.step(_ask(env, [6, 3]))
    after = env.kpis()
    [trim] = info["decision_log"]
    assert (trim.period, trim.rule, trim.part) == (0, "capacity", "allocation")
    assert trim.proposed.tolist() == [[6], [3]] and trim.done.tolist() == [[3], [3]]
    assert list(trim.rows(env.network)) == [
        {"period": 0, "rule": "capacity", "part": "allocation", "location": "a", "sku": "w",
         "proposed": 6, "done": 3}
    ]
    assert env.get_state().stock[0].sum(axis=(1, 2)).tolist() == [1, 1] and env.get_state().dc.sum() == 6
    assert info["kpis"]["units_fulfilled"] == 6 and info["kpis"]["lost_sales_units"] == 0
    assert info["kpis"]["revenue"] == pytest.approx(120.0, abs=CENT)
    assert _money(after, before, "holding_cost") == pytest.approx(8.00, abs=CENT)
    assert _money(after, before, "shipping_cost") == pytest.approx(4.50, abs=CENT)
    assert reward == pytest.approx(47.50, abs=CENT)

    # period 1: ask a 0, b 4: DC 2, b 1 + 4 = 5; shipping 4.00. Demand a 1 (a 0), b 5 (b 0):
    # sold 6, revenue 120, cogs 60. Holding: DC 2 x 1.00 = 2.00.
    # profit 120 - 60 - 2.00 - 4.00 = 54.00
    before = after
    _, reward, _, _, info = env.step(_ask(env, [0, 4]))
    after = env.kpis()
    assert info["decision_log"] == []
    assert env.get_state().stock.sum() == 0 and env.get_state().dc.sum() == 2
    assert info["kpis"]["units_fulfilled"] == 6 and info["kpis"]["lost_sales_units"] == 0
    assert _money(after, before, "holding_cost") == pytest.approx(2.00, abs=CENT)
    assert _money(after, before, "shipping_cost") == pytest.approx(4.00, abs=CENT)
    assert reward == pytest.approx(54.00, abs=CENT)

    # period 2 (last): ask a 2: DC 0, a 2; shipping 1.00. Demand a 3: sold 2, lost 1,
    # revenue 40, cogs 20, penalty 3. Holding 0, nothing left to salvage.
    # profit 40 - 20 - 0 - 1.00 - 3 + 0 = 16.00
    before = after
    _, reward, terminated, _, info = env.step(_ask(env, [2, 0]))
    after = env.kpis()
    assert terminated
    assert env.get_state().stock.sum() == 0 and env.get_state().dc.sum() == 0
    assert info["kpis"]["units_fulfilled"] == 2 and info["kpis"]["lost_sales_units"] == 1
    assert info["kpis"]["revenue"] == pytest.approx(40.0, abs=CENT)
    assert _money(after, before, "holding_cost") == pytest.approx(0.0, abs=CENT)
    assert _money(after, before, "shipping_cost") == pytest.approx(1.00, abs=CENT)
    assert reward == pytest.approx(16.00, abs=CENT)

    # episode: revenue 280, cogs 140, holding 10, shipping 9.50, penalty 3, salvage 0:
    # profit 140 - 10 - 9.50 - 3 = 117.50 = 47.50 + 54.00 + 16.00
    k = info["episode_kpis"]
    assert (k["units_requested"], k["units_fulfilled"], k["lost_sales_units"]) == (15, 14, 1)
    expected = {"revenue": 280, "cogs": 140, "holding_cost": 10, "shipping_cost": 9.5,
                "shortage_penalty": 3, "salvage": 0, "profit": 117.5}
    for key, value in expected.items():
        assert k[key] == pytest.approx(value, abs=CENT), key
    by_location = k["by_location"]
    assert by_location["a"]["units_fulfilled"] == 4 + 1 + 2
    assert by_location["b"]["units_fulfilled"] == 2 + 5
    assert by_location["a"]["shipping_cost"] == pytest.approx(0.5 * (3 + 2), abs=CENT)
    assert by_location["b"]["shipping_cost"] == pytest.approx(1.0 * (3 + 4), abs=CENT)
    assert by_location["DC"]["holding_cost"] == pytest.approx(6 + 2, abs=CENT)
