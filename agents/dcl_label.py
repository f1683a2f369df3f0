"""DCL's labeller: at one sampled state, which candidate action earns most over sampled futures.

What: at a state of the current policy's episode, the candidates are (1) the policy's own action,
(2) that action with each coordinate moved by +- ``step`` (per location/SKU cover, per SKU safety
and keep-back, ...: the shifts the rollout policy tries, in the policy's own ``targets``/``residual``
action space) and (3) base-stock with its tuned parameters and with each scaled by 1 +- ``spread``
(the rollout policy's rule variants, written as actions of the mode). Every candidate plays its
first decision from copies of the state (``allocsim.envs.rollouts.Rollouts``), then the current
policy decides for all copies at once (``ActorPolicy``), ``horizon`` periods, on ``samples``
futures shared by all candidates (common random numbers) and drawn afresh at every state.

The label is the best candidate when its paired mean gain over the policy's own action exceeds
``z`` standard errors, else the policy's own action (``choose``): a noisy win does not move the
policy. With ``label: coordinates`` (``coordinate_label``) every coordinate moves at once, by
``step`` x its paired t-statistic of +step against -step over ``z`` (cut to +-step): one best
candidate moves one coordinate of 2n, so the regression averaged labels into nearly the current
action (seasonal-aging: every swimwear cover wants -1 period in the last tenth of the season and
+1 around its promotion, yet the fitted policy stayed constant); per-coordinate labels carry each
coordinate's own evidence, and their noise (symmetric around the current action) averages out in
the regression over states. Rules other than base-stock decide in ``shares`` and have no action
in these modes, so they are not candidates. The rollout policy's candidate code lives in
``allocsim.baselines``, which ``agents`` may not import (docs/DESIGN.md's arrows); its two
candidate ideas are rebuilt here in the mode's action space.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from stable_baselines3.common.policies import ActorCriticPolicy

from allocsim.agents.dcl_params import DclParams
from allocsim.agents.policy import ObsNormalizer
from allocsim.envs.action_modes import ActionMode, ResidualCentre, residual_ranges
from allocsim.envs.actions import Fractions
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.engine.core import BatchEngine
from allocsim.envs.engine.state import EngineState
from allocsim.envs.rollouts import Rollouts

FloatArray = NDArray[np.float64]

#: The base-stock parameters a mode's action can say (``ResidualCentre``'s fields).
BASE_STOCK_KEYS = tuple(ResidualCentre.model_fields)


class ActorPolicy:
    """The network's deterministic action (SB3 ``predict``: normalise, mean, clip), for one
    observation batch or as the rollouts' batch policy (every copy of a batched engine at once)."""

    def __init__(self, policy: ActorCriticPolicy, mode: ActionMode, normalizer: ObsNormalizer | None) -> None:
        self.policy, self.mode, self.normalizer = policy, mode, normalizer

    def actions(self, observations: NDArray[np.float32]) -> FloatArray:
        obs = self.normalizer(observations) if self.normalizer is not None else observations
        with torch.no_grad():
            action, _ = self.policy.predict(obs, deterministic=True)
        return np.asarray(action, dtype=np.float64)

    def fractions(self, engine: BatchEngine) -> Fractions:
        rows = self.mode.validate_batch(self.actions(engine.obs), engine.batch)
        return self.mode.fractions(engine, rows)


class ModeRollouts(Rollouts):
    """``Rollouts`` that take first decisions as actions of ``mode`` (a small adapter: ``Rollouts``
    takes ``shares`` actions or fractions). One is built per sampled state, so that each state meets
    its own futures (``Rollouts`` draws them from its construction seed; building costs ~10 % of a
    state's rollouts)."""

    def __init__(self, env: AllocationEnv, mode: ActionMode, candidates: int, samples: int, horizon: int,
                 base: ActorPolicy, rollout_seed: int) -> None:
        super().__init__(env, candidates, samples, horizon, base=base, rollout_seed=rollout_seed)
        self.mode = mode

    def run_mode(self, state: EngineState, rows: FloatArray) -> FloatArray:
        """The K x M returns of the mode's actions ``rows`` (K, n) from ``state``: each row decoded
        at the state itself (the decode reads stock and forecasts, never the futures)."""
        self.start(state)
        m = self.samples
        frac = self.mode.fractions(self.engine, np.repeat(rows, m, axis=0))

        def first(a: FloatArray | None) -> FloatArray | None:
            return None if a is None else np.ascontiguousarray(a[::m])

        heads = Fractions(first(frac.allocation), first(frac.transfers), first(frac.orders),  # type: ignore[arg-type]
                          first(frac.holdback))
        return self.run(state, heads).returns


@dataclass(frozen=True)
class Label:
    """One labelled state: the action to fit, which candidate it is (0: the policy's own, -1: a
    per-coordinate move, no single candidate) and its paired mean gain over the policy's action on
    the state's futures (0 when kept; for a per-coordinate move, the first-order estimate)."""

    action: FloatArray
    index: int
    gain: float


def choose(returns: FloatArray, z: float) -> tuple[int, float]:
    """(candidate, gain): the candidate with the highest mean return when its paired mean gain over
    candidate 0 (the current action) exceeds ``z`` standard errors, else (0, 0.0). Ties: the first."""
    diff = returns - returns[0]
    mean = diff.mean(axis=1)
    best = int(np.argmax(mean))
    if best == 0:
        return 0, 0.0
    se = diff[best].std(ddof=1) / np.sqrt(diff.shape[1])
    return (best, float(mean[best])) if mean[best] > z * se else (0, 0.0)


def coordinate_label(rows: FloatArray, returns: FloatArray, z: float) -> Label:
    """Every coordinate ``i`` of the current action ``rows[0]`` moved by ``step`` x t_i / ``z``, cut to
    +-``step`` (``rows`` as ``Labeller.candidate_rows``: own, then -step and +step per coordinate, so
    ``step`` is half the span of rows 1 + 2i and 2 + 2i), where t_i is the paired t-statistic of
    +step's returns minus -step's over the futures (infinite when every future gives the same
    nonzero difference; ``z`` 0: a whole step whichever its sign). The gain is the first-order
    estimate: sum over i of the slope (mean difference / span) times the move."""
    own = rows[0]
    n = len(own)
    idx = np.arange(n)
    down, up = rows[1 + 2 * idx, idx], rows[2 + 2 * idx, idx]
    span = up - down
    diff = returns[2 + 2 * idx] - returns[1 + 2 * idx]  # (n, M)
    mean = diff.mean(axis=1)
    se = diff.std(axis=1, ddof=1) / np.sqrt(diff.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, mean / se, np.sign(mean) * np.inf)
        push = np.sign(t) if z == 0 else np.clip(t / z, -1.0, 1.0)
    step = span / 2
    move = np.where(span > 0, np.nan_to_num(push) * step, 0.0)
    action = np.clip(own + move, -1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(span > 0, mean / span, 0.0)
    moved = not np.array_equal(action, own)
    return Label(action, -1 if moved else 0, float(slope @ (action - own)) if moved else 0.0)


def base_stock_variants(mode: ActionMode, params: Mapping[str, Any] | None, spread: float) -> FloatArray:
    """Base-stock as actions of ``mode`` (V, n): the parameters as they are, then each scaled by
    ``1 - spread`` and ``1 + spread``; clipped to the action box, duplicates dropped."""
    base = {k: float(v) for k, v in dict(params or {}).items() if k in BASE_STOCK_KEYS}
    centre = ResidualCentre(**base).model_dump()
    variants = [centre]
    for key, value in centre.items():
        for factor in (1.0 - spread, 1.0 + spread):
            variants.append({**centre, key: value * factor})
    ranges = mode.ranges()
    if ranges is None:
        raise ValueError(f"dcl: action mode {mode.name} has no order-up-to parameters")
    rows: list[FloatArray] = []
    for v in variants:
        values = residual_ranges(mode.net, ResidualCentre(**v)).centre  # base-stock's parameter vector
        row = np.clip(ranges.action_for(values), -1.0, 1.0)
        if not any(np.array_equal(row, r) for r in rows):
            rows.append(row)
    return np.stack(rows)


class Labeller:
    """Labels sampled states by rollouts of every candidate (see the module docstring)."""

    def __init__(self, env: AllocationEnv, actor: ActorPolicy, params: DclParams, rules: FloatArray) -> None:
        self.params, self.rules = params, np.asarray(rules, dtype=np.float64)
        self.size = actor.mode.size
        self.per_coordinate = params.label == "coordinates"
        if self.per_coordinate:  # the rules are no coordinate's move
            self.rules = self.rules[:0]
        self.candidates = 1 + 2 * self.size + len(self.rules)
        self.env, self.actor = env, actor
        self.last: ModeRollouts | None = None  # the rollouts of the last state labelled

    def candidate_rows(self, action: FloatArray) -> FloatArray:
        """(K, n): ``action``, then each coordinate moved by -step and +step (clipped), then the rules."""
        step = self.params.step
        own = np.asarray(action, dtype=np.float64)[None]
        moved = np.repeat(own, 2 * self.size, axis=0)
        idx = np.arange(self.size)
        moved[2 * idx, idx] -= step
        moved[2 * idx + 1, idx] += step
        return np.clip(np.concatenate([own, moved, self.rules]), -1.0, 1.0)

    def returns(self, state: EngineState, action: FloatArray,
                rollout_seed: int) -> tuple[FloatArray, FloatArray]:
        """(candidate rows (K, n), their returns (K, M)) at ``state`` on the futures of ``rollout_seed``."""
        rows = self.candidate_rows(action)
        p = self.params
        self.last = ModeRollouts(self.env, self.actor.mode, self.candidates, p.samples, p.horizon, self.actor,
                                 rollout_seed)
        return rows, self.last.run_mode(state, rows)

    def label(self, state: EngineState, action: FloatArray, rollout_seed: int) -> Label:
        rows, returns = self.returns(state, action, rollout_seed)
        if self.per_coordinate:
            return coordinate_label(rows, returns, self.params.z)
        index, gain = choose(returns, self.params.z)
        return Label(rows[index], index, gain)

    @property
    def periods_per_state(self) -> int:
        """Periods simulated per labelled state at most (candidates x futures x horizon)."""
        return self.candidates * self.params.samples * self.params.horizon
