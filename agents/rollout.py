"""``rollout``: one step of policy improvement over a tuned rule, by simulation from copies of the state.

What: at every decision the env's state (one value, ``AllocationEnv.get_state``) is copied
into a native vector env, once per candidate decision and sampled future. The candidates are
the base rule's own decision, the base rule with each numeric parameter scaled down and up
by ``spread``, and shipping nothing this period. Every copy then follows the base rule for
``horizon - 1`` more periods (or to the episode's end), and the candidate with the highest
mean reward is played. This is Bertsekas' rollout algorithm; its rollouts from copied
states with common random numbers are the idea behind Deep Controlled Learning.

Why it is honest: the futures are not the episode's own. Each copy's demand and supplier
lead times from the decision's period on are replaced by those of ``samples`` other episodes
(seeds far from every evaluation block, the same for every candidate: common random
numbers), so the policy never sees the demand it will meet. Forecasts stay the episode's:
the rules see them anyway.

Cost: candidates x samples copies step ``horizon`` periods per decision, with the base rule
deciding for each copy in Python; expect tens of milliseconds per decision, not microseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from allocsim.baselines.registry import Predictor, make_policy
from allocsim.baselines.tuned_params import load_tuned
from allocsim.envs.demand import sample_episode
from allocsim.envs.engine.state import LOG_FIELDS, EngineState
from allocsim.envs.vector_env import AllocationVectorEnv, VectorEnvState

if TYPE_CHECKING:
    from allocsim.envs.allocation_env import AllocationEnv

#: Futures are drawn from seeds here and above: far from the train, validation and test blocks.
FUTURE_SEEDS = 7_000_000_000


class RolloutParams(BaseModel):
    """How wide and how deep the rollouts look."""

    model_config = ConfigDict(extra="forbid")

    base: str = Field(default="base-stock", description="the rule rolled out (with its tuned parameters)")
    samples: int = Field(default=8, ge=1, le=256, description="sampled futures per candidate")
    horizon: int = Field(default=10, ge=1, le=10_000, description="periods simulated per rollout")
    spread: float = Field(default=0.25, gt=0.0, lt=1.0, description="relative step of the parameter variants")
    others: list[str] = Field(default_factory=lambda: ["priority", "proportional", "balanced", "min-max"],
                              description="other rules whose decision (tuned) is a candidate too")


def _variants(params: dict[str, Any], spread: float) -> Iterator[dict[str, Any]]:
    """The parameters as they are, then each numeric one scaled by ``1 - spread`` and ``1 + spread``."""
    yield dict(params)
    for key, value in params.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and value:
            for factor in (1.0 - spread, 1.0 + spread):
                yield {**params, key: type(value)(value * factor) if isinstance(value, float) else value}


class RolloutPolicy:
    """The rollout improvement of ``base`` (see the module docstring), as an SB3-style predictor."""

    def __init__(self, env: AllocationEnv, seed: int | None = None, **params: Any) -> None:
        self.env = env.unwrapped
        if self.env.scenario.timing.mode != "aggregated":
            raise ValueError("the rollout policy simulates on the native vector env, which runs the "
                             "aggregated timing mode only (this run is in events mode)")
        self.params = RolloutParams(**params)
        p = self.params
        tuned = load_tuned(self.env.scenario, p.base) or {}
        variants = list({json.dumps(v, sort_keys=True): v for v in _variants(tuned, p.spread)}.values())
        self.candidates: list[Predictor] = [make_policy(p.base, self.env, **v) for v in variants]
        self.candidates += [make_policy(name, self.env, **(load_tuned(self.env.scenario, name) or {}))
                            for name in p.others]
        self.candidates.append(make_policy("hold", self.env))
        n = len(self.candidates) * p.samples
        self.venv = AllocationVectorEnv(n, self.env.scenario)
        self.rules = [make_policy(p.base, self.venv.view(b), **tuned) for b in range(n)]
        first = FUTURE_SEEDS + 1_000 * (seed or 0)
        net, profile = self.env.network, self.env.profile
        self.futures = [sample_episode(profile, net, first + j) for j in range(p.samples)]
        self.last_means: NDArray[np.float64] = np.zeros(len(self.candidates))

    def _start(self) -> None:
        """Every copy at the env's state, with its sampled future from this period on."""
        single = self.env.get_state()
        n, t = self.venv.num_envs, int(single.period[0])
        tiled = EngineState(*(np.repeat(a[:, :0] if name in LOG_FIELDS else a, n, axis=0)
                              for name, a in zip(EngineState._fields, single, strict=True)))
        for b in range(n):
            future = self.futures[b % self.params.samples]
            tiled.demand[b, t:] = future.demand[t:]
            tiled.supplier_lead[b, t:] = future.supplier_lead[t:]
        obs = np.repeat(self.env.engine.obs[:1], n, axis=0)
        self.venv.set_state(VectorEnvState(tiled, obs, np.zeros(n, dtype=np.int64), np.array(0)))

    def evaluate(self, observation: NDArray[np.float32]) -> NDArray[np.float64]:
        """Mean rollout reward of each candidate from the env's current state."""
        p = self.params
        first = np.stack([np.asarray(c.predict(observation, deterministic=True)[0], dtype=np.float32)
                          for c in self.candidates])
        actions = np.repeat(first, p.samples, axis=0)
        self._start()
        total = np.zeros(self.venv.num_envs)
        running = np.ones(self.venv.num_envs, dtype=np.bool_)
        for h in range(p.horizon):
            obs, reward, done, _, _ = self.venv.step(actions)
            total += np.where(running, reward, 0.0)
            running &= ~done
            if not running.any() or h == p.horizon - 1:
                break
            actions = np.stack([np.asarray(rule.predict(obs[b], deterministic=True)[0], dtype=np.float32)
                                for b, rule in enumerate(self.rules)])
        return total.reshape(len(self.candidates), p.samples).mean(axis=1)

    def predict(
        self,
        observation: NDArray[np.float32],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.float32], None]:
        obs = np.asarray(observation)
        if obs.ndim > 1 and obs.shape[0] != 1:
            raise ValueError(f"the rollout policy drives one env; got a batch of {obs.shape[0]} observations")
        self.last_means = self.evaluate(obs.reshape(-1))
        best = int(np.argmax(self.last_means))  # ties: the base rule's own decision comes first
        action = np.asarray(self.candidates[best].predict(obs.reshape(-1), deterministic=True)[0],
                            dtype=np.float32)
        return (action[None] if obs.ndim > 1 else action), None
