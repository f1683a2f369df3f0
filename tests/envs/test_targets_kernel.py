"""The compiled batch ``targets`` decode (``allocsim.envs.engine.targets``) is the numpy decode bit for bit.

Differential: along an episode of random actions (a third of the rows at the box edges: rationing,
keep-backs, capacity cuts), every copy's fractions from ``TargetsMode.fractions`` (compiled) equal
``TargetsMode.numpy_fractions`` (the single env's numpy arithmetic over the batch) to the bit, sign of
zero included, for a row per copy and for one action shared by all (``ActionMode.constant``, the
rollouts' base-stock). The presets cover every branch: supplier orders (omnichannel-transfers),
the days-of-supply room (seasonal-aging), a holdback block (strategic-holdback-decision).
"""

from __future__ import annotations

import numpy as np
import pytest

from allocsim.envs.actions import Fractions
from allocsim.envs.vector_env import AllocationVectorEnv

COPIES = 5
PERIODS = 25


def _assert_bitwise(got: Fractions, want: Fractions) -> None:
    for name in ("allocation", "transfers", "orders", "holdback"):
        a, b = getattr(got, name), getattr(want, name)
        if a is None or b is None:
            assert a is None and b is None, name
            continue
        assert a.shape == b.shape and a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b), err_msg=f"{name}: sign of zero")


@pytest.mark.parametrize("scenario", ["retail-small", "omnichannel-transfers", "seasonal-aging",
                                      "strategic-holdback-decision"])
@pytest.mark.parametrize("mode", ["targets", "residual"])
def test_compiled_decode_is_the_numpy_decode(scenario: str, mode: str) -> None:
    venv = AllocationVectorEnv(COPIES, scenario, action_mode=mode)
    action_mode, engine = venv.action_mode, venv.engine
    rng = np.random.default_rng(5)
    venv.reset(seed=17)
    shipped = ordered = 0.0
    for t in range(min(PERIODS, venv.network.periods)):
        raw = rng.uniform(-1.0, 1.0, (COPIES, action_mode.size))
        rows = action_mode.validate_batch(np.where(rng.random((COPIES, 1)) < 0.3, np.sign(raw), raw), COPIES)
        frac = action_mode.fractions(engine, rows)
        _assert_bitwise(frac, action_mode.numpy_fractions(engine, rows))
        one = rows[t % COPIES]
        _assert_bitwise(action_mode.constant(one)(engine),
                        action_mode.numpy_fractions(engine, np.broadcast_to(one, rows.shape)))
        shipped += float(frac.allocation[..., :-1].sum())
        ordered += float(frac.orders.sum())
        venv.step(rows.astype(np.float32))
    assert shipped > 0  # the decisions shipped stock: not a comparison of idle copies
    assert ordered > 0 or not venv.network.policy_orders
