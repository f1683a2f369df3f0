"""Whole units end to end: a decision in units reaches the engine as exactly those units, at any scale.

Issue 23 item 4: a rule's units used to travel through a float32 action and came back off by
units from ~3e7 units per SKU. Units now become float64 fractions (``unit_fractions``, or the
float64 action ``encode`` of a rule) that the compiled largest-remainder split turns back into
the same integers; the capacity cut is one function (``cut_rows``) for rules and modes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scenario_kit import build_scenario

from allocsim.core.order_up_to import cut_to_capacity, feasible_allocation
from allocsim.core.unit_decode import cut_rows
from allocsim.envs.allocation_env import AllocationEnv

SKUS = ["s0", "s1", "s2"]
LOCATIONS = [f"l{i}" for i in range(7)]
BILLION = 1_000_000_000


@pytest.fixture(scope="module")
def env() -> AllocationEnv:
    # no capacity; a base-stock level of a billion lets 3e9 units per SKU into the network, so the
    # engine keeps 64-bit cells (allocsim.envs.engine.layout) and a DC of 1e12 / 8 written by hand fits
    supplier = {"replenishment": {"rule": "base-stock", "level": dict.fromkeys(SKUS, BILLION)}}
    env = AllocationEnv(build_scenario("whole-units", 3, skus=SKUS, locations=LOCATIONS, supplier=supplier))
    assert env.engine.state.dc.dtype == np.int64
    return env


def _at_dc(env: AllocationEnv, dc_available: np.ndarray) -> None:
    """The env at period 0 with ``dc_available`` units (age 0) at the DC and nothing elsewhere."""
    env.reset(seed=0)
    state = env.get_state()
    state.dc[0] = 0
    state.dc[0, :, 0] = dc_available
    env.set_state(state)


def _split(data: st.DataObject, high: int) -> tuple[np.ndarray, np.ndarray]:
    """Per SKU: units for each location and a remainder kept at the DC, each up to ``high``."""
    parts = data.draw(hnp.arrays(np.int64, (len(SKUS), len(LOCATIONS) + 1), elements=st.integers(0, high)))
    return parts[:, :-1].T.copy(), parts.sum(axis=1)


@settings(max_examples=150, deadline=None)
@given(st.data(), st.sampled_from([10**7, 3 * 10**7, 10**8, BILLION, 10**12 // 8]))
def test_a_rule_action_decodes_to_its_units_exactly_up_to_a_billion_and_beyond(env, data, high):
    """``encode`` (what every rule hands the env) then the env's compiled decode: the same units."""
    allocation, dc_available = _split(data, high)
    action = env.action_layout.encode(allocation, dc_available)
    assert action.dtype == np.float64
    _at_dc(env, dc_available)
    np.testing.assert_array_equal(env.preview(action, guardrails=False).allocation, allocation)
    np.testing.assert_array_equal(env.preview(action).allocation, allocation)


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(1, BILLION))
def test_unit_fractions_reach_the_engine_as_the_same_units(env, data, high):
    """The ``targets``/``residual`` path: fractions straight from units, no action between."""
    allocation, dc_available = _split(data, high)
    frac = env.action_layout.unit_fractions(allocation[None], dc_available[None])
    assert frac.allocation.dtype == np.float64
    _at_dc(env, dc_available)
    env.engine.preview(frac)
    np.testing.assert_array_equal(env.engine.work.allocation[0], allocation)


def test_the_float32_action_of_old_was_off_at_a_billion(env):
    """The check above can fail: the same units through a float32 action lose units at 1e9 per SKU."""
    rng = np.random.default_rng(5)
    off = 0
    for _ in range(20):
        parts = rng.integers(0, BILLION, size=(len(SKUS), len(LOCATIONS) + 1))
        allocation, dc_available = parts[:, :-1].T.copy(), parts.sum(axis=1)
        action32 = env.action_layout.encode(allocation, dc_available).astype(np.float32)
        _at_dc(env, dc_available)
        off += int((env.preview(action32, guardrails=False).allocation != allocation).any())
    assert off > 0


def test_too_much_is_rationed_by_largest_remainder_never_above_stock(env):
    """Asking 6 + 3 of 4 units: each capped at the stock (4, 3), then 4 split 4:3 by largest remainder
    (2.29 -> 2, 1.71 -> 2), nothing kept back."""
    allocation = np.zeros((len(LOCATIONS), len(SKUS)), dtype=np.int64)
    allocation[0, 0], allocation[1, 0] = 6, 3
    dc_available = np.array([4, 0, 0])
    _at_dc(env, dc_available)
    got = env.preview(env.action_layout.encode(allocation, dc_available)).allocation
    assert got[0, 0] == 2 and got[1, 0] == 2 and got.sum() == 4


# ----------------------------------------------------------- the one capacity cut
def _cut(quantity: np.ndarray, limit: np.ndarray) -> np.ndarray:
    out = np.zeros_like(quantity)
    n = quantity.shape[1]
    cut_rows(quantity, limit, out, np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
    return out


def test_cut_rows_by_hand():
    """Row 0 asks 5 + 3 + 2 = 10 with room 7: quotas 3.5, 2.1, 1.4 -> floors 3, 2, 1, the spare unit to
    the largest remainder (0.5). Row 1 asks 4 with room 9: unchanged. Row 2, room -3: nothing."""
    quantity = np.array([[5, 3, 2], [1, 3, 0], [2, 2, 2]])
    got = _cut(quantity, np.array([7, 9, -3]))
    np.testing.assert_array_equal(got, [[4, 2, 1], [1, 3, 0], [0, 0, 0]])


@settings(max_examples=200, deadline=None)
@given(st.data(), st.sampled_from([10, 10**6, BILLION]))
def test_cut_rows_fills_the_room_exactly_and_never_gives_more_than_asked(data, high):
    quantity = data.draw(hnp.arrays(np.int64, (4, 5), elements=st.integers(0, high)))
    limit = data.draw(hnp.arrays(np.int64, (4,), elements=st.integers(-5, 5 * high)))
    got = _cut(quantity, limit)
    rows = quantity.sum(axis=1)
    over = rows > np.maximum(limit, 0)
    np.testing.assert_array_equal(got.sum(axis=1)[over], np.maximum(limit, 0)[over])
    np.testing.assert_array_equal(got[~over], quantity[~over])
    assert (got >= 0).all() and (got <= quantity).all()


@settings(max_examples=200, deadline=None)
@given(st.data(), st.sampled_from([3, 50, 10**6, BILLION]))
def test_the_batch_cut_is_cut_rows_bit_for_bit_copy_by_copy(data, high):
    """``cut_to_capacity`` (numpy, the batch) gives each copy exactly what ``cut_rows`` (the loop the
    compiled engine can run) gives it alone; ``feasible_allocation`` cuts the same way."""
    alloc = data.draw(hnp.arrays(np.int64, (4, 3, 5), elements=st.integers(0, high)))
    headroom = data.draw(hnp.arrays(np.int64, (4, 3), elements=st.integers(-2, 5 * high)))
    batch = cut_to_capacity(alloc, headroom)
    for b in range(len(alloc)):
        np.testing.assert_array_equal(batch[b], _cut(alloc[b], headroom[b]))
        np.testing.assert_array_equal(batch[b], feasible_allocation(alloc[b], alloc[b].sum(axis=0),
                                                                    None, np.maximum(headroom[b], 0)))
