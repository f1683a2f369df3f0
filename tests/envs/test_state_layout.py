"""The state's layout (``allocsim.envs.engine.layout``): transit rows per location, 32-bit unit cells
where the scenario's bounds allow them, and the bounds themselves against real draws."""

from __future__ import annotations

import numpy as np
import pytest
from scenario_kit import build_scenario

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand_stream import NEGATIVE_BINOMIAL, NORMAL, POISSON, lane_demand
from allocsim.envs.engine.layout import INT32_MAX, draw_bound, transit_layout
from allocsim.envs.vector_env import AllocationVectorEnv

CELLS = ("dc", "stock", "transit", "transit_lane", "dc_due", "backlog")


def test_retail_medium_has_32_bit_cells_one_transit_row_per_period_of_lead_and_fits_40_kb() -> None:
    venv = AllocationVectorEnv(num_envs=2, scenario="retail-medium")
    state = venv.engine.state
    assert {state._asdict()[name].dtype for name in CELLS} == {np.dtype(np.int32)}
    # lead times 1, 1, 2, 1, 1, 1, 2, 2, 2, 3, 1: a slot per period on the way, 17 rows in all
    assert venv.engine.params.transit_slots.tolist() == [1, 1, 2, 1, 1, 1, 2, 2, 2, 3, 1]
    assert venv.engine.params.transit_start.tolist() == [0, 1, 2, 4, 5, 6, 7, 9, 11, 13, 16]
    assert state.transit.shape[1:] == (17, 5, 22)
    assert sum(a.nbytes for a in state) / 2 <= 40 * 1024


def test_a_scenario_that_could_pass_2_31_units_keeps_64_bit_cells() -> None:
    # 3 periods x a base-stock level of 1e9 = 3e9 units could enter the network: above 2**31 - 1
    supplier = {"replenishment": {"rule": "base-stock", "level": {"w": 10**9}}}
    wide = AllocationEnv(build_scenario("wide", 3, supplier=supplier))
    narrow = AllocationEnv(build_scenario("narrow", 3))
    assert {wide.engine.state._asdict()[n].dtype for n in CELLS} == {np.dtype(np.int64)}
    assert {narrow.engine.state._asdict()[n].dtype for n in CELLS} == {np.dtype(np.int32)}


def test_transit_rows_reach_over_lanes_and_a_late_receipt_adds_one() -> None:
    # a: lead 2; b: lead 1, but a lane a -> b of lead 1 + approval delay 3 reaches 4; c: lead 0 (none)
    locations = [{"name": "a", "channels": ["c"], "lead_time": 2},
                 {"name": "b", "channels": ["c"], "lead_time": 1},
                 {"name": "c", "channels": ["c"], "lead_time": 0}]
    lanes = [{"from": "a", "to": "b", "lead_time": 1, "approval_threshold": 5, "approval_delay": 3}]
    env = AllocationEnv(build_scenario("lanes", 5, locations=locations, transfers=lanes))
    start, slots = transit_layout(env.network)
    assert slots.tolist() == [2, 4, 0] and start.tolist() == [0, 2, 6]
    # events timing with b's receipts at midday: b books a period's arrivals after its dispatch
    timing = {"mode": "events", "location_arrival": {"b": 0.5}}
    late = AllocationEnv(build_scenario("late", 5, locations=locations, transfers=lanes, timing=timing))
    assert transit_layout(late.network)[1].tolist() == [2, 5, 0]


def test_in_transit_reads_arrivals_by_period_from_now() -> None:
    # the shop is 3 periods from the DC; ship 4 at period 0 and 2 at period 1 (no demand)
    shop = {"name": "shop", "channels": ["c"], "lead_time": 3}
    env = AllocationEnv(build_scenario("pipe", 6, locations=[shop], dc={"initial_stock": {"w": 10}},
                                       demand={"streams": [{"mean": 0.0}]}))
    env.reset(seed=0)
    for units in (4, 2):
        env.step(env.action_layout.encode(np.array([[units]]), env.state.dc_available))
    # period 2: the 4 arrive at period 3 (in 1 period), the 2 at period 4 (in 2)
    assert env.engine.in_transit(0)[:, 0, 0].tolist() == [4, 2, 0]


@pytest.mark.parametrize(("mean", "code", "dispersion", "cv"), [
    (3.0, POISSON, 1.0, 0.0), (40.0, POISSON, 1.0, 0.0), (5e4, POISSON, 1.0, 0.0),
    (20.0, NEGATIVE_BINOMIAL, 0.05, 0.0), (300.0, NEGATIVE_BINOMIAL, 2.0, 0.0), (50.0, NORMAL, 1.0, 2.0),
])
def test_no_draw_of_the_stream_passes_its_bound(mean: float, code: int, dispersion: float, cv: float) -> None:
    bound = float(draw_bound(np.array(mean), np.array(code), np.array(dispersion), np.array(cv)))
    draws = [lane_demand(seed, 0, 0, mean, code, dispersion, cv) for seed in range(20_000)]
    assert 0 < max(draws) <= bound < INT32_MAX
    assert bound < 50 * mean + 1_000_000  # a bound, not a refusal to bound
