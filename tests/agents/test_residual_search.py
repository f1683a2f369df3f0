"""The residual start: coordinate search with common random numbers, and a policy started from its result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml

from allocsim.agents.hyperparams import HyperparamError, load_hyperparams
from allocsim.agents.residual_search import (
    ResidualStart,
    play,
    search_constant_residual,
    search_env,
    start_from,
)


class QuadraticEnv:
    """One-period episodes paying ``noise_i - |a - target|^2`` to copy ``i``: the noise is the same at
    every reset (common random numbers), so only the action moves a copy's return. The fill rate
    is ``90 - fill_slope * a[0]`` %."""

    def __init__(self, target: list[float], copies: int = 8, fill_slope: float = 0.0) -> None:
        self.target = np.asarray(target)
        self.fill_slope = fill_slope
        self.num_envs = copies
        self.single_action_space = gym.spaces.Box(-1.0, 1.0, (len(target),), dtype=np.float32)
        self.noise = np.random.default_rng(0).normal(0.0, 5.0, copies)
        self.plays = 0

    def reset(self, seed: int | None = None) -> None:
        self.plays += 1

    def step(self, actions: np.ndarray) -> tuple[Any, ...]:
        reward = self.noise - ((actions - self.target) ** 2).sum(axis=1)
        done = np.ones(self.num_envs, dtype=bool)
        kpis = {"fill_rate": 90.0 - self.fill_slope * actions[:, 0]}
        return None, reward, done, ~done, {"final_info": {"episode_kpis": kpis}}


def test_search_climbs_to_the_best_constant_action_by_hand() -> None:
    """From 0 with step 0.5: pass 1 moves dim 0 to 0.5; pass 2 moves nothing (dim 1 at -0.5 is as far
    from -0.25 as 0 is, a tie is no gain), so the step halves; pass 3 moves dim 1 to -0.25."""
    env = QuadraticEnv([0.5, -0.25, 0.0])
    found = search_constant_residual(env, ResidualStart(episodes=8, rounds=3, step=0.5))
    assert found.action.tolist() == [0.5, -0.25, 0.0]
    assert found.gain == pytest.approx(0.5**2 + 0.25**2)  # |0 - t|^2 - |t - t|^2
    assert found.gain_ci95 == pytest.approx(0.0)
    assert found.evaluations == env.plays
    assert found.fill_rate == found.rule_fill_rate == 90.0


def test_search_refuses_moves_that_lower_the_fill_rate() -> None:
    """Raising dim 0 would pay but lowers the fill rate below the rule's 90 %: refused at 0.5 and, after
    a pass without a move halves the step, at 0.25; dim 1 reaches -0.25 instead."""
    env = QuadraticEnv([0.5, -0.25, 0.0], fill_slope=10.0)
    found = search_constant_residual(env, ResidualStart(episodes=8, rounds=3, step=0.5))
    assert found.action.tolist() == [0.0, -0.25, 0.0]
    assert found.gain == pytest.approx(0.25**2) and found.fill_rate == 90.0
    free = ResidualStart(episodes=8, rounds=3, step=0.5, keep_fill=False)
    unconstrained = search_constant_residual(env, free)
    assert unconstrained.action.tolist() == [0.5, -0.25, 0.0] and unconstrained.fill_rate == 85.0


def test_search_keeps_the_rule_when_no_move_is_significant() -> None:
    env = QuadraticEnv([0.0, 0.0])
    found = search_constant_residual(env, ResidualStart(episodes=8, rounds=2, step=0.5))
    assert found.action.tolist() == [0.0, 0.0] and found.gain == 0.0


def test_search_never_leaves_the_action_box() -> None:
    env = QuadraticEnv([3.0])  # the best point is outside [-1, 1]
    found = search_constant_residual(env, ResidualStart(episodes=8, rounds=4, step=0.5))
    assert found.action.tolist() == [1.0]


def test_search_env_replays_the_same_episodes() -> None:
    """Common random numbers: the same action on the search env earns the same returns every time,
    and each copy plays its own seed (two seeds, two different returns)."""
    from allocsim.envs.scenario import load_scenario

    env = search_env(load_scenario("retail-small"), [11, 12], None)
    zero = np.zeros(env.single_action_space.shape[0])
    first, again = play(env, zero), play(env, zero)
    assert np.array_equal(first.returns, again.returns) and first.returns[0] != first.returns[1]
    assert np.array_equal(first.fill_rate, again.fill_rate)
    assert ((first.fill_rate > 0) & (first.fill_rate <= 100)).all()
    swapped = search_env(load_scenario("retail-small"), [12, 11], None)
    assert np.array_equal(play(swapped, zero).returns, first.returns[::-1])


def test_started_policy_plays_the_action_in_every_state() -> None:
    from stable_baselines3 import PPO

    env = gym.make("Pendulum-v1")
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=64, seed=0, device="cpu")
    start_from(model.policy, [0.25])
    observations = np.random.default_rng(1).normal(size=(20, 3)).astype(np.float32)
    with torch.no_grad():
        mean = model.policy.get_distribution(torch.as_tensor(observations)).distribution.mean
    assert np.allclose(mean.numpy(), 0.25)


def test_residual_start_is_refused_for_off_policy_algorithms(tmp_path: Path) -> None:
    file = tmp_path / "sac.yaml"
    file.write_text(yaml.safe_dump({"default": {"residual_start": {"episodes": 4}}}))
    with pytest.raises(HyperparamError, match="residual_start needs a PPO or A2C"):
        load_hyperparams("sac", "tiny-dp", file)


def test_residual_start_settings_are_checked(tmp_path: Path) -> None:
    file = tmp_path / "ppo.yaml"
    file.write_text(yaml.safe_dump({"default": {"residual_start": {"step": 2.0}}}))
    with pytest.raises(HyperparamError, match=r"residual_start.step"):
        load_hyperparams("ppo", "tiny-dp", file)


RESIDUAL_HP = """
default:
  n_envs: 4
  n_steps: 64
  batch_size: 128
  n_epochs: 1
  policy_kwargs: {net_arch: [16, 16], activation_fn: tanh}
  residual_start: {episodes: 4, rounds: 1, step: 0.5}
"""


def _config(tmp_path: Path, action_mode: str) -> Any:
    from allocsim.agents.training import SeedCycle, TrainConfig

    file = tmp_path / "hp.yaml"
    file.write_text(RESIDUAL_HP)
    hp = load_hyperparams("ppo", "x", file)
    return TrainConfig(scenario="retail-small", algo="ppo", seed=0, hyperparams=hp,
                       seed_cycle=SeedCycle(20_000, 10_000), timesteps=256, n_envs=4, out=tmp_path / "run",
                       action_mode=action_mode)


def test_training_starts_from_the_searched_action(tmp_path: Path) -> None:
    """The run records the search: the action it starts from, one entry per action dimension."""
    from allocsim.agents.training import train

    run = train(_config(tmp_path, "residual")).run_dir
    fit = yaml.safe_load((run / "config.yaml").read_text())["residual_start_fit"]
    assert len(fit["action"]) == 10 and fit["evaluations"] >= 1 and fit["gain"] >= 0
    assert fit["fill_rate"] >= fit["rule_fill_rate"]  # keep_fill is on by default
    assert set(fit["action"]) <= {-0.5, 0.0, 0.5}  # one pass of step 0.5 from zero


def test_residual_start_outside_residual_mode_is_refused(tmp_path: Path) -> None:
    from allocsim.agents.training import train

    with pytest.raises(ValueError, match="action_mode shares: residual_start searches a residual action"):
        train(_config(tmp_path, "shares"))
