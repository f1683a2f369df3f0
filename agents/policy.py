"""A trained model as a predictor: the saved observation normalisation, then a deterministic ``predict``.

``LearnedPolicy`` has the stable-baselines3 predictor interface
``predict(obs, state, episode_start, deterministic)``, the same as every rule set,
so one evaluator serves both. It takes raw env observations: the VecNormalize
statistics saved with the run are applied here. A recurrent policy keeps its own
LSTM state when the caller passes none; use ``fresh()`` for each new episode.

Loading runs no code from ``model.zip`` or ``vecnormalize.pkl`` (``allocsim.agents.safe_load``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import NDArray
from stable_baselines3.common.base_class import BaseAlgorithm

from allocsim.agents import runfiles
from allocsim.agents.algorithms import algorithm
from allocsim.agents.safe_load import load_model, read_normalization, run_spaces


@dataclass
class ObsNormalizer:
    """VecNormalize's observation transform, frozen: clip((obs - mean) / sqrt(var + eps))."""

    mean: NDArray[np.float64]
    var: NDArray[np.float64]
    clip: float
    epsilon: float

    def __call__(self, obs: NDArray[np.float32]) -> NDArray[np.float32]:
        scaled = (obs - self.mean) / np.sqrt(self.var + self.epsilon)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    @classmethod
    def of(cls, vec_normalize: Any) -> ObsNormalizer | None:
        """From a VecNormalize (live or unpickled); None when it does not normalise observations."""
        if vec_normalize is None or not vec_normalize.norm_obs:
            return None
        rms = vec_normalize.obs_rms
        return cls(
            rms.mean.copy(), rms.var.copy(), float(vec_normalize.clip_obs), float(vec_normalize.epsilon)
        )


@dataclass
class LearnedPolicy:
    """A model plus its observation normalisation, deterministic by default."""

    model: BaseAlgorithm
    normalizer: ObsNormalizer | None = None
    name: str = "learned"
    recurrent: bool = False
    action_mode: str = "shares"  # the env action mode it was trained in (allocsim.envs.action_modes)
    residual_around: dict[str, float] | None = None
    _state: Any = None
    _start: bool = True

    def fresh(self) -> LearnedPolicy:
        """The same model with its recurrent state cleared (one per episode)."""
        return replace(self, _state=None, _start=True)

    def predict(
        self,
        observation: NDArray[np.float32],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.float32], Any]:
        obs = self.normalizer(observation) if self.normalizer is not None else observation
        if not self.recurrent:
            action, _ = self.model.predict(obs, deterministic=deterministic)
            return action, None
        if state is None and episode_start is None:  # keep the LSTM state ourselves
            start = np.array([self._start])
            action, self._state = self.model.predict(
                obs, state=self._state, episode_start=start, deterministic=deterministic
            )
            self._start = False
            return action, self._state
        return self.model.predict(obs, state=state, episode_start=episode_start, deterministic=deterministic)

    def check_env(self, env: gym.Env) -> None:
        """ValueError when ``env``'s spaces differ from those the model was trained on."""
        want, got = self.model.observation_space.shape, env.observation_space.shape
        if want != got:
            raise ValueError(
                f"{self.name} was trained on observations of shape {want}, this scenario gives {got}"
            )
        want, got = self.model.action_space.shape, env.action_space.shape
        if want != got:
            raise ValueError(f"{self.name} was trained on actions of shape {want}, this scenario takes {got}")


def load_learned(run_dir: str | Path) -> LearnedPolicy:
    """The policy saved in a training run folder (``config.yaml``, ``model.zip``, ``vecnormalize.pkl``).

    The best validated checkpoint (``best/``) when the run kept one, else the latest.

    ValueError naming what is missing or refused (nothing in the folder is unpickled).
    """
    run = Path(run_dir)
    config = runfiles.read_config(run)
    algo = algorithm(str(config["algo"]))
    model_path, stats = runfiles.policy_files(run)
    if not model_path.is_file():
        raise ValueError(f"{run} has no {runfiles.MODEL} yet")
    torch.set_num_threads(1)
    model = load_model(algo, model_path, config, run_spaces(config), device="cpu")  # nothing unpickled
    normalizer = ObsNormalizer.of(read_normalization(stats)) if stats.is_file() else None
    return LearnedPolicy(model, normalizer, name=f"{algo.name}:{run.name}", recurrent=algo.recurrent,
                         action_mode=str(config.get("action_mode") or "shares"),
                         residual_around=config.get("residual_around"))
