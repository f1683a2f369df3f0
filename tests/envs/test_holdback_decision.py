"""The holdback decision (``timing.holdback_decision``): the action's ``holdback`` block decoded
into whole units of protection, kept from the lower-priority channels for the period."""

from __future__ import annotations

from typing import Any

import numpy as np
from envs_testkit import assert_same
from hypothesis import given, settings
from hypothesis import strategies as st

from allocsim.core.unit_decode import holdback_units
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import Scenario


def test_holdback_units_by_hand() -> None:
    """Round half to even of share x on hand: 0.35 x 10 = 3.5 -> 4, 0.25 x 10 = 2.5 -> 2."""
    assert holdback_units(0.35, 10) == 4
    assert holdback_units(0.25, 10) == 2
    assert holdback_units(0.34, 10) == 3
    assert holdback_units(0.0, 10) == 0
    assert holdback_units(1.0, 7) == 7
    assert holdback_units(0.5, 0) == 0


def decision_env(**decision: Any) -> AllocationEnv:
    """One location, one SKU, 'contract' (priority 2) above 'spot' (priority 1); events mode,
    the policy decides a holdback for contract."""
    data = {
        "name": "holdback-decision", "periods": 3,
        "skus": [{"name": "w", "unit_cost": 1.0, "price": {"contract": 2.0, "spot": 2.0},
                  "holding_cost": 0.0}],
        "channels": [{"name": "contract", "priority": 2}, {"name": "spot", "priority": 1}],
        "locations": [{"name": "shop", "channels": ["contract", "spot"]}],
        "demand": {"streams": [{"mean": 1.0}]},
        "timing": {"mode": "events", "holdback_decision": {"channels": ["contract"], **decision}},
    }
    env = AllocationEnv(Scenario.model_validate(data))
    env.reset(seed=0)
    return env


def test_the_action_gets_a_holdback_block_per_location_and_sku() -> None:
    env = decision_env()
    layout = env.engine.actions
    assert layout.holdback.stop - layout.holdback.start == 1  # one location x one SKU
    assert env.action_space.shape == (layout.size,)
    assert env.action_mode.blocks()["holdback"] == (layout.holdback.start, layout.holdback.stop)


@settings(max_examples=60, deadline=None)
@given(on_hand=st.integers(0, 20), share=st.floats(0.0, 1.0), units=st.integers(1, 12),
       contract=st.booleans())
def test_decided_holdback_protects_exactly_what_it_promises(on_hand: int, share: float, units: int,
                                                            contract: bool) -> None:
    """After the decision, a spot order leaves the decided units on hand and takes every unit
    above them it asked for; a contract order is never held back."""
    env = decision_env()
    s, layout = env.engine.state, env.engine.actions
    s.stock[0] = 0
    s.stock[0, 0, 0, 0] = on_hand
    s.sync_totals()  # cohorts written by hand: the totals beside them follow
    action = np.zeros(layout.size)
    action[layout.holdback] = 2.0 * share - 1.0
    frac = layout.fractions(layout.validate_batch(action[None], 1))
    env.engine.preview(frac)
    held = int(np.rint(frac.holdback[0, 0, 0] * on_hand))  # the documented rounding, by hand
    assert s.protect[0, 0, 0].tolist() == [0, min(held, on_hand)]
    channel = 0 if contract else 1
    got = env.events.desk.order(0, 0, channel, units)
    left = int(s.stock[0, 0, 0].sum())
    assert left == on_hand - got
    if contract:
        assert got == min(on_hand, units)
    else:
        assert left >= min(held, on_hand) or got == 0, "took held-back stock"
        assert got == units or left == min(held, on_hand), "held back more than decided"


def test_holdback_zero_serves_like_no_holdback() -> None:
    """Over an episode, a holdback share of 0 equals the same scenario without the decision."""
    env = decision_env()
    layout = env.engine.actions
    plain_data = env.scenario.model_dump(mode="json", by_alias=True)
    plain_data["timing"]["holdback_decision"] = None
    plain = AllocationEnv(Scenario.model_validate(plain_data))
    zero = np.full(layout.size, -1.0, dtype=np.float32)
    zero[layout.allocation] = 1.0  # ship everything
    results = []
    for which, action in ((env, zero), (plain, zero[: plain.engine.actions.size])):
        which.reset(seed=3)
        rewards = [which.step(action)[1] for _ in range(3)]
        results.append((rewards, which.kpis()))
    assert results[0][0] == results[1][0]
    assert_same(results[0][1], results[1][1], "kpis")
