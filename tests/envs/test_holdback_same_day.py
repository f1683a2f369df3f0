"""A decided holdback covers the units its own decision delivers today (lead time 0), by hand.

The shop starts empty and the DC holds 10 units; the decision ships all 10 with lead time 0
and holds back half. Those 10 units are on the shelf before any order of the day, so half
of them, 5, are kept from spot customers: a spot order for 10 gets 5, a contract order then
the other 5. Counting only the stock on hand at the decision (0), the holdback protected
nothing and spot took all 10.
"""

from __future__ import annotations

import numpy as np
import pytest
from scenario_kit import scenario_data

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import Scenario


def restock_env(lead_time: int, transfer: bool = False) -> AllocationEnv:
    """One SKU; 'shop' (lead time ``lead_time``) and, with ``transfer``, 'depot' feeding it over a
    lane with lead time 0; contract (priority 2) above spot (priority 1); events mode, the policy
    decides a holdback for contract."""
    locations = [{"name": "shop", "channels": ["contract", "spot"], "lead_time": lead_time}]
    if transfer:
        locations.append({"name": "depot", "channels": ["contract", "spot"], "lead_time": 3})
    data = scenario_data(
        "same-day", 3, channels=({"name": "contract", "priority": 2}, {"name": "spot", "priority": 1}),
        locations=locations, timing={"mode": "events", "holdback_decision": {"channels": ["contract"]}})
    if transfer:
        data["transfers"] = [{"from": "depot", "to": "shop", "lead_time": 0}]
    env = AllocationEnv(Scenario.model_validate(data))
    env.reset(seed=0)
    return env


def decide(env: AllocationEnv, ship: int, held: float, moved: float = 0.0) -> None:
    """Ship ``ship`` units from the DC to the shop, transfer ``moved`` of the depot's stock (if any)
    and hold back ``held`` of each location's stock; decide and dispatch."""
    layout, net = env.engine.actions, env.engine.net
    alloc = np.zeros((1, net.n_locations, 1), dtype=np.int64)  # a batch of one copy
    alloc[0, 0, 0] = ship
    lanes = np.full((1, net.n_lanes, 1), moved) if net.n_lanes else None
    frac = layout.unit_fractions(alloc, env.engine.state.dc[:, :].sum(axis=-1), transfer_share=lanes,
                                 holdback_share=np.full((1, net.n_locations, 1), held))
    env.engine.dispatch_decision(frac)


def stock_at(env: AllocationEnv, shop: int, dc: int, depot: int | None = None) -> None:
    s = env.engine.state
    s.stock[0] = 0
    s.stock[0, 0, 0, 0] = shop
    if depot is not None:
        s.stock[0, 1, 0, 0] = depot
    s.dc[0] = 0
    s.dc[0, 0, 0] = dc
    if hasattr(s, "sync_totals"):  # an engine that keeps totals beside the cohorts re-derives them
        s.sync_totals()


def test_units_shipped_today_with_lead_time_zero_are_held_back() -> None:
    env = restock_env(lead_time=0)
    stock_at(env, shop=0, dc=10)
    decide(env, ship=10, held=0.5)
    s = env.engine.state
    assert int(s.stock[0, 0, 0].sum()) == 10  # lead time 0: on the shelf now
    assert s.protect[0, 0, 0].tolist() == [0, 5]  # contract: none; spot must leave 5 = 0.5 x (0 + 10)
    spot, contract = env.events.desk.order(0, 0, 1, 10), env.events.desk.order(0, 0, 0, 10)
    assert (spot, contract) == (5, 5)


def test_on_hand_and_todays_delivery_add_up() -> None:
    """4 on hand + 6 delivered today, share 0.25: 2.5 rounds half to even to 2 units."""
    env = restock_env(lead_time=0)
    stock_at(env, shop=4, dc=6)
    decide(env, ship=6, held=0.25)
    assert env.engine.state.protect[0, 0, 0].tolist() == [0, 2]
    assert env.events.desk.order(0, 0, 1, 10) == 8


@pytest.mark.parametrize("lead_time", [1, 2])
def test_units_still_on_the_road_are_not_held_back(lead_time: int) -> None:
    """With a lead time the units are not on the shelf today: the share covers the 4 on hand only."""
    env = restock_env(lead_time=lead_time)
    stock_at(env, shop=4, dc=10)
    decide(env, ship=10, held=0.5)
    assert env.engine.state.protect[0, 0, 0].tolist() == [0, 2]
    assert env.events.desk.order(0, 0, 1, 10) == 2


def test_a_same_day_transfer_moves_the_holdback_with_the_stock() -> None:
    """The depot's 8 units all move to the shop over a lane with lead time 0, share 0.5: the shop
    holds back 0.5 x (0 + 8) = 4, the emptied depot nothing (0.5 x 0)."""
    env = restock_env(lead_time=0, transfer=True)
    stock_at(env, shop=0, dc=0, depot=8)
    decide(env, ship=0, held=0.5, moved=1.0)
    s = env.engine.state
    assert int(s.stock[0, 0, 0].sum()) == 8 and int(s.stock[0, 1, 0].sum()) == 0
    assert s.protect[0, 0, 0].tolist() == [0, 4] and s.protect[0, 1, 0].tolist() == [0, 0]
