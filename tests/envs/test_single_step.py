"""The single env's one-call ``shares`` step (``allocsim.envs.engine.single_step``): a NaN or infinite
action met in the middle of an episode raises the named error with nothing run (state, clock and
future untouched). Restored, copied and pickled envs of every mode: ``test_targets_step.py``."""

from __future__ import annotations

import numpy as np
import pytest
from envs_testkit import assert_same

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.engine.state import EngineState

PRESET = "strategic-holdback-decision"  # every shares block: allocation, orders and a holdback decision


def _actions(env: AllocationEnv, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.5, 1.5, env.action_space.shape).astype(np.float32) for _ in range(n)]


def _play(env: AllocationEnv, actions: list[np.ndarray]) -> list[tuple]:
    return [env.step(a)[:4] for a in actions]


def _same_state(a: EngineState, b: EngineState) -> None:
    for name, x, y in zip(a._fields, a, b, strict=True):
        assert np.array_equal(x, y), name


@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_a_bad_action_mid_episode_changes_nothing(bad: float) -> None:
    env, twin = AllocationEnv(PRESET), AllocationEnv(PRESET)
    for e in (env, twin):
        e.reset(seed=11)
    actions = _actions(env, 8, 1)
    assert_same(_play(env, actions[:4]), _play(twin, actions[:4]))
    before = env.get_state()
    wrong = actions[4].copy()
    wrong[5] = bad
    with pytest.raises(ValueError, match=rf"^action entry 5 is {bad}; actions must be finite$"):
        env.step(wrong)
    _same_state(env.get_state(), before)
    assert env._clock is not None and env._clock.now == 4  # the clock waits at the same period
    assert_same(_play(env, actions[4:]), _play(twin, actions[4:]))  # the same future as the twin's


