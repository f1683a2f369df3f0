"""``rollout``: one step of policy improvement over a tuned rule, by simulation from copies of the state.

What: at every decision the env's state (one value, ``AllocationEnv.get_state``) is rolled out
on the batched engine (``allocsim.envs.rollouts.Rollouts``: one call, K candidates x M sampled
futures x H periods). Stage one's candidates are the base rule's own decision, the base rule
with each numeric parameter scaled down and up by ``spread``, every other tuned rule's decision
(``others``) and shipping nothing. With ``shift`` > 0, stage two perturbs the best of them: each
location/SKU's shipment moved by +-``shift`` x that cell's forecast for one period (at least one
unit; an increase only from what the DC keeps), evaluated on the same futures. Every copy follows
the base rule (batched when it can be, ``allocsim.baselines.batch_rules``) after the first period,
for ``horizon - 1`` more periods or to the episode's end, and the candidate with the highest mean
return is played. This is Bertsekas' rollout algorithm; its rollouts from copied states with
common random numbers are the idea behind Deep Controlled Learning.

Why it is honest: the futures are not the episode's own. Each copy's demand and supplier lead
times from the decision's period on are those of ``samples`` other episodes (seeds at or above
``FUTURE_SEEDS``, far from every evaluation block, keyed by the policy's seed, the same for every
candidate: common random numbers), so the policy never sees the demand it will meet. Forecasts
stay the episode's: the rules see them anyway.

Cost: (candidates + perturbations) x samples copies step ``horizon`` periods per decision;
expect tens to hundreds of milliseconds per decision, not microseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from allocsim.baselines.batch_rules import batch_policy
from allocsim.baselines.common import one_observation
from allocsim.baselines.registry import Predictor, make_policy
from allocsim.baselines.tuned_params import load_tuned
from allocsim.envs.demand import EpisodeDemand
from allocsim.envs.rollouts import FUTURE_SEEDS as FUTURE_SEEDS
from allocsim.envs.rollouts import Rollouts

if TYPE_CHECKING:
    from allocsim.envs.allocation_env import AllocationEnv

FloatArray = NDArray[np.float64]


class RolloutParams(BaseModel):
    """How wide and how deep the rollouts look."""

    model_config = ConfigDict(extra="forbid")

    base: str = Field(default="base-stock", description="the rule rolled out (with its tuned parameters)")
    samples: int = Field(default=8, ge=1, le=256, description="sampled futures per candidate")
    horizon: int = Field(default=10, ge=1, le=10_000, description="periods simulated per rollout")
    spread: float = Field(default=0.25, gt=0.0, lt=1.0, description="relative step of the parameter variants")
    others: list[str] = Field(default_factory=lambda: ["priority", "proportional", "balanced", "min-max",
                                                       "myopic-lp"],
                              description="other rules whose decision (tuned) is a candidate too")
    shift: float = Field(default=0.5, ge=0.0, le=10.0, description="stage two: each location/SKU's "
                         "shipment of the best candidate moved by +- shift x its one-period forecast "
                         "(at least a unit); 0: no stage two")


def _variants(params: dict[str, Any], spread: float) -> Iterator[dict[str, Any]]:
    """The parameters as they are, then each numeric one scaled by ``1 - spread`` and ``1 + spread``."""
    yield dict(params)
    for key, value in params.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and value:
            for factor in (1.0 - spread, 1.0 + spread):
                yield {**params, key: type(value)(value * factor) if isinstance(value, float) else value}


class RolloutPolicy:
    """Try the tuned rules' decisions and variants of them on simulated futures from the current state,
    and play the one that earns most.

    The rollout improvement of ``base`` (see the module docstring), as an SB3-style predictor."""

    def __init__(self, env: AllocationEnv, seed: int | None = None, **params: Any) -> None:
        self.env = env.unwrapped
        if self.env.scenario.timing.mode != "aggregated":
            raise ValueError("the rollout policy simulates on the batched engine, which runs the "
                             "aggregated timing mode only (this run is in events mode)")
        self.params = RolloutParams(**params)
        p = self.params
        scenario = self.env.scenario
        tuned = load_tuned(scenario, p.base) or {}
        variants = list({json.dumps(v, sort_keys=True): v for v in _variants(tuned, p.spread)}.values())
        self.candidates: list[Predictor] = [make_policy(p.base, self.env, **v) for v in variants]
        self.candidates += [make_policy(name, self.env, **(load_tuned(scenario, name) or {}))
                            for name in p.others]
        self.candidates.append(make_policy("hold", self.env))
        self.rollouts = self._rollouts(len(self.candidates), tuned, seed or 0)
        net = self.env.network
        self.perturbed = self._rollouts(1 + 2 * net.n_locations * net.n_skus, tuned, seed or 0) \
            if p.shift > 0 else None
        self.last_means: FloatArray = np.zeros(len(self.candidates))

    def _rollouts(self, candidates: int, tuned: dict[str, Any], seed: int) -> Rollouts:
        p = self.params
        return Rollouts(self.env, candidates, p.samples, p.horizon,
                        base=lambda engine: batch_policy(p.base, engine, tuned), rollout_seed=seed)

    @property
    def futures(self) -> list[EpisodeDemand]:
        """The sampled futures (the same for every candidate and both stages)."""
        return self.rollouts.futures

    def first_actions(self, observation: NDArray[np.float32]) -> FloatArray:
        """Stage one's candidate actions (K, n): each candidate's decision now."""
        return np.stack([np.asarray(c.predict(observation, deterministic=True)[0], dtype=np.float64)
                         for c in self.candidates])

    def evaluate(self, observation: NDArray[np.float32]) -> FloatArray:
        """Mean rollout return of each stage-one candidate from the env's current state."""
        return self.rollouts.run(self.env.get_state(), self.first_actions(observation)).returns.mean(axis=1)

    def perturbations(self, action: FloatArray) -> FloatArray:
        """``action`` then, per location and SKU, its shipment moved down and up (rows of shares actions).

        A move is ``max(1, round(shift x forecast))`` units; down stops at 0, up at what the DC keeps
        (a move that cannot happen leaves the action as it is). Other blocks stay ``action``'s.
        """
        env, layout = self.env, self.env.action_layout
        state = env.state
        alloc = env.preview(action, guardrails=False).allocation
        keep = state.dc_available - alloc.sum(axis=0)
        step = np.maximum(np.rint(self.params.shift * state.forecast[0]), 1).astype(np.int64)
        rows = [action]
        for loc, sku in np.ndindex(*alloc.shape):
            for sign in (-1, 1):
                moved = alloc.copy()
                room = alloc[loc, sku] if sign < 0 else keep[sku]
                moved[loc, sku] += sign * min(step[loc, sku], room)
                row = action.copy()
                row[layout.allocation] = layout.encode(moved, state.dc_available)[layout.allocation]
                rows.append(row)
        return np.stack(rows)

    def decide(self, observation: NDArray[np.float32]) -> FloatArray:
        """The action played: the best stage-one candidate, then (with ``shift``) its best perturbation."""
        state = self.env.get_state()
        first = self.first_actions(observation)
        self.last_means = self.rollouts.run(state, first).returns.mean(axis=1)
        best = first[int(np.argmax(self.last_means))]  # ties: the base rule's own decision comes first
        if self.perturbed is None:
            return best
        rows = self.perturbations(best)
        means = self.perturbed.run(state, rows).returns.mean(axis=1)
        return rows[int(np.argmax(means))]  # ties: the unperturbed best comes first

    def predict(
        self,
        observation: NDArray[np.float32],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[FloatArray, None]:
        obs = one_observation(observation, "the rollout policy")
        action = self.decide(obs.reshape(-1))
        return (action[None] if obs.ndim > 1 else action), None
