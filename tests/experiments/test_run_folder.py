"""An output folder belongs to one run (issue 24, item 4): another run's folder is refused unless
resumed or forced, ``--force`` removes that run's files only, and two runs at once are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocsim.experiments.cli import app
from allocsim.experiments.run_folder import MANIFEST, FolderInUse, claim, locked, write_manifest

runner = CliRunner()


def test_a_new_or_empty_folder_is_taken(tmp_path: Path) -> None:
    with claim(tmp_path / "new", "benchmark") as folder:
        assert folder.is_dir()
    with claim(tmp_path / "new", "benchmark"):  # the lock file alone is not another run
        pass


def test_another_runs_folder_is_refused_naming_the_way_out(tmp_path: Path) -> None:
    write_manifest(tmp_path, "benchmark", ["run.json"], scenario="strategic-holdback")
    (tmp_path / "run.json").write_text("{}")
    with pytest.raises(FolderInUse) as err, claim(tmp_path, "benchmark"):
        pass
    assert "already holds output of benchmark (run.json)" in str(err.value) and "--force" in str(err.value)


def test_force_removes_that_runs_files_and_nothing_else(tmp_path: Path) -> None:
    """The issue's case: a holdback benchmark's aggregation_gap.csv must not survive a retail-small run."""
    for name in ("aggregation_gap.csv", "holdback_value.csv", "report.html"):
        (tmp_path / name).write_text("old")
    (tmp_path / "notes.txt").write_text("mine")
    write_manifest(tmp_path, "benchmark", ["aggregation_gap.csv", "holdback_value.csv", "report.html"])
    with claim(tmp_path, "benchmark", force=True):
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["notes.txt"]


def test_force_on_a_folder_from_before_manifests_removes_the_known_outputs(tmp_path: Path) -> None:
    for name in ("aggregation_gap.csv", "summary.csv", "profit.png"):
        (tmp_path / name).write_text("old")
    (tmp_path / "my-data.csv").write_text("mine")
    with claim(tmp_path, "benchmark", force=True):
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["my-data.csv"]


def test_the_same_run_resumes_in_its_folder_and_another_does_not(tmp_path: Path) -> None:
    write_manifest(tmp_path, "sweep", [], sweep="grid")
    (tmp_path / "cells").mkdir()
    with claim(tmp_path, "sweep", same_run={"sweep": "grid"}):
        pass
    with pytest.raises(FolderInUse), claim(tmp_path, "sweep", same_run={"sweep": "other"}):
        pass
    with pytest.raises(FolderInUse), claim(tmp_path, "benchmark"):
        pass


def test_a_folder_held_by_another_run_is_refused(tmp_path: Path) -> None:
    """flock is per open file: a second claim (as from a second process) finds the lock taken."""
    with locked(tmp_path), pytest.raises(FolderInUse, match="is in use by another allocsim run"), \
            claim(tmp_path, "x"):
        pass
    with claim(tmp_path, "x"):  # released with the first run
        pass


def test_benchmark_into_another_runs_folder_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "holdback_value.csv").write_text("old")
    (tmp_path / MANIFEST).write_text(json.dumps({"command": "benchmark", "files": ["holdback_value.csv"]}))
    result = runner.invoke(app, ["benchmark", "--episodes", "1", "--out", str(tmp_path), "--no-pretrained"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "already holds output of benchmark" in lines[0] and "--force" in lines[0]


def test_benchmark_into_a_folder_in_use_exits_2(tmp_path: Path) -> None:
    with locked(tmp_path):
        result = runner.invoke(app, ["benchmark", "--episodes", "1", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "is in use by another allocsim run" in result.stderr


def test_train_into_a_folder_in_use_exits_2(tmp_path: Path) -> None:
    hp = tmp_path / "hp.yaml"
    hp.write_text("default: {n_timesteps: 256, n_envs: 1, n_steps: 128, batch_size: 64, n_epochs: 1}\n")
    with locked(tmp_path / "run"):
        result = runner.invoke(app, ["train", "--scenario", "tiny-dp", "--hyperparams", str(hp), "--out",
                                     str(tmp_path / "run"), "--eval-episodes", "2", "--workers", "1"])
    assert result.exit_code == 2 and "is in use by another allocsim run" in result.stderr
