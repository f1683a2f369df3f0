"""``allocsim train --scenario P`` works out of the box for every preset (issue 24, item 1).

The packaged hyperparameter entry says the action mode it trains in; ``--action-mode`` overrides
it, and a flag that the entry's start fit cannot serve fails with one line naming the fix.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from allocsim.agents.hyperparams import HyperparamError, Hyperparams, load_hyperparams, mode_for
from allocsim.agents.residual_search import ResidualStart
from allocsim.agents.training import train
from allocsim.agents.warm_start import WarmStart
from allocsim.envs.scenario import load_scenario
from allocsim.envs.scenario.loader import preset_names
from allocsim.experiments.cli import app
from allocsim.experiments.train_cmd import TrainingJob, prepare_training

runner = CliRunner()

#: The presets whose packaged PPO entry starts from a residual search (agents/hyperparams/ppo.yaml).
RESIDUAL = {"retail-small", "retail-medium", "retail-large", "seasonal-aging", "omnichannel-transfers"}


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_resolves_a_mode_its_entry_can_train_in(preset: str) -> None:
    """No flag: the entry's mode; residual-started presets train in residual mode (was: shares, refused)."""
    hp = load_hyperparams("ppo", preset)
    config, _, _ = prepare_training(TrainingJob(scenario=preset, eval_episodes=2), load_scenario(preset), 1)
    assert config.action_mode == ("residual" if preset in RESIDUAL else "shares")
    assert hp.start_conflict(str(config.action_mode)) is None
    assert (config.residual_around is not None) == (preset in RESIDUAL)


def test_a_flag_overrides_the_entry_when_no_start_fit_objects() -> None:
    plain = Hyperparams()
    assert mode_for(None, plain, "entry") == "shares"
    assert mode_for("targets", plain, "entry") == "targets"
    residual = Hyperparams(residual_start=ResidualStart())
    assert residual.mode == "residual"
    assert mode_for("residual", residual, "entry") == "residual"


@pytest.mark.parametrize(("params", "flag", "start"), [
    (Hyperparams(residual_start=ResidualStart()), "shares", "residual_start"),
    (Hyperparams(warm_start=WarmStart()), "residual", "warm_start"),
    (Hyperparams(warm_start=WarmStart()), "targets", "warm_start"),
])
def test_a_conflicting_flag_names_the_fix(params: Hyperparams, flag: str, start: str) -> None:
    with pytest.raises(HyperparamError) as err:
        mode_for(flag, params, "the ppo.yaml entry 'x'")
    message = str(err.value)
    assert f"--action-mode {flag}" in message and "leave out --action-mode" in message
    assert f"no {start}" in message and "\n" not in message


def test_an_entry_whose_mode_contradicts_its_start_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hp.yaml"
    path.write_text("default:\n  action_mode: shares\n  residual_start: {episodes: 2}\n")
    with pytest.raises(HyperparamError, match=r"hp.yaml: default: action_mode shares: residual_start"):
        load_hyperparams("ppo", "retail-small", path)


def test_cli_conflict_is_one_line_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--scenario", "retail-small", "--action-mode", "shares",
                                 "--out", str(tmp_path / "run"), "--eval-episodes", "2", "--workers", "1"])
    assert result.exit_code == 2, result.output
    assert "leave out --action-mode" in result.output and "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_starts_training_with_its_packaged_entry(preset: str, tmp_path: Path) -> None:
    """The packaged entry, shrunk to a few steps (its start fits kept, on 2 episodes), trains."""
    config, _, _ = prepare_training(TrainingJob(scenario=preset, eval_episodes=2, out=tmp_path / preset),
                                    load_scenario(preset), 1)
    hp = config.hyperparams
    small: dict[str, object] = {"n_envs": 2, "n_steps": 8, "batch_size": 8, "n_epochs": 1}
    if hp.residual_start is not None:
        small["residual_start"] = ResidualStart(episodes=2, rounds=1)
    if hp.warm_start is not None:
        small["warm_start"] = hp.warm_start.model_copy(
            update={"episodes": 1, "epochs": 1, "dagger_rounds": 0})
    config = replace(config, hyperparams=hp.model_copy(update=small), timesteps=16, n_envs=None)
    result = train(config)
    assert result.timesteps == 16
    written = yaml.safe_load((result.run_dir / "config.yaml").read_text())
    fits = {"warm_start_fit", "residual_start_fit"} & set(written)
    assert bool(fits) == hp.starts_from_a_fit
