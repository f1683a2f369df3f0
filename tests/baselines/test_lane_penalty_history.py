"""The lane-penalty bound with history-priced value functions: its walk on a hand-made path, its tables
against the history-priced bound's own DPs, the flat bound at bucket-equal prices (differential), never
above the history-priced Lagrangian bound on a seed, never below the DP optimum per seed-mean."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from allocsim.baselines import dp
from allocsim.baselines.lagrangian_bound import Split
from allocsim.baselines.lagrangian_history import HistoryPieces, Walk, walk
from allocsim.baselines.lagrangian_lane_values import lane_tables
from allocsim.baselines.lane_penalty import lane_penalty_bound, penalty_values
from allocsim.baselines.lane_penalty_history import HistoryPenalty, history_lane_tables
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.bound_choice import mean_ci95
from allocsim.experiments.history_store import history_for
from allocsim.experiments.lagrangian_store import multipliers_for


@functools.cache
def setup(name: str) -> tuple[AllocationEnv, Split, Walk, np.ndarray, np.ndarray, float]:
    """The preset's env, lanes, walk, flat prices (T, S), shipped history prices (S, T, B) and their L."""
    env = AllocationEnv(name)
    split = Split.of(env.network, env.profile)
    scenario = load_scenario(name)
    history = history_for(scenario, fit=False)
    flat = multipliers_for(scenario)
    assert history is not None and flat is not None  # both presets ship their history prices
    return env, split, walk(env.network, split), np.asarray(flat.price), history.price, history.bound


def bucket_equal(wk: Walk, flat: np.ndarray) -> np.ndarray:
    return np.repeat(flat.T[:, :, None], wk.size, axis=2)


def test_the_walk_on_a_hand_made_path() -> None:
    """Mean 2, sd 1, width 1: 5 moves +3 -> clipped to +2; 2.5 moves +0.5 -> rounds up to +1; -4 moves
    -6 -> -2; the bucket stays in 0..8."""
    wk = Walk(9, 4, (), (), mu=np.full((1, 4), 2.0), sd=np.ones((1, 4)))
    assert wk.buckets(np.array([[5.0], [2.5], [2.0], [9.0]])).ravel().tolist() == [4, 6, 7, 7]
    low = Walk(9, 1, (), (), mu=np.full((1, 3), 2.0), sd=np.ones((1, 3)))
    assert low.buckets(np.array([[-4.0], [0.0], [0.0]])).ravel().tolist() == [1, 0, 0]


@pytest.mark.parametrize("name", ["tiny-dp", "small-dp"])
def test_bucket_equal_prices_give_the_flat_lane_values(name: str) -> None:
    """Every bucket's lane values equal ``lagrangian_lane_values``' (two implementations)."""
    _, split, wk, flat, _, _ = setup(name)
    anchor = np.arange(wk.size, dtype=np.int64)
    for i, lane in enumerate(split.dp):
        moves = wk.lane_moves[i]
        pmf = np.ascontiguousarray(lane.pmf[:, : moves.shape[1]])
        price = np.ascontiguousarray(bucket_equal(wk, flat)[lane.sku])
        V = history_lane_tables(pmf, moves, lane.cap, lane.lead, lane.ship_cost, lane.holding, lane.margin,
                                lane.end, price, anchor)
        expected, _ = lane_tables(lane.pmf, lane.cap, lane.lead, lane.ship_cost, lane.holding, lane.margin,
                                  lane.end, np.ascontiguousarray(flat[:, lane.sku]))
        for b in range(wk.size):
            assert V[:, b] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("name", ["tiny-dp", "small-dp"])
def test_the_dc_values_start_where_the_history_dc_dp_does(name: str) -> None:
    env, split, wk, _, price, _ = setup(name)
    penalty = HistoryPenalty(env.network, env.profile, split, wk, price)
    pieces = HistoryPieces(env.network, split, wk)
    assert penalty.model is not None and len(penalty.dc) == env.network.n_skus
    for s in range(env.network.n_skus):
        value, _ = pieces.dc_piece(s, price[s])
        assert penalty.dc[s][0, wk.start, penalty.model.receipts[0, s]] == pytest.approx(value, abs=1e-9)


def test_bucket_equal_prices_give_the_flat_bound_on_every_seed() -> None:
    """Differential: at the flat prices in every bucket the penalty is the flat one, seed by seed."""
    env, split, wk, flat, _, _ = setup("tiny-dp")
    same = HistoryPenalty(env.network, env.profile, split, wk, bucket_equal(wk, flat))
    values = penalty_values(env.network, env.profile, split, flat)
    for seed in range(40_000, 40_010):
        assert same.bound(seed) == pytest.approx(lane_penalty_bound(values, seed), abs=1e-9)


def test_tiny_dp_never_above_its_lagrangian_bound_and_above_the_optimum_in_the_mean() -> None:
    """Each piece's penalised path value is its own value (the history-priced L) at most, so no seed is
    above L; the mean is above the DP optimum within its interval, and under 1 % above it (0.80 % on
    2,000 seeds when written, against 1.16 % for L)."""
    env, split, wk, _, price, bound = setup("tiny-dp")
    penalty = HistoryPenalty(env.network, env.profile, split, wk, price)
    values = [penalty.bound(seed) for seed in range(40_000, 40_200)]
    assert max(values) <= bound + 1e-9
    mean, ci = mean_ci95(values)
    optimum = dp.solution_for(env.network, env.profile).value
    assert mean + ci >= optimum - 1e-6
    assert mean < bound - 0.3 and mean <= 1.01 * optimum


@pytest.mark.slow
def test_small_dp_bucket_equal_prices_give_the_flat_bound_on_a_seed() -> None:
    """The flat bound is the differential check on one seed (about 5 s a seed). That small-dp's bound from
    its shipped history prices is never above their L on a seed and above the DP optimum in the seed-mean
    is test_lagrangian_bound's check of ``allocsim bound``'s document (seeds 40000-40003: the same
    HistoryPenalty, which this test ran again on 40000-40002)."""
    env, split, wk, flat, _, _ = setup("small-dp")
    same = HistoryPenalty(env.network, env.profile, split, wk, bucket_equal(wk, flat))
    flat_values = penalty_values(env.network, env.profile, split, flat)
    assert same.bound(40_000) == pytest.approx(lane_penalty_bound(flat_values, 40_000), abs=1e-9)
