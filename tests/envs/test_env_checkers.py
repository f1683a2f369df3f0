"""The env passes Gymnasium's and stable-baselines3's checkers and works through
``gym.make``, ``gym.make_vec`` and SB3's ``DummyVecEnv``."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from envs_testkit import PRESETS
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.vec_env import DummyVecEnv

import allocsim.envs
from allocsim.envs.allocation_env import AllocationEnv

ENTRY = "allocsim.envs:allocsim/Allocation-v0"


def _checker_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """Warnings the checkers raised about the env (not deprecations from elsewhere)."""
    mine = ("env_checker", "passive_env_checker", "allocsim")
    return [
        f"{w.category.__name__}: {w.message}"
        for w in caught
        if any(part in w.filename for part in mine) and not issubclass(w.category, DeprecationWarning)
    ]


@pytest.mark.parametrize("preset", PRESETS)
def test_gymnasium_check_env(preset):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gym_check_env(AllocationEnv(preset), skip_render_check=True)
    assert _checker_warnings(caught) == []


@pytest.mark.parametrize("preset", PRESETS)
def test_gymnasium_check_env_on_made_env(preset):
    env = gym.make(ENTRY, scenario=preset)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gym_check_env(env.unwrapped, skip_render_check=True)
    assert _checker_warnings(caught) == []


@pytest.mark.parametrize("preset", PRESETS)
def test_sb3_check_env(preset):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(AllocationEnv(preset), warn=True, skip_render_check=True)
    assert _checker_warnings(caught) == []


def test_registered_id():
    assert allocsim.envs.ENV_ID == "allocsim/Allocation-v0"
    assert allocsim.envs.ENV_ID in gym.registry


@pytest.mark.parametrize("env_id", [ENTRY, "allocsim/Allocation-v0"])
def test_gym_make_runs_an_episode(env_id):
    env = gym.make(env_id, scenario="tiny-dp")
    assert isinstance(env.unwrapped, AllocationEnv)
    assert env.unwrapped.scenario.name == "tiny-dp"
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    assert info["episode_seed"] == 3
    steps, terminated = 0, False
    while not terminated:
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        assert isinstance(reward, float)
        assert truncated is False
        steps += 1
    assert steps == env.unwrapped.network.periods
    env.close()


def test_gym_make_default_scenario():
    env = gym.make("allocsim/Allocation-v0")
    assert env.unwrapped.scenario.name == "retail-small"


def test_gym_make_vec_steps():
    envs = gym.make_vec(
        "allocsim/Allocation-v0", num_envs=2, vectorization_mode="sync", scenario="retail-small"
    )
    obs, _ = envs.reset(seed=[0, 1])
    assert obs.shape == (2, *envs.single_observation_space.shape)
    obs, rewards, terminated, truncated, _ = envs.step(envs.action_space.sample())
    assert obs.shape == (2, *envs.single_observation_space.shape)
    assert rewards.shape == (2,) and np.isfinite(rewards).all()
    assert not terminated.any() and not truncated.any()
    envs.close()


def test_sb3_dummy_vec_env_steps():
    venv = DummyVecEnv([lambda: gym.make(ENTRY, scenario="retail-small")] * 2)
    venv.seed(0)
    obs = venv.reset()
    assert obs.shape == (2, *venv.observation_space.shape)
    actions = np.stack([venv.action_space.sample() for _ in range(2)])
    obs, rewards, dones, infos = venv.step(actions)
    assert obs.shape == (2, *venv.observation_space.shape)
    assert rewards.shape == (2,) and np.isfinite(rewards).all()
    assert not dones.any()
    assert all("kpis" in info for info in infos)
    venv.close()


def test_decision_log_entries_compare_by_value():
    """Infos carry ``Trim`` records; checkers (and users) compare infos with ``==``."""
    from allocsim.envs.guardrails import Trim

    def trim(done):
        return Trim(0, "capacity", "allocation", np.array([[6, 2]]), np.array(done))

    assert trim([[3, 2]]) == trim([[3, 2]])
    assert trim([[3, 2]]) != trim([[3, 1]])
