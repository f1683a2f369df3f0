"""How ``--scenario`` text is read: a preset name stays the preset even when a folder of that name
sits in the working directory (a run folder made by ``--out retail-small``); a folder that is not a
preset is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocsim.envs.scenario import ScenarioError, load_scenario
from allocsim.envs.scenario.loader import load_preset
from allocsim.experiments.cli import app


def test_a_folder_named_like_a_preset_does_not_hide_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny-dp").mkdir()
    loaded = load_scenario("tiny-dp")
    assert loaded.name == "tiny-dp"
    assert loaded.content_hash() == load_preset("tiny-dp").content_hash()


def test_a_folder_that_is_no_preset_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-runs").mkdir()
    with pytest.raises(ScenarioError, match=r"^my-runs: a folder, not a scenario file"):
        load_scenario("my-runs")


def test_a_yaml_file_in_the_folder_is_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario("missing.yaml")


def test_benchmark_into_a_folder_named_after_its_preset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run that found it: ``--out`` named after the scenario, a policy with no packaged parameters
    (its lookup checks the preset as shipped) gave a ScenarioError traceback."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["benchmark", "--scenario", "tiny-dp", "--policies", "hold",
                                      "--episodes", "1", "--no-bound", "--workers", "1", "--out", "tiny-dp"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tiny-dp" / "summary.csv").is_file()
