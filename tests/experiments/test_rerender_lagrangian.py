"""``rerender --lagrangian``: the Lagrangian bound joins a stored benchmark that lacks it (e.g. one stored
before contracts were accepted), and the tables' tightest bound switches to it only where it is tighter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_fixtures import _row

from allocsim.baselines.lagrangian_bound import lagrangian_bound
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.lagrangian_store import multipliers_for
from allocsim.experiments.rerender import main, rerender
from allocsim.experiments.summary import episodes_frame

SEEDS = [40000, 40001, 40002, 40003]
PROFITS = {"base-stock": [118.0, 120.0, 122.0, 119.0], "priority": [119.0, 121.0, 121.5, 120.0]}


def _stored(folder: Path, penalised: float, kind: str = "penalised_bound") -> Path:
    """A tiny-dp benchmark stored without a DP optimum, its tightest bound the penalised one per row."""
    rng = np.random.default_rng(0)
    rows = []
    for rank, (policy, values) in enumerate(PROFITS.items()):
        for seed, profit in zip(SEEDS, values, strict=True):
            row = _row(policy, rank, seed, rng)
            bound = penalised + seed - 40_000  # varies per seed: a half-width of 1.29 x 2.35
            row.update(profit=profit, reward=profit, bound=130.0, gap_to_bound_pct=100 * (130 - profit) / 130,
                       penalised_bound=bound, tightest_bound=bound,
                       gap_to_reference_pct=100 * (bound - profit) / bound)
            rows.append(row)
    folder.mkdir(parents=True)
    episodes_frame(rows).to_parquet(folder / "episodes.parquet", index=False)
    run = {"scenario": "tiny-dp", "seeds": SEEDS, "workers": 1, "warm_up": 0, "periods": 8,
           "wall_seconds": 1.0, "created": "2026-12-07T00:00:00", "timing": "aggregated",
           "policies": {"base-stock": {"params": {}, "source": "defaults"}},
           "bound_mean": 130.0, "penalised_bound_mean": penalised + 1.5, "dp_value": None,
           "reference_interval": {"tightest_bound_kind": kind}}
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return folder


def _direct() -> float:
    """tiny-dp's Lagrangian bound from the baseline module at the fitted prices (exact: any seed)."""
    env = AllocationEnv("tiny-dp")
    fitted = multipliers_for(load_scenario("tiny-dp"))
    assert fitted is not None
    return lagrangian_bound(env.network, env.profile, fitted.price, 40_000).bound


def test_a_tighter_lagrangian_bound_replaces_the_stored_one(tmp_path: Path) -> None:
    folder = _stored(tmp_path / "run", 140.0)  # far above tiny-dp's Lagrangian bound (125.94)
    said: list[str] = []
    written = rerender(folder, say=said.append, lagrangian=True)
    assert [p.name for p in written[:2]] == ["episodes.parquet", "episodes.csv"]
    value = _direct()
    assert said == [f"{folder}: tightest bound: Lagrangian {value:,.2f} ± 0.00 on 4 seeds "
                    "(was penalised 141.50 ± 2.05)"]
    after = pd.read_parquet(folder / "episodes.parquet")
    assert after["tightest_bound"].to_numpy() == pytest.approx(np.full(len(after), value))
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["lagrangian_bound"]["value"] == pytest.approx(value)
    assert run["lagrangian_bound"]["seeds"] == {"first": 40000, "last": 40003, "count": 4}
    interval = run["reference_interval"]
    assert interval["tightest_bound_kind"] == "lagrangian_bound"
    assert interval["tightest_bound"] == pytest.approx(value)
    best = np.mean(PROFITS["priority"])
    assert interval["gap"] == pytest.approx(value - best)
    before_csv = (folder / "summary.csv").read_text(encoding="utf-8")
    rerender(folder)  # a plain re-render keeps it and its record
    assert (folder / "summary.csv").read_text(encoding="utf-8") == before_csv
    assert json.loads((folder / "run.json").read_text(encoding="utf-8"))["lagrangian_bound"]["value"] == \
        pytest.approx(value)


def test_a_looser_lagrangian_bound_is_recorded_but_the_stored_one_kept(tmp_path: Path) -> None:
    folder = _stored(tmp_path / "run", 122.0)  # below the Lagrangian bound
    before = (folder / "episodes.parquet").read_bytes()
    said: list[str] = []
    written = rerender(folder, say=said.append, lagrangian=True)
    assert written[0].name == "summary.csv"
    assert said[0].endswith("(4 seeds) is not tighter than the stored penalised bound")
    assert (folder / "episodes.parquet").read_bytes() == before
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["reference_interval"]["tightest_bound_kind"] == "penalised_bound"
    assert run["lagrangian_bound"]["value"] == pytest.approx(_direct())


def test_a_run_holding_it_per_seed_is_left_alone(tmp_path: Path) -> None:
    folder = _stored(tmp_path / "run", 126.0, kind="lagrangian_bound")  # as a fresh benchmark writes it
    before = (folder / "episodes.parquet").read_bytes()
    said: list[str] = []
    rerender(folder, say=said.append, lagrangian=True)
    assert said == [f"{folder}: the run holds the Lagrangian bound per seed already"]
    assert (folder / "episodes.parquet").read_bytes() == before
    assert "lagrangian_bound" not in json.loads((folder / "run.json").read_text(encoding="utf-8"))


def test_the_option_is_parsed(tmp_path: Path) -> None:
    folder = _stored(tmp_path / "run", 122.0)
    assert main(["--lagrangian", str(folder)]) == 0
    assert "lagrangian_bound" in json.loads((folder / "run.json").read_text(encoding="utf-8"))
