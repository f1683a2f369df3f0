"""Rollouts whose candidates are actions of a ``targets``/``residual`` mode, and how to pick among them.

Shared by DCL's labeller (``allocsim.agents.dcl_label``) and the lookahead over an exported policy
(``allocsim.agents.lookahead``); torch-free, so the lookahead runs on the inference install.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.action_modes import ActionMode
from allocsim.envs.actions import Fractions
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.engine.state import EngineState
from allocsim.envs.rollouts import BatchPolicy, Rollouts

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Label:
    """One labelled state: the action to fit, which candidate it is (0: the policy's own, -1: a
    per-coordinate move, no single candidate) and its paired mean gain over the policy's action on
    the state's futures (0 when kept; for a per-coordinate move, the first-order estimate)."""

    action: FloatArray
    index: int
    gain: float


class ModeRollouts(Rollouts):
    """``Rollouts`` that take first decisions as actions of ``mode`` (a small adapter: ``Rollouts``
    takes ``shares`` actions or fractions). One is built per sampled state, so that each state meets
    its own futures (``Rollouts`` draws them from its construction seed; building costs ~10 % of a
    state's rollouts)."""

    def __init__(self, env: AllocationEnv, mode: ActionMode, candidates: int, samples: int, horizon: int,
                 base: BatchPolicy, rollout_seed: int) -> None:
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


