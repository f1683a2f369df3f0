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
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from stable_baselines3.common.policies import ActorCriticPolicy

from allocsim.agents.dcl_params import DclParams
from allocsim.agents.mode_rollouts import Label, ModeRollouts, choose, coordinate_label
from allocsim.agents.policy import ObsNormalizer
from allocsim.envs.action_modes import ActionMode, ResidualCentre, residual_ranges
from allocsim.envs.actions import Fractions
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.engine.core import BatchEngine
from allocsim.envs.engine.state import EngineState

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
