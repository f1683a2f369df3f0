"""The native vector env against the single env: copy ``i`` on seed ``k + i`` is the single env on that seed.

Every comparison is between two paths through the same kernels, so it is exact: the
observation, the reward, ``terminated``, the ``period`` info, and at each episode end
the full KPI dict. The presets are played with random, all -1, all +1 and rule
actions (generated scenarios: ``test_vector_env_generated.py``). The SAME_STEP autoreset
and seed stream, Gymnasium's sync mode, bad actions and thread counts are checked last.
"""

from __future__ import annotations

import gymnasium as gym
import numba
import numpy as np
import pytest
from envs_testkit import PRESETS, assert_same
from gymnasium.vector import SyncVectorEnv
from gymnasium.vector.vector_env import AutoresetMode
from numpy.typing import NDArray
from vector_testkit import Env, Obs, lockstep

from allocsim.baselines.registry import make_policy
from allocsim.envs import ENV_ID
from allocsim.envs.engine import kernels
from allocsim.envs.vector_env import AllocationVectorEnv

ACTION_KINDS = ("uniform", "minus-one", "plus-one", "proportional")


# -------------------------------------------------------------- (a) every preset
@pytest.mark.parametrize("kind", ACTION_KINDS)
@pytest.mark.parametrize("preset", PRESETS)
def test_every_copy_equals_the_single_env_on_presets(preset: str, kind: str) -> None:
    """Copy i of a vector env of 3 and a single env on seed k + i, the same actions: identical."""
    n = 3
    venv = gym.make_vec(ENV_ID, num_envs=n, scenario=preset)
    assert isinstance(venv, AllocationVectorEnv)
    singles = [gym.make(ENV_ID, scenario=preset) for _ in range(n)]
    size = venv.single_action_space.shape[0]
    rng = np.random.default_rng(PRESETS.index(preset) * 10 + ACTION_KINDS.index(kind))
    rules = [make_policy("proportional", env.unwrapped, seed=i) for i, env in enumerate(singles)]

    def act(i: int, t: int, env: Env, obs: Obs) -> NDArray[np.float32]:
        if kind == "uniform":
            return rng.uniform(-1.0, 1.0, size).astype(np.float32)
        if kind == "minus-one":
            return -np.ones(size, dtype=np.float32)
        if kind == "plus-one":
            return np.ones(size, dtype=np.float32)
        return np.asarray(rules[i].predict(obs)[0], dtype=np.float32)

    lockstep(venv, singles, 1000 + 17 * PRESETS.index(preset), act, check=True)
    venv.close()




# -------------------------------------------------------------- (c) SAME_STEP
@pytest.mark.parametrize("preset", ["tiny-dp", "omnichannel-transfers"])
def test_same_step_autoreset_and_seed_stream(preset: str) -> None:
    """Two episodes back to back: final_obs, the next first obs and the seeds follow the docstring."""
    n, base = 3, 40
    venv = gym.make_vec(ENV_ID, num_envs=n, scenario=preset)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    single = gym.make(ENV_ID, scenario=preset)
    periods = venv.unwrapped.network.periods
    size = venv.single_action_space.shape[0]
    rng = np.random.default_rng(5)
    obs, info = venv.reset(seed=base)
    assert info["episode_seed"].tolist() == [base + i for i in range(n)]
    for episode in range(2):
        seeds = [base + i + episode * n for i in range(n)]
        assert venv.unwrapped.engine.state.seed.tolist() == seeds
        actions = rng.uniform(-1.0, 1.0, (periods, n, size)).astype(np.float32)
        for t in range(periods):
            obs, _, terminated, _, info = venv.step(actions[t])
            assert info["period"].tolist() == [t] * n
            assert terminated.tolist() == [t == periods - 1] * n
            assert ("final_obs" in info) == (t == periods - 1)
        for i in range(n):
            # the single env on the same seed and actions: its terminal obs is final_obs
            single.reset(seed=seeds[i])
            for t in range(periods):
                last, _, done, _, _ = single.step(actions[t, i])
            assert done
            assert info["_final_obs"][i] and info["final_info"]["_episode_kpis"][i]
            assert np.array_equal(info["final_obs"][i], last), f"episode {episode} copy {i}: final_obs"
            assert info["final_info"]["episode_seed"][i] == seeds[i]
            assert_same(venv.unwrapped.last_episode_kpis[i], single.unwrapped.kpis(), f"episode {episode}")
            # the returned obs is the first obs of the next episode, on the next seed of the stream
            following, _ = single.reset(seed=seeds[i] + n)
            assert np.array_equal(obs[i], following), f"episode {episode} copy {i}: next first obs"
    assert venv.unwrapped.engine.state.seed.tolist() == [base + i + 2 * n for i in range(n)]
    assert venv.unwrapped.episodes.tolist() == [2] * n


def test_custom_seed_stream_is_followed() -> None:
    """A seed_stream passed to make_vec decides the next episode's seed."""
    venv = gym.make_vec(ENV_ID, num_envs=2, scenario="tiny-dp",
                        seed_stream=lambda base, copy, episode: base + 100 * copy + 7 * episode)
    venv.reset(seed=3)
    assert venv.unwrapped.engine.state.seed.tolist() == [3, 103]
    for _ in range(venv.unwrapped.network.periods):
        _, _, _, _, info = venv.step(np.zeros((2, venv.single_action_space.shape[0]), dtype=np.float32))
    assert info["final_info"]["episode_seed"].tolist() == [3, 103]
    assert venv.unwrapped.engine.state.seed.tolist() == [10, 110]


# ------------------------------------------------------------------- (d) sync
@pytest.mark.parametrize("preset", PRESETS)
def test_sync_mode_matches_the_native_vector_env(preset: str) -> None:
    """SyncVectorEnv over single envs and the native env agree on the same seeds and actions."""
    sync = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="sync", scenario=preset)
    native = gym.make_vec(ENV_ID, num_envs=2, scenario=preset)
    assert isinstance(sync, SyncVectorEnv)
    assert sync.single_action_space == native.single_action_space
    assert sync.single_observation_space == native.single_observation_space
    s_obs, _ = sync.reset(seed=11)
    n_obs, _ = native.reset(seed=11)
    assert np.array_equal(s_obs, n_obs)
    rng = np.random.default_rng(PRESETS.index(preset))
    for _ in range(min(5, native.unwrapped.network.periods - 1)):
        actions = rng.uniform(-1.0, 1.0, (2, native.single_action_space.shape[0])).astype(np.float32)
        s_obs, s_rew, s_term, _, _ = sync.step(actions)
        n_obs, n_rew, n_term, _, _ = native.step(actions)
        assert np.array_equal(s_obs, n_obs)
        assert np.array_equal(s_rew, n_rew)
        assert np.array_equal(s_term, n_term)
    sync.close()
    native.close()


# --------------------------------------------------------------- (e) bad input
@pytest.fixture
def started() -> AllocationVectorEnv:
    """A vector env of 3 on retail-small, reset on seed 0."""
    venv = gym.make_vec(ENV_ID, num_envs=3, scenario="retail-small")
    venv.reset(seed=0)
    return venv


@pytest.mark.parametrize("shape", [(3, -1), (3, 1), (2, 0), (3, 0, 1), (0,)])
def test_wrong_action_shape_is_rejected(started: AllocationVectorEnv, shape: tuple[int, ...]) -> None:
    """A wrong (N, n) shape raises ValueError naming the shape given and the one expected."""
    size = started.single_action_space.shape[0]
    bad_shape = tuple(size + d if j == 1 else d for j, d in enumerate(shape))
    with pytest.raises(ValueError) as err:
        started.step(np.zeros(bad_shape, dtype=np.float32))
    message = str(err.value)
    assert str(bad_shape) in message
    assert f"(3, {size})" in message
    # nothing happened: period 0 is still to be played
    _, _, _, _, info = started.step(np.zeros((3, size), dtype=np.float32))
    assert info["period"].tolist() == [0, 0, 0]


@pytest.mark.parametrize(("bad", "shown"), [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_non_finite_action_names_entry_and_copy(started: AllocationVectorEnv, bad: float, shown: str) -> None:
    """A NaN or inf entry raises ValueError naming the entry and the copy; no copy moves."""
    size = started.single_action_space.shape[0]
    actions = np.zeros((3, size), dtype=np.float32)
    actions[1, 3] = bad
    before = started.engine.state.copy()
    with pytest.raises(ValueError) as err:
        started.step(actions)
    message = str(err.value)
    assert "entry 3" in message
    assert "copy 1" in message
    assert shown in message
    for name, old, new in zip(before._fields, before, started.engine.state, strict=True):
        assert np.array_equal(old, new), f"{name} changed by a rejected step"
    _, _, _, _, info = started.step(np.zeros((3, size), dtype=np.float32))
    assert info["period"].tolist() == [0, 0, 0]


@pytest.mark.parametrize("threads", [True, 2, 1])
def test_threads_give_the_same_results_copy_by_copy(threads: bool | int) -> None:
    """Spans of the batch on threads equal the whole batch on one thread exactly, and they really step:
    every copy finishes its episode on the horizon's step (a threaded loop that lost its writes, as
    numba's prange over the state's NamedTuple did, would leave both equal and stuck)."""
    serial = gym.make_vec(ENV_ID, num_envs=7, scenario="omnichannel-transfers")  # 7: spans of 3 and 4
    threaded = gym.make_vec(ENV_ID, num_envs=7, scenario="omnichannel-transfers", threads=threads)
    pool = numba.config.NUMBA_NUM_THREADS
    engine = threaded.unwrapped.engine
    assert engine.threads == (pool if threads is True else threads)
    rng = np.random.default_rng(5)
    for venv in (serial, threaded):
        venv.reset(seed=70)
    periods = serial.unwrapped.network.periods
    for step in range(periods + 3):  # across one autoreset
        actions = rng.uniform(-1, 1, serial.action_space.shape).astype(np.float32)
        a, b = serial.step(actions), threaded.step(actions)
        for x, y in zip(a[:4], b[:4], strict=True):
            np.testing.assert_array_equal(x, y)
        assert b[2].all() == (step == periods - 1) and b[2].any() == (step == periods - 1)
        assert b[4]["period"].tolist() == [step % periods] * 7
    for mine, theirs in zip(serial.unwrapped.engine.state, threaded.unwrapped.engine.state, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert engine._entry in {overload.entry_point for overload in kernels.run_copies.overloads.values()}
    assert (engine._pool is not None) == (engine.threads > 1)  # the spans but the first went to workers


@pytest.mark.parametrize("threads", [0, -1, 10_000, 1.5, "2"])
def test_a_thread_count_out_of_range_is_one_clear_error(threads: object) -> None:
    with pytest.raises(ValueError, match=r"threads must be True, False or a whole number 1\.\.") as err:
        AllocationVectorEnv(2, "retail-small", threads=threads)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
