"""The one episode loop: play an env on a seed with any action function, step by step.

Every caller that plays whole episodes (evaluation, traces, planning states, the warm
start's demonstrations) walks this generator, so the reset/step/done logic exists once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

Observation = NDArray[np.float32]


@dataclass(frozen=True)
class Step:
    """One period played: what was seen, what was done, what came of it."""

    period: int
    observation: Observation  # before the action
    action: Any
    next_observation: Observation
    reward: float
    done: bool
    info: dict[str, Any]


def play(env: gym.Env, act: Callable[[Observation], Any], seed: int) -> Iterator[Step]:
    """Reset ``env`` on ``seed`` and step it with ``act(observation)`` until the episode ends."""
    obs, _ = env.reset(seed=seed)
    done, period = False, 0
    while not done:
        action = act(obs)
        next_obs, reward, terminated, truncated, info = env.step(action)
        done = bool(terminated or truncated)
        yield Step(period, obs, action, next_obs, float(reward), done, info)
        obs, period = next_obs, period + 1
