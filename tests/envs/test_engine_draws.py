"""The engine's per-period draws (``allocsim.envs.engine.draws``) are the demand stream's numbers.

The kernel mixes a period's key prefix once and starts each Poisson inversion from the ``exp(-mean)``
tabled in ``EngineParams.poisson_start``; ``sample_episode`` draws every lane from scratch with
``demand_stream.lane_demand``. Differential: the same units in every period and lane, on a preset
that mixes Poisson, negative-binomial and normal lanes and one with mean-zero lanes.
"""

from __future__ import annotations

import numpy as np
import pytest

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand import sample_episode
from allocsim.envs.demand_stream import POISSON


@pytest.mark.parametrize(("preset", "seed"), [("retail-medium", 11), ("retail-medium", 2**40 + 3),
                                              ("seasonal-aging", 4)])
def test_kernel_draws_are_the_sampled_episode(preset: str, seed: int) -> None:
    env = AllocationEnv(preset)
    env.reset(seed=seed)
    demand = sample_episode(env.profile, env.network, seed).demand
    params = env.engine.params
    poisson = (params.demand_code == POISSON)[None] & (params.demand_mean > 0) & (params.demand_mean < 10)
    assert poisson.any(), "the preset has Poisson lanes drawn by inversion"
    assert (params.poisson_start[poisson] > 0).all() and (params.poisson_start[~poisson] == 0).all()
    for t in range(env.network.periods):
        np.testing.assert_array_equal(env.engine.state.demand_at(0, t), demand[t], err_msg=f"period {t}")
        env.step(np.zeros(env.action_space.shape, dtype=np.float32))
