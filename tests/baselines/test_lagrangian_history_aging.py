"""The history-priced bound with shelf life and backorders (seasonal-aging): by hand, against the flat
lane and DC models at equal prices, and never below the real lane or DC (ages, patience) by brute force."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from allocsim.baselines.lagrangian_bound import Split
from allocsim.baselines.lagrangian_dc import DCModel, _solve, dc_plan
from allocsim.baselines.lagrangian_history import HistoryPieces, refusal, walk
from allocsim.baselines.lagrangian_history_backorder import lane_backorder
from allocsim.baselines.lagrangian_history_dp import dc_dp, lane_one, lane_two
from allocsim.baselines.lagrangian_lanes import solve_lane
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.history_prices import shipped_prices

ANCHOR2 = np.arange(2, dtype=np.int64)


@functools.cache
def aging() -> tuple[HistoryPieces, np.ndarray]:
    """seasonal-aging's pieces (K = 4) and flat prices (T, S): its shipped history prices in the walk's
    start bucket, read from the package. Any prices equal in every bucket serve the differential below;
    these are fitted ones, so lanes and DC ship amounts that matter, without fitting the flat prices here
    (about 23 s of CPU, the only fit of seasonal-aging's flat prices in the suite)."""
    env = AllocationEnv("seasonal-aging")
    split = Split.of(env.network, env.profile)
    pieces = HistoryPieces(env.network, split, walk(env.network, split))
    shipped = shipped_prices(load_scenario("seasonal-aging"))
    assert shipped is not None
    return pieces, np.ascontiguousarray(shipped.price[:, :, pieces.walk.start].T)


def test_backorder_lane_by_hand() -> None:
    """Two periods, demand 2 for sure, half of the unmet queued, 1 on hand, room for 3 (so up to 2 more), at
    1 + 0.5 a unit in the start bucket.
    Period 0 sells 1 and queues floor(0.5) = 0; period 1 (the last) from q: q = 0 sells 0 and queues 1,
    debited at the end (0); q = 1 sells 1 (3); q = 2 sells 2 (6). V = 3 + max(0, 3 - 1.5, 6 - 3) = 6."""
    pmf = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    inc = np.zeros((2, 3, 3))
    inc[:, :, 2] = 1.0  # always up one bucket
    price = np.array([[9.0, 1.0], [9.0, 9.0]])  # the start bucket is 1
    value, shipped = lane_backorder(pmf, inc, 0.5, 3, 3, 0.5, 0.1, 3.0, -1.0, price, 1, 1, ANCHOR2)
    assert value == pytest.approx(6.0)
    assert shipped.tolist() == [[0.0, 2.0], [0.0, 0.0]]
    # at 9 + 0.5 a unit in the start bucket nothing is worth sending: V = 3
    assert lane_backorder(pmf, inc, 0.5, 3, 3, 0.5, 0.1, 3.0, -1.0, price[:, ::-1].copy(), 1, 1,
                          ANCHOR2)[0] == pytest.approx(3.0)


@pytest.mark.parametrize("kind", ["one", "two", "backorder"])
def test_disposal_by_hand(kind: str) -> None:
    """One period, demand 1 for sure, 3 on hand, margin 3, holding 0.4 (unit cost 1: disposal 0.6), end
    -1 (past the close a unit is worth -0.6: disposed of). Keeping all: 3 - 2 (0.4 + 0.6) = 1; disposing of
    2 first: 3 - 2 x 0.6 = 1.8; without disposal: 3 - 2 (0.4 + 1) = 0.2."""
    pmf, inc, price = np.array([[0.0, 1.0]]), np.full((1, 2, 3), 1.0 / 3.0), np.zeros((1, 2))

    def solve(dispose: float, end: float) -> float:
        if kind == "one":
            return lane_one(pmf, inc, 4, 1, 0.1, 0.4, 3.0, end, price, 3, 0, ANCHOR2, dispose)[0]
        if kind == "two":
            return lane_two(pmf, inc, 4, 0.1, 0.4, 3.0, end, price, 3, 0, ANCHOR2, dispose)[0]
        return lane_backorder(pmf, inc, 0.5, 4, 2, 0.1, 0.4, 3.0, end, price, 3, 0, ANCHOR2, dispose)[0]

    assert solve(0.6, -0.6) == pytest.approx(1.8)
    assert solve(-1.0, -1.0) == pytest.approx(0.2)


def test_equal_prices_give_the_flat_lane_and_dc_values_on_seasonal_aging() -> None:
    """Differential: at flat prices (the same in every bucket) every lane kind (lead 1, lead 2, backorders,
    all with disposal) equals its flat DP and the DC the flat exact DP with disposal, SKU by SKU."""
    pieces, flat = aging()
    lam = np.repeat(flat.T[:, :, None], pieces.walk.size, axis=2)
    kinds, others = set(), set()
    for i, lane in enumerate(pieces.split.dp):
        kind = (lane.lead, lane.backorder > 0)
        if lane.sku != 2 and (kind in others or lane.lead == 2):
            # every sunscreen lane and one lane of each lead-1 kind of the other SKUs: a lead-2 lane takes
            # 7-11 s of CPU, and the sunscreen one runs the same kernel (lane_two, with disposal)
            continue
        kinds.add(kind)
        if lane.sku != 2:
            others.add(kind)
        value, shipped = pieces.lane(i, lam[lane.sku])
        want = solve_lane(lane, flat[:, lane.sku])
        assert lane.dispose >= 0.0
        assert value == pytest.approx(want.value, abs=1e-6)
        assert shipped.sum(axis=1) == pytest.approx(want.shipped, abs=1e-6)
    assert kinds == {(1, False), (2, False), (1, True)}
    model = pieces.dc
    assert model.dispose is not None and (model.dispose >= 0.0).all()
    total, releases = dc_plan(model, flat)
    values = [pieces.dc_piece(s, lam[s]) for s in range(flat.shape[1])]
    assert sum(v for v, _ in values) == pytest.approx(total, abs=1e-6)
    for s, (_, z) in enumerate(values):
        assert z.sum(axis=1) == pytest.approx(releases[:, s], abs=1e-6)


def test_seasonal_aging_is_accepted_and_retail_medium_still_refused() -> None:
    pieces, _ = aging()
    assert refusal(pieces.net, pieces.split) is None
    env = AllocationEnv("retail-medium")
    assert refusal(env.network, Split.of(env.network, env.profile)) is not None
    assert DCModel.of(pieces.net) is None  # the flat bound keeps the DC's LP piece there


def test_dc_solve_with_disposal_equals_brute_force() -> None:
    """The flat exact DC with disposal (``_solve``) against every disposal and release tried."""
    rng = np.random.default_rng(11)
    T, lead, below, up_to, cap, top = 5, 2, 4, 5, 2, 5
    price = rng.uniform(0.0, 3.0, T)
    receipts = np.array([3, 0, 1, 0, 0], dtype=np.int64)
    keep = np.full(T, -0.3)
    keep[-1] += -0.5
    future = [int(receipts[t + 1 :].sum()) for t in range(T)]

    @functools.cache
    def value(t: int, on_hand: int, due: int) -> float:
        if t == T:
            return 0.0
        best = -math.inf
        for kept in range(on_hand + 1):
            position = kept + due + future[t]
            order = min(cap, max(up_to - position, 0)) if position <= below else 0
            for z in range(kept + 1):
                gain = -0.7 * (on_hand - kept) + price[t] * z + keep[t] * (kept - z)
                if t + 1 < T:
                    gain += value(t + 1, kept - z + due + int(receipts[t + 1]), order)
                best = max(best, gain)
        return best

    got = _solve(price, keep, receipts, lead, below, up_to, cap, top, 0.7)[0]
    assert got == pytest.approx(value(0, 3, 0), abs=1e-9)


def _walk(rng: np.random.Generator, T: int, W: int) -> np.ndarray:
    m = rng.uniform(size=(T, W, 3))
    return m / m.sum(axis=2, keepdims=True)


@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_history_lane_is_never_below_the_real_lane_with_ages_and_patience(beta: float) -> None:
    """Validity: the real lane as the engine runs it (ages, oldest sold first, expiry after 2 closes written
    off at the unit cost 1 with no holding after; waiting units served first, lost past a patience of 1
    and at the horizon, 0.1 a period waiting), every shipment tried in every state, bucket prices: its
    optimum is at most the bucketed DP's (lead 1, with disposal at 1 - 0.4 and the end at max(-1, -0.6))."""
    rng = np.random.default_rng(int(beta * 10) + 5)
    T, W, K2, cap, shelf, patience, margin, hold, ship, end = 4, 3, 2, 3, 2, 1, 3.0, 0.4, 0.1, -1.0
    pmf = rng.uniform(size=(T, W))
    pmf /= pmf.sum(axis=1, keepdims=True)
    inc = _walk(rng, T, W)
    for trial in range(3):
        price = rng.uniform(0.0, 3.0, (T, K2))

        @functools.cache
        def real(t: int, ages: tuple[int, ...], waiting: tuple[int, ...], b: int) -> float:
            if t == T:
                return 0.0
            best = -math.inf
            for q in range(cap - sum(ages) + 1 if t + 1 <= T - 1 else 1):
                total = -(price[t, b] + ship) * q  # noqa: B023 (the trial's prices)
                for d in range(W):
                    stock, wait, left = list(ages), list(waiting), 0
                    served = 0
                    for age in range(patience, -1, -1):  # the backlog first, oldest first
                        take = min(wait[age], sum(stock) - served)
                        wait[age] -= take
                        served += take
                    new = min(d, sum(stock) - served)
                    sold, left = served + new, served + new
                    for a in range(shelf - 1, -1, -1):  # oldest units first
                        take = min(stock[a], left)
                        stock[a] -= take
                        left -= take
                    queued = math.floor(beta * (d - new) + 1e-9)
                    gain = margin * sold - 0.1 * (sum(wait) + queued)
                    wait = [queued, *wait[:-1]]  # one period older; past the patience: lost
                    aged = [0, *stock[:-1]]
                    gain += -1.0 * stock[-1] - hold * sum(aged)  # expired: written off at cost
                    if t == T - 1:
                        total += pmf[t, d] * (gain + end * sum(aged))
                        continue
                    aged[0] += q
                    for j in range(3):
                        nb = min(max(b + j - 1, 0), K2 - 1)
                        total += pmf[t, d] * inc[t, d, j] * (gain + real(t + 1, tuple(aged), tuple(wait), nb))
                best = max(best, total)
            return best

        want = real(0, (2, 0), (0, 0), 1)
        if beta > 0:
            got = lane_backorder(pmf, inc, beta, cap, 4, ship, hold, margin, -0.6, price, 2, 1, ANCHOR2,
                                 0.6)[0]
        else:
            got = lane_one(pmf, inc, cap, 1, ship, hold, margin, -0.6, price, 2, 1, ANCHOR2, 0.6)[0]
        assert got >= want - 1e-9, trial


def test_history_dc_is_never_below_the_real_dc_with_ages() -> None:
    """Validity: a min-max DC (order up to 4 when its position is at most 2, 3 a period, lead 1) whose units
    expire after 2 closes (written off at the unit cost 1, no holding after), releases oldest first,
    bucket prices, every release tried: at most the bucketed DP with disposal at 1 - 0.3."""
    rng = np.random.default_rng(2)
    T, K2, below, up_to, cap, hold, salvage = 4, 2, 2, 4, 3, 0.3, 0.2
    receipts = np.array([4, 0, 0, 0], dtype=np.int64)
    step = rng.uniform(size=(T, 3))
    step /= step.sum(axis=1, keepdims=True)
    keep = np.full(T, -hold)
    keep[-1] += max(salvage - 1.0, -(1.0 - hold))
    for trial in range(3):
        price = rng.uniform(0.0, 2.0, (T, K2))

        @functools.cache
        def real(t: int, ages: tuple[int, int], b: int) -> float:
            if t == T:
                return 0.0
            position = sum(ages)
            order = min(cap, up_to - position) if position <= below else 0
            best = -math.inf
            for z in range(sum(ages) + 1):
                stock, left = list(ages), z
                for a in (1, 0):
                    take = min(stock[a], left)
                    stock[a] -= take
                    left -= take
                gain = price[t, b] * z - 1.0 * stock[1] - hold * stock[0]  # noqa: B023 (the trial's prices)
                if t == T - 1:
                    best = max(best, gain + (salvage - 1.0) * stock[0])
                    continue
                nxt = (order + int(receipts[t + 1]), stock[0])
                gain += sum(step[t, j] * real(t + 1, nxt, min(max(b + j - 1, 0), K2 - 1)) for j in range(3))
                best = max(best, gain)
            return best

        got = dc_dp(price, keep, receipts, 1, below, up_to, cap, 4, step, 1, ANCHOR2, 1.0 - hold)[0]
        assert got >= real(0, (4, 0), 1) - 1e-9, trial
