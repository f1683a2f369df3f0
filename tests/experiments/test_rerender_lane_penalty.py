"""``rerender --lane-penalty``: the lane-penalty bound joins a stored tiny-dp benchmark, and the stored
tables' tightest bound switches to it only where it is tighter (mean + 95 % half-width lower)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_fixtures import _row

from allocsim.baselines.lagrangian_bound import Split
from allocsim.baselines.lagrangian_history import walk
from allocsim.baselines.lane_penalty_history import HistoryPenalty
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.bound_choice import mean_ci95
from allocsim.experiments.history_store import history_for
from allocsim.experiments.rerender import main, rerender
from allocsim.experiments.summary import episodes_frame

SEEDS = [40000, 40001, 40002, 40003]
OPTIMUM = 121.34  # the stored run's DP optimum (tiny-dp's, rounded: the gap columns use the stored one)
PROFITS = {"base-stock": [118.0, 120.0, 122.0, 119.0], "dp": [120.0, 122.0, 123.0, 121.0]}


def _stored(folder: Path, tightest: float) -> Path:
    """A tiny-dp benchmark folder with bounds as a benchmark writes them: the penalised bound and the
    tightest (history-priced, exact) per row, the gaps against the DP optimum."""
    rng = np.random.default_rng(0)
    rows = []
    for rank, (policy, values) in enumerate(PROFITS.items()):
        for seed, profit in zip(SEEDS, values, strict=True):
            row = _row(policy, rank, seed, rng)
            row.update(profit=profit, reward=profit, bound=130.0, gap_to_bound_pct=100 * (130 - profit) / 130,
                       gap_to_optimal_pct=100 * (OPTIMUM - profit) / OPTIMUM, penalised_bound=125.0,
                       tightest_bound=tightest, gap_to_reference_pct=100 * (OPTIMUM - profit) / OPTIMUM)
            rows.append(row)
    folder.mkdir(parents=True)
    episodes_frame(rows).to_parquet(folder / "episodes.parquet", index=False)
    run = {"scenario": "tiny-dp", "seeds": SEEDS, "workers": 1, "warm_up": 0, "periods": 8,
           "wall_seconds": 1.0, "created": "2026-12-07T00:00:00", "timing": "aggregated",
           "policies": {"base-stock": {"params": {}, "source": "defaults"}},
           "bound_mean": 130.0, "penalised_bound_mean": 125.0, "dp_value": OPTIMUM,
           "reference_interval": {"tightest_bound_kind": "history_bound"}}
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return folder


def _direct(seeds: list[int]) -> tuple[float, float]:
    """The bound's mean and half-width on ``seeds`` from the baseline module itself (the differential)."""
    env = AllocationEnv("tiny-dp")
    split = Split.of(env.network, env.profile)
    history = history_for(load_scenario("tiny-dp"), fit=False)
    assert history is not None
    penalty = HistoryPenalty(env.network, env.profile, split, walk(env.network, split), history.price)
    return mean_ci95([penalty.bound(seed) for seed in seeds])


def test_a_tighter_lane_penalty_bound_replaces_the_stored_one(tmp_path: Path) -> None:
    folder = _stored(tmp_path / "run", 130.0)  # a stored bound far above tiny-dp's lane-penalty bound
    before = pd.read_parquet(folder / "episodes.parquet")
    said: list[str] = []
    written = rerender(folder, say=said.append, lane_penalty=3)
    assert [p.name for p in written[:2]] == ["episodes.parquet", "episodes.csv"]
    mean, ci = _direct(SEEDS[:3])  # the run's first three seeds
    assert said == [f"{folder}: tightest bound: lane-penalty {mean:,.2f} ± {ci:,.2f} on 3 seeds "
                    "(was history-priced 130.00)"]
    after = pd.read_parquet(folder / "episodes.parquet")
    assert after["tightest_bound"].to_numpy() == pytest.approx(np.full(len(after), mean))
    # the gap reference stays the DP optimum: the gap columns and every other column are unchanged
    pd.testing.assert_frame_equal(after.drop(columns="tightest_bound"), before.drop(columns="tightest_bound"))
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    record = run["lane_penalty_bound"]
    assert (record["value"], record["ci95"]) == (pytest.approx(mean), pytest.approx(ci))
    assert record["seeds"] == {"first": 40000, "last": 40002, "count": 3} and record["prices"] == "history"
    interval = run["reference_interval"]
    assert interval["tightest_bound_kind"] == "lane_penalty_bound"
    assert interval["tightest_bound"] == pytest.approx(mean)
    assert interval["tightest_bound_ci95"] == pytest.approx(ci)  # from the record, not the equal rows
    assert interval["gap"] == pytest.approx(mean - OPTIMUM) and interval["gap_ci95"] == pytest.approx(ci)
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert "tightest bound (lane-penalty) " in summary and "lane penalty bound" not in summary
    before_csv = (folder / "summary.csv").read_text(encoding="utf-8")
    rerender(folder)  # a plain re-render keeps it, with its half-width
    assert (folder / "summary.csv").read_text(encoding="utf-8") == before_csv
    kept = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert kept["reference_interval"]["tightest_bound_ci95"] == pytest.approx(ci)


def test_a_looser_lane_penalty_bound_is_recorded_but_the_stored_one_kept(tmp_path: Path) -> None:
    folder = _stored(tmp_path / "run", 121.5)  # an exact stored bound below the lane-penalty bound
    before = (folder / "episodes.parquet").read_bytes()
    said: list[str] = []
    written = rerender(folder, say=said.append, lane_penalty=2)
    assert written[0].name == "summary.csv"  # no episode file rewritten
    assert said[0].endswith("(2 seeds) is not tighter than the stored history-priced bound")
    assert (folder / "episodes.parquet").read_bytes() == before
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["reference_interval"]["tightest_bound_kind"] == "history_bound"
    assert run["reference_interval"]["tightest_bound"] == pytest.approx(121.5)
    assert run["lane_penalty_bound"]["value"] == pytest.approx(_direct(SEEDS[:2])[0])


def test_a_negative_seed_count_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--lane-penalty", "-1", "somewhere"])
    assert stop.value.code == 2
    assert "--lane-penalty must be a count of seeds (0 or more), not -1" in capsys.readouterr().err
