"""The presets' tuned parameters ship in the package, keyed by content hash; the user's own come first."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocsim.baselines.tuned_params import find_tuned, load_tuned, packaged_tuned, tuned_path
from allocsim.envs.scenario import load_scenario, preset_names
from allocsim.experiments.benchmark import rule_specs
from allocsim.experiments.cli import app
from allocsim.experiments.grids import tunable_policies

PACKAGE = Path(__file__).resolve().parents[2] / "baselines" / "tuned"
runner = CliRunner()


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_ships_tuned_parameters_for_every_tunable_rule(name: str) -> None:
    """Editing a preset changes its hash: this fails until its rules are tuned again and filed under it."""
    scenario = load_scenario(name)
    for policy in tunable_policies():
        found = packaged_tuned(scenario.content_hash(), policy)
        assert found is not None, f"{name}/{policy}: no packaged tuned parameters for this content hash"
        data = json.loads((PACKAGE / scenario.content_hash() / f"{policy}.json").read_text())
        assert data["scenario"] == name and data["scenario_hash"] == scenario.content_hash()
        assert found.params == data["params"] and found.source == "tuned (packaged)"


def test_an_edited_preset_runs_on_defaults(tmp_path: Path) -> None:
    edited = load_scenario("retail-small").model_copy(update={"periods": 30})
    specs, sources = rule_specs(edited, ["base-stock"], tmp_path)
    assert specs[0].params == {} and sources["base-stock"]["source"] == "defaults"


def test_the_users_tuned_file_comes_before_the_packaged_one(tmp_path: Path) -> None:
    scenario = load_scenario("tiny-dp")
    path = tuned_path(tmp_path, "tiny-dp", "balanced")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"params": {"max_days": 3.0}, "profit_mean": 1.0}))
    found = find_tuned(scenario, "balanced", tmp_path)
    assert found is not None and found.params == {"max_days": 3.0} and found.source == f"tuned: {path}"
    assert load_tuned(scenario, "balanced", tmp_path / "elsewhere") == packaged_tuned(
        scenario.content_hash(), "balanced").params


def test_a_users_file_tuned_on_other_content_is_passed_over(tmp_path: Path) -> None:
    """Same name, another scenario_hash (an edited copy saved as retail-small): the preset keeps its own."""
    preset = load_scenario("retail-small")
    edited = preset.model_copy(update={"periods": 30})
    path = tuned_path(tmp_path, "retail-small", "base-stock")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"params": {"safety_factor": 0.25}, "scenario_hash": edited.content_hash()}))
    packaged = packaged_tuned(preset.content_hash(), "base-stock")
    assert packaged is not None and load_tuned(preset, "base-stock", tmp_path) == packaged.params
    assert load_tuned(edited, "base-stock", tmp_path) == {"safety_factor": 0.25}
    assert load_tuned("retail-small", "base-stock", tmp_path) != {"safety_factor": 0.25}  # by name too
    assert load_tuned("tiny-dp", "hold", tmp_path) is None  # a rule with no parameters


def test_benchmark_from_another_folder_uses_and_names_the_packaged_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert not Path("tuned").exists()
    result = runner.invoke(app, ["benchmark", "--scenario", "tiny-dp", "--episodes", "1", "--policies",
                                 "base-stock,hold", "--no-bound", "--workers", "1", "--out", "run"])
    assert result.exit_code == 0, result.output
    assert "tuned (packaged): base-stock" in result.stdout and "defaults: hold" in result.stdout
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["policies"]["base-stock"]["source"] == "tuned (packaged)"
    shipped = packaged_tuned(load_scenario("tiny-dp").content_hash(), "base-stock")
    assert shipped is not None and shipped.params.items() <= run["policies"]["base-stock"]["params"].items()
    assert os.listdir(tmp_path) == ["run"]


def test_the_package_exports_its_public_api_and_imports_light() -> None:
    import subprocess
    import sys

    import allocsim.baselines as baselines

    assert {"make_policy", "policy_names", "rule_names", "find_tuned", "load_tuned"} <= set(baselines.__all__)
    assert all(hasattr(baselines, name) for name in baselines.__all__)
    script = ("import sys, allocsim.baselines\n"
              "print([m for m in ('scipy', 'pandas', 'gymnasium', 'simpy', 'numba') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr


def test_parameters_tuned_in_another_timing_mode_say_so() -> None:
    """The holdback preset's rules were tuned in events mode: an aggregated run names that, an events
    run does not (a full holdback starves spot customers when every receipt is on hand)."""
    aggregated = load_scenario("strategic-holdback-decision")
    events = load_scenario("strategic-holdback-decision", "events")
    assert aggregated.timing.mode == "aggregated"
    in_aggregated = find_tuned(aggregated, "priority", None)
    in_events = find_tuned(events, "priority", None)
    assert in_aggregated is not None and in_events is not None
    assert in_aggregated.source == "tuned (packaged) [tuned in events mode, run in aggregated]"
    assert in_events.source == "tuned (packaged)"
    assert in_aggregated.params == in_events.params


def test_tune_records_the_timing_mode(tmp_path: Path) -> None:
    from allocsim.experiments.tuning import tune

    result = tune(load_scenario("tiny-dp", "events"), "balanced", 2, n_workers=1)
    assert result.to_json()["timing"] == "events"
    assert tune(load_scenario("tiny-dp"), "balanced", 2, n_workers=1).to_json()["timing"] == "aggregated"
