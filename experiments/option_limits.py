"""Upper bounds of the numbers a user gives the CLI or a sweep file (scenarios: ``allocsim.core.limits``).

One table, so ``--seed`` on the command line and ``seeds`` in a sweep file accept the same range.
"""

from __future__ import annotations

from allocsim.agents.limits import MAX_ENVS, MAX_TIMESTEPS

__all__ = ["MAX_ENVS", "MAX_EPISODES", "MAX_SEED", "MAX_TIMESTEPS", "MAX_WORKERS"]

#: episode and training seeds (every RNG the project uses takes 32-bit seeds)
MAX_SEED = 2**32 - 1
#: episodes of one command, or seeds of one sweep
MAX_EPISODES = 1_000_000
#: worker processes
MAX_WORKERS = 1024
