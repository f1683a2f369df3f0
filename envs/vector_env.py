"""``AllocationVectorEnv``: N copies of the allocation network stepped by one compiled call.

This is the ``vector_entry_point`` of ``allocsim/Allocation-v0``, so
``gym.make_vec("allocsim/Allocation-v0", num_envs=N, scenario=...)`` returns it.
Observation, action, reward and KPIs are those of ``AllocationEnv``: copy ``i`` of the
batch and the single env on the same seed and actions agree step by step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space
from gymnasium.vector.vector_env import AutoresetMode
from numpy.typing import NDArray

from allocsim.envs.action_modes import make_action_mode
from allocsim.envs.demand import DemandProfile
from allocsim.envs.engine.core import BatchEngine
from allocsim.envs.engine.kpis import KpiRows, episode_kpis
from allocsim.envs.engine.state import EngineState
from allocsim.envs.network import Network
from allocsim.envs.reward import COMPONENTS, WeightedReward
from allocsim.envs.scenario import Scenario, load_scenario
from allocsim.envs.state import AllocationState

#: ``seed_stream(base, copy, episode)``: the demand seed of a copy's ``episode``-th episode since reset.
SeedStream = Callable[[int, int, int], int]


def consecutive_seeds(num_envs: int) -> SeedStream:
    """The default stream: copy ``i``'s ``j``-th episode after ``reset(seed=k)`` plays seed ``k + i + j * N``.

    So the first N episodes are seeds ``k .. k + N - 1``, the next N the following ones,
    and two policies run from the same ``k`` face the same customers copy by copy.
    """
    return lambda base, copy, episode: base + copy + episode * num_envs


class VectorEnvState(NamedTuple):
    """Everything the vector env's future depends on, as arrays: the batch's episodes in flight, their
    observations, and where each copy is in its seed stream (``get_state`` / ``set_state``)."""

    engine: EngineState
    obs: NDArray[np.float32]  # (N, obs size)
    episodes: NDArray[np.int64]  # (N,) episodes each copy finished since reset
    base_seed: NDArray[np.int64]  # () the seed of the last reset


class LastEpisodeKpis(Sequence[dict[str, Any] | None]):
    """``[i]``: the full KPI dict of copy ``i``'s last finished episode (None before one), built
    when asked from the accumulators kept at its end."""

    def __init__(self, net: Network, finished: list[KpiRows | None]) -> None:
        self._net, self._finished = net, finished

    def __len__(self) -> int:
        return len(self._finished)

    def __getitem__(self, i: int) -> dict[str, Any] | None:  # type: ignore[override]
        rows = self._finished[i]
        return None if rows is None else episode_kpis(self._net, rows, 0)


class CopyView:
    """Copy ``b`` of a vector env through the single env's read-only attributes.

    Rules written for ``AllocationEnv`` read ``env.state`` (and the network, profile and
    layouts); a view lets them decide for one copy of the batch.
    """

    def __init__(self, venv: AllocationVectorEnv, b: int) -> None:
        if not 0 <= b < venv.num_envs:
            raise ValueError(f"copy {b} out of range 0..{venv.num_envs - 1}")
        self.b = b
        self.engine = venv.engine
        self.scenario, self.network = venv.scenario, venv.network
        self.profile = venv.engine.profile
        self.action_layout, self.observation_layout = venv.engine.actions, venv.engine.observation

    @property
    def unwrapped(self) -> CopyView:
        return self

    @property
    def state(self) -> AllocationState:
        """The structured state of copy ``b`` now (copies, safe to keep)."""
        return AllocationState.of(self.engine, self.b)


#: Why the native vector env refuses events mode, and what to use instead.
EVENTS_REFUSED = ("the native vector env runs timing mode 'aggregated' only; for 'events' use "
                  "gym.make_vec(..., vectorization_mode=\"sync\") (Gymnasium's SyncVectorEnv of single "
                  "envs), or allocsim train --vec subproc")


class AllocationVectorEnv(VectorEnv[NDArray[np.float32], NDArray[np.float32], NDArray[Any]]):
    """``num_envs`` copies of ``AllocationEnv``'s world in one batch (see ``AllocationEnv`` for the MDP).

    ## Autoreset
    ``metadata["autoreset_mode"]`` is ``SAME_STEP``: when copy ``i`` finishes, ``step``
    returns the first observation of its next episode, with the last observation in
    ``info["final_obs"][i]`` and the finished episode's KPIs (scalars) and seed in
    ``info["final_info"]`` (``_final_obs`` / ``_final_info`` mark which copies).
    Episodes all last the scenario's horizon, so copies reset together finish together.

    ## Seeding (common random numbers)
    ``reset(seed=k)`` starts copy ``i`` on seed ``k + i``; its ``j``-th later episode
    plays ``seed_stream(k, i, j)``, by default ``k + i + j * num_envs``. Without a
    seed, ``k`` is drawn from the env's own generator.

    ## Action modes
    ``action_mode`` and ``residual_around`` as for ``AllocationEnv``; ``targets`` and
    ``residual`` are decoded for every copy at once in numpy (``DecodeInputs``), with the
    single env's arithmetic, before the compiled step.

    ## Timing
    Aggregated mode only (``timing="events"`` or a scenario in events mode is refused with
    ``EVENTS_REFUSED``: events run one SimPy clock per episode, in the single env).

    ## Threads
    ``threads=n`` cuts the batch into ``n`` contiguous spans of copies, stepped at once on ``n``
    threads by the same compiled kernel, which releases the GIL (``True``: one per CPU,
    ``NUMBA_NUM_THREADS``; the default ``False``: the calling thread alone). Results are
    identical, copy by copy, for any count. It does not hurt small batches (16 copies of
    retail-medium: ~1.5x less CPU time on the step's busier thread; 256 copies: ~1.9x;
    ``python bench/bench_engine.py --only threads``), but it is off by default because it takes
    more cores, which parallel workers (``--workers``, the test runner) may be using already.

    ## Info
    Per step a dict of arrays: ``period`` (N,) and ``reward_components`` (name -> (N,));
    at episode ends the ``final_*`` keys.
    The full KPI dict of a finished episode (with breakdowns) is kept in
    ``last_episode_kpis[i]``.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int = 1,
        scenario: str | Path | Scenario = "retail-small",
        reward_weights: dict[str, float] | None = None,
        seed_stream: SeedStream | None = None,
        threads: bool | int = False,
        render_mode: str | None = None,
        action_mode: str = "shares",
        residual_around: Mapping[str, float] | None = None,
        timing: str | None = None,
    ) -> None:
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a whole number >= 1, got {num_envs!r}")
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r}: the vector env does not render")
        self.scenario = load_scenario(scenario, timing)
        if self.scenario.timing.mode != "aggregated":
            raise ValueError(EVENTS_REFUSED)
        self.network = Network.compile(self.scenario)
        objective = self.scenario.objective
        rewards = WeightedReward(reward_weights or objective.weights, objective.scale)
        self.engine = BatchEngine(self.network, DemandProfile.build(self.network), rewards.weights, 1.0,
                                  batch=num_envs, keep_log=False, threads=threads)
        self.num_envs = num_envs
        self.action_mode = make_action_mode(action_mode, self.network, residual_around)
        self.single_action_space = spaces.Box(-1.0, 1.0, shape=(self.action_mode.size,), dtype=np.float32)
        self.single_observation_space = self.engine.observation.space()
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.render_mode = None
        self.seed_stream = seed_stream or consecutive_seeds(num_envs)
        self.episodes = np.zeros(num_envs, dtype=np.int64)
        self._finished: list[KpiRows | None] = [None] * num_envs
        self.last_episode_kpis = LastEpisodeKpis(self.network, self._finished)
        self._base_seed = 0
        self._started = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Start every copy afresh: copy ``i`` on seed ``seed + i`` (see the class docstring)."""
        self._np_random, np_seed = seeding.np_random(seed)
        self._np_random_seed = np_seed
        self._base_seed = int(seed) if seed is not None else int(self._np_random.integers(2**62))
        self.episodes[:] = 0
        copies = range(self.num_envs)
        self.engine.reset_copies(copies, [self.seed_stream(self._base_seed, i, 0) for i in copies])
        self._started = True
        info = {"episode_seed": self.engine.state.seed.copy(), "period": self.engine.state.period.copy()}
        return self.engine.obs.copy(), info

    def step(self, actions: NDArray[np.float32]) -> tuple[
        NDArray[np.float32], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]
    ]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        engine = self.engine
        period = engine.state.period.copy()
        mode = self.action_mode
        frac = mode.fractions(engine, mode.validate_batch(actions, self.num_envs))
        rewards = engine.step_fractions(frac).copy()
        terminated = engine.state.done.copy()
        truncated = np.zeros(self.num_envs, dtype=np.bool_)
        info: dict[str, Any] = {"period": period, "reward_components": self.reward_components()}
        finished = np.flatnonzero(terminated)
        if finished.size:
            info.update(self._finish(finished))
        return engine.obs.copy(), rewards, terminated, truncated, info

    def _finish(self, finished: NDArray[np.intp]) -> dict[str, Any]:
        """The final_* infos of the copies that finished, and their next episodes started."""
        engine, n = self.engine, self.num_envs
        final_obs = np.full(n, None, dtype=object)
        mask = np.zeros(n, dtype=np.bool_)
        mask[finished] = True
        # the finished copies' accumulators in one take; each copy keeps its row (a view)
        taken = KpiRows(*(getattr(engine.state, name)[finished] for name in KpiRows._fields))
        headline = []
        for j, i in enumerate(finished.tolist()):
            final_obs[i] = engine.obs[i].copy()
            self._finished[i] = KpiRows(*(field[j : j + 1] for field in taken))
            headline.append(episode_kpis(self.network, taken, j, breakdowns=False))
        kpis: dict[str, Any] = {}
        for k in headline[0]:
            kpis[k] = np.zeros(n)
            kpis[k][finished] = [row[k] for row in headline]
        kpis.update({f"_{k}": mask.copy() for k in headline[0]})
        final_info = {"episode_kpis": kpis, "_episode_kpis": mask.copy(),
                      "episode_seed": engine.state.seed.copy(), "_episode_seed": mask.copy()}
        self.episodes[finished] += 1
        seeds = [self.seed_stream(self._base_seed, int(i), int(self.episodes[i])) for i in finished]
        engine.reset_copies([int(i) for i in finished], seeds)
        return {"final_obs": final_obs, "_final_obs": mask, "final_info": final_info,
                "_final_info": mask.copy()}

    def get_state(self) -> VectorEnvState:
        """A deep copy of the batch's state (call after ``reset``); ``set_state`` of it continues
        exactly here, seeds of later episodes included."""
        if not self._started:
            raise RuntimeError("call reset() before get_state()")
        return VectorEnvState(self.engine.state.copy(), self.engine.obs.copy(), self.episodes.copy(),
                              np.array(self._base_seed, dtype=np.int64))

    def set_state(self, state: VectorEnvState) -> NDArray[np.float32]:
        """Restore a state from ``get_state()`` (same scenario and ``num_envs``); the observations.

        ValueError when it does not fit. The last finished episodes' KPIs are not part of the state.
        """
        if state.obs.shape != self.engine.obs.shape or state.episodes.shape != self.episodes.shape:
            raise ValueError(f"a vector env state of shape {state.obs.shape} does not fit this env "
                             f"({self.engine.obs.shape})")
        self.engine.state.restore(state.engine)
        self.engine.obs[...] = state.obs
        self.episodes[...] = state.episodes
        self._base_seed = int(state.base_seed)
        self._started = True
        return self.engine.obs.copy()

    def reward_components(self) -> dict[str, NDArray[np.float64]]:
        """Each copy's reward components of its last closed period."""
        record = self.engine.state.step_record
        return {name: record[:, i].copy() for i, name in enumerate(COMPONENTS)}

    def kpis(self, copy: int) -> dict[str, Any]:
        """Copy ``copy``'s KPIs of its current episode so far."""
        return self.engine.kpis(copy)

    def view(self, b: int) -> CopyView:
        """Copy ``b`` as a read-only single env (``state``, ``network``, layouts) for rule sets."""
        return CopyView(self, b)

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release: no processes, no files."""
