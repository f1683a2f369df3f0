"""allocsim tune: grids match the rules' parameters, the search is saved and the benchmark loads it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from allocsim.baselines.registry import POLICIES
from allocsim.baselines.tuned_params import load_tuned, packaged_tuned, tuned_path
from allocsim.envs.scenario import Scenario, load_scenario
from allocsim.experiments.cli import app
from allocsim.experiments.grids import (
    PARAM_GRIDS,
    edge_warnings,
    grid_points,
    parse_grid_option,
    tunable_policies,
    tunable_rules,
)

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
    source = run["policies"]["balanced"]["source"]  # run.json may shorten the path (no machine paths)
    assert source.startswith("tuned: ") and source.endswith("balanced.json") and "not used" not in source
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


@pytest.mark.parametrize(("text", "expected"), [
    ("safety_factor=0:4:9", ("safety_factor", [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0])),
    ("max_days=2,3,5", ("max_days", [2.0, 3.0, 5.0])),
    ("holdback=0.5:0.5:1", ("holdback", [0.5])),
])
def test_grid_option_by_hand(text: str, expected: tuple[str, list[float]]) -> None:
    assert parse_grid_option(text) == expected


@pytest.mark.parametrize(("grid", "needle"), [
    ("safety_factor", "expected name=lo:hi:n"), ("safety_factor=3:1:5", "lo <= hi"),
    ("safety_factor=0:1:0", "1 <= n"), ("safety_factor=a,b", "name=v1,v2"),
    ("colour=1:2:3", "base-stock has no parameter 'colour'; its parameters: order_cover_periods"),
])
def test_bad_grid_exits_2_in_one_line(tmp_path: Path, grid: str, needle: str) -> None:
    result = runner.invoke(app, ["tune", "--scenario", "tiny-dp", "--policy", "base-stock", "--grid", grid,
                                 "--episodes", "1", "--out", str(tmp_path / "b.json")])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output
    assert needle in result.stderr and not (tmp_path / "b.json").exists()


def test_edge_warnings_by_hand() -> None:
    grid = {"review_periods": [0.0, 1.0, 2.0, 3.0], "safety_factor": [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]}
    # review_periods 0 is the lowest the rule allows: no warning; safety_factor 2.5 could go higher
    assert edge_warnings("base-stock", grid, {"review_periods": 0.0, "safety_factor": 2.5}) == [
        "warning: base-stock: best safety_factor = 2.5 is the highest value searched (0..2.5); the optimum "
        "may lie beyond: widen it, e.g. --grid safety_factor=0:5:11"]
    assert edge_warnings("base-stock", grid, {"review_periods": 1.0, "safety_factor": 1.0}) == []
    lowest = edge_warnings("min-max", {"min_days": [1.0, 2.0, 3.0]}, {"min_days": 1.0})
    assert lowest == ["warning: min-max: best min_days = 1 is the lowest value searched (1..3); the optimum "
                      "may lie beyond: widen it, e.g. --grid min_days=0:3:5"]
    assert edge_warnings("priority", {"holdback": [0.0, 0.5, 1.0]}, {"holdback": 1.0}) == []  # its limit


def test_tune_warns_when_the_best_is_on_the_edge_of_a_user_range(tmp_path: Path) -> None:
    """Two values of max_days: the winner is one of the two ends, both inside what the rule allows."""
    target = tmp_path / "balanced.json"
    result = runner.invoke(app, ["tune", "--scenario", "tiny-dp", "--policy", "balanced", "--grid",
                                 "max_days=1,2", "--episodes", "1", "--workers", "1", "--out", str(target)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    saved = json.loads(target.read_text())
    assert saved["grid"] == {"max_days": [1.0, 2.0]}
    side = "lowest" if saved["params"]["max_days"] == 1.0 else "highest"
    assert f"best max_days = {saved['params']['max_days']:g} is the {side} value searched" in result.stderr


ONE_POINT = ["review_periods=1", "safety_factor=1", "reserve_periods=0", "max_days=5", "min_days=2",
             "cover_multiplier=1.3", "variance_factor=1"]


def test_tune_all_saves_every_tunable_rule_per_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--policy all`` in events mode: one file per rule, named for the mode; the lookup finds them
    in an events run and not in an aggregated one (which keeps the packaged parameters)."""
    monkeypatch.chdir(tmp_path)
    args = ["tune", "--scenario", "tiny-dp", "--policy", "all", "--timing", "events", "--episodes", "1",
            "--workers", "1"]
    for grid in ONE_POINT:
        args += ["--grid", grid]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    events = load_scenario("tiny-dp", "events")
    for policy in tunable_rules():
        path = tuned_path(Path("tuned"), "tiny-dp", policy, "events")
        saved = json.loads(path.read_text())
        assert path.name == f"{policy}.events.json" and saved["timing"] == "events"
        assert all(len(values) == 1 for values in saved["grid"].values()), saved["grid"]
        assert load_tuned(events, policy, Path("tuned")) == saved["params"]
        packaged = packaged_tuned(events.content_hash(), policy)
        assert packaged is not None
        assert load_tuned(load_scenario("tiny-dp"), policy, Path("tuned")) == packaged.params
    assert not tuned_path(Path("tuned"), "tiny-dp", "balanced").exists()


def test_tune_all_refuses_one_out_file_and_a_parameter_no_rule_has(tmp_path: Path) -> None:
    result = runner.invoke(app, ["tune", "--scenario", "tiny-dp", "--policy", "all", "--out",
                                 str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "--out names one file" in result.stderr
    result = runner.invoke(app, ["tune", "--scenario", "tiny-dp", "--policy", "all", "--grid", "colour=1,2"])
    assert result.exit_code == 2 and "no rule searched here has a parameter 'colour'" in result.stderr


def test_simulate_runs_the_tuned_parameters_as_benchmark_does(tmp_path: Path) -> None:
    """One seed of retail-small: simulate's profit is benchmark's (tuned base-stock), not the defaults'."""
    from allocsim.experiments.evaluation import simulate

    seed = 40_000
    result = runner.invoke(app, ["simulate", "--scenario", "retail-small", "--policy", "base-stock",
                                 "--episodes", "1", "--seed", str(seed), "--json"])
    assert result.exit_code == 0, result.output
    simulated = json.loads(result.stdout)
    assert simulated["parameters_source"] == "tuned (packaged)"
    out = tmp_path / "run"
    done = runner.invoke(app, ["benchmark", "--scenario", "retail-small", "--policies", "base-stock",
                               "--episodes", "1", "--seed", str(seed), "--no-bound", "--no-pretrained",
                               "--workers", "1", "--out", str(out)])
    assert done.exit_code == 0, done.output
    benchmarked = pd.read_csv(out / "episodes.csv")
    assert simulated["episodes"][0]["profit"] == pytest.approx(float(benchmarked["profit"].iloc[0]))
    assert simulated["params"] == load_tuned("retail-small", "base-stock", tmp_path / "none")
    defaults = simulate("retail-small", "base-stock", 1, seed)["summary"]["profit"]
    assert defaults != pytest.approx(simulated["summary"]["profit"])  # the tuned parameters matter here


def _contracts_scarce(key_accounts_lead: int | None = None) -> Scenario:
    """The contracts-scarce preset, optionally with key-accounts' lead time changed (notice stays 5)."""
    import yaml

    from allocsim.envs.scenario import scenario_from_dict

    data = yaml.safe_load((Path(__file__).parents[2] / "envs/presets/contracts-scarce.yaml").read_text())
    if key_accounts_lead is not None:
        key_accounts = next(loc for loc in data["locations"] if loc["name"] == "key-accounts")
        key_accounts["lead_time"] = key_accounts_lead
    return scenario_from_dict(data)


def test_priority_searches_ship_known_due_only_where_a_contract_has_notice_covering_a_lead() -> None:
    """contracts-scarce (notice 5 on the contracted channel, key-accounts' lead 1) searches ship_known_due
    off and on; retail-small (no contract) keeps the table grid, so its tuning is unchanged."""
    from allocsim.experiments.grids import grid_for
    from allocsim.experiments.tuning import planned_points

    scarce = grid_for("priority", scenario=load_scenario("contracts-scarce"))
    assert scarce == {**PARAM_GRIDS["priority"], "ship_known_due": [False, True]}
    assert planned_points(load_scenario("contracts-scarce"), "priority") == 3 * 4 * 4 * 2
    small = load_scenario("retail-small")
    assert grid_for("priority", scenario=small) == PARAM_GRIDS["priority"]
    assert planned_points(small, "priority") == 3 * 4 * 4
    assert "ship_known_due" in grid_for("priority", scenario=_contracts_scarce(key_accounts_lead=5))
    assert "ship_known_due" not in grid_for("priority", scenario=_contracts_scarce(key_accounts_lead=6))
    assert grid_for("base-stock", scenario=load_scenario("contracts-scarce")) == PARAM_GRIDS["base-stock"]


def test_an_on_off_winner_is_never_an_edge_warning() -> None:
    grid = {"review_periods": [0.0, 1.0, 2.0], "ship_known_due": [False, True]}
    assert edge_warnings("priority", grid, {"review_periods": 1.0, "ship_known_due": True}) == []
    assert edge_warnings("priority", grid, {"review_periods": 1.0, "ship_known_due": False}) == []


def test_sp_mpc_searches_the_net_requirement_only_under_an_inbound_schedule() -> None:
    """contracts-scarce (a fixed inbound schedule): terminal_need off and on; retail-small (a DC rule):
    not searched. A --grid of 0,1 for the flag reaches the rule as False, True."""
    from allocsim.experiments.grids import grid_for

    assert grid_for("sp-mpc", scenario=load_scenario("contracts-scarce"))["terminal_need"] == [False, True]
    assert "terminal_need" not in grid_for("sp-mpc", scenario=load_scenario("retail-small"))
    assert grid_for("sp-mpc", overrides={"terminal_need": [0.0, 1.0]})["terminal_need"] == [False, True]
    assert grid_for("sp-mpc", overrides={"horizon": [7.0]})["horizon"] == [7.0]


def test_rules_search_an_order_stop_only_where_the_policy_orders() -> None:
    """omnichannel-transfers (the policy places the supplier orders): every rule that orders by the shared
    rule searches order_stop_periods over 0, 8, 10, 12, 14; sp-mpc (its LP orders) does not, nor does
    any rule on retail-small (the DC orders by its own rule)."""
    from allocsim.experiments.grids import grid_for
    from allocsim.experiments.tuning import planned_points

    omni = load_scenario("omnichannel-transfers")
    for rule in ("base-stock", "min-max", "priority", "balanced", "proportional", "myopic-lp"):
        assert grid_for(rule, scenario=omni)["order_stop_periods"] == [0.0, 8.0, 10.0, 12.0, 14.0], rule
    assert planned_points(omni, "base-stock") == 4 * 6 * 5
    assert "order_stop_periods" not in grid_for("sp-mpc", scenario=omni)
    assert grid_for("base-stock", scenario=load_scenario("retail-small")) == PARAM_GRIDS["base-stock"]
