"""The two reference rules every other policy must beat: ``random`` and ``hold``."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray


class RandomPolicy:
    """Uniform random actions from the env's action space (seeded, no global state)."""

    def __init__(self, env: gym.Env, seed: int | None = None) -> None:
        self.action_space = env.action_space
        self.rng = np.random.default_rng(seed)

    def predict(
        self,
        observation: NDArray[np.float32],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.float32], None]:
        low, high = self.action_space.low, self.action_space.high  # type: ignore[attr-defined]
        batch = observation.shape[:-1]
        action = self.rng.uniform(low, high, size=(*batch, *low.shape)).astype(np.float32)
        return action, None


class HoldPolicy:
    """Keep every unit at the DC: no shipments, no transfers, no policy orders."""

    def __init__(self, env: gym.Env, seed: int | None = None) -> None:
        self.shape = env.action_space.shape

    def predict(
        self,
        observation: NDArray[np.float32],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.float32], None]:
        batch = observation.shape[:-1]
        return np.full((*batch, *self.shape), -1.0, dtype=np.float32), None
