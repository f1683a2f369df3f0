"""Disposal in the Lagrangian lane DPs: with shelf life dropped, the lane stays above the real lane."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

from allocsim.baselines.lagrangian_bound import Split
from allocsim.baselines.lagrangian_disposal import disposal_cost, envelope
from allocsim.baselines.lagrangian_lanes import Lane, solve_lane
from allocsim.envs.allocation_env import AllocationEnv

UNIT_COST, HOLDING, MARGIN, END, SHIP = 1.0, 0.4, 2.0, -1.0, 0.1


def _lane(lead: int, start: int, dispose: float, holding: float = HOLDING, backorder: float = 0.0) -> Lane:
    pmf = np.tile([0.6, 0.4], (5, 1))  # low demand: 0 or 1 a period
    return Lane(0, 0, pmf, 5, lead, SHIP, holding, MARGIN, END, start, 0.0, backorder, dispose)


def _real(lane: Lane, price: np.ndarray, shelf_life: int) -> float:
    """The optimum of the lane as the engine runs it, with ages (brute force): units sold oldest first,
    at the close they age and those past ``shelf_life`` are written off at the unit cost (no holding
    after), holding on the rest, ``end`` on what is left at the last close. Shipments arrive new, with
    the DP's room (on hand + shipped <= capacity) and prices."""
    T, W = lane.pmf.shape

    @functools.cache
    def value(t: int, ages: tuple[int, ...]) -> float:  # ages[a]: units of age a on hand at the decision
        if t == T:
            return 0.0
        x = sum(ages)
        send = t + 1 - lane.lead
        orders = lane.lead == 0 or (t + 1 <= T - 1 and send >= 0)
        best = -np.inf
        for q in range(lane.cap - x + 1 if orders else 1):
            p = price[t if lane.lead == 0 else send] + lane.ship_cost
            total = -p * q
            for d in range(W):
                stock = list(ages)
                if lane.lead == 0:
                    stock[0] += q
                sold, left = min(sum(stock), d), min(sum(stock), d)
                for a in range(shelf_life - 1, -1, -1):  # oldest first
                    take = min(stock[a], left)
                    stock[a] -= take
                    left -= take
                aged = [0, *stock[:-1]]  # the close: one period older; stock[-1] reaches shelf_life
                gain = MARGIN * sold - UNIT_COST * stock[-1] - lane.holding * sum(aged)
                if t == T - 1:
                    gain += lane.end * sum(aged)
                else:
                    if lane.lead > 0:
                        aged[0] += q
                    gain += value(t + 1, tuple(aged))
                total += lane.pmf[t, d] * gain
            best = max(best, total)
        return best

    return value(0, (lane.start, *([0] * (shelf_life - 1))))


@pytest.mark.parametrize(("lead", "shelf_life"), list(itertools.product([0, 1], [1, 2])))
def test_without_disposal_the_lane_can_be_below_the_real_one_and_with_it_never_is(lead: int,
                                                                                  shelf_life: int) -> None:
    price = np.array([0.3, 0.5, 0.2, 0.6, 0.4])
    hold, dispose = disposal_cost(UNIT_COST, HOLDING, True)
    assert (hold, dispose) == (HOLDING, pytest.approx(0.6))
    for start in range(6):
        # nothing expires within the horizon: the brute force is the lane DP's model
        assert _real(_lane(lead, start, -1.0), price, 6) == pytest.approx(solve_lane(_lane(lead, start, -1.0),
                                                                                     price).value)
        real = _real(_lane(lead, start, -1.0), price, shelf_life)
        old = solve_lane(_lane(lead, start, -1.0), price).value
        new = solve_lane(_lane(lead, start, dispose), price).value
        assert new >= real - 1e-9, (start, new, real)
        assert new >= old - 1e-12
        if start == 5:  # stock pushed in: units kept to the horizon pay more than they are written off at
            assert old < real - 0.5, (old, real)


def test_disposal_costs_what_a_write_off_costs_less_the_holding_it_saves() -> None:
    assert disposal_cost(1.2, 0.02, False) == (0.02, -1.0)  # no shelf life: the exact DP, no disposal
    assert disposal_cost(1.2, 0.02, True) == (0.02, pytest.approx(1.18))
    # holding above the unit cost: lowered to it (still a relaxation), disposal free
    assert disposal_cost(1.0, 3.0, True) == (1.0, 0.0)


def test_envelope_is_the_running_best_of_keeping_fewer() -> None:
    v = np.array([5.0, 1.0, 4.0, 9.0, 2.0, 2.5])
    keep = np.zeros(6, dtype=np.int64)
    out = v.copy()
    envelope(out, 1.0, 1, keep)
    # index 0 (below lo) untouched; from 1 on: max_{1 <= j <= i} v[j] - (i - j)
    assert out.tolist() == [5.0, 1.0, 4.0, 9.0, 8.0, 7.0]
    assert keep.tolist() == [0, 1, 2, 3, 3, 3]
    same = v.copy()
    envelope(same, -1.0, 0, keep)
    assert same.tolist() == v.tolist() and keep.tolist() == list(range(6))


@pytest.mark.parametrize(("lead", "backorder"), [(0, 0.0), (1, 0.0), (2, 0.0), (1, 0.5)])
def test_disposal_raises_every_dp_kind_and_its_shipments_are_the_policys(lead: int, backorder: float) -> None:
    """One-state, transit-state (lead 2) and backorder DPs: disposing of stock pushed in pays, and the
    expected shipments follow the disposing policy (the value's subgradient in the prices)."""
    a, b = np.array([0.3, 0.5, 0.2, 0.6, 0.4]), np.array([0.1, 0.9, 0.4, 0.2, 0.7])
    plain = solve_lane(_lane(lead, 5, -1.0, backorder=backorder), a)
    at_a = solve_lane(_lane(lead, 5, 0.6, backorder=backorder), a)
    at_b = solve_lane(_lane(lead, 5, 0.6, backorder=backorder), b)
    assert at_a.value > plain.value + 0.1  # 5 units pushed in at holding 0.4
    assert at_b.value >= at_a.value + (a - b) @ at_a.shipped - 1e-9
    assert at_a.value >= at_b.value + (b - a) @ at_b.shipped - 1e-9


@pytest.mark.parametrize(("name", "perishable"), [("tiny-dp", False), ("small-dp", False),
                                                  ("retail-medium", False), ("seasonal-aging", True)])
def test_only_lanes_of_skus_with_a_shelf_life_dispose(name: str, perishable: bool) -> None:
    env = AllocationEnv(name)
    net = env.network
    split = Split.of(net, env.profile)
    assert split.dp
    for lane in split.dp:
        c, h = float(net.unit_cost[lane.sku]), float(net.location_holding_cost[lane.loc, lane.sku])
        if perishable:
            assert lane.dispose == pytest.approx(c - h) and lane.holding == h
        else:
            assert lane.dispose < 0 and lane.holding == h
