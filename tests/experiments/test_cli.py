"""The allocsim command: output shapes, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocsim.envs.scenario import preset_names
from allocsim.experiments.cli import app

runner = CliRunner()


def test_scenarios_json_lists_every_preset() -> None:
    result = runner.invoke(app, ["scenarios", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == preset_names()
    assert {"retail-small", "retail-medium", "contracts-scarce", "seasonal-aging",
            "omnichannel-transfers", "tiny-dp"} <= set(preset_names())
    assert all(len(r["description"]) > 80 for r in rows)


def test_simulate_json_has_the_documented_shape() -> None:
    args = [
        "simulate", "--scenario", "tiny-dp", "--policy", "random",
        "--episodes", "3", "--seed", "5", "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["scenario"] == "tiny-dp" and out["policy"] == "random"
    assert [e["seed"] for e in out["episodes"]] == [5, 6, 7]
    profits = [e["profit"] for e in out["episodes"]]
    assert out["summary"]["profit"] == pytest.approx(sum(profits) / 3)
    for episode in out["episodes"]:
        assert episode["fill_rate"] == pytest.approx(
            100 * episode["units_fulfilled"] / episode["units_requested"]
        )


def test_simulate_is_deterministic_per_seed() -> None:
    args = ["simulate", "--scenario", "retail-small", "--policy", "random", "--episodes", "2", "--json"]
    first = json.loads(runner.invoke(app, args).stdout)
    second = json.loads(runner.invoke(app, args).stdout)
    assert first == second


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["simulate", "--scenario", "no-such-preset"], "retail-small"),
        (["simulate", "--policy", "no-such-policy"], "hold"),
    ],
)
def test_bad_names_exit_2_with_one_line(args: list[str], needle: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]


def test_invalid_scenario_file_exits_2_naming_field_and_value(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "envs" / "presets" / "retail-small.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("capacity: 80", "capacity: -5"))
    result = runner.invoke(app, ["simulate", "--scenario", str(bad), "--episodes", "1"])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line
    assert "locations.0.capacity" in line and "-5" in line


@pytest.mark.slow
def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: [unclosed\n")
    proc = subprocess.run(
        [sys.executable, "-m", "allocsim.experiments.cli", "simulate", "--scenario", str(bad)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "line 2" in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.slow
def test_commands_that_do_not_step_never_compile(tmp_path: Path) -> None:
    """`--help` and `scenarios` run with an empty numba cache and leave it empty (no kernel compiled)."""
    cache = tmp_path / "numba-cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    for args in (["--help"], ["scenarios"], ["scenarios", "--json"]):
        done = subprocess.run([sys.executable, "-m", "allocsim.experiments.cli", *args], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert not cache.exists() or not any(cache.rglob("*.nbi"))
