"""The backorder lane of the Lagrangian bound: exact for its relaxation, never below the real lane."""

from __future__ import annotations

import functools
import math
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocsim.baselines import lagrangian_lanes
from allocsim.baselines.lagrangian_backorder import backward_backorder, depth_for
from allocsim.baselines.lagrangian_bound import Split
from allocsim.baselines.lagrangian_lanes import Lane, solve_lane
from allocsim.envs.allocation_env import AllocationEnv

PMF = np.array([[0.3, 0.4, 0.2, 0.1], [0.1, 0.3, 0.4, 0.2], [0.5, 0.3, 0.2, 0.0], [0.2, 0.2, 0.3, 0.3]])


def _lane(beta: float, lead: int = 1, start: int = 1, cap: int = 4) -> Lane:
    mean = float((PMF * np.arange(4)).sum())
    return Lane(loc=0, sku=0, pmf=PMF, cap=cap, lead=lead, ship_cost=1.0, holding=0.5, margin=19.0, end=-4.0,
                start=start, penalty_constant=-4.0 * mean, backorder=beta)


def _brute(lane: Lane, price: np.ndarray, patience: int | None, wait_cost: float,
           net_room: bool = False) -> float:
    """The lane by plain recursion over (on hand, waiting units by age), the engine's rules: the backlog
    served first, oldest first; ``floor(beta x unmet new + 1e-9)`` queued, the rest lost; each unit still
    waiting at a close costs ``wait_cost``; units older than ``patience`` (None: never) and all at the
    horizon are lost. The decision (units landing next period) is taken before the period's demand, with
    room ``capacity - on hand`` (``net_room``: ``capacity - (on hand - waiting)^+``, the relaxation's)."""
    T, beta = lane.pmf.shape[0], lane.backorder

    @functools.cache
    def value(t: int, x: int, waiting: tuple[int, ...]) -> float:  # waiting[a]: units of age a
        if t == T:
            return 0.0
        keep = -lane.holding + (lane.end if t == T - 1 else 0.0)
        send = t + 1 - lane.lead
        held = max(x - sum(waiting), 0) if net_room else x
        most = lane.cap - held if t + 1 <= T - 1 and send >= 0 else 0
        best = -math.inf
        for q in range(most + 1):
            total = -(price[send] + lane.ship_cost) * q if q else 0.0
            for d, p in enumerate(lane.pmf[t]):
                if p == 0.0:
                    continue
                queue, left, sold = list(waiting), x, 0
                for age in range(len(queue) - 1, -1, -1):  # oldest first
                    take = min(left, queue[age])
                    queue[age] -= take
                    left -= take
                    sold += take
                new = min(left, d)
                left -= new
                sold += new
                queued = math.floor(beta * (d - new) + 1e-9)
                queue = [queued, *queue]  # one period older at the close
                reward = lane.margin * sold + keep * left - wait_cost * sum(queue)
                if patience is not None:
                    queue = queue[: patience + 1]
                later = value(t + 1, left + q, tuple(queue))
                total += p * (reward + later)
            best = max(best, total)
        return best

    return value(0, lane.start, ()) + lane.penalty_constant


@pytest.mark.parametrize("lead", [1, 2])
@settings(max_examples=12, deadline=None)
@given(price=st.lists(st.floats(0.0, 30.0), min_size=4, max_size=4), start=st.integers(0, 4),
       beta=st.sampled_from([0.4, 0.5, 1.0]))
def test_backorder_lane_dp_equals_its_relaxation_by_brute_force(lead: int, price: list[float], start: int,
                                                               beta: float) -> None:
    """Infinite patience, free waiting and room counted on the net stock, solved by recursion over the
    whole backlog: the DP's value."""
    lane, chosen = _lane(beta, lead, start), np.array(price)
    sol = solve_lane(lane, chosen)
    assert sol.value == pytest.approx(_brute(lane, chosen, None, 0.0, net_room=True), abs=1e-9)
    assert (sol.shipped >= 0).all() and sol.shipped[T_LAST - lead + 1 :].sum() == 0.0


T_LAST = PMF.shape[0] - 1


@settings(max_examples=12, deadline=None)
@given(price=st.lists(st.floats(0.0, 30.0), min_size=4, max_size=4), start=st.integers(0, 4),
       beta=st.sampled_from([0.4, 0.5, 1.0]), patience=st.integers(0, 2), wait_cost=st.floats(0.0, 2.0))
def test_backorder_lane_is_never_below_the_real_lane(price: list[float], start: int, beta: float,
                                                     patience: int, wait_cost: float) -> None:
    lane, chosen = _lane(beta, 1, start), np.array(price)
    assert solve_lane(lane, chosen).value >= _brute(lane, chosen, patience, wait_cost) - 1e-9


def test_patience_and_waiting_cost_are_what_the_relaxation_gives_away() -> None:
    """At a price where it pays to run out, the real lane's limits cost something: the bound is strict."""
    lane, chosen = _lane(0.5, 1, 0), np.full(4, 12.0)
    relaxed = solve_lane(lane, chosen).value
    assert relaxed > _brute(lane, chosen, 0, 0.5) + 1e-6
    assert relaxed == pytest.approx(_brute(lane, chosen, None, 0.0, net_room=True), abs=1e-9)


def test_no_backorders_gives_the_lost_sales_lane() -> None:
    """``beta = 0`` in the backorder DP: the lost-sales lane's value (a differential test of the two DPs)."""
    price = np.array([3.0, 8.0, 1.0, 20.0])
    lost = solve_lane(_lane(0.0), price).value
    values, *_ = backward_backorder(PMF, 0.0, 4, depth_for(PMF, 0.0), 1, 1.0, 0.5, 19.0, -4.0, price)
    value = float(values[1 + depth_for(PMF, 0.0)]) + _lane(0.0).penalty_constant
    assert value == pytest.approx(lost, abs=1e-9)


def test_backorders_are_worth_more_than_lost_sales() -> None:
    """Starting empty at a price of 12 (19 a unit sold): more demand waits, more is sold (-9.12, -8.56,
    -0.35 when written; at 18 nothing is worth shipping and every share gives the same)."""
    values = [solve_lane(_lane(beta, start=0), np.full(4, 12.0)).value for beta in (0.0, 0.4, 1.0)]
    assert values[0] < values[1] < values[2]
    flat = [solve_lane(_lane(beta, start=0), np.full(4, 18.0)).value for beta in (0.0, 1.0)]
    assert flat[0] == pytest.approx(flat[1], abs=1e-9)


def test_seasonal_aging_web_lanes_take_the_backorder_dp() -> None:
    """One online channel, backordering 40 %, lead 1, no notice: the DP, no longer the per-seed LP."""
    e = AllocationEnv("seasonal-aging")
    split = Split.of(e.network, e.profile)
    web = e.network.locations.index("web-fc")
    assert split.fallback == ()
    assert sorted(lane.sku for lane in split.dp if lane.loc == web) == [0, 1, 2]
    assert all(lane.backorder == pytest.approx(0.4) for lane in split.dp if lane.loc == web)
    assert not split.random(e.network)  # nothing per seed: the DC's LP piece sees a fixed lead time


def test_advance_notice_still_goes_to_the_fallback() -> None:
    with patch.object(lagrangian_lanes, "eligible", lambda margin, end: True):
        e = AllocationEnv("retail-medium")
        split = Split.of(e.network, e.profile)
    assert {loc for loc, _ in split.fallback} == {e.network.locations.index("web-fc")}
