"""allocsim results: train, export and benchmark in one resumable pipeline; bad configs exit 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from allocsim.agents.inference import OnnxPolicy
from allocsim.experiments.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hp(tmp_path: Path, tiny_ppo_yaml: str) -> Path:
    path = tmp_path / "hp.yaml"
    path.write_text(tiny_ppo_yaml)
    return path


def _config(tmp_path: Path, hp: Path, **extra: object) -> Path:
    data = {"seeds": [0, 1], "episodes": 3, "eval_episodes": 2,
            "hyperparams": str(hp), "scenarios": {"tiny-dp": {"timesteps": 256}}, **extra}
    path = tmp_path / "results.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.slow
def test_results_build_the_table_and_resume_without_redoing_work(tmp_path: Path, hp: Path) -> None:
    tuned = tmp_path / "tuned"
    config, out = _config(tmp_path, hp, tuned_dir=str(tuned)), tmp_path / "results"
    first = runner.invoke(app, ["results", "--config", str(config), "--out", str(out), "--workers", "1"])
    assert first.exit_code == 0, first.output
    assert "tiny-dp seed 1: training 256 steps" in first.output
    # the benchmark says how far it is in the log (it ran silent for an hour on retail-medium), and its
    # count reaches the total it announced: every episode, bound and trace moved it
    assert re.search(r"benchmark tiny-dp: (\d+)/\1 episodes \(100%\)", first.output), first.output
    summary = pd.read_csv(out / "tiny-dp" / "summary.csv")
    assert {"ppo-seed0", "ppo-seed1", "base-stock", "myopic-lp"} <= set(summary["policy"])
    episodes = pd.read_csv(out / "tiny-dp" / "episodes.csv")
    requested = episodes.pivot(index="seed", columns="policy", values="units_requested")
    assert (requested.nunique(axis=1) == 1).all()  # common random numbers across rules and learned seeds
    table = (out / "README.md").read_text()
    assert "| tiny-dp |" in table and "121.34" in table  # the DP optimum column
    assert "Warm-started" not in table  # these hyperparameters learn from scratch
    assert "share of the rule's gap closed %" in table and "kept checkpoint (steps)" in table
    assert OnnxPolicy.load(out / "tiny-dp" / "policy.onnx").card.scenario == "tiny-dp"
    assert (out / "tiny-dp" / "learning_curves.png").read_bytes().startswith(b"\x89PNG")
    assert "<h2>Learning curves</h2>" in (out / "tiny-dp" / "report.html").read_text()
    assert not (out / "tiny-dp" / "episodes-done").exists()  # the kept episodes go once the run is whole

    again = runner.invoke(app, ["results", "--config", str(config), "--out", str(out), "--workers", "1"])
    assert again.exit_code == 0, again.output
    assert "training" not in again.output and "benchmark up to date" in again.output

    # retuning a rule makes the benchmark stale: it runs again with the new parameters
    from allocsim.envs.scenario import load_scenario

    packaged = ROOT / "baselines" / "tuned" / load_scenario("tiny-dp").content_hash() / "min-max.json"
    retuned = json.loads(packaged.read_text())
    retuned["params"]["max_days"] += 1.0
    (tuned / "tiny-dp").mkdir(parents=True)
    (tuned / "tiny-dp" / "min-max.json").write_text(json.dumps(retuned))
    third = runner.invoke(app, ["results", "--config", str(config), "--out", str(out), "--workers", "1"])
    assert third.exit_code == 0, third.output
    assert "training" not in third.output and "tiny-dp: benchmark of the rules" in third.output
    stamp = json.loads((out / "tiny-dp" / "models.json").read_text())
    assert stamp["rules"]["min-max"]["max_days"] == retuned["params"]["max_days"]

    # a benchmark played on an older demand stream is stale too: played again on the current one
    manifest_path = out / "tiny-dp" / ".allocsim-run.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["demand_stream"] = 1
    manifest_path.write_text(json.dumps(manifest))
    fourth = runner.invoke(app, ["results", "--config", str(config), "--out", str(out), "--workers", "1"])
    assert fourth.exit_code == 0, fourth.output
    assert "tiny-dp: benchmark on demand stream 1 (now 2): played again" in fourth.output, fourth.output[:600]
    assert json.loads(manifest_path.read_text())["demand_stream"] == 2


@pytest.mark.slow
def test_warm_and_residual_started_scenarios_are_named_from_their_runs(tmp_path: Path, hp: Path) -> None:
    from allocsim.agents.runfiles import write_config
    from allocsim.experiments.results import load_results_config, started_with

    scenarios = {"tiny-dp": {"timesteps": 256}, "retail-small": {"timesteps": 256},
                 "seasonal-aging": {"timesteps": 256, "action_mode": "residual"}}
    config = load_results_config(_config(tmp_path, hp, scenarios=scenarios))
    out = tmp_path / "results"
    write_config(out / "runs" / "tiny-dp-ppo-seed0", {"algo": "ppo", "hyperparams": {"n_envs": 1}})
    write_config(out / "runs" / "retail-small-ppo-seed1",
                 {"algo": "ppo", "hyperparams": {"warm_start": {"episodes": 2}}})
    write_config(out / "runs" / "seasonal-aging-ppo-residual-seed0",
                 {"algo": "ppo", "hyperparams": {"residual_start": {"episodes": 2}}})
    assert started_with(config, out, "warm_start") == ["retail-small"]
    assert started_with(config, out, "residual_start") == ["seasonal-aging"]


@pytest.mark.slow
def test_a_scenarios_action_mode_trains_its_runs_in_that_mode(tmp_path: Path, hp: Path) -> None:
    """A scenario's own action mode and test episode count override the config's."""
    from allocsim.agents.runfiles import read_config

    scenarios = {"tiny-dp": {"timesteps": 256, "action_mode": "residual", "episodes": 4, "eval_episodes": 3}}
    config, out = _config(tmp_path, hp, seeds=[0], scenarios=scenarios), tmp_path / "results"
    result = runner.invoke(app, ["results", "--config", str(config), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    saved = read_config(out / "runs" / "tiny-dp-ppo-residual-seed0")
    assert saved["action_mode"] == "residual" and saved["residual_around"]["safety_factor"] >= 0
    assert OnnxPolicy.load(out / "tiny-dp" / "policy.onnx").card.action_mode == "residual"
    episodes = pd.read_csv(out / "tiny-dp" / "episodes.csv")
    assert sorted(episodes["seed"].unique()) == [40000, 40001, 40002, 40003]  # 4, not the config's 3


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"seeds": []}, "seeds"),
        ({"colour": 1}, "colour"),
        ({"scenarios": {"tiny-dp": {"steps": 1}}}, "steps"),
        ({"scenarios": {"tiny-dp": {"action_mode": "levels"}}},
         "scenarios.tiny-dp.action_mode: 'levels' is not one of shares, targets, residual"),
        ({"extra_rules": ["sp-mcp"]}, "extra_rules: 'sp-mcp' is not a policy name"),
        ({"scenarios": {"tiny-dp": {"extra_rules": ["sp-mcp"]}}},
         "scenarios.tiny-dp.extra_rules: 'sp-mcp' is not a policy name"),
        ({"scenarios": {"tiny-dp": {"carry_over": "small-dp"}}},
         "scenarios.tiny-dp.carry_over: 'small-dp' is not another scenario of this config"),
        ({"scenarios": {"tiny-dp": {"carry_over": "tiny-dp"}}}, "carry_over: 'tiny-dp' is not another"),
    ],
)
def test_bad_results_config_exits_2_in_one_line(
    tmp_path: Path, hp: Path, extra: dict[str, object], needle: str
) -> None:
    args = ["results", "--config", str(_config(tmp_path, hp, **extra)), "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]


def test_unknown_scenario_filter_names_the_valid_ones(tmp_path: Path, hp: Path) -> None:
    config = _config(tmp_path, hp)
    args = ["results", "--config", str(config), "--out", str(tmp_path), "--scenario", "nowhere"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "valid: tiny-dp" in result.stderr


def test_reference_columns_by_hand() -> None:
    """Gaps to the DP optimum (else the tightest bound) and the share of the rule's gap closed."""
    from allocsim.experiments.results_table import reference_columns

    row = {"dp": 100.0, "tightest": 130.0, "tightest_kind": "penalised_bound", "rule_profit": 90.0,
           "learned_profit": 95.0}
    assert reference_columns(row) == ("10.00", "5.00", "+50")  # the DP optimum wins over the bound
    no_dp = {"dp": None, "tightest": 200.0, "tightest_kind": "penalised_bound", "rule_profit": 150.0,
             "learned_profit": 140.0}
    assert reference_columns(no_dp) == ("25.00", "30.00", "-20")
    assert reference_columns({"dp": None, "tightest": None, "rule_profit": 1.0, "learned_profit": 2.0}) == \
        ("–", "–", "–")


def test_the_results_page_names_the_demand_stream_its_benchmarks_were_played_on(tmp_path) -> None:
    import json

    from allocsim.experiments.results_table import stream_note
    from allocsim.experiments.run_folder import MANIFEST

    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / MANIFEST).write_text(json.dumps({"command": "benchmark", "files": []}))  # before streams
    (new / MANIFEST).write_text(json.dumps({"command": "benchmark", "files": [], "demand_stream": 2}))
    assert stream_note([new]) == "Played on demand stream 2 (the simulator's current stream).\n\n"
    assert stream_note([old]) == ("Played on demand stream 1 (the simulator now draws stream 2: re-run "
                                  "`make results` to compare number for number).\n\n")
    older = tmp_path / "older"
    older.mkdir()
    (older / MANIFEST).write_text(json.dumps({"command": "benchmark", "files": [], "demand_stream": 1}))
    assert stream_note([old, new, older]) == (  # mixed: which rows are on which stream
        "Played on demand stream 1 (old, older) and stream 2 (new); the simulator now draws stream 2: "
        "re-run `make results` to compare number for number.\n\n")
    assert stream_note([tmp_path / "missing"]) == ""


def test_dcl_runs_through_the_same_pipeline(tmp_path: Path) -> None:
    """``algo: dcl`` trains, exports and benchmarks DCL seeds, and the table names them DCL."""
    hp = tmp_path / "dcl.yaml"
    hp.write_text("default:\n  n_timesteps: 16\n  n_envs: 4\n  n_steps: 4\n  action_mode: residual\n"
                  "  normalize: {norm_obs: true, norm_reward: false}\n"
                  "  policy_kwargs: {net_arch: [8], activation_fn: tanh}\n"
                  "  batch_size: 8\n  n_epochs: 2\n  dcl: {samples: 2, horizon: 2, z: 0.0}\n")
    scenarios = {"tiny-dp": {"action_mode": "residual", "eval_episodes": 2}}
    config, out = (_config(tmp_path, hp, seeds=[0], algo="dcl", scenarios=scenarios, extra_rules=["sp-mpc"]),
                   tmp_path / "results")
    result = runner.invoke(app, ["results", "--config", str(config), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert OnnxPolicy.load(out / "tiny-dp" / "policy.onnx").card.algo == "dcl"
    assert "sp-mpc" in set(pd.read_csv(out / "tiny-dp" / "summary.csv")["policy"])  # extra_rules: played too
    assert "sp-mpc" in json.loads((out / "tiny-dp" / "models.json").read_text())["rules"]
    assert (out / "runs" / "tiny-dp-dcl-residual-seed0" / "start" / "config.yaml").is_file()
    table = (out / "README.md").read_text()
    assert "best DCL seed (profit, fill %)" in table and "| tiny-dp | " in table and "dcl-seed0" in table
    assert "sp-mpc (with its tuned parameters) counts among the tuned rules on tiny-dp.\n" in table
    from allocsim.envs.demand_stream import DEMAND_STREAM

    assert f"Played on demand stream {DEMAND_STREAM} (the simulator's current stream)." in table
    assert "PPO" not in table.split("| scenario |")[1].splitlines()[0]


def _bench(folder: Path, profits: dict[str, list[float]]) -> Path:
    """A benchmark folder as the pipeline leaves it, by hand: summary.csv, episodes.csv and run.json."""
    folder.mkdir(parents=True)
    seeds = range(40000, 40000 + len(next(iter(profits.values()))))
    rows = [{"policy": p, "seed": s, "profit": v, "fill_rate": 90.0} for p, vs in profits.items()
            for s, v in zip(seeds, vs, strict=True)]
    pd.DataFrame(rows).to_csv(folder / "episodes.csv", index=False)
    summary = [{"policy": p, "profit_mean": sum(vs) / len(vs), "fill_rate_mean": 90.0}
               for p, vs in profits.items()]
    pd.DataFrame(summary).to_csv(folder / "summary.csv", index=False)
    (folder / "run.json").write_text(json.dumps({"scenario": "seasonal-aging", "dp_value": None}))
    return folder


def test_a_played_sp_mpc_counts_among_the_tuned_rules(tmp_path: Path) -> None:
    """sp-mpc is the best tuned rule of the row wherever the benchmark played it (extra_rules makes the
    pipeline play it); random and hold never are; the differences are paired by hand."""
    from allocsim.experiments.results import ResultsConfig, compared_rules
    from allocsim.experiments.results_table import headline, interval_of

    bench = _bench(tmp_path / "sa", {"base-stock": [100.0, 110.0, 120.0], "sp-mpc": [104.0, 113.0, 126.0],
                                     "random": [200.0, 200.0, 200.0], "dcl-seed0": [105.0, 116.0, 126.0]})
    with_mpc = headline(bench, "dcl")
    assert with_mpc is not None and with_mpc["best_rule"] == "sp-mpc"
    assert with_mpc["diff"] == pytest.approx(4 / 3) and with_mpc["rule_profit"] == pytest.approx(343 / 3)
    interval = interval_of(bench)
    assert interval is not None and interval.rule == "sp-mpc"
    plain = _bench(tmp_path / "plain", {"base-stock": [100.0, 110.0, 120.0], "random": [200.0, 200.0, 200.0],
                                        "dcl-seed0": [105.0, 116.0, 126.0]})  # sp-mpc not played
    row = headline(plain, "dcl")
    assert row is not None and row["best_rule"] == "base-stock" and row["diff"] == pytest.approx(17 / 3)
    assert interval_of(plain).rule == "base-stock"
    config = ResultsConfig(algo="dcl", extra_rules=["sp-mpc"],
                           scenarios={"seasonal-aging": {}, "tiny-dp": {"extra_rules": []}})
    assert compared_rules(config, "seasonal-aging")[-1] == "sp-mpc"
    assert compared_rules(config, "seasonal-aging").count("base-stock") == 1
    assert "sp-mpc" not in compared_rules(config, "tiny-dp")  # its own entry: no extra rule

    from allocsim.experiments.results import extra_rules_note

    scenarios = {"seasonal-aging": {"action_mode": "residual"}, "retail-small": {"action_mode": "residual"},
                 "retail-medium": {"action_mode": "residual"}, "tiny-dp": {"extra_rules": []}}
    config = ResultsConfig(algo="dcl", extra_rules=["sp-mpc"], scenarios=scenarios)
    (tmp_path / "out").mkdir()
    bench.rename(tmp_path / "out" / "seasonal-aging")
    _bench(tmp_path / "out" / "retail-small", {"base-stock": [1.0, 2.0], "dcl-seed0": [2.0, 3.0]})
    _bench(tmp_path / "out" / "tiny-dp", {"base-stock": [1.0, 2.0], "dcl-seed0": [2.0, 3.0]})  # not named
    assert extra_rules_note(config, tmp_path / "out") == (  # retail-medium: no benchmark yet, not named
        "sp-mpc (with its tuned parameters) counts among the tuned rules on seasonal-aging; "
        "not yet played on retail-small.\n\n")


def test_the_carried_policy_is_paired_with_base_stock_and_the_best_seed_trained_there(tmp_path: Path) -> None:
    """By hand: the carried policy gains (3, 3, 0) over base-stock, mean 2; the best seed trained there
    (seed0) gains (4, 2, 6), mean 4: half its gain; carried minus seed0 is (-1, 1, -6), mean -2."""
    from allocsim.experiments.results_table import carry_over_markdown, carry_over_row

    bench = _bench(tmp_path / "retail-large", {
        "base-stock": [100.0, 110.0, 120.0], "dcl-seed0": [104.0, 112.0, 126.0],
        "dcl-seed1": [101.0, 111.0, 121.0], "dcl-from-retail-medium": [103.0, 113.0, 120.0]})
    row = carry_over_row(bench, "dcl", "retail-medium")
    assert row is not None and row["best_seed"] == "dcl-seed0" and row["episodes"] == 3
    assert (row["gain"].mean, row["own_gain"].mean, row["versus_own"].mean) == pytest.approx((2, 4, -2))
    assert row["share_pct"] == pytest.approx(50)
    assert row["gain"].half_width == pytest.approx(4.303, abs=1e-3)  # t(0.975, 2) x sd 3**0.5 / 3**0.5
    line = carry_over_markdown([row]).strip().splitlines()[-1]
    assert line == ("| retail-large | retail-medium | +2 ± 4 | 90.00 (90.00) | dcl-seed0 +4 ± 5 | -2 ± 9 "
                    "| 50 |")
    assert carry_over_row(bench, "dcl", "retail-small") is None  # not played there
    assert carry_over_markdown([]) == ""


def test_an_interrupted_benchmark_keeps_its_episodes_for_the_same_stamp_only(tmp_path: Path) -> None:
    """The pipeline's benchmark resumes from the episodes it kept, unless they were played for other
    seeds, models or rule parameters (then they are dropped, not mixed into the new table)."""
    from allocsim.experiments.results import kept_episodes

    stamp = {"seeds": [40000, 40001], "models": {"dcl-seed0": "ab12"}, "rules": {"min-max": None}}
    row = {"seed": 40000, "policy": "min-max", "profit": 1234.5}
    kept_episodes(tmp_path, stamp).save("min-max", [row])
    assert kept_episodes(tmp_path, stamp).rows(["min-max"], [40000, 40001]) == [row]  # resumed: same stamp
    retrained = {**stamp, "models": {"dcl-seed0": "cd34"}}
    assert kept_episodes(tmp_path, retrained).count() == 0  # another model: its rows are gone


def test_the_reference_interval_note_links_docs_from_the_readme_s_own_folder(tmp_path: Path) -> None:
    """results/README.md links ../docs/bounds.md, results/dcl/README.md one level deeper ../../docs/...;
    a README outside the repository names the page without a (broken) link."""
    from allocsim.experiments.results_table import interval_note

    root = Path(__file__).resolve().parents[2]
    assert "[docs/bounds.md](../docs/bounds.md#the-reference-interval)." in interval_note(root / "results")
    assert "(../../docs/bounds.md#the-reference-interval)." in interval_note(root / "results" / "dcl")
    assert (root / "results" / "dcl" / "../../docs/bounds.md").resolve().is_file()
    outside = interval_note(tmp_path)
    assert "](" not in outside
    assert "docs/bounds.md of the repository, section The reference interval." in outside
    for page in ("results/README.md", "results/dcl/README.md"):  # the stored pages link it that way too
        text = (root / page).read_text(encoding="utf-8")
        link = re.search(r"\]\(([./]+docs/bounds\.md)#the-reference-interval\)", text)
        assert link is not None and ((root / page).parent / link.group(1)).resolve().is_file(), page
