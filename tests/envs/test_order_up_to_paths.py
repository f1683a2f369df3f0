"""The order-up-to loops compiled (the env, the rules) and run as they are (the ONNX runtime) agree.

``allocsim.core.order_up_to_loops`` is the one implementation; the engine compiles it
(``allocsim.envs.engine.targets.COMPILED``) and the torch-free runtime interprets it
(``allocsim.core.order_up_to.PLAIN``). Differential, on generated states beyond the presets'
(rows past the sorted length of the remainder rule, scarce and plentiful stock, windows past the
forecast horizon, capacity and days-of-supply cuts): every call gives the same numbers, bit for bit.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from allocsim.core.order_up_to import PLAIN, TargetParams, stop_lead
from allocsim.envs.engine.targets import COMPILED


def _same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def _grid(rng: np.random.Generator, high: float, shape: tuple[int, ...]) -> np.ndarray:
    """Parameters on the ``targets`` grid (multiples of 1/1024), as a decoded action has them."""
    return np.round(rng.uniform(0.0, high, shape) * 1024) / 1024


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), batch=st.sampled_from([(), (1,), (3,)]), horizon=st.integers(1, 9),
       n_l=st.sampled_from([1, 3, 11, 40]), n_s=st.integers(1, 5), stock=st.sampled_from([3, 200, 10**6]))
def test_runtime_and_compiled_order_up_to_agree(seed: int, batch: tuple[int, ...], horizon: int, n_l: int,
                                                n_s: int, stock: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (*batch, horizon, n_l, n_s)
    forecast = rng.gamma(1.0, 5.0, shape) * (rng.random(shape) > 0.3)  # zero rates too
    params = TargetParams(_grid(rng, horizon + 4.0, (*batch, n_l, n_s)), _grid(rng, 4.0, (*batch, n_s)),
                          _grid(rng, 1.0, (*batch, n_s)) * (rng.random((*batch, n_s)) < 0.5),
                          _grid(rng, 14.0, (*batch, n_s)))
    position = rng.integers(-10, 60, (*batch, n_l, n_s)).astype(np.float64)
    available = rng.integers(0, stock, (*batch, n_s))
    room = rng.integers(0, 80, (*batch, n_l, n_s))
    headroom = rng.integers(-5, 4 * stock, (*batch, n_l))
    for supply_room, cut in ((None, None), (None, headroom), (room, headroom)):
        _same(COMPILED.target_allocation(params, forecast, position, available, supply_room, cut),
              PLAIN.target_allocation(params, forecast, position, available, supply_room, cut))
    levels = COMPILED.order_up_to_levels(forecast, params.cover, params.safety)
    _same(levels, PLAIN.order_up_to_levels(forecast, params.cover, params.safety))
    request = levels - position
    _same(COMPILED.window_demand(forecast, 2.5), PLAIN.window_demand(forecast, 2.5))
    _same(COMPILED.ration(request, available), PLAIN.ration(request, available))
    amount = np.abs(request)
    totals = np.floor(amount.sum(axis=-2) + 1e-6).astype(np.int64)
    _same(COMPILED.round_columns(amount, totals), PLAIN.round_columns(amount, totals))
    alloc = rng.integers(-3, 2 * stock, (*batch, n_l, n_s))
    _same(COMPILED.feasible_allocation(alloc, available, room, headroom),
          PLAIN.feasible_allocation(alloc, available, room, headroom))
    _same(COMPILED.unit_shares(alloc, available), PLAIN.unit_shares(alloc, available))
    left = rng.integers(0, 20, batch)
    lead = (int(rng.integers(0, 4)), float(rng.uniform(0.0, 5.0)))
    dc_position = rng.integers(0, 5 * stock, (*batch, n_s))
    max_order = rng.integers(0, 300, n_s)
    _same(COMPILED.supplier_order_share(forecast, params.order_cover, left, lead, dc_position, max_order),
          PLAIN.supplier_order_share(forecast, params.order_cover, left, lead, dc_position, max_order))


def test_rounding_gives_an_entry_at_most_one_unit_above_its_floor() -> None:
    """Totals beyond the floors + one unit each (a caller's slack): every entry gets one unit, no more,
    compiled as interpreted (the compiled remainder rule never writes past the row)."""
    amount = np.array([[0.5, 2.0], [0.2, 1.5], [1.9, 0.0]])
    for ops in (PLAIN, COMPILED):
        np.testing.assert_array_equal(ops.round_columns(amount, np.array([10, 4])), [[1, 2], [1, 2], [2, 0]])


def test_hand_example_of_the_order_stop() -> None:
    """Two locations at 3 and 2 units a period, DC position 10, mean lead 4.5, cover 1 (window 5.5):
    the order is ceil(5 x 5.5 - 10) = 18 of max 40, until the periods left reach the stop (floored),
    and nothing once they are within the shortest lead time (4), stop or not."""
    forecast = np.zeros((7, 2, 1))
    forecast[:, 0, 0], forecast[:, 1, 0] = 3.0, 2.0
    cover, position, max_order = np.array([1.0]), np.array([10]), np.array([40])
    assert stop_lead((4, 4.5), 12.9) == (12, 4.5) and stop_lead((4, 4.5), 2.0) == (4, 4.5)
    for ops in (PLAIN, COMPILED):
        def share(left: int, stop: float, ops: object = ops) -> float:
            return float(ops.supplier_order_share(forecast, cover, left, stop_lead((4, 4.5), stop), position,
                                                  max_order)[0])
        assert share(20, 0.0) == share(20, 12.0) == share(13, 12.9) == 18 / 40
        assert share(12, 0.0) == 18 / 40 and share(12, 12.0) == share(12, 12.9) == 0.0
        assert share(5, 0.0) == (np.ceil(5 * 5 - 10)) / 40  # the window is cut to the 5 periods left
        assert share(4, 0.0) == share(4, 2.0) == 0.0
