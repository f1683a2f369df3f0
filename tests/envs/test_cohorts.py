"""FIFO age cohorts, the largest-remainder split and the action encode/decode round trip.

The cohort and split functions are the engine's compiled kernels (age on the LAST axis);
the round trip decodes through the env (``preview``), the one decode there is.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scenario_kit import build_scenario

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.engine.decide import largest_remainder_row
from allocsim.envs.engine.flows import age_row, take_oldest

SETTINGS = settings(max_examples=60, deadline=None)


class cohorts:  # stands in for the kernels under test
    """``take_oldest`` and ``age_row`` work on one position at a time; the wrappers loop over positions."""

    @staticmethod
    def take_oldest(stock, quantity):
        taken = np.zeros_like(stock)
        for idx in np.ndindex(stock.shape[:-1]):
            row = np.ascontiguousarray(stock[idx])
            take_oldest(row, int(quantity[idx]), taken[idx])
            stock[idx] = row
        return taken

    @staticmethod
    def age_in_place(stock):
        for idx in np.ndindex(stock.shape[:-1]):
            row = np.ascontiguousarray(stock[idx])
            age_row(row)
            stock[idx] = row


def largest_remainder(total, fractions):
    """The kernel's split applied row by row."""
    out = np.zeros(fractions.shape, dtype=np.int64)
    order = np.zeros(fractions.shape[1], dtype=np.int64)
    for i in range(len(total)):
        largest_remainder_row(int(total[i]), np.ascontiguousarray(fractions[i]), out[i], order)
    return out


def int_arrays(shape, high=30):
    return hnp.arrays(np.int64, shape, elements=st.integers(0, high))


@st.composite
def stock_and_quantity(draw):
    """Cohorts (N, A) and a quantity per row no larger than the row's units."""
    rows = draw(st.integers(1, 4))
    ages = draw(st.integers(2, 8))
    stock = draw(int_arrays((rows, ages)))
    quantity = np.array([draw(st.integers(0, int(r.sum()))) for r in stock], dtype=np.int64)
    return stock, quantity


def assert_oldest_first(taken, left):
    """No unit was taken from an age bucket while an older bucket still has units."""
    for t_row, l_row in zip(taken.reshape(-1, taken.shape[-1]), left.reshape(-1, left.shape[-1]),
                            strict=True):
        taken_ages = np.flatnonzero(t_row)
        left_ages = np.flatnonzero(l_row)
        if taken_ages.size and left_ages.size:
            assert taken_ages.min() >= left_ages.max(), (t_row, l_row)


# -------------------------------------------------------------------- take_oldest
def test_take_oldest_by_hand():
    stock = np.array([[5, 3, 2]])  # ages 0, 1, 2 (2 oldest)
    taken = cohorts.take_oldest(stock, np.array([4]))
    assert taken.tolist() == [[0, 2, 2]]
    assert stock.tolist() == [[5, 1, 0]]


@SETTINGS
@given(stock_and_quantity())
def test_take_oldest_conserves_and_takes_oldest_first(case):
    stock, quantity = case
    original = stock.copy()
    taken = cohorts.take_oldest(stock, quantity)
    assert (taken >= 0).all() and (stock >= 0).all()
    np.testing.assert_array_equal(taken + stock, original)
    np.testing.assert_array_equal(taken.sum(axis=-1), quantity)
    assert_oldest_first(taken, stock)
    left = stock.copy()
    taken[...] = 99  # the result is not a view of the stock
    np.testing.assert_array_equal(stock, left)


@SETTINGS
@given(int_arrays((2, 3, 5)), st.data())
def test_take_oldest_on_more_leading_axes(stock, data):
    quantity = np.array(
        [[data.draw(st.integers(0, int(stock[i, j].sum()))) for j in range(3)] for i in range(2)]
    )
    original = stock.copy()
    taken = cohorts.take_oldest(stock, quantity)
    np.testing.assert_array_equal(taken + stock, original)
    np.testing.assert_array_equal(taken.sum(axis=-1), quantity)
    assert_oldest_first(taken, stock)


# ------------------------------------------------------------ aging and expiry
@SETTINGS
@given(int_arrays((3, 6)))
def test_age_in_place_moves_every_unit_one_bucket(stock):
    before = stock.copy()
    cohorts.age_in_place(stock)
    assert stock.sum() == before.sum()
    assert (stock[:, 0] == 0).all()
    np.testing.assert_array_equal(stock[:, 1:-1], before[:, :-2])
    np.testing.assert_array_equal(stock[:, -1], before[:, -2] + before[:, -1])


def test_age_in_place_with_two_buckets():
    stock = np.array([[3, 4]])
    cohorts.age_in_place(stock)
    assert stock.tolist() == [[0, 7]]


# ------------------------------------------------------------- largest remainder
@st.composite
def totals_and_fractions(draw):
    rows = draw(st.integers(1, 5))
    cols = draw(st.integers(1, 8))
    total = draw(hnp.arrays(np.int64, (rows,), elements=st.integers(0, 10_000)))
    weights = draw(
        hnp.arrays(np.float64, (rows, cols), elements=st.floats(0.0, 1.0, allow_subnormal=False))
    )
    weights[:, 0] += 1e-3  # rows must not be all zero
    return total, weights / weights.sum(axis=1, keepdims=True)


def test_largest_remainder_by_hand():
    out = largest_remainder(np.array([10, 7]), np.array([[0.34, 0.33, 0.33], [0.5, 0.25, 0.25]]))
    # 10 x (.34, .33, .33) = (3.4, 3.3, 3.3): floors sum to 9, the largest remainder (.4) gets 1
    # 7 x (.5, .25, .25) = (3.5, 1.75, 1.75): floors sum to 5, the two .75 remainders get 1
    assert out.tolist() == [[4, 3, 3], [3, 2, 2]]


@SETTINGS
@given(totals_and_fractions())
def test_largest_remainder_sums_to_total_within_one_of_share(case):
    total, fractions = case
    out = largest_remainder(total, fractions)
    assert out.dtype.kind == "i"
    assert out.shape == fractions.shape
    np.testing.assert_array_equal(out.sum(axis=1), total)
    assert (out >= 0).all()
    exact = total[:, None] * fractions
    assert (np.abs(out - exact) < 1.0 + 1e-9).all()


# ---------------------------------------------------------- encode -> decode
SKUS = ["s0", "s1", "s2", "s3", "s4"]
LOCATIONS = [f"l{i}" for i in range(11)]


@pytest.fixture(scope="module")
def env():
    return AllocationEnv(build_scenario("round-trip", 5, skus=SKUS, locations=LOCATIONS))  # no capacity


def _decode(env, action, dc_available):
    """The env's whole units for ``action`` with ``dc_available`` units at the DC (all of age 0)."""
    env.reset(seed=0)
    state = env.get_state()
    state.dc[0] = 0
    state.dc[0, :, 0] = dc_available
    env.set_state(state)
    return env.preview(action)


@settings(max_examples=100, deadline=None)
@given(
    st.data(),
    st.integers(0, 5_000),
)
def test_encode_then_decode_gives_back_a_feasible_allocation(env, data, high):
    n_l, n_s = len(LOCATIONS), len(SKUS)
    # per SKU: units for each location and a remainder kept at the DC
    parts = data.draw(hnp.arrays(np.int64, (n_s, n_l + 1), elements=st.integers(0, high)))
    allocation = parts[:, :-1].T.copy()  # (L, S)
    dc_available = parts.sum(axis=1)
    action = env.action_layout.encode(allocation, dc_available)
    assert action.dtype == np.float64 and action.shape == (env.action_layout.size,)  # no float32 between
    assert (action >= -1).all() and (action <= 1).all()
    decision = _decode(env, action, dc_available)
    np.testing.assert_array_equal(decision.allocation, allocation)
    np.testing.assert_array_equal(env.preview(action, guardrails=False).allocation, allocation)


def test_keep_everything_decodes_to_no_shipment(env):
    dc_available = np.array([5, 0, 7, 1, 100])
    action = -np.ones(env.action_layout.size, dtype=np.float32)
    decision = _decode(env, action, dc_available)
    assert not decision.allocation.any()


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_encode_of_too_much_never_decodes_to_more_than_available(env, data):
    n_l, n_s = len(LOCATIONS), len(SKUS)
    allocation = data.draw(hnp.arrays(np.int64, (n_l, n_s), elements=st.integers(0, 500)))
    dc_available = data.draw(hnp.arrays(np.int64, (n_s,), elements=st.integers(0, 500)))
    action = env.action_layout.encode(allocation, dc_available)
    decision = _decode(env, action, dc_available)
    assert (decision.allocation >= 0).all()
    assert (decision.allocation.sum(axis=0) <= dc_available).all()
    feasible = allocation.sum(axis=0) <= dc_available
    np.testing.assert_array_equal(decision.allocation[:, feasible], allocation[:, feasible])
