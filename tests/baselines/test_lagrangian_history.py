"""The history-priced Lagrangian bound: the walk by hand, its DPs by brute force, valid on the DP presets."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from allocsim.baselines import dp
from allocsim.baselines.lagrangian_bound import Split, lagrangian_bound
from allocsim.baselines.lagrangian_history import HistoryPieces, fit_history, refusal, walk
from allocsim.baselines.lagrangian_history_dp import dc_dp, lane_one, lane_two
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.lagrangian_store import multipliers_for


@functools.cache
def env(name: str) -> AllocationEnv:
    return AllocationEnv(name)


def pieces(name: str, k: int = 3, j: int = 2, width: float = 0.6) -> HistoryPieces:
    net, profile = env(name).network, env(name).profile
    split = Split.of(net, profile)
    return HistoryPieces(net, split, walk(net, split, k, j, width))


def test_walk_moves_by_hand_on_tiny_dp() -> None:
    """Poisson 1.2 + 0.8 = Poisson 2 (sd sqrt 2); width 1 / sqrt 2 makes a bucket one unit: move
    clip(total - 2, -1, 1). Store-a with no demand of its own moves down unless store-b sells 2 or more."""
    net, profile = env("tiny-dp").network, env("tiny-dp").profile
    split = Split.of(net, profile)
    wk = walk(net, split, 2, 1, 1.0 / math.sqrt(2.0))
    e2 = math.exp(-2.0)
    assert wk.size == 5 and wk.start == 2
    assert wk.sku_moves[0][3].tolist() == pytest.approx([3 * e2, 2 * e2, 1 - 5 * e2])
    e8 = math.exp(-0.8)
    a = next(i for i, lane in enumerate(split.dp) if net.locations[lane.loc] == "store-a")
    assert wk.lane_moves[a][0, 0].tolist() == pytest.approx([1.8 * e8, 0.32 * e8, 1 - 2.12 * e8])
    assert wk.lane_moves[a][0, 3].tolist() == pytest.approx([0.0, 0.0, 1.0])  # 3 of its own: up


@pytest.mark.parametrize("name", ["tiny-dp", "small-dp"])
def test_flat_prices_give_the_flat_lagrangian_bound(name: str) -> None:
    """Prices equal across buckets: the lanes never use the bucket and the DC is the exact one."""
    net, profile = env(name).network, env(name).profile
    flat = multipliers_for(load_scenario(name)).price
    p = pieces(name)
    value = p.solve(np.repeat(flat.T[:, :, None], p.walk.size, axis=2))[0]
    assert value == pytest.approx(lagrangian_bound(net, profile, flat, 40000).bound, abs=1e-6)


def _moves(rng: np.random.Generator, T: int, W: int, J: int) -> np.ndarray:
    m = rng.uniform(size=(T, W, 2 * J + 1))
    return m / m.sum(axis=2, keepdims=True)


def _brute_lane(pmf: np.ndarray, moves: np.ndarray, cap: int, lead: int, price: np.ndarray, start: int,
                b0: int, margin: float = 9.0, hold: float = 0.5, ship: float = 1.0,
                end: float = -4.0) -> float:
    """Every shipment tried in every state (on hand, in transit, bucket), the bucket moved by ``moves``."""
    T, K2, J = pmf.shape[0], price.shape[1], moves.shape[2] // 2

    @functools.cache
    def value(t: int, x: int, p: int, b: int) -> float:
        if t == T:
            return 0.0
        keep = -hold + (end if t == T - 1 else 0.0)
        best = -math.inf
        top = cap - x - p if (lead == 0 or t + lead <= T - 1) else 0
        for q in range(0, top + 1):
            y = x + q if lead == 0 else x  # on hand when the period's demand comes
            gain = -(price[t, b] + ship) * q
            for d in range(pmf.shape[1]):
                sold = min(y, d)
                r = margin * sold + keep * (y - sold)
                for j in range(2 * J + 1):
                    pr = pmf[t, d] * moves[t, d, j]
                    if pr == 0.0:
                        continue
                    nb = min(max(b + j - J, 0), K2 - 1)
                    if lead == 2:
                        nxt = value(t + 1, y - sold + p, q, nb)
                    elif lead == 1:
                        nxt = value(t + 1, y - sold + q, 0, nb)
                    else:
                        nxt = value(t + 1, y - sold, 0, nb)
                    gain += pr * (r + nxt)
            best = max(best, gain)
        return best

    return value(0, start, 0, b0)


@pytest.mark.parametrize("lead", [0, 1, 2])
def test_lane_dps_equal_brute_force(lead: int) -> None:
    rng = np.random.default_rng(lead)
    T, W, J, K2, cap = 4, 3, 1, 3, 4
    pmf = rng.uniform(size=(T, W))
    pmf /= pmf.sum(axis=1, keepdims=True)
    moves = _moves(rng, T, W, J)
    price = rng.uniform(0.0, 8.0, (T, K2))
    anchor = np.arange(K2, dtype=np.int64)
    for start in (0, 2):
        want = _brute_lane(pmf, moves, cap, lead, price, start, 1)
        if lead == 2:
            got = lane_two(pmf, moves, cap, 1.0, 0.5, 9.0, -4.0, price, start, 1, anchor)[0]
        else:
            got = lane_one(pmf, moves, cap, lead, 1.0, 0.5, 9.0, -4.0, price, start, 1, anchor)[0]
        assert got == pytest.approx(want, abs=1e-9)


def test_dc_dp_equals_brute_force() -> None:
    """A base-stock DC (order up to 5 when the position is at most 4, 2 a period, lead 2) and random
    prices per bucket: every release tried in every state."""
    rng = np.random.default_rng(7)
    T, J, K2, lead, below, up_to, cap, top = 5, 1, 3, 2, 4, 5, 2, 5
    step = rng.uniform(size=(T, 2 * J + 1))
    step /= step.sum(axis=1, keepdims=True)
    price = rng.uniform(0.0, 5.0, (T, K2))
    receipts = np.array([3, 0, 1, 0, 0], dtype=np.int64)
    keep = np.full(T, -0.3)
    keep[-1] += -2.0
    future = [int(receipts[t + 1 :].sum()) for t in range(T)]

    @functools.cache
    def value(t: int, on_hand: int, due: int, b: int) -> float:  # due: the order arriving next period
        if t == T:
            return 0.0
        position = on_hand + due + future[t]
        order = min(cap, max(up_to - position, 0)) if position <= below else 0
        best = -math.inf
        for z in range(on_hand + 1):
            gain = price[t, b] * z + keep[t] * (on_hand - z)
            if t + 1 < T:
                gain += sum(step[t, j] * value(t + 1, on_hand - z + due + int(receipts[t + 1]), order,
                                               min(max(b + j - J, 0), K2 - 1)) for j in range(2 * J + 1))
            best = max(best, gain)
        return best

    anchor = np.arange(K2, dtype=np.int64)
    got = dc_dp(price, keep, receipts, lead, below, up_to, cap, top, step, 1, anchor)[0]
    assert got == pytest.approx(value(0, 3, 0, 1), abs=1e-9)


@pytest.mark.parametrize("name", ["tiny-dp", "small-dp"])
def test_any_history_prices_bound_the_dp_optimum(name: str) -> None:
    net, profile = env(name).network, env(name).profile
    optimum = dp.solution_for(net, profile).value
    p = pieces(name)
    rng = np.random.default_rng(3)
    for scale in (2.0, 10.0, 30.0):
        assert p.solve(rng.uniform(0.0, scale, (net.n_skus, net.periods, p.walk.size)))[0] >= optimum - 1e-9


@pytest.mark.parametrize("name", ["tiny-dp", "small-dp"])
def test_fitted_history_bound_is_between_the_dp_optimum_and_the_flat_bound(name: str) -> None:
    net, profile = env(name).network, env(name).profile
    optimum = dp.solution_for(net, profile).value
    fitted = fit_history(pieces(name), multipliers_for(load_scenario(name)).price, rounds=25)
    assert optimum <= fitted.bound < fitted.flat - 1.0
    assert pieces(name).solve(fitted.price)[0] == pytest.approx(fitted.bound)


def test_refused_beyond_its_model() -> None:
    for name in ("retail-medium", "omnichannel-transfers"):  # seasonal-aging: test_lagrangian_history_aging
        net = env(name).network
        if net.n_lanes:
            continue  # transfers: the Lagrangian bound itself is refused
        assert refusal(net, Split.of(net, env(name).profile)) is not None
    assert refusal(env("retail-small").network, Split.of(env("retail-small").network,
                                                         env("retail-small").profile)) is None
