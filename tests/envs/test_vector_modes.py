"""The vector env's batched ``targets``/``residual`` decode: copy ``b`` plays exactly the single env."""

from __future__ import annotations

import numpy as np
import pytest

from allocsim.envs import preset_names
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.vector_env import AllocationVectorEnv

COPIES = 3
SEED = 41


def _actions(size: int, periods: int, rng: np.random.Generator) -> np.ndarray:
    """(periods, COPIES, size) actions: mostly uniform, some rows at the box edges (rationing, cuts)."""
    acts = rng.uniform(-1.0, 1.0, (periods, COPIES, size))
    edges = rng.random((periods, COPIES, 1)) < 0.3
    return np.where(edges, np.sign(acts), acts).astype(np.float32)


@pytest.mark.parametrize("scenario", preset_names())
@pytest.mark.parametrize("mode", ["targets", "residual"])
def test_vector_copy_equals_the_single_env(scenario: str, mode: str) -> None:
    venv = AllocationVectorEnv(COPIES, scenario, action_mode=mode)
    periods = venv.network.periods
    actions = _actions(venv.single_action_space.shape[0], periods, np.random.default_rng(7))
    venv.reset(seed=SEED)
    rewards = np.zeros((periods, COPIES))
    final: dict[int, dict[str, float]] = {}
    for t in range(periods):
        _, rewards[t], terminated, _, _ = venv.step(actions[t])
        if t == periods - 1:
            assert terminated.all()
            final = {b: venv.last_episode_kpis[b] for b in range(COPIES)}
    moved = 0
    for b in range(COPIES):
        env = AllocationEnv(scenario, action_mode=mode)
        env.reset(seed=SEED + b)
        for t in range(periods):
            moved += int(env.preview(actions[t, b]).allocation.sum())
            _, reward, done, _, _ = env.step(actions[t, b])
            assert reward == rewards[t, b], f"copy {b} period {t}"
            assert done == (t == periods - 1)
        assert env.kpis() == final[b], f"copy {b} KPIs"
    assert moved > 0  # the actions did ship stock: not a comparison of idle copies
