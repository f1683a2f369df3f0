"""The exact DC piece of the Lagrangian bound: a hand-worked case, brute force, never above the LP piece."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from allocsim.baselines import lagrangian_dc
from allocsim.baselines.lagrangian_bound import dc_block
from allocsim.baselines.lagrangian_dc import DCModel, dc_plan
from allocsim.baselines.lp_builder import LPBuilder
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand import sample_episode
from allocsim.envs.network import BIG

NO_RULE = (-BIG, 0, 0)


def _model(T: int, lead: int, receipts: list[int], rule: tuple[int, int, int], keep: float = -0.5,
           end: float = -4.0, top: int = 10) -> DCModel:
    below, up_to, cap = rule
    keep_t = np.full((T, 1), keep)
    keep_t[-1] += end
    return DCModel(lead, np.array(receipts, dtype=np.int64)[:, None], np.array([below]), np.array([up_to]),
                   np.array([cap]), np.array([top]), keep_t)


def test_hand_worked_dc_without_orders() -> None:
    """Two units, prices 1, 5, 3: keep both one period (0.5 each) and sell at 5: 2 x 5 - 2 x 0.5 = 9."""
    value, z = dc_plan(_model(3, 1, [2, 0, 0], NO_RULE), np.array([[1.0], [5.0], [3.0]]))
    assert value == pytest.approx(9.0) and z[:, 0].tolist() == [0.0, 2.0, 0.0]


def _brute(model: DCModel, price: np.ndarray) -> float:
    """Every release sequence, the rule's orders simulated as the engine places them."""
    T, lead = price.shape[0], model.lead
    below, up_to, cap = int(model.below[0]), int(model.up_to[0]), int(model.cap[0])
    receipts = model.receipts[:, 0]

    @functools.cache
    def best(t: int, on_hand: int, due: tuple[tuple[int, int], ...]) -> float:
        if t == T:
            return 0.0
        future = int(receipts[t + 1 :].sum())
        position = on_hand + sum(q for _, q in due) + future
        order = min(cap, max(up_to - position, 0)) if position <= below else 0
        pending = (*due, (t + lead, order)) if order else due
        out = -np.inf
        for z in range(on_hand + 1):
            value = price[t, 0] * z + model.keep[t, 0] * (on_hand - z)
            if t + 1 < T:
                arriving = sum(q for when, q in pending if when == t + 1)
                later = tuple((w, q) for w, q in pending if w > t + 1)
                value += best(t + 1, on_hand - z + arriving + int(receipts[t + 1]), later)
            out = max(out, value)
        return out

    return best(0, int(receipts[0]), ())


@pytest.mark.parametrize(("lead", "rule"), [(1, (BIG, 4, 2)), (2, (BIG, 4, 2)), (3, (BIG, 5, 3)),
                                            (2, (1, 4, 3)), (2, NO_RULE)])
def test_dc_dp_equals_brute_force(lead: int, rule: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(lead * 7 + rule[0] % 5)
    for _ in range(5):
        price = rng.uniform(0.0, 6.0, (5, 1))
        model = _model(5, lead, [3, 0, 1, 0, 1], rule)
        assert dc_plan(model, price)[0] == pytest.approx(_brute(model, price), abs=1e-9)


def test_plan_earns_its_value() -> None:
    """The releases returned, priced and held, add up to the value returned."""
    model = _model(5, 2, [3, 0, 1, 0, 1], (BIG, 4, 2))
    price = np.array([[2.0], [0.1], [5.0], [0.3], [4.0]])
    value, z = dc_plan(model, price)
    assert value == pytest.approx(_brute(model, price))
    assert (z >= 0).all() and z.sum() <= 3 + 1 + 1 + 2 * 4  # never more than ever reaches the DC


@pytest.mark.parametrize("name", ["small-dp", "retail-small"])
def test_exact_dc_is_never_above_its_lp_relaxation(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The clairvoyant LP lets the rule order less than it does: its DC piece is at least the exact one."""
    env = AllocationEnv(name)
    net = env.network
    monkeypatch.setattr(lagrangian_dc, "MAX_WORK", 10**9)  # retail-small's DC is solved by LP by default
    model = DCModel.of(net)
    assert model is not None
    rng = np.random.default_rng(0)
    for _ in range(3):
        price = rng.uniform(0.0, 30.0, (net.periods, net.n_skus))
        lp = LPBuilder()
        dc_block(net, sample_episode(env.profile, net, 0), lp, price)
        assert dc_plan(model, price)[0] <= lp.solve().objective + 1e-6


def test_random_lead_times_and_large_dcs_keep_the_lp_piece() -> None:
    assert DCModel.of(AllocationEnv("retail-small").network) is None  # 10^8 DP steps a solve
    assert DCModel.of(AllocationEnv("retail-medium").network) is None  # lead 3-5 days
    assert DCModel.of(AllocationEnv("omnichannel-transfers").network) is None  # policy orders
    assert DCModel.of(AllocationEnv("tiny-dp").network) is None  # no rule orders: the LP is exact


def test_the_engine_rule_and_the_model_agree_on_small_dp() -> None:
    """Position read before the release, base-stock up to 14, at most 6 a day, two days' lead."""
    model = DCModel.of(AllocationEnv("small-dp").network)
    assert model is not None and model.lead == 2 and int(model.up_to[0]) == 14 and int(model.cap[0]) == 6
    assert int(model.top[0]) == 14  # on hand never above the level (start 8)
