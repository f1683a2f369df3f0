"""allocsim tune: grids match the rules' parameters, the search is saved and the benchmark loads it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from allocsim.baselines.registry import POLICIES
from allocsim.baselines.tuned_params import load_tuned, tuned_path
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.cli import app
from allocsim.experiments.grids import PARAM_GRIDS, grid_points, tunable_policies

runner = CliRunner()


@pytest.mark.parametrize("name", sorted(PARAM_GRIDS))
def test_every_grid_names_real_parameters(name: str) -> None:
    assert name in POLICIES
    fields = POLICIES[name].Params.model_fields
    assert set(PARAM_GRIDS[name]) <= set(fields)
    points = grid_points(name)
    assert points and all(POLICIES[name].Params(**p) for p in points)


def test_invalid_combinations_are_skipped() -> None:
    assert all(p["min_days"] <= p["max_days"] for p in grid_points("min-max"))
    assert "hold" not in tunable_policies() and "min-max" in tunable_policies()


@pytest.mark.slow
def test_tune_saves_the_best_and_benchmark_uses_it(tmp_path: Path) -> None:
    tuned = tmp_path / "tuned"
    target = tuned_path(tuned, "tiny-dp", "balanced")
    result = runner.invoke(app, ["tune", "--scenario", "tiny-dp", "--policy", "balanced", "--episodes", "3",
                                 "--workers", "1", "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert "max_days" in result.stdout and str(target.name) in result.stdout
    saved = json.loads(target.read_text())
    assert saved["policy"] == "balanced" and saved["first_seed"] == 10_000 and saved["episodes"] == 3
    assert saved["scenario_hash"] == load_scenario("tiny-dp").content_hash()
    assert load_tuned(load_scenario("tiny-dp"), "balanced", tuned) == saved["params"]

    out = tmp_path / "run"
    args = ["benchmark", "--scenario", "tiny-dp", "--episodes", "2", "--policies", "balanced,hold",
            "--workers", "1", "--tuned-dir", str(tuned), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert saved["params"].items() <= run["policies"]["balanced"]["params"].items()  # defaults filled in
    assert run["policies"]["balanced"]["source"] == f"tuned: {target}"
    assert run["policies"]["hold"]["source"] == "defaults"
    assert len(pd.read_csv(out / "episodes.csv")) == 4


def test_bad_tuned_file_exits_2(tmp_path: Path) -> None:
    path = tuned_path(tmp_path, "tiny-dp", "balanced")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"params": {"max_days": -1}}))
    result = runner.invoke(app, ["benchmark", "--scenario", "tiny-dp", "--episodes", "1", "--policies",
                                 "balanced", "--tuned-dir", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "max_days" in result.stderr
    path.write_text("{not json")
    result = runner.invoke(app, ["benchmark", "--scenario", "tiny-dp", "--policies", "balanced",
                                 "--tuned-dir", str(tmp_path)])
    assert result.exit_code == 2 and "balanced.json" in result.stderr


@pytest.mark.parametrize(("policy", "needle"), [("hold", "no parameters"), ("nope", "unknown policy")])
def test_untunable_policy_exits_2(policy: str, needle: str) -> None:
    result = runner.invoke(app, ["tune", "--scenario", "tiny-dp", "--policy", policy])
    assert result.exit_code == 2 and needle in result.stderr


def test_tune_refuses_an_unknown_timing_in_one_line(tmp_path: Path) -> None:
    args = ["tune", "--policy", "priority", "--scenario", "tiny-dp", "--timing", "detailed",
            "--episodes", "1",
            "--out", str(tmp_path / "p.json")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "--timing" in result.stderr and "'detailed'" in result.stderr
    assert not (tmp_path / "p.json").exists()


def test_tune_prints_the_ten_best_grid_points_and_says_so(tmp_path: Path) -> None:
    """base-stock's grid has 24 points: the console shows ranks 1..10 and says how many there were."""
    target = tmp_path / "base-stock.json"
    result = runner.invoke(app, ["tune", "--scenario", "tiny-dp", "--policy", "base-stock", "--episodes", "2",
                                 "--workers", "1", "--out", str(target)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert len(grid_points("base-stock")) == 24
    assert "the 10 best of 24 grid points" in " ".join(result.output.split())  # the caption may wrap
    ranks = [line.split("│")[1].strip() for line in result.output.splitlines() if line.startswith("│")]
    assert ranks == [str(k) for k in range(1, 11)]
    assert json.loads(target.read_text())["policy"] == "base-stock"
