"""The shipped policy joins the benchmark only on the scenario it was exported for."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from allocsim.agents import pretrained
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.cli import app
from allocsim.experiments.evaluation import pretrained_spec

runner = CliRunner()


@pytest.fixture
def shipped(tmp_path: Path, retail_small_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pretrained folder holding a retail-small policy (the tiny test export)."""
    folder = tmp_path / "pretrained"
    folder.mkdir()
    shutil.copyfile(retail_small_onnx, folder / "retail-small.onnx")
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", folder)
    return folder


def test_pretrained_spec_matches_by_content_hash(shipped: Path) -> None:
    scenario = load_scenario("retail-small")
    spec = pretrained_spec(scenario)
    assert spec is not None and spec.label == "pretrained:ppo" and spec.model.endswith("retail-small.onnx")
    changed = scenario.model_copy(update={"periods": 30})  # same name, another network: not this policy
    assert pretrained_spec(changed) is None
    assert pretrained_spec(load_scenario("tiny-dp")) is None
    assert pretrained.pretrained_names() == ["retail-small"]
    assert pretrained.shipped_label("retail-small") == spec.label  # the name infer takes, from the card
    assert pretrained.shipped_label("tiny-dp") is None


@pytest.mark.parametrize(("flag", "present"), [("--pretrained", True), ("--no-pretrained", False)])
def test_benchmark_adds_the_shipped_policy(shipped: Path, tmp_path: Path, flag: str, present: bool) -> None:
    out = tmp_path / "bench"
    args = ["benchmark", "--scenario", "retail-small", "--episodes", "2", "--policies", "proportional",
            "--workers", "1", "--no-bound", "--out", str(out), flag]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    policies = set(pd.read_csv(out / "summary.csv")["policy"])
    assert ("pretrained:ppo" in policies) is present and "proportional" in policies


def test_sweep_labels_the_shipped_policy_as_the_benchmark_does(shipped: Path, tmp_path: Path) -> None:
    """One label for the shipped policy everywhere: ``pretrained:<algo>``."""
    from allocsim.experiments.sweep import expand
    from allocsim.experiments.sweep_config import parse_config

    shipped_entry = {"kind": "onnx", "path": "pretrained"}
    config = parse_config({"scenarios": ["retail-small"], "policies": [shipped_entry], "seeds": [1]})
    cells = expand(config, tmp_path / "sweep.yaml")
    assert [c["policy"]["label"] for c in cells] == [pretrained_spec(load_scenario("retail-small")).label]
    assert cells[0]["policy"]["label"] == "pretrained:ppo"


def test_the_shipped_file_named_by_path_keeps_its_label(shipped: Path) -> None:
    from allocsim.experiments.evaluation import learned_spec

    assert learned_spec(shipped / "retail-small.onnx").label == "pretrained:ppo"


def _state_file(tmp_path: Path) -> Path:
    result = runner.invoke(app, ["state", "--scenario", "retail-small", "--seed", "40000", "--period", "3"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "state.json"
    path.write_text(result.stdout)
    return path


def test_infer_takes_the_shipped_policy_by_its_table_name(shipped: Path, tmp_path: Path) -> None:
    state = _state_file(tmp_path)
    file = str(shipped / "retail-small.onnx")
    by_file = runner.invoke(app, ["infer", "--model", file, "--state", str(state)])
    assert by_file.exit_code == 0, by_file.output
    for extra in ((), ("--scenario", "retail-small")):
        by_name = runner.invoke(app, ["infer", "--model", "pretrained:ppo", "--state", str(state), *extra])
        assert by_name.exit_code == 0, by_name.output
        if not extra:
            assert by_name.stdout == by_file.stdout


@pytest.mark.parametrize("command", ["infer", "evaluate", "benchmark"])
def test_a_name_that_ships_nothing_is_one_line_naming_what_ships(shipped: Path, tmp_path: Path,
                                                                   command: str) -> None:
    args = {"infer": ["--state", str(tmp_path / "state.json")], "evaluate": [],
            "benchmark": ["--out", str(tmp_path / "bench"), "--no-bound"]}[command]
    result = runner.invoke(app, [command, "--model", "pretrained:sac", *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "pretrained:sac" in lines[0] and "shipped: pretrained:ppo (for retail-small)" in lines[0]
