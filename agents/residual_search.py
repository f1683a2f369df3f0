"""Residual start: the best constant ``residual`` action, found by coordinate search, as PPO's start.

Tuned base-stock uses one cover and one safety factor for every location and SKU; a constant
``residual`` action adjusts them per location and SKU. ``search_constant_residual`` climbs one
coordinate at a time with common random numbers: every candidate plays the same training
episodes, and a move is kept only when its paired gain over the current action has a 95 %
confidence interval above zero and (``keep_fill``) its mean fill rate is no lower than the
rule's on those episodes. ``start_from`` makes the actor's mean output that action, so
PPO starts from the searched policy (the ``residual_start`` entry of a hyperparameter file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field
from stable_baselines3.common.policies import ActorCriticPolicy

FloatArray = NDArray[np.float64]
Z95 = 1.96


class ResidualStart(BaseModel):
    """Hyperparameters of the residual start (the ``residual_start`` entry of a hyperparameter file)."""

    model_config = ConfigDict(extra="forbid")

    episodes: int = Field(default=200, ge=2, le=10_000, description="training episodes every candidate plays")
    rounds: int = Field(default=4, ge=1, le=100, description="passes over the coordinates")
    step: float = Field(default=0.5, gt=0, le=1.0, description="first move per coordinate (action units); "
                        "halved after a pass that moves nothing")
    keep_fill: bool = Field(default=True, description="refuse moves whose mean fill rate on the search "
                            "episodes falls below the rule's (profit is not bought with service)")


@dataclass(frozen=True)
class SearchResult:
    """The searched action and its paired gain over the zero action (the rule) on the search episodes."""

    action: FloatArray
    gain: float
    gain_ci95: float
    fill_rate: float  # mean fill rate % of the searched action on the search episodes
    rule_fill_rate: float  # the same for the zero action
    evaluations: int

    def to_dict(self) -> dict[str, Any]:
        return {"action": [round(float(a), 6) for a in self.action], "gain": round(self.gain, 4),
                "gain_ci95": round(self.gain_ci95, 4), "fill_rate": round(self.fill_rate, 4),
                "rule_fill_rate": round(self.rule_fill_rate, 4), "evaluations": self.evaluations}


@dataclass(frozen=True)
class Outcome:
    """Per copy, one episode's summed reward and fill rate (%)."""

    returns: FloatArray
    fill_rate: FloatArray


def play(env: Any, action: FloatArray) -> Outcome:
    """Each copy's episode of ``env`` (``search_env``) playing ``action`` every period.

    Every call restarts copy ``i`` on seed ``i`` of the search's seeds, so every candidate plays
    the same episodes: the common random numbers of the search.
    """
    env.reset(seed=0)
    actions = np.repeat(np.asarray(action, dtype=np.float32)[None, :], env.num_envs, axis=0)
    total = np.zeros(env.num_envs)
    fill = np.full(env.num_envs, np.nan)
    finished = np.zeros(env.num_envs, dtype=bool)
    while not finished.all():
        _, reward, terminated, truncated, info = env.step(actions)
        total += np.where(finished, 0.0, reward)
        ended = (terminated | truncated) & ~finished
        if ended.any():
            fill[ended] = np.asarray(info["final_info"]["episode_kpis"]["fill_rate"], dtype=np.float64)[ended]
        finished |= ended
    return Outcome(total, fill)


def search_env(scenario: Any, seeds: Sequence[int], residual_around: dict[str, float] | None) -> Any:
    """A native vector env of ``residual`` copies, copy ``i`` always on ``seeds[i]``."""
    from allocsim.envs.vector_env import AllocationVectorEnv  # the simulator only when searching

    chosen = [int(s) for s in seeds]
    return AllocationVectorEnv(len(chosen), scenario, seed_stream=lambda _base, i, _j: chosen[i],
                               action_mode="residual", residual_around=residual_around)


def paired_gain(new: FloatArray, old: FloatArray) -> tuple[float, float]:
    """Mean of ``new - old`` and the half-width of its 95 % confidence interval."""
    diff = new - old
    return float(diff.mean()), float(Z95 * diff.std(ddof=1) / np.sqrt(len(diff)))


def search_constant_residual(env: Any, settings: ResidualStart) -> SearchResult:
    """Coordinate ascent over the constant action in [-1, 1]^n from zero (the rule).

    Each pass tries +step then -step on every coordinate and keeps the first move whose paired
    gain is significantly positive (and, with ``keep_fill``, whose mean fill rate is at least the
    rule's); a pass without a move halves the step.
    """
    size = int(env.single_action_space.shape[0])
    action = np.zeros(size)
    rule = current = play(env, action)
    floor = float(rule.fill_rate.mean()) if settings.keep_fill else -np.inf
    step, evaluations = settings.step, 1
    for _ in range(settings.rounds):
        moved = False
        for i in range(size):
            for sign in (1.0, -1.0):
                candidate = action.copy()
                candidate[i] = np.clip(candidate[i] + sign * step, -1.0, 1.0)
                if candidate[i] == action[i]:
                    continue
                outcome = play(env, candidate)
                evaluations += 1
                mean, ci = paired_gain(outcome.returns, current.returns)
                if mean - ci > 0 and outcome.fill_rate.mean() >= floor:
                    action, current, moved = candidate, outcome, True
                    break
        if not moved:
            step /= 2
    gain, ci = paired_gain(current.returns, rule.returns)
    return SearchResult(action, gain, ci, float(current.fill_rate.mean()), float(rule.fill_rate.mean()),
                        evaluations)


def start_from(policy: Any, action: Sequence[float]) -> None:
    """Make ``policy``'s mean action ``action`` in every state: zero output weights, bias = action.

    A shared-locations network (``allocsim.agents.shared_net``) has no output of its own per entry:
    its heads' output layers are zeroed, which plays the zero action only (in ``residual`` mode,
    tuned base-stock). ValueError when the policy is not a Gaussian actor-critic (PPO/A2C with an
    MLP policy), or is a shared network asked for another action.
    """
    output_layers = getattr(getattr(policy, "actor", None), "output_layers", None)
    if isinstance(policy, ActorCriticPolicy) and callable(output_layers):
        if np.any(np.asarray(action, dtype=np.float64) != 0):
            raise ValueError("a shared-locations network starts from the zero action only (in residual mode "
                             "tuned base-stock): leave out residual_start, and train in residual mode")
        with torch.no_grad():
            for layer in output_layers():
                layer.weight.zero_()
                layer.bias.zero_()
        return
    if not isinstance(policy, ActorCriticPolicy) or not isinstance(getattr(policy, "action_net", None),
                                                                    torch.nn.Linear):
        raise ValueError("residual_start needs a Gaussian actor-critic policy (ppo or a2c with an MLP)")
    with torch.no_grad():
        policy.action_net.weight.zero_()
        policy.action_net.bias.copy_(torch.as_tensor(np.asarray(action), dtype=torch.float32))


def residual_start(model: Any, scenario: Any, seeds: Sequence[int], residual_around: dict[str, float] | None,
                   settings: ResidualStart) -> dict[str, Any]:
    """Search the constant action on ``seeds`` and start ``model``'s policy from it; the fit record."""
    env = search_env(scenario, seeds, residual_around)
    try:
        found = search_constant_residual(env, settings)
    finally:
        env.close()
    start_from(model.policy, found.action)
    return found.to_dict()
