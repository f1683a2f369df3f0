"""Warm start: the cloned policy acts like the rule it copies, and training runs from it."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from allocsim.agents import runfiles
from allocsim.agents.hyperparams import HyperparamError, load_hyperparams
from allocsim.agents.policy import load_learned
from allocsim.agents.training import SeedCycle, TrainConfig, train
from allocsim.agents.warm_start import WarmStart, discounted, play_rule, seed_normalisation, warm_start
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.evaluation import PolicySpec, build_policy
from allocsim.experiments.train_cmd import rule_evaluator

BASE_STOCK = partial(build_policy, PolicySpec("base-stock"))


def test_discounted_restarts_at_episode_ends() -> None:
    rewards = np.array([1.0, 2.0, 3.0, 10.0])
    ends = np.array([False, False, True, True])
    # episode 1: 1 + .5 * (2 + .5 * 3) = 2.75, 2 + .5 * 3 = 3.5, 3; episode 2: 10
    assert discounted(rewards, ends, 0.5).tolist() == [2.75, 3.5, 3.0, 10.0]


def test_rule_demonstrations_replay_the_rule() -> None:
    demos = play_rule("tiny-dp", BASE_STOCK, [20000, 20001])
    env = AllocationEnv("tiny-dp")
    assert len(demos.rewards) == 2 * env.network.periods and demos.ends.sum() == 2
    assert demos.observations.shape == (16, env.observation_space.shape[0])
    rule = BASE_STOCK(env, 20000)
    obs, _ = env.reset(seed=20000)
    total = 0.0
    for step in range(env.network.periods):  # same actions and rewards as a plain rule episode
        action, _ = rule.predict(obs)
        np.testing.assert_array_equal(demos.actions[step], action)
        obs, reward, *_ = env.step(action)
        total += reward
    assert total == pytest.approx(demos.rewards[:8].sum())


def test_normalisation_is_seeded_with_the_rule_observations() -> None:
    demos = play_rule("tiny-dp", BASE_STOCK, [20000, 20001, 20002])
    venv = VecNormalize(DummyVecEnv([lambda: AllocationEnv("tiny-dp")]))
    seed_normalisation(venv, demos)
    np.testing.assert_allclose(venv.obs_rms.mean, demos.observations.mean(axis=0), atol=1e-3)
    assert venv.ret_rms.count > len(demos.rewards)


def test_cloned_policy_acts_like_the_rule() -> None:
    venv = VecNormalize(DummyVecEnv([lambda: AllocationEnv("retail-small")]))
    model = PPO("MlpPolicy", venv, seed=0, device="cpu", policy_kwargs={"net_arch": [64, 64]})
    seeds = list(range(20000, 20010))
    demos = play_rule("retail-small", BASE_STOCK, seeds[:3])

    def error() -> float:
        obs = venv.normalize_obs(demos.observations)
        actions, _ = model.policy.predict(obs, deterministic=True)
        return float(np.abs(np.clip(actions, -1, 1) - demos.actions).mean())

    before = error()
    settings = WarmStart(episodes=10, epochs=30, dagger_rounds=1, log_std=-2.0)
    fit = warm_start(model, venv, "retail-small", BASE_STOCK, seeds, settings, seed=0)
    assert error() < before / 3
    assert fit["warm_samples"] == 2 * 10 * AllocationEnv("retail-small").network.periods
    np.testing.assert_allclose(model.policy.log_std.detach().numpy(), -2.0)


WARM_PPO = """
default:
  n_envs: 1
  policy_kwargs: {net_arch: [32, 32]}
  n_steps: 128
  batch_size: 64
  n_epochs: 1
  warm_start: {episodes: 2, epochs: 2, dagger_rounds: 0}
"""


def test_training_warm_starts_from_the_teacher_and_keeps_the_best(tmp_path: Path) -> None:
    hp_file = tmp_path / "hp.yaml"
    hp_file.write_text(WARM_PPO)
    hp = load_hyperparams("ppo", "tiny-dp", hp_file)
    cycle = SeedCycle(20000, 100)
    config = TrainConfig(scenario="tiny-dp", algo="ppo", seed=0, hyperparams=hp, seed_cycle=cycle,
                         timesteps=256, eval_every=128, out=tmp_path / "run")
    with pytest.raises(ValueError, match="warm_start needs a teacher rule"):
        train(config)
    scenario = load_scenario("tiny-dp")
    evaluator = rule_evaluator(scenario, PolicySpec("base-stock"), [30000, 30001])
    config = TrainConfig(**{**config.__dict__, "teacher": BASE_STOCK, "out": tmp_path / "run2"})
    result = train(config, evaluator=evaluator)
    saved = (result.run_dir / "config.yaml").read_text()
    assert "warm_start_fit" in saved and "warm_samples: 16.0" in saved
    rows = runfiles.read_metrics(result.run_dir)
    assert int(rows[0]["timesteps"]) == 0  # the warm-started policy is judged before learning
    best = max(range(len(rows)), key=lambda i: float(rows[i]["val_profit"]))
    kept = load_learned(result.run_dir)
    assert (result.run_dir / "best" / "model.zip").is_file()
    assert kept.model.num_timesteps == int(rows[best]["timesteps"])


def test_warm_start_keys_are_checked(tmp_path: Path) -> None:
    hp_file = tmp_path / "hp.yaml"
    hp_file.write_text("default:\n  warm_start: {episodes: 2, epoch: 3}\n")
    with pytest.raises(HyperparamError, match=r"unknown key 'warm_start\.epoch'"):
        load_hyperparams("ppo", "tiny-dp", hp_file)
