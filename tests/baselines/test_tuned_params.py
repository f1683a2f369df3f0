"""The presets' tuned parameters ship in the package, keyed by content hash; the user's own come first."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocsim.baselines.tuned_params import find_tuned, load_tuned, lookup_tuned, packaged_tuned, tuned_path
from allocsim.envs.scenario import load_scenario, preset_names
from allocsim.experiments.benchmark import rule_specs
from allocsim.experiments.cli import app
from allocsim.experiments.grids import tunable_rules

PACKAGE = Path(__file__).resolve().parents[2] / "baselines" / "tuned"
runner = CliRunner()


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_ships_tuned_parameters_for_every_tunable_rule(name: str) -> None:
    """Editing a preset changes its hash: this fails until its rules are tuned again and filed under it.
    The plain file holds what was tuned in the aggregated mode (every preset's default)."""
    scenario = load_scenario(name)
    assert scenario.timing.mode == "aggregated"
    for policy in tunable_rules():
        found = packaged_tuned(scenario.content_hash(), policy)
        assert found is not None, f"{name}/{policy}: no packaged tuned parameters for this content hash"
        data = json.loads((PACKAGE / scenario.content_hash() / f"{policy}.json").read_text())
        assert data["scenario"] == name and data["scenario_hash"] == scenario.content_hash()
        assert data.get("timing", "aggregated") == "aggregated", f"{name}/{policy}.json tuned in events mode"
        assert found.params == data["params"] and found.source == "tuned (packaged)"


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*/*.events.json")), ids=lambda p: p.name)
def test_packaged_events_files_were_tuned_in_events_mode(path: Path) -> None:
    assert json.loads(path.read_text())["timing"] == "events"


def test_an_edited_preset_runs_on_defaults_and_says_why(tmp_path: Path) -> None:
    edited = load_scenario("retail-small").model_copy(update={"periods": 30})
    specs, sources = rule_specs(edited, ["base-stock"], tmp_path)
    source = sources["base-stock"]["source"]
    assert specs[0].params == {} and source.startswith("defaults (")
    shipped = load_scenario("retail-small").content_hash()
    assert f"the packaged parameters are for the preset retail-small as shipped ({shipped})" in source
    again = "run allocsim tune --policy base-stock --scenario retail-small --timing aggregated"
    assert f"({edited.content_hash()}): {again}" in source


def test_the_users_tuned_file_comes_before_the_packaged_one(tmp_path: Path) -> None:
    scenario = load_scenario("tiny-dp")
    path = tuned_path(tmp_path, "tiny-dp", "balanced")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"params": {"max_days": 3.0}, "profit_mean": 1.0}))
    found = find_tuned(scenario, "balanced", tmp_path)
    assert found is not None and found.params == {"max_days": 3.0} and found.source == f"tuned: {path}"
    assert load_tuned(scenario, "balanced", tmp_path / "elsewhere") == packaged_tuned(
        scenario.content_hash(), "balanced").params


def test_a_users_file_tuned_on_other_content_is_passed_over_and_named(tmp_path: Path) -> None:
    """Same name, another scenario_hash (an edited copy saved as retail-small): the preset keeps its own,
    and the lookup says which file it passed over, why, and how to tune again."""
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
    found = lookup_tuned(preset, "base-stock", tmp_path)
    assert found.source == (f"tuned (packaged) ({path} not used: tuned for another scenario content "
                            f"({edited.content_hash()}, this is {preset.content_hash()}): re-run allocsim "
                            f"tune --policy base-stock --scenario retail-small --timing aggregated)")


def test_benchmark_names_the_file_it_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tuned_path(Path("tuned"), "tiny-dp", "base-stock")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"params": {"safety_factor": 0.25}, "scenario_hash": "0123456789abcdef"}))
    result = runner.invoke(app, ["benchmark", "--scenario", "tiny-dp", "--episodes", "1", "--policies",
                                 "base-stock", "--no-bound", "--no-pretrained", "--workers", "1",
                                 "--out", "run"],
                           env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert ("tuned (packaged) (tuned/tiny-dp/base-stock.json not used: tuned for another scenario content "
            "(0123456789abcdef, this is ") in said and "re-run allocsim tune --policy base-stock" in said
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert "not used: tuned for another scenario content" in run["policies"]["base-stock"]["source"]


def test_sweep_does_not_call_an_existing_file_missing(tmp_path: Path) -> None:
    from allocsim.experiments.sweep_kinds import ExpandContext, RuleKind

    edited = load_scenario("tiny-dp").model_copy(update={"periods": 6})
    path = tuned_path(tmp_path, "tiny-dp", "balanced")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"params": {"max_days": 3.0}, "scenario_hash": "0123456789abcdef"}))
    with pytest.raises(ValueError, match="not used: tuned for another scenario content") as err:
        RuleKind().expand({"name": "balanced", "params": "tuned"}, edited, ExpandContext("s.yaml", tmp_path))
    assert "missing" not in str(err.value) and str(path) in str(err.value)
    assert "the packaged parameters are for the preset tiny-dp as shipped" in str(err.value)


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


def test_parameters_are_kept_and_looked_up_per_timing_mode() -> None:
    """strategic-holdback-decision runs aggregated by default: its rules run on what was tuned in that
    mode (a full holdback sells nothing to spot customers when every receipt is on hand at the
    decision), and in events mode on what was tuned there; neither borrows from the other."""
    aggregated = load_scenario("strategic-holdback-decision")
    events = load_scenario("strategic-holdback-decision", "events")
    assert aggregated.timing.mode == "aggregated"
    in_aggregated = lookup_tuned(aggregated, "priority", None)
    in_events = lookup_tuned(events, "priority", None)
    assert in_aggregated.tuned is not None and in_events.tuned is not None
    assert in_aggregated.source == "tuned (packaged)" and in_events.source == "tuned (packaged)"
    assert in_aggregated.tuned.timing == "aggregated" and in_events.tuned.timing == "events"
    assert in_events.tuned.params["holdback"] > in_aggregated.tuned.params["holdback"]  # events: morning spot


def test_the_other_modes_parameters_are_used_only_with_a_label(tmp_path: Path) -> None:
    """A user's file tuned in events mode only: an aggregated run uses it, labelled, and says how to
    tune for its own mode; once an aggregated file exists that one is used."""
    scenario = load_scenario("tiny-dp").model_copy(update={"name": "my-shop"})
    events = tuned_path(tmp_path, "my-shop", "balanced", "events")
    assert events.name == "balanced.events.json"
    events.parent.mkdir(parents=True)
    events.write_text(json.dumps({"params": {"max_days": 3.0}, "timing": "events"}))
    found = lookup_tuned(scenario, "balanced", tmp_path)
    assert found.tuned is not None and found.tuned.params == {"max_days": 3.0}
    assert found.source == (f"tuned: {events}, tuned in events mode, run in aggregated (none tuned in "
                            f"aggregated mode: allocsim tune --policy balanced --scenario <your scenario> "
                            f"--timing aggregated)")
    plain = tuned_path(tmp_path, "my-shop", "balanced")
    plain.write_text(json.dumps({"params": {"max_days": 5.0}}))
    assert lookup_tuned(scenario, "balanced", tmp_path).source == f"tuned: {plain}"
    assert load_tuned(scenario, "balanced", tmp_path) == {"max_days": 5.0}
    in_events = scenario.model_copy(update={"timing": scenario.timing.model_copy(update={"mode": "events"})})
    assert load_tuned(in_events, "balanced", tmp_path) == {"max_days": 3.0}


def test_an_old_file_tuned_in_events_mode_is_not_taken_for_aggregated(tmp_path: Path) -> None:
    """Before modes had their own files, ``tune --timing events`` wrote ``<policy>.json``; the mode it
    records decides (the packaged aggregated parameters win over it in an aggregated run)."""
    scenario = load_scenario("strategic-holdback-decision")
    path = tuned_path(tmp_path, scenario.name, "priority")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"params": {"holdback": 1.0}, "timing": "events",
                                "scenario_hash": scenario.content_hash()}))
    found = lookup_tuned(scenario, "priority", tmp_path)
    assert found.tuned is not None and found.tuned.path is None and found.tuned.params["holdback"] < 1.0


def test_tune_records_the_timing_mode(tmp_path: Path) -> None:
    from allocsim.experiments.tuning import tune

    result = tune(load_scenario("tiny-dp", "events"), "balanced", 2, n_workers=1)
    assert result.to_json()["timing"] == "events"
    assert tune(load_scenario("tiny-dp"), "balanced", 2, n_workers=1).to_json()["timing"] == "aggregated"


def test_the_same_history_by_flag_or_in_the_yaml_finds_the_same_tuned_file(tmp_path: Path) -> None:
    """``--demand-csv`` and ``demand: {csv: ...}`` naming copies of one history are one scenario content:
    the file tuned on one applies to the other; an edited history no longer applies, and says so."""
    from allocsim.experiments.benchmark import with_demand_csv

    rows = ["period,sku,location,channel,quantity"]
    stores = ("store-a", "store-b")
    rows += [f"{t},widget,{loc},store,{1 + (t + i) % 2}" for t in range(8) for i, loc in enumerate(stores)]
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first, second = tmp_path / "one" / "history.csv", tmp_path / "two" / "history.csv"
    first.write_text("\n".join(rows) + "\n")
    second.write_text(first.read_text())
    by_flag = with_demand_csv(load_scenario("tiny-dp"), first, None)
    preset = (PACKAGE.parents[1] / "envs" / "presets" / "tiny-dp.yaml").read_text()
    yaml = tmp_path / "two" / "tiny-dp.yaml"
    yaml.write_text(preset.replace("\ndemand:\n", "\ndemand:\n  csv: history.csv\n"))
    in_yaml = load_scenario(yaml)
    assert in_yaml.demand.csv == str(second) and by_flag.demand.csv == str(first)
    assert in_yaml.content_hash() == by_flag.content_hash() != load_scenario("tiny-dp").content_hash()
    path = tuned_path(tmp_path / "tuned", "tiny-dp", "balanced")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"params": {"max_days": 2.0}, "scenario_hash": by_flag.content_hash()}))
    assert lookup_tuned(in_yaml, "balanced", tmp_path / "tuned").source == f"tuned: {path}"
    second.write_text(first.read_text().replace("store,2", "store,3"))
    edited = load_scenario(yaml)
    found = lookup_tuned(edited, "balanced", tmp_path / "tuned")
    assert found.tuned is None and found.source.startswith(f"defaults ({path} not used: tuned for another "
                                                           "scenario content")
