"""Replayed demand histories vary across seeds by a weekday-aligned moving-block bootstrap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocsim.envs.demand import DemandProfile, sample_episode
from allocsim.envs.history_resample import block_bootstrap, block_starts
from allocsim.envs.network import Network
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.benchmark import with_demand_csv
from allocsim.experiments.starting_files import sampled_history_csv


@settings(max_examples=60, deadline=None)
@given(periods=st.integers(1, 120), block=st.integers(1, 30), seed=st.integers(0, 10_000))
def test_every_block_is_a_contiguous_weekday_aligned_slice_of_the_history(periods: int, block: int,
                                                                          seed: int) -> None:
    history = np.arange(periods, dtype=np.int64) * 10 + 3  # each period's value names its period
    out = block_bootstrap(history, block, seed)
    assert out.shape == history.shape
    for start in range(0, periods, block):
        piece = out[start : start + block]
        source = (piece - 3) // 10  # the history periods this block was cut from
        assert (np.diff(source) == 1).all()  # contiguous
        assert source[0] % 7 == start % 7  # same weekday as the periods it fills
        assert source[0] >= 0 and source[-1] < periods


def test_same_seed_same_path_and_different_seeds_differ() -> None:
    history = np.arange(70, dtype=np.int64)
    first = block_bootstrap(history, 7, 1)
    assert (first == block_bootstrap(history, 7, 1)).all()
    assert any((first != block_bootstrap(history, 7, s)).any() for s in range(2, 5))


def test_a_short_final_block_is_cut_whole() -> None:
    # 10 periods, blocks of 7: the second block has 3 periods and starts on weekday 0 (7 % 7)
    starts = block_starts(10, 7, 0)
    assert [(t, n) for t, _, n in starts] == [(0, 7), (7, 3)]
    assert starts[0][1] == 0  # the only weekday-0 slice of 7 periods in 10 starts at 0
    assert starts[1][1] in (0, 7)


def test_block_length_must_be_positive() -> None:
    with pytest.raises(ValueError, match="block_length"):
        block_starts(10, 0, 0)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    path = tmp_path / "history.csv"
    path.write_text(sampled_history_csv(load_scenario("retail-small"), seed=5))
    return path


def _demand(scenario_path: Path, resample: str, seed: int) -> np.ndarray:
    scenario = with_demand_csv(load_scenario("retail-small"), scenario_path, resample)
    net = Network.compile(scenario)
    return sample_episode(DemandProfile.build(net), net, seed).demand


def test_episodes_resample_the_history_by_seed(history: Path) -> None:
    replayed = _demand(history, "none", 0)
    a, b = _demand(history, "block", 1), _demand(history, "block", 2)
    assert (a == _demand(history, "block", 1)).all()  # the seed alone decides
    assert (a != b).any() and (a != replayed).any()
    for start in range(0, a.shape[0], 7):  # each week of an episode is one week of the history
        week = a[start : start + 7]
        sources = [s for s in range(start % 7, replayed.shape[0] - len(week) + 1, 7)
                   if (replayed[s : s + len(week)] == week).all()]
        assert sources


def test_resample_none_replays_the_history_on_every_seed(history: Path) -> None:
    assert (_demand(history, "none", 1) == _demand(history, "none", 9)).all()


def test_resampling_settings_leave_the_content_hash_of_parametric_scenarios_alone() -> None:
    scenario = load_scenario("retail-small")
    assert "resample" not in scenario.model_dump()["demand"]
    with_history = with_demand_csv(scenario, Path("h.csv"), "none")
    assert with_history.model_dump()["demand"]["resample"] == "none"
    assert with_history.content_hash() != with_demand_csv(scenario, Path("h.csv"), "block").content_hash()


def test_a_hand_computed_bootstrap_on_an_eight_period_horizon(tmp_path: Path) -> None:
    """tiny-dp has 8 periods: block 0 (periods 0-6) can only be periods 0-6 of the history; period 7
    (weekday 0) is history period 0 or 7. A history of 2 units at period 0 and 1 at period 3 so
    replays 3 units, or 5 when period 7 repeats period 0."""
    history = tmp_path / "h.csv"
    history.write_text("period,sku,location,channel,quantity\n0,widget,store-a,store,2\n3,widget,store-b,store,1\n"
                       "7,widget,store-b,store,0\n")  # a history reaches the horizon (zero rows count)
    scenario = with_demand_csv(load_scenario("tiny-dp"), history, "block")
    net = Network.compile(scenario)
    totals = {int(sample_episode(DemandProfile.build(net), net, seed).demand.sum()) for seed in range(40)}
    assert totals == {3, 5}
