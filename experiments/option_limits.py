"""Upper bounds of the numbers a user gives the CLI or a sweep file (scenarios: ``envs.scenario.limits``).

One table, so ``--seed`` on the command line and ``seeds`` in a sweep file accept the same range.
"""

from __future__ import annotations

#: episode and training seeds (every RNG the project uses takes 32-bit seeds)
MAX_SEED = 2**32 - 1
#: episodes of one command, or seeds of one sweep
MAX_EPISODES = 1_000_000
#: worker processes
MAX_WORKERS = 1024
#: environment steps of one training run
MAX_TIMESTEPS = 10**10
#: copies of the world in one training rollout
MAX_ENVS = 4096
