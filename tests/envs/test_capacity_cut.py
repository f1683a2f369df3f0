"""The env's capacity guardrail worked by hand: a row above its room is cut to exactly the room.

The cut is the rules' (``allocsim.core.unit_decode.cut_rows``): each entry's quota is
``units x room / row total``, floored, and the units still short go one each to the largest
remainders, ties to the lower index. For the allocation the row is a location's SKUs; for
transfers it is every (lane, SKU) entry into the location, lanes in the scenario's order.
Read from public things only: ``env.state`` and the decision log's rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import scenario_from_dict


def _skus(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "unit_cost": 10, "price": {"store": 20}, "holding_cost": 0} for n in names]


def _env(data: dict[str, Any]) -> AllocationEnv:
    env = AllocationEnv(scenario_from_dict({
        "name": "capacity-cut", "periods": 3, "channels": [{"name": "store"}],
        "supplier": {"replenishment": {"rule": "none"}},
        "demand": {"streams": [{"mean": 0.0}]}, "forecast": {"noise_cv": 0.0, "horizon": 1}, **data,
    }))
    env.reset(seed=0)
    return env


def _capacity_rows(env: AllocationEnv) -> list[dict[str, object]]:
    net = env.network
    return [row for trim in env.decision_log() if trim.rule == "capacity" for row in trim.rows(net)]


def test_an_allocation_over_capacity_is_cut_to_exactly_the_room_by_largest_remainder() -> None:
    # The store holds 10 at most and starts with 3 of a: room 7. Asked a 5, b 5, c 5 = 15 > 7.
    # Quotas 5 x 7 / 15 = 2.333 each: floors 2 + 2 + 2 = 6, one unit short; the remainders tie,
    # so the lower index (a) gets it: a 3, b 2, c 2 = 7, the store full. (Flooring alone would
    # leave 6 and a unit of room unused.) Lead time 0: on hand at once, no demand takes any.
    env = _env({
        "skus": _skus("a", "b", "c"),
        "dc": {"initial_stock": {"a": 10, "b": 10, "c": 10}},
        "locations": [{"name": "shop", "channels": ["store"], "capacity": 10, "lead_time": 0,
                       "initial_stock": {"a": 3}}],
    })
    asked = np.array([[5, 5, 5]], dtype=np.int64)
    env.step(env.action_layout.encode(asked, env.state.dc_available))
    assert env.state.on_hand.tolist() == [[3 + 3, 2, 2]]
    assert env.state.dc_on_hand.tolist() == [7, 8, 8]
    assert [(r["sku"], r["proposed"], r["done"]) for r in _capacity_rows(env)] == [
        ("a", 5, 3), ("b", 5, 2), ("c", 5, 2)]


def test_transfers_over_capacity_are_cut_to_exactly_the_room_over_every_lane_into_it() -> None:
    # Store t holds 5 at most and is empty. Lane s -> t moves x 0.25 of 16 = 4 and y 0.5 of 8 = 4;
    # lane u -> t moves x 0.75 of 8 = 6: 14 units into t, room 5. Quotas (lane s x, s y, u x):
    # 4 x 5/14 = 1.43, 1.43, 6 x 5/14 = 2.14: floors 1 + 1 + 2 = 4, one unit short; the largest
    # remainders tie (s x and s y, 0.43) and the lower index, s x, gets it: 2, 1, 2 = 5, on hand at
    # t once the lead of 1 has passed (the next period). (The former floor-twice rule left 3.)
    env = _env({
        "skus": _skus("x", "y"),
        "dc": {"initial_stock": {"x": 10, "y": 10}},
        "locations": [
            {"name": "s", "channels": ["store"], "initial_stock": {"x": 16, "y": 8}},
            {"name": "u", "channels": ["store"], "initial_stock": {"x": 8}, "capacity": 10, "lead_time": 0},
            {"name": "t", "channels": ["store"], "capacity": 5},
        ],
        "transfers": [{"from": "s", "to": "t", "lead_time": 1}, {"from": "u", "to": "t", "lead_time": 1}],
    })
    layout = env.action_layout
    action = layout.encode(np.zeros((3, 2), dtype=np.int64), env.state.dc_available,
                           np.array([[0.25, 0.5], [0.75, 0.0]]), None)
    env.step(action)
    assert env.state.on_hand.tolist() == [[16 - 2, 8 - 1], [8 - 2, 0], [2 + 2, 1]]
    rows = [(r["from"], r["sku"], r["proposed"], r["done"]) for r in _capacity_rows(env)]
    assert rows == [("s", "x", 4, 2), ("s", "y", 4, 1), ("u", "x", 6, 2)]
    # Period 1: the DC ships u (room 10 - 6 = 4) x 3, y 2 = 5. Quotas 3 x 4/5 = 2.4, 2 x 4/5 = 1.6:
    # floors 2 + 1, the unit short to y (remainder 0.6): x 2, y 2, the room full (an allocation cut
    # after a transfer cut in the same env reads none of the transfer row's rounding).
    asked = np.array([[0, 0], [3, 2], [0, 0]], dtype=np.int64)
    env.step(layout.encode(asked, env.state.dc_available, np.zeros((2, 2)), None))
    assert env.state.on_hand.tolist()[1] == [6 + 2, 0 + 2]
    assert env.state.dc_on_hand.tolist() == [10 - 2, 10 - 2]
