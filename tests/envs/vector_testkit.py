"""Lockstep helpers for the vector-env tests: play a vector env's copies beside single envs and compare.

Every comparison is exact (two paths through the same kernels): observation, reward,
``terminated``, the ``period`` info, the state row by row and, at each episode end, the KPIs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from envs_testkit import assert_same, check_copy
from numpy.typing import NDArray

from allocsim.envs.engine.state import EngineState
from allocsim.envs.network import BIG
from allocsim.envs.vector_env import AllocationVectorEnv

Obs = NDArray[np.float32]
Env = gym.Env[Any, Any]


def assert_rows_equal(copy: EngineState, single: EngineState, where: str) -> None:
    """A vector copy's state and a single env's state equal array by array (the decision log aside:
    the vector env keeps none)."""
    for name, x, y in zip(EngineState._fields, copy, single, strict=True):
        if not name.startswith("log_"):
            assert np.array_equal(x, y), f"{where}: state.{name} differs"


def scalar_kpis(kpis: dict[str, Any]) -> dict[str, Any]:
    """The KPIs without the by_channel / by_location breakdowns (what final_info carries)."""
    return {k: v for k, v in kpis.items() if not isinstance(v, dict)}


def compare_step(
    i: int,
    single: tuple[Obs, float, bool, bool, dict[str, Any]],
    venv: AllocationVectorEnv,
    vector: tuple[Obs, NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]],
    single_env: Env,
) -> None:
    """Copy ``i`` of one vector step against one single-env step on the same action."""
    obs, reward, terminated, truncated, info = single
    v_obs, v_rew, v_term, v_trunc, v_info = vector
    period = info["period"]
    where = f"copy {i} period {period}"
    assert v_info["period"][i] == period, f"{where}: vector period {v_info['period'][i]}"
    assert v_rew[i] == reward, f"{where}: reward {v_rew[i]!r} != single {reward!r}"
    assert bool(v_term[i]) == terminated, f"{where}: terminated {v_term[i]} != {terminated}"
    assert bool(v_trunc[i]) == truncated
    if not terminated:
        assert "_final_obs" not in v_info or not v_info["_final_obs"][i], f"{where}: unexpected final_obs"
        differs = np.flatnonzero(v_obs[i] != obs)
        assert np.array_equal(v_obs[i], obs), f"{where}: observation differs at {differs}"
        assert_same(venv.kpis(i), single_env.unwrapped.kpis(), f"{where} kpis")
        assert_rows_equal(venv.engine.state.row(i), single_env.unwrapped.get_state(), where)
        components = {name: float(v[i]) for name, v in venv.reward_components().items()}
        assert_same(components, info["reward_components"], f"{where} reward_components")
        return
    assert v_info["_final_obs"][i] and v_info["_final_info"][i], f"{where}: final step not marked"
    final_obs = v_info["final_obs"][i]
    assert np.array_equal(final_obs, obs), f"{where}: final_obs differs at {np.flatnonzero(final_obs != obs)}"
    kpis = single_env.unwrapped.kpis()
    assert_same(venv.last_episode_kpis[i], kpis, f"{where} last_episode_kpis")
    assert_same(info["episode_kpis"], kpis, f"{where} single episode_kpis")
    episode_kpis = v_info["final_info"]["episode_kpis"]
    assert_same({k: float(episode_kpis[k][i]) for k in scalar_kpis(kpis)}, scalar_kpis(kpis),
                f"{where} final_info.episode_kpis")
    assert v_info["final_info"]["episode_seed"][i] == single_env.unwrapped.episode_seed


def check_copies(venv: AllocationVectorEnv) -> None:
    """``check_copy`` on every copy; capacity only binds when the scenario enforces it."""
    net = venv.network
    if not net.scenario.guardrails.enforce_capacity:
        net = dataclasses.replace(net, capacity=np.full_like(net.capacity, BIG))
    for b in range(venv.num_envs):
        check_copy(venv.engine.state, b, net)


def lockstep(
    venv: AllocationVectorEnv,
    singles: list[Env],
    base_seed: int,
    act: Callable[[int, int, Env, Obs], NDArray[np.float32]],
    check: bool = False,
) -> None:
    """One episode of every copy of ``venv`` beside ``singles[i]`` on seed ``base_seed + i``."""
    v_obs, v_info = venv.reset(seed=base_seed)
    observations = []
    for i, env in enumerate(singles):
        obs, _ = env.reset(seed=base_seed + i)
        assert np.array_equal(v_obs[i], obs), f"copy {i}: first observation differs"
        assert v_info["episode_seed"][i] == base_seed + i
        observations.append(obs)
    if check:
        check_copies(venv)
    periods = venv.network.periods
    for t in range(periods):
        actions = np.stack([act(i, t, env, observations[i]) for i, env in enumerate(singles)])
        results = [env.step(a) for env, a in zip(singles, actions, strict=True)]
        vector = venv.step(actions)
        for i, (result, env) in enumerate(zip(results, singles, strict=True)):
            compare_step(i, result, venv, vector, env)
            assert result[2] == (t == periods - 1)
            observations[i] = result[0]
        if check:
            check_copies(venv)

