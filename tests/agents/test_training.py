"""Training: a short PPO run completes, saves, reloads, resumes and evaluates; same seed, same model."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from allocsim.agents.hyperparams import HyperparamError, load_hyperparams
from allocsim.agents.policy import load_learned
from allocsim.agents.runfiles import read_metrics, read_progress
from allocsim.agents.training import SeedCycle, TrainConfig, train
from allocsim.experiments.cli import app

runner = CliRunner()

SMALL = """
default:
  n_timesteps: 2000
  n_envs: 1
  policy_kwargs: {net_arch: [32, 32], activation_fn: tanh}
  n_steps: 500
  batch_size: 250
  n_epochs: 2
"""


@pytest.fixture
def hp_file(tmp_path: Path) -> Path:
    path = tmp_path / "ppo-small.yaml"
    path.write_text(SMALL)
    return path


@pytest.mark.slow
def test_train_saves_reloads_resumes_and_evaluates(tmp_path: Path, hp_file: Path) -> None:
    run = tmp_path / "run"
    args = [
        "train",
        "--scenario",
        "retail-small",
        "--algo",
        "ppo",
        "--seed",
        "3",
        "--hyperparams",
        str(hp_file),
        "--out",
        str(run),
        "--eval-episodes",
        "2",
        "--rule",
        "proportional",
        "--workers",
        "1",
    ]
    result = runner.invoke(app, [*args, "--timesteps", "2000"])
    assert result.exit_code == 0, result.output
    # not a terminal: plain progress lines with the rate and the latest validation against the rule
    lines = [line for line in result.stdout.splitlines() if line.startswith("train ppo on retail-small: ")]
    assert lines and lines[-1].startswith("train ppo on retail-small: 2,000/2,000 steps (100%)")
    assert "steps/s" in lines[-1] and "validation vs proportional: " in lines[-1]
    for name in ("config.yaml", "model.zip", "vecnormalize.pkl", "metrics.csv", "progress.json"):
        assert (run / name).is_file(), name
    assert any((run / "tb").rglob("events.out.tfevents.*"))
    assert read_progress(run) == {"timesteps": 2000, "done": True}
    rows = read_metrics(run)
    assert [int(r["timesteps"]) for r in rows] == [500, 1000, 1500, 2000]
    assert {"profit_vs_rule", "profit_vs_rule_ci95", "val_profit", "train_profit"} <= set(rows[0])

    # the folder is taken: a second run without --resume is refused with one line
    again = runner.invoke(app, [*args, "--timesteps", "2000"])
    assert again.exit_code == 2 and "--resume" in again.stderr

    # reload: the best validated checkpoint (best/), playing raw observations (normalisation inside)
    best = max(rows, key=lambda r: float(r["val_profit"]))
    assert load_learned(run).model.num_timesteps == int(best["timesteps"])
    assert json.loads((run / "best" / "best.json").read_text())["timesteps"] == int(best["timesteps"])

    # resume: the step count continues from the checkpoint, it does not restart
    resumed = runner.invoke(app, [*args, "--timesteps", "3000", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert f"resuming {run} from step 2,000 of 3,000 (checkpoint {run / 'model.zip'})" in resumed.stderr
    # the rate and ETA count this command's 1,000 steps, not the 2,000 it resumed from: rate x elapsed
    # (whole seconds) stays near 1,000 (the earlier steps counted would put it near 3,000)
    line = [ln for ln in resumed.stdout.splitlines() if ln.startswith("train ppo on retail-small: ")][-1]
    rate, elapsed = re.search(r"\(100%\), ([\d,]+) steps/s, elapsed (\d+) s", line).groups()
    assert int(rate.replace(",", "")) * max(int(elapsed), 1) < 2000, line
    assert "3,000 timesteps (1,000 since step 2,000) in " in resumed.stdout
    assert read_progress(run)["timesteps"] == 3000
    rows = read_metrics(run)
    assert [int(r["timesteps"]) for r in rows] == [500, 1000, 1500, 2000, 2500, 3000]
    best = max(rows, key=lambda r: float(r["val_profit"]))  # the first of equals is kept
    assert load_learned(run).model.num_timesteps == int(best["timesteps"])

    # evaluate on the test block, JSON shaped like simulate --json
    out = runner.invoke(app, ["evaluate", "--model", str(run), "--episodes", "2", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["scenario"] == "retail-small" and data["policy"] == "ppo:run"
    assert [e["seed"] for e in data["episodes"]] == [40000, 40001]
    assert data["summary"]["profit"] == pytest.approx(sum(e["profit"] for e in data["episodes"]) / 2)


def _run(tmp_path: Path, hp_file: Path, name: str, seed: int, n_envs: int = 1) -> Path:
    config = TrainConfig(
        scenario="retail-small",
        algo="ppo",
        seed=seed,
        hyperparams=load_hyperparams("ppo", "retail-small", hp_file),
        seed_cycle=SeedCycle(20_000, 10_000),
        timesteps=1000,
        n_envs=n_envs,
        out=tmp_path / name,
    )
    return train(config).run_dir


def _params(run: Path) -> dict[str, torch.Tensor]:
    return load_learned(run).model.policy.state_dict()


@pytest.mark.slow
def test_same_seed_same_model(tmp_path: Path, hp_file: Path) -> None:
    a, b = (_run(tmp_path, hp_file, name, seed=7) for name in ("a", "b"))
    pa, pb = _params(a), _params(b)
    assert pa.keys() == pb.keys()
    assert all(torch.equal(pa[k], pb[k]) for k in pa)
    stats_a, stats_b = (pickle.loads((run / "vecnormalize.pkl").read_bytes()) for run in (a, b))
    for name in ("obs_rms", "ret_rms"):  # the normalisation statistics, value by value
        for key in ("mean", "var", "count"):
            assert np.array_equal(getattr(getattr(stats_a, name), key), getattr(getattr(stats_b, name), key))


@pytest.mark.slow
def test_two_worker_processes(tmp_path: Path, hp_file: Path) -> None:
    run = _run(tmp_path, hp_file, "two", seed=1, n_envs=2)
    assert read_progress(run)["timesteps"] == 1000
    assert int(read_metrics(run)[-1]["train_episodes"]) > 0


def test_unknown_hyperparameter_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("default:\n  n_timesteps: 100\nretail-small:\n  learning_rat: 0.1\n")
    with pytest.raises(HyperparamError, match=r"bad.yaml: retail-small: unknown key 'learning_rat'"):
        load_hyperparams("ppo", "retail-small", bad)
    result = runner.invoke(app, ["train", "--scenario", "retail-small", "--hyperparams", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "learning_rat" in result.stderr


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("policy_kwargs: {activation_fn: 'nn.Tanh'}", "activation_fn"),
        ("policy_kwargs: {net_arch: [64], layers: 2}", "unknown key 'policy_kwargs.layers'"),
        ("normalize: {norm_obs: true, clip: 5}", "unknown key 'normalize.clip'"),
        ("net_arch_typo: 1", "unknown key 'net_arch_typo'"),
    ],
)
def test_policy_kwargs_are_data_only(tmp_path: Path, entry: str, message: str) -> None:
    bad = tmp_path / "ppo.yaml"
    bad.write_text(f"default:\n  {entry}\n")
    with pytest.raises(HyperparamError, match=message):
        load_hyperparams("ppo", "retail-small", bad)


def test_algorithm_arguments_are_checked_per_algorithm(tmp_path: Path) -> None:
    path = tmp_path / "sac.yaml"
    path.write_text("default:\n  n_epochs: 3\n")
    with pytest.raises(HyperparamError, match="sac does not take n_epochs"):
        load_hyperparams("sac", "retail-small", path)
    for algo in ("ppo", "a2c", "sac", "td3", "recurrent-ppo"):
        assert load_hyperparams(algo, "retail-medium").n_timesteps > 0


def test_the_budget_is_never_overshot(tmp_path: Path, hp_file: Path) -> None:
    """Training stops on whole rollouts at or below the budget, and says so when it rounds down."""
    config = TrainConfig(scenario="tiny-dp", algo="ppo", seed=0,
                         hyperparams=load_hyperparams("ppo", "tiny-dp", hp_file),
                         seed_cycle=SeedCycle(20_000, 10_000), timesteps=1_400, n_envs=2,
                         out=tmp_path / "run")
    assert config.collection == 1_000 and config.planned == 1_000  # 2 copies x 500 steps
    assert train(config).timesteps == 1_000 and read_progress(tmp_path / "run")["timesteps"] == 1_000
    sac = TrainConfig(**{**config.__dict__, "algo": "sac", "hyperparams": load_hyperparams("sac", "tiny-dp")})
    assert sac.collection == 2 and sac.planned == 1_400  # one step per copy (train_freq 1)
    short = TrainConfig(**{**config.__dict__, "timesteps": 999})
    with pytest.raises(ValueError, match="less than one rollout"):
        assert short.planned
    result = runner.invoke(app, ["train", "--scenario", "tiny-dp", "--hyperparams", str(hp_file),
                                 "--timesteps", "400", "--out", str(tmp_path / "short")])
    assert result.exit_code == 2 and "a budget of 400 timesteps is less than one rollout" in result.stderr


def test_a_budget_below_one_rollout_names_the_options_that_fix_it() -> None:
    """retail-small's PPO entry collects 256 copies x 64 steps = 16,384 per rollout: a budget of 2,048
    is refused naming the option that lowers it (--n-envs) and where n_steps lives (--hyperparams)."""
    from allocsim.agents.training import planned_timesteps

    hp = load_hyperparams("ppo", "retail-small")
    assert (hp.n_envs, hp.n_steps) == (256, 64)
    with pytest.raises(ValueError) as err:
        planned_timesteps("ppo", hp, 2_048, hp.n_envs)
    assert str(err.value) == ("a budget of 2,048 timesteps is less than one rollout (256 copies x 64 steps = "
                              "16,384); raise --timesteps, or lower --n-envs or the n_steps of --hyperparams")
    assert planned_timesteps("ppo", hp, 16_384 + 100, hp.n_envs) == 16_384  # one whole rollout
    assert planned_timesteps("ppo", hp, 2_048, 32) == 2_048  # 32 copies x 64 steps


def test_the_closing_line_says_its_rate_includes_the_start_and_validations(tmp_path: Path) -> None:
    """The closing rate divides by the wall time, validations included (retail-small's 16,384 steps:
    '966 steps/s' under a bar that showed 49,713): the line says so."""
    hp = tmp_path / "hp.yaml"
    hp.write_text("default: {n_timesteps: 256, n_envs: 1, n_steps: 128, batch_size: 64, n_epochs: 1}\n")
    result = runner.invoke(app, ["train", "--scenario", "tiny-dp", "--hyperparams", str(hp), "--out",
                                 str(tmp_path / "run"), "--eval-episodes", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.stdout.split())
    assert re.search(r"256 timesteps in [\d.]+ s \([\d,]+ steps/s overall, start and validations included\)",
                     flat), flat
