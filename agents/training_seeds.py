"""Training workers' demand seeds: the seed cycle, the wrapper that plays it, and the worker factory.

Every copy (worker) plays demand seeds from the training seed block,
``start + (1000 * seed + episode * n_envs + worker) % size``, so training never sees validation
or test customers; a worker's state (episode in flight, episodes started, Monitor rewards) can be
read and restored for an exact resume (``allocsim.agents.resume_state``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import NDArray
from stable_baselines3.common.monitor import Monitor

from allocsim.core.processes import die_with_parent
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.engine.state import EngineState


@dataclass(frozen=True)
class SeedCycle:
    """The block of demand seeds training episodes are drawn from."""

    start: int
    size: int

    def seed(self, run_seed: int, episode: int, worker: int, n_envs: int) -> int:
        return self.start + (1000 * run_seed + episode * n_envs + worker) % self.size


class WorkerState(NamedTuple):
    """A training worker's state for an exact resume: its episode in flight, how many episodes it
    started, and the rewards its Monitor summed so far in this episode."""

    engine: EngineState
    episode: NDArray[np.int64]  # ()
    rewards: NDArray[np.float64]  # (steps into the episode,)


class TrainingSeeds(gym.Wrapper):
    """Every reset plays the next seed of this worker's cycle (a seed passed to reset is ignored).

    Wraps the ``Monitor``, so ``worker_state`` / ``set_worker_state`` reach both halves of the
    worker's state (``SubprocVecEnv.env_method`` calls them by name)."""

    def __init__(self, env: Monitor, cycle: SeedCycle, run_seed: int, worker: int, n_envs: int,
                 first_episode: int = 0) -> None:
        super().__init__(env)
        self.monitor = env
        self.cycle, self.run_seed, self.worker, self.n_envs = cycle, run_seed, worker, n_envs
        self.episode = first_episode

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        demand_seed = self.cycle.seed(self.run_seed, self.episode, self.worker, self.n_envs)
        self.episode += 1
        return self.env.reset(seed=demand_seed, options=options)

    def worker_state(self) -> WorkerState:
        engine: AllocationEnv = self.unwrapped  # type: ignore[assignment]
        return WorkerState(engine.get_state(), np.array(self.episode, dtype=np.int64),
                           np.array(self.monitor.rewards, dtype=np.float64))

    def set_worker_state(self, state: WorkerState) -> Any:
        """Restore a ``worker_state()`` (mid-episode: workers reset as soon as an episode ends)."""
        engine: AllocationEnv = self.unwrapped  # type: ignore[assignment]
        obs = engine.set_state(state.engine)
        self.episode = int(state.episode)
        self.monitor.rewards = [float(r) for r in state.rewards]
        self.monitor.needs_reset = False
        return obs


def env_factory(scenario: Any, cycle: SeedCycle, run_seed: int, worker: int, n_envs: int,
                first_episode: int = 0, mode: dict[str, Any] | None = None) -> Callable[[], gym.Env]:
    """A picklable factory for worker ``worker``: one torch thread, Monitor, training seeds; called in
    a worker process (``SubprocVecEnv``), that process dies with the one that made the factory."""
    parent = os.getpid()

    def make() -> gym.Env:
        if os.getpid() != parent:
            die_with_parent(parent)
        torch.set_num_threads(1)
        env = AllocationEnv(scenario, **(mode or {}))
        return TrainingSeeds(Monitor(env), cycle, run_seed, worker, n_envs, first_episode)

    return make
