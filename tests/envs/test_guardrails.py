"""Four guardrails computed by hand: the whole units they leave and the log rows they write.

Each case is a tiny scenario whose numbers are worked out in the comments. The
effect of a guardrail is read from public things only: ``env.state`` (DC on hand and
on order, location on hand and inbound), the KPIs and ``decision_log()`` flattened
with ``Trim.rows``. Every guardrail also has a case where it does not bind and so
writes no row.

Period cycle (``allocsim.envs.engine``): receipts due at ``t`` are booked before the
decision of period ``t``, so stock sent at period ``p`` with lead ``d`` is on hand at
the target in ``env.state`` from period ``p + d`` on and inbound before that; orders
placed at ``p`` with supplier lead ``d`` are on order until period ``p + d``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import scenario_from_dict

CENT = 1e-9


def _env(data: dict[str, Any]) -> AllocationEnv:
    """An env on a scenario given as a plain dict, reset on seed 0."""
    env = AllocationEnv(scenario_from_dict(data))
    env.reset(seed=0)
    return env


def _act(
    env: AllocationEnv,
    allocation: list[list[int]] | None = None,
    transfer_share: list[list[float]] | None = None,
    order_share: list[float] | None = None,
) -> NDArray[np.float32]:
    """The action asking for ``allocation`` (L, S) units, transfer shares (K, S), order shares (S,)."""
    net = env.unwrapped.network
    units = np.zeros((net.n_locations, net.n_skus), dtype=np.int64)
    if allocation is not None:
        units = np.array(allocation, dtype=np.int64)
    return env.unwrapped.action_layout.encode(
        units,
        env.unwrapped.state.dc_available,
        None if transfer_share is None else np.array(transfer_share, dtype=np.float64),
        None if order_share is None else np.array(order_share, dtype=np.float64),
    )


def _rows(env: AllocationEnv) -> list[dict[str, object]]:
    """Every row of the episode's decision log so far."""
    net = env.unwrapped.network
    return [row for trim in env.unwrapped.decision_log() for row in trim.rows(net)]


def _ints(array: NDArray[Any]) -> list[Any]:
    return np.asarray(array).tolist()


# ------------------------------------------------------------------ working capital cap
def _capital_scenario() -> dict[str, Any]:
    # SKU a costs 10, SKU b costs 5; no demand, so nothing leaves the network. The DC holds
    # a 40, b 20 and the store a 10: the network at cost is (40 + 10) x 10 + 20 x 5 = 600.
    # The policy orders (max 100 a, 100 b; supplier lead 2, no capacity); the cap is 1000,
    # so orders may add 1000 - 600 = 400 at cost.
    return {
        "name": "capital-cap",
        "periods": 4,
        "skus": [
            {"name": "a", "unit_cost": 10, "price": {"store": 20}, "holding_cost": 0},
            {"name": "b", "unit_cost": 5, "price": {"store": 10}, "holding_cost": 0},
        ],
        "channels": [{"name": "store"}],
        "supplier": {
            "lead_time": {"kind": "fixed", "periods": 2},
            "replenishment": {"rule": "policy", "max_order": {"a": 100, "b": 100}},
        },
        "dc": {"initial_stock": {"a": 40, "b": 20}},
        "locations": [{"name": "shop", "channels": ["store"], "initial_stock": {"a": 10}}],
        "demand": {"streams": [{"mean": 0.0}]},
        "forecast": {"noise_cv": 0.0, "horizon": 1},
        "guardrails": {"working_capital_cap": 1000},
    }


def test_working_capital_cap_scales_orders_down_and_floors() -> None:
    env = _env(_capital_scenario())
    # period 0: order shares 1.0 and 0.6 ask a 100, b 60: value 100 x 10 + 60 x 5 = 1300 > 400.
    # Both are scaled by 400 / 1300 and floored: a floor(100 x 400 / 1300) = floor(30.77) = 30,
    # b floor(60 x 400 / 1300) = floor(18.46) = 18; value 30 x 10 + 18 x 5 = 390 <= 400.
    env.step(_act(env, order_share=[1.0, 0.6]))
    assert _rows(env) == [
        {"period": 0, "rule": "working_capital_cap", "part": "orders", "sku": "a",
         "proposed": 100, "done": 30},
        {"period": 0, "rule": "working_capital_cap", "part": "orders", "sku": "b",
         "proposed": 60, "done": 18},
    ]
    state = env.state
    assert _ints(state.dc_on_order) == [30, 18]
    assert _ints(state.dc_on_hand) == [40, 20]
    # period 1: no order, no row. Period 2: the 30 and 18 ordered at period 0 arrive:
    # DC a 40 + 30 = 70, b 20 + 18 = 38, nothing left on order.
    env.step(_act(env))
    state = env.state
    assert (state.period, _ints(state.dc_on_hand), _ints(state.dc_on_order)) == (2, [70, 38], [0, 0])
    assert len(_rows(env)) == 2


def test_working_capital_cap_lets_an_order_up_to_the_room_through() -> None:
    env = _env(_capital_scenario())
    # order shares 0.3 and 0.2 ask a 30, b 20: value 30 x 10 + 20 x 5 = 400, exactly the
    # room of 1000 - 600 = 400 (the cap trims only value > room): no trim, no row.
    env.step(_act(env, order_share=[0.3, 0.2]))
    assert _rows(env) == []
    assert _ints(env.state.dc_on_order) == [30, 20]


# ------------------------------------------------------------------ max days of supply
def _days_of_supply_scenario(mean_a: float, mean_b: float, days: float) -> dict[str, Any]:
    # One SKU w, DC 20; stores a and b (lead time 2) start with 1 unit each. Demand is
    # normal with cv 0, i.e. exactly rint(mean) per period; the forecast has no noise and
    # no bias, so the forecast rate of a store is its demand mean (one channel).
    return {
        "name": "days-of-supply",
        "periods": 4,
        "skus": [{"name": "w", "unit_cost": 10, "price": {"store": 20}, "holding_cost": 0}],
        "channels": [{"name": "store"}],
        "dc": {"initial_stock": {"w": 20}},
        "locations": [
            {"name": "a", "channels": ["store"], "lead_time": 2, "initial_stock": {"w": 1}},
            {"name": "b", "channels": ["store"], "lead_time": 2, "initial_stock": {"w": 1}},
        ],
        "demand": {"streams": [
            {"location": "a", "distribution": "normal", "cv": 0.0, "mean": mean_a},
            {"location": "b", "distribution": "normal", "cv": 0.0, "mean": mean_b},
        ]},
        "forecast": {"noise_cv": 0.0, "bias": 0.0, "horizon": 1},
        "guardrails": {"max_days_of_supply": days},
    }


def test_max_days_of_supply_trims_allocation_to_the_forecast_ceiling() -> None:
    env = _env(_days_of_supply_scenario(mean_a=1.25, mean_b=2.0, days=3))
    # ceilings: a ceil(1.25 x 3) = ceil(3.75) = 4, b ceil(2.0 x 3) = 6.
    assert env.state.forecast.tolist() == [[[1.25], [2.0]]]  # horizon 1: period 0 alone
    # period 0: room a 4 - 1 on hand - 0 inbound = 3, b 6 - 1 - 0 = 5. Ask a 5, b 5:
    # a is trimmed to 3 (the 2 stay at the DC), b's 5 fits exactly. DC 20 - 3 - 5 = 12.
    env.step(_act(env, allocation=[[5], [5]]))
    assert _rows(env) == [
        {"period": 0, "rule": "max_days_of_supply", "part": "allocation", "location": "a", "sku": "w",
         "proposed": 5, "done": 3},
    ]
    # demand at period 0: a rint(1.25) = 1 from 1 (a 0 left), b 2 from 1 (1 sold, 1 lost).
    state = env.state
    assert _ints(state.dc_on_hand) == [12]
    assert _ints(state.on_hand) == [[0], [0]]
    assert _ints(state.inbound) == [[3], [5]]
    assert env.kpis()["lost_sales_units"] == 1
    # period 1: inbound counts: room a 4 - 0 - 3 = 1, b 6 - 0 - 5 = 1. Ask a 2, b 1:
    # a is trimmed to 1, b fits. DC 12 - 1 - 1 = 10.
    env.step(_act(env, allocation=[[2], [1]]))
    assert _rows(env)[1:] == [
        {"period": 1, "rule": "max_days_of_supply", "part": "allocation", "location": "a", "sku": "w",
         "proposed": 2, "done": 1},
    ]
    # period 2: period 0's 3 and 5 have arrived, period 1's 1 and 1 are in transit.
    state = env.state
    assert _ints(state.dc_on_hand) == [10]
    assert _ints(state.on_hand) == [[3], [5]]
    assert _ints(state.inbound) == [[1], [1]]


def test_max_days_of_supply_lets_an_allocation_up_to_the_ceiling_through() -> None:
    env = _env(_days_of_supply_scenario(mean_a=1.25, mean_b=2.0, days=3))
    # rooms as above: a 4 - 1 = 3, b 6 - 1 = 5. Ask exactly a 3, b 5: no trim, no row.
    env.step(_act(env, allocation=[[3], [5]]))
    assert _rows(env) == []
    assert _ints(env.state.inbound) == [[3], [5]]
    assert _ints(env.state.dc_on_hand) == [12]


def test_max_days_of_supply_ceiling_of_a_whole_number_of_units() -> None:
    env = _env(_days_of_supply_scenario(mean_a=0.28, mean_b=0.0, days=25))
    # a: 25 periods of 0.28 units are 7 units, ceil(7) = 7; room 7 - 1 on hand = 6.
    # Ask a 7: trimmed to 6.
    env.step(_act(env, allocation=[[7], [0]]))
    assert _ints(env.state.inbound) == [[6], [0]]
    assert _rows(env) == [
        {"period": 0, "rule": "max_days_of_supply", "part": "allocation", "location": "a", "sku": "w",
         "proposed": 7, "done": 6},
    ]


# ------------------------------------------------------------------ transfer approval
def _approval_scenario() -> dict[str, Any]:
    # SKUs x and y; no demand, an empty DC. Store s holds x 12, y 10; one lane s -> t with
    # lead time 1, 0.50 per unit, approval above 5 units per SKU, approval delay 2.
    return {
        "name": "approval",
        "periods": 5,
        "skus": [
            {"name": "x", "unit_cost": 10, "price": {"store": 20}, "holding_cost": 0},
            {"name": "y", "unit_cost": 10, "price": {"store": 20}, "holding_cost": 0},
        ],
        "channels": [{"name": "store"}],
        "locations": [
            {"name": "s", "channels": ["store"], "initial_stock": {"x": 12, "y": 10}},
            {"name": "t", "channels": ["store"]},
        ],
        "transfers": [{"from": "s", "to": "t", "lead_time": 1, "cost_per_unit": 0.5,
                       "approval_threshold": 5, "approval_delay": 2}],
        "demand": {"streams": [{"mean": 0.0}]},
        "forecast": {"noise_cv": 0.0, "horizon": 1},
    }


def test_transfer_above_the_threshold_waits_for_approval() -> None:
    env = _env(_approval_scenario())
    # period 0: share 0.5 of s's stock: x floor(0.5 x 12) = 6 > 5 waits 2 periods for
    # approval, arriving at 0 + 1 + 2 = 3; y floor(0.5 x 10) = 5 is not above 5 and
    # arrives after the lead time alone, at 0 + 1 = 1. Cost 11 x 0.50 = 5.50.
    env.step(_act(env, transfer_share=[[0.5, 0.5]]))
    assert _rows(env) == [
        {"period": 0, "rule": "approval", "part": "transfer_delay", "from": "s", "to": "t", "sku": "x",
         "proposed": 0, "done": 2},
    ]
    assert env.kpis()["transfer_cost"] == pytest.approx(5.5, abs=CENT)
    # period 1: y has arrived, x is still in transit.
    state = env.state
    assert state.period == 1
    assert _ints(state.on_hand) == [[6, 5], [0, 5]]
    assert _ints(state.inbound) == [[0, 0], [6, 0]]
    # period 2: x is still in transit (lead 1 + delay 2 = 3 periods).
    env.step(_act(env))
    state = env.state
    assert (state.period, _ints(state.on_hand[1]), _ints(state.inbound[1])) == (2, [0, 5], [6, 0])
    # period 3: x arrives at t.
    env.step(_act(env))
    state = env.state
    assert (state.period, _ints(state.on_hand[1]), _ints(state.inbound[1])) == (3, [6, 5], [0, 0])
    assert len(_rows(env)) == 1


def test_transfer_at_or_under_the_threshold_needs_no_approval() -> None:
    env = _env(_approval_scenario())
    # x floor(0.25 x 12) = 3, y floor(0.5 x 10) = 5: neither above 5, no row; both arrive
    # at period 0 + 1 = 1.
    env.step(_act(env, transfer_share=[[0.25, 0.5]]))
    assert _rows(env) == []
    state = env.state
    assert _ints(state.on_hand) == [[9, 5], [3, 5]]
    assert _ints(state.inbound) == [[0, 0], [0, 0]]


# ------------------------------------------------------------------ supplier capacity
def _supplier_scenario(replenishment: dict[str, Any]) -> dict[str, Any]:
    # SKUs u and v, DC u 10, v 10, no demand; supplier lead 2; the supplier delivers at
    # most 30 u per period and any number of v.
    return {
        "name": "supplier-capacity",
        "periods": 4,
        "skus": [
            {"name": "u", "unit_cost": 10, "price": {"store": 20}, "holding_cost": 0},
            {"name": "v", "unit_cost": 10, "price": {"store": 20}, "holding_cost": 0},
        ],
        "channels": [{"name": "store"}],
        "supplier": {
            "lead_time": {"kind": "fixed", "periods": 2},
            "capacity_per_period": {"u": 30},
            "replenishment": replenishment,
        },
        "dc": {"initial_stock": {"u": 10, "v": 10}},
        "locations": [{"name": "shop", "channels": ["store"]}],
        "demand": {"streams": [{"mean": 0.0}]},
        "forecast": {"noise_cv": 0.0, "horizon": 1},
    }


POLICY_ORDERS = {"rule": "policy", "max_order": {"u": 50, "v": 20}}


def test_supplier_capacity_caps_a_policy_order() -> None:
    env = _env(_supplier_scenario(POLICY_ORDERS))
    # period 0: full order shares ask u 50, v 20; u is capped at 30, v has no cap.
    env.step(_act(env, order_share=[1.0, 1.0]))
    assert _rows(env) == [
        {"period": 0, "rule": "supplier_capacity", "part": "orders", "sku": "u",
         "proposed": 50, "done": 30},
    ]
    assert _ints(env.state.dc_on_order) == [30, 20]
    # period 2: both arrive: DC u 10 + 30 = 40, v 10 + 20 = 30.
    env.step(_act(env))
    state = env.state
    assert (state.period, _ints(state.dc_on_hand), _ints(state.dc_on_order)) == (2, [40, 30], [0, 0])


def test_supplier_capacity_lets_a_policy_order_up_to_capacity_through() -> None:
    env = _env(_supplier_scenario(POLICY_ORDERS))
    # order share 0.6 asks u 0.6 x 50 = 30, exactly the capacity: no row.
    env.step(_act(env, order_share=[0.6, 0.0]))
    assert _rows(env) == []
    assert _ints(env.state.dc_on_order) == [30, 0]


BASE_STOCK_100 = {"rule": "base-stock", "level": {"u": 100}}


def test_supplier_capacity_caps_a_base_stock_order() -> None:
    env = _env(_supplier_scenario(BASE_STOCK_100))
    # period 0: position u 10 on hand + 0 on order; the rule orders 100 - 10 = 90, capped at 30.
    env.step(_act(env))
    assert _ints(env.state.dc_on_order) == [30, 0]
    # period 1: position 10 + 30 = 40, the rule orders 60, capped at 30: 60 on order.
    env.step(_act(env))
    # period 2: period 0's 30 arrive: DC 10 + 30 = 40, on order 60 - 30 = 30.
    state = env.state
    assert (state.period, _ints(state.dc_on_hand), _ints(state.dc_on_order)) == (2, [40, 10], [30, 0])


def test_supplier_capacity_logs_a_capped_base_stock_order() -> None:
    env = _env(_supplier_scenario(BASE_STOCK_100))
    # as above: the rule orders 100 - 10 = 90, the supplier delivers at most 30.
    env.step(_act(env))
    assert _rows(env) == [
        {"period": 0, "rule": "supplier_capacity", "part": "orders", "sku": "u",
         "proposed": 90, "done": 30},
    ]


def test_supplier_capacity_lets_a_base_stock_order_up_to_capacity_through() -> None:
    env = _env(_supplier_scenario({"rule": "base-stock", "level": {"u": 40}}))
    # the rule orders 40 - 10 = 30, exactly the capacity: no row.
    env.step(_act(env))
    assert _rows(env) == []
    assert _ints(env.state.dc_on_order) == [30, 0]
