"""Upper bounds of a training run's size (torch-free, so the CLI can check options without loading torch)."""

from __future__ import annotations

#: environment steps of one training run
MAX_TIMESTEPS = 10**10
#: copies of the world in one training rollout
MAX_ENVS = 4096
#: rollout steps per env, minibatch size, epochs, update frequencies (a rollout buffer is n_steps x n_envs)
MAX_BATCH = 1_000_000
#: replay buffer transitions of off-policy algorithms
MAX_BUFFER = 10_000_000
