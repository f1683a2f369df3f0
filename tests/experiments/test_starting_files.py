"""A planner's starting files load back to what they came from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from allocsim.envs.demand import DemandProfile, sample_episode
from allocsim.envs.network import Network
from allocsim.envs.scenario import load_scenario, preset_names
from allocsim.experiments.benchmark import with_demand_csv
from allocsim.experiments.cli import app

runner = CliRunner()


@pytest.mark.parametrize("name", preset_names())
def test_show_prints_a_commented_preset_that_loads_back_identically(name: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scenarios", "--show", name])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# allocsim scenario") and "\n# skus: " in result.stdout
    path = tmp_path / "my-network.yaml"
    path.write_text(result.stdout)
    copy, preset = load_scenario(path), load_scenario(name)
    assert copy == preset and copy.content_hash() == preset.content_hash()
    comments = [line for line in result.stdout.splitlines() if line.startswith("#")]
    assert max(map(len, comments)) <= 80  # whole in an 80-column terminal or editor


def test_a_long_key_comment_continues_on_indented_comment_lines() -> None:
    """retail-small's `name` note (170 characters on one line before) folds at spaces into comments."""
    from allocsim.experiments.starting_files import commented_preset

    lines = commented_preset("retail-small").splitlines()
    start = lines.index("# name: rename it for your network (your `allocsim tune` results are filed")
    assert lines[start + 1:start + 4] == [
        "#   under this name; the presets' shipped tuning applies only while the content",
        "#   is unchanged)",
        "name: retail-small",
    ]


def test_show_of_an_unknown_preset_exits_2() -> None:
    result = runner.invoke(app, ["scenarios", "--show", "retail-huge"])
    assert result.exit_code == 2 and "unknown preset 'retail-huge'" in result.stderr


def test_demand_history_replays_as_the_demand_it_sampled(tmp_path: Path) -> None:
    out = tmp_path / "history.csv"
    result = runner.invoke(app, ["demand-history", "--scenario", "retail-small", "--seed", "11",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    header, first = out.read_text().splitlines()[:2]
    assert header == "period,sku,location,channel,quantity"
    assert first.startswith("0,jacket,store-north,store,")
    scenario = load_scenario("retail-small")
    net = Network.compile(scenario)
    sampled = sample_episode(DemandProfile.build(net), net, 11).demand
    replay = with_demand_csv(scenario, out, "none")
    replay_net = Network.compile(replay)
    for seed in (0, 11):  # no resampling: every seed replays exactly the sampled history
        replayed = sample_episode(DemandProfile.build(replay_net), replay_net, seed).demand
        assert np.array_equal(replayed, sampled)
    assert sampled.sum() > 0


def test_benchmark_on_a_history_says_how_seeds_vary_it(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    made = runner.invoke(app, ["demand-history", "--scenario", "tiny-dp", "--out", str(history)])
    assert made.exit_code == 0, made.output
    for resample, needle in (("block", "moving-block bootstrap"), ("none", "same single history")):
        out = tmp_path / resample
        result = runner.invoke(app, ["benchmark", "--scenario", "tiny-dp", "--demand-csv", str(history),
                                     "--resample", resample, "--episodes", "2", "--policies", "hold",
                                     "--no-bound", "--workers", "1", "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert needle in " ".join(result.stderr.split())
        run = yaml.safe_load((out / "run.json").read_text())
        assert needle in run["demand_resample"]
        assert needle in " ".join((out / "report.html").read_text().split())


def test_resample_without_a_history_exits_2() -> None:
    result = runner.invoke(app, ["benchmark", "--scenario", "tiny-dp", "--resample", "none"])
    assert result.exit_code == 2 and "--resample needs a demand history" in result.stderr
    result = runner.invoke(app, ["tune", "--policy", "balanced", "--scenario", "tiny-dp", "--resample", "x"])
    assert result.exit_code == 2 and "--resample: expected block or none" in result.stderr


def test_tune_takes_a_demand_history(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    made = runner.invoke(app, ["demand-history", "--scenario", "tiny-dp", "--out", str(history)])
    assert made.exit_code == 0, made.output
    target = tmp_path / "balanced.json"
    result = runner.invoke(app, ["tune", "--scenario", "tiny-dp", "--policy", "balanced", "--episodes", "2",
                                 "--workers", "1", "--demand-csv", str(history), "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert "moving-block bootstrap" in " ".join(result.stderr.split())
    saved = yaml.safe_load(target.read_text())
    replayed = with_demand_csv(load_scenario("tiny-dp"), history)
    assert saved["scenario_hash"] == replayed.content_hash() != load_scenario("tiny-dp").content_hash()
