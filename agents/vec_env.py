"""An SB3 ``VecEnv`` over the native ``AllocationVectorEnv`` (the pattern of EnvPool's SB3 adapter).

One compiled call steps every copy; this adapter only turns Gymnasium's vector
conventions into SB3's: a list of info dicts that are empty except where an episode
ended, and there they carry ``terminal_observation``, ``TimeLimit.truncated``, the
Monitor-style ``episode`` record (return, length, wall time), the finished
episode's scalar ``episode_kpis`` and its summed ``episode_reward_components``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

from allocsim.envs.reward import COMPONENTS
from allocsim.envs.vector_env import AllocationVectorEnv, VectorEnvState


class Sb3VecEnvState(NamedTuple):
    """The adapter's state: the vector env's, and each copy's episode return, length and summed
    reward components so far (what the ``episode`` records of unfinished episodes will carry)."""

    venv: VectorEnvState
    returns: NDArray[np.float64]
    lengths: NDArray[np.int64]
    components: NDArray[np.float64]


class AllocationSb3VecEnv(VecEnv):
    """``venv``'s copies as an SB3 vector env (``num_envs`` = the batch size)."""

    def __init__(self, venv: AllocationVectorEnv) -> None:
        self.venv = venv  # before the base class asks for render_mode through get_attr
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: NDArray[np.float32] | None = None
        self._returns = np.zeros(self.num_envs)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)
        self._components = np.zeros((self.num_envs, len(COMPONENTS)))
        self._started = time.perf_counter()

    def reset(self) -> NDArray[np.float32]:
        seed = self._seeds[0]
        obs, _ = self.venv.reset(seed=seed)
        self._reset_seeds()
        self._returns[:] = 0.0
        self._lengths[:] = 0
        self._components[:] = 0.0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.float32)

    def step_wait(self) -> VecEnvStepReturn:
        assert self._actions is not None, "step_async first"
        obs, rewards, terminated, truncated, info = self.venv.step(self._actions)
        self._returns += rewards
        self._lengths += 1
        self._components += np.stack([info["reward_components"][k] for k in COMPONENTS], axis=1)
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            infos[i] = {
                "terminal_observation": info["final_obs"][i],
                "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                "episode": {"r": float(self._returns[i]), "l": int(self._lengths[i]),
                            "t": round(time.perf_counter() - self._started, 6)},
                "episode_kpis": {k: v[i].item() for k, v in info["final_info"]["episode_kpis"].items()
                                 if not k.startswith("_")},
                "episode_reward_components": dict(zip(COMPONENTS, self._components[i].tolist(), strict=True)),
            }
            self._returns[i], self._lengths[i], self._components[i] = 0.0, 0, 0.0
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def get_state(self) -> Sb3VecEnvState:
        """A deep copy of everything the next steps depend on (for an exact resume of training)."""
        return Sb3VecEnvState(self.venv.get_state(), self._returns.copy(), self._lengths.copy(),
                              self._components.copy())

    def set_state(self, state: Sb3VecEnvState) -> NDArray[np.float32]:
        """Restore a state from ``get_state()``; the copies' current observations."""
        obs = self.venv.set_state(state.venv)
        self._returns[...], self._lengths[...] = state.returns, state.lengths
        self._components[...] = state.components
        return obs

    # The copies are not separate objects: attribute access goes to the vector env itself.
    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self.venv, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise AttributeError(f"the {self.num_envs} copies share one engine; cannot set {attr_name!r} "
                             "per copy")

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        method = getattr(self.venv, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def _indices(self, indices: VecEnvIndices) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        return [indices] if isinstance(indices, int) else list(indices)
