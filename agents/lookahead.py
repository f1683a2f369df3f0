"""``lookahead:<policy.onnx>``: one step of policy improvement over an exported learned policy, by simulation.

What: at every decision the learned policy proposes its action (``targets``/``residual`` mode); the
candidates are that action and the action with each coordinate moved by -``step`` and +``step``
(DCL's candidates, ``allocsim.agents.dcl_label.Labeller``). Each candidate plays its first decision
from copies of the env's state on ``samples`` sampled futures (common random numbers), the learned
policy decides every later period for all copies at once (its ONNX graph on the batch), ``horizon``
periods, and the action played is chosen from the K x M returns: ``label: best`` plays the
candidate with the highest mean return when its paired gain over the policy's own action exceeds
``z`` standard errors (else the own action); ``label: coordinates`` moves every coordinate by its
own paired test (``coordinate_label``). Bertsekas' rollout algorithm over the learned policy: the
test-time counterpart of one more DCL generation, without fitting a network to the labels.

Why it is honest: the futures are other episodes' (``allocsim.envs.rollouts``: seeds at or above
``FUTURE_SEEDS``, keyed by the episode seed and the period, never the episode's own demand), so the
policy never reads the future it meets; forecasts stay the episode's, as the learned policy sees them.

With ``shift`` > 0 a second stage moves the chosen decision's units between locations and to or from
the DC (each move ``shift`` x a period's forecast) on the same kind of rollouts.

Cost: (1 + 2n) x ``samples`` copies step ``horizon`` periods per decision, plus one ONNX call per
simulated period on the batch (retail-small, n = 10, the defaults: 18 s an episode at load 6-9).
Measured over retail-small's best DCL seed (docs/bounds.md): +5 +- 7 EUR an episode, a local optimum.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from allocsim.agents.inference import OnnxPolicy
from allocsim.agents.mode_adapter import policy_mode
from allocsim.agents.mode_rollouts import ModeRollouts, choose, coordinate_label
from allocsim.envs.action_modes import ActionMode, TargetsMode
from allocsim.envs.actions import Fractions
from allocsim.envs.engine.core import BatchEngine
from allocsim.envs.rollouts import Rollouts

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: the spec prefix that names a lookahead over an exported policy (``lookahead:<file.onnx>``)
PREFIX = "lookahead:"


class LookaheadParams(BaseModel):
    """How wide and how deep the lookahead over the learned policy looks."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    samples: int = Field(default=16, ge=2, le=256, description="sampled futures every candidate meets")
    horizon: int = Field(default=60, ge=1, le=10_000, description="periods per rollout (the learned "
                         "policy decides after the first)")
    step: float = Field(default=0.5, gt=0.0, le=2.0, description="each coordinate of the policy's "
                        "action moved by +- step (action units)")
    z: float = Field(default=2.0, ge=0.0, le=10.0, description="evidence asked of a move, in paired "
                     "standard errors")
    label: str = Field(default="best", pattern="^(best|coordinates)$",
                       description="best: one best candidate; coordinates: each coordinate by its own test")
    coordinates: bool = Field(default=True, description="stage one: try the policy's action with each "
                              "coordinate moved by +- step; False: play the policy's own action")
    shift: float = Field(default=0.0, ge=0.0, le=10.0, description="stage two: the chosen decision's "
                         "units moved between locations and to/from the DC by shift x a period's forecast "
                         "(at least a unit); 0: no stage two")


class OnnxBatch:
    """The exported policy deciding for every copy of a batched engine at once (the rollouts' base)."""

    def __init__(self, policy: OnnxPolicy, mode: ActionMode) -> None:
        self.policy, self.mode = policy, mode

    def actions(self, observations: NDArray[np.float32]) -> FloatArray:
        action, _ = self.policy.predict(observations)
        return np.asarray(action, dtype=np.float64)

    def fractions(self, engine: BatchEngine) -> Fractions:
        rows = self.mode.validate_batch(self.actions(engine.obs), engine.batch)
        return self.mode.fractions(engine, rows)


class LookaheadPolicy:
    """Rollout improvement of an exported learned policy on a ``shares`` env (see the module docstring)."""

    def __init__(self, policy: OnnxPolicy, env: Any, seed: int | None = None, **params: Any) -> None:
        self.env = env.unwrapped
        if self.env.scenario.timing.mode != "aggregated":
            raise ValueError("the lookahead simulates on the batched engine, which runs the aggregated "
                             "timing mode only (this run is in events mode)")
        policy.check_env(self.env)
        mode = policy_mode(policy, self.env.network)
        if not isinstance(mode, TargetsMode):
            raise ValueError(f"lookahead: {policy.name} acts in {mode.name} mode; it needs targets or "
                             "residual")
        self.policy, self.mode, self.seed = policy, mode, int(seed or 0)
        self.params = LookaheadParams(**params)
        self.base = OnnxBatch(policy, mode)
        self.name = f"lookahead:{policy.name}"
        self.last_returns: FloatArray | None = None

    def candidate_rows(self, action: FloatArray) -> FloatArray:
        """(1 + 2n, n): ``action``, then each coordinate moved by -step and +step (clipped to [-1, 1])."""
        own = np.asarray(action, dtype=np.float64)[None]
        n = own.shape[1]
        moved = np.repeat(own, 2 * n, axis=0)
        idx = np.arange(n)
        moved[2 * idx, idx] -= self.params.step
        moved[2 * idx + 1, idx] += self.params.step
        return np.clip(np.concatenate([own, moved]), -1.0, 1.0)

    def decide(self, observation: NDArray[np.float32]) -> FloatArray:
        """The chosen action of the mode at the env's current state."""
        p = self.params
        own = self.mode.validate(self.base.actions(observation[None])[0])
        if not p.coordinates:
            return own
        rows = self.candidate_rows(own)
        state = self.env.get_state()
        rollout_seed = self.seed * 100_003 + int(self.env.state.period)  # fresh futures at every decision
        rollouts = ModeRollouts(self.env, self.mode, len(rows), p.samples, p.horizon, self.base,  # type: ignore[arg-type]
                                rollout_seed)
        returns = rollouts.run_mode(state, rows)
        self.last_returns = returns
        if p.label == "coordinates":
            return coordinate_label(rows, returns, p.z).action
        return rows[choose(returns, p.z)[0]]

    def unit_moves(self, shares: FloatArray) -> FloatArray:
        """``shares`` then its allocation with units moved: per SKU, from each location to each other one,
        and each location's shipment down and up (from what the DC keeps); ``shares`` actions (K, n)."""
        env, layout = self.env, self.env.action_layout
        state = env.state
        alloc = env.preview(shares, guardrails=False).allocation
        keep = state.dc_available - alloc.sum(axis=0)
        step = np.maximum(np.rint(self.params.shift * state.forecast[0]), 1).astype(np.int64)
        moves: list[IntArray] = []
        n_loc, n_sku = alloc.shape
        for s in range(n_sku):
            for a in range(n_loc):
                for b in [*range(n_loc), -1]:  # -1: the DC
                    if a == b:
                        continue
                    for src, dst in ((a, b), (b, a)) if b < 0 else ((a, b),):
                        room = alloc[src, s] if src >= 0 else keep[s]
                        k = min(int(step[a, s]), int(room))
                        if k > 0:
                            moved = alloc.copy()
                            if src >= 0:
                                moved[src, s] -= k
                            if dst >= 0:
                                moved[dst, s] += k
                            moves.append(moved)
        rows = [shares]
        for moved in moves:
            row = shares.copy()
            row[layout.allocation] = layout.encode(moved, state.dc_available)[layout.allocation]
            rows.append(row)
        return np.stack(rows)

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[NDArray[np.float32], None]:
        obs = np.asarray(observation, dtype=np.float32)
        row = self.decide(obs.reshape(-1))
        shares = np.asarray(self.mode.shares_action(self.env.state, row), dtype=np.float64)
        if self.params.shift > 0:
            p = self.params
            rows = self.unit_moves(shares)
            rollouts = Rollouts(self.env, len(rows), p.samples, p.horizon, base=self.base,
                                rollout_seed=self.seed * 100_003 + int(self.env.state.period))
            returns = rollouts.run(self.env.get_state(), rows).returns
            shares = rows[choose(returns, p.z)[0]]
        out = shares.astype(np.float32)
        return (out if obs.ndim == 1 else out[None]), None

    def fresh(self) -> LookaheadPolicy:
        return self

    def check_env(self, env: Any) -> None:
        """Checked when built (the lookahead is bound to its env)."""
