"""render(): ``ansi`` text and an ``rgb_array`` picture; stable-baselines3 makes the env from its id."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import allocsim.envs  # noqa: F401  (registers the id)
from allocsim.envs import ENV_ID


def _env(render_mode: str | None, scenario: str = "retail-small") -> gym.Env:
    env = gym.make(ENV_ID, scenario=scenario, render_mode=render_mode)
    env.reset(seed=3)
    return env


def test_rgb_array_is_an_rgb_image_of_fixed_size_that_follows_the_stock() -> None:
    env = _env("rgb_array")
    first = env.render()
    assert isinstance(first, np.ndarray) and first.dtype == np.uint8 and first.ndim == 3
    assert first.shape[2] == 3 and first.shape[0] >= 200 and first.shape[1] >= 300
    assert first.std() > 0  # a picture, not a blank canvas
    assert np.array_equal(first, env.render())  # the same state draws the same picture
    picture = env.unwrapped._picture
    before = env.unwrapped.state.on_hand.copy()
    for _ in range(3):
        env.step(np.ones(env.action_space.shape, dtype=np.float32))
    assert not np.array_equal(before, env.unwrapped.state.on_hand)  # the stock moved ...
    later = env.render()
    assert later.shape == first.shape and not np.array_equal(first, later)  # ... and the picture with it
    assert env.unwrapped._picture is picture  # one figure per env, redrawn
    env.close()


def test_a_picture_survives_copy_and_pickle() -> None:
    import copy
    import pickle

    env = _env("rgb_array")
    image = env.render()
    for twin in (copy.deepcopy(env.unwrapped), pickle.loads(pickle.dumps(env.unwrapped))):
        assert np.array_equal(twin.render(), image)


def test_ansi_names_every_location() -> None:
    env = _env("ansi")
    text = env.render()
    assert isinstance(text, str) and text.startswith("period 0/60")
    assert all(name in text for name in env.unwrapped.network.locations)


def test_an_unknown_render_mode_is_refused() -> None:
    from allocsim.envs.allocation_env import AllocationEnv

    with pytest.raises(ValueError, match="render_mode 'video' is not one of"):
        AllocationEnv("retail-small", render_mode="video")


def test_stable_baselines3_makes_the_env_from_its_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path))  # SB3's default logger folder, else SB3-<time> in /tmp
    model = PPO("MlpPolicy", ENV_ID, n_steps=16, batch_size=16, n_epochs=1, seed=0).learn(16)
    assert model.num_timesteps >= 16
    venv = make_vec_env(ENV_ID, n_envs=2, seed=0, env_kwargs={"scenario": "tiny-dp"})
    assert venv.num_envs == 2 and venv.render_mode == "rgb_array"
    model = PPO("MlpPolicy", venv, n_steps=8, batch_size=16, n_epochs=1, seed=0).learn(16)
    assert model.num_timesteps >= 16
    frames = venv.get_images()
    assert len(frames) == 2 and all(f.dtype == np.uint8 and f.ndim == 3 for f in frames)
