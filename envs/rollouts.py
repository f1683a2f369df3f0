"""Rollouts from a state: K candidate first actions x M sampled futures, H periods, one call on the batch.

What: ``Rollouts(env, candidates=K, samples=M, horizon=H, base=...)`` owns a ``BatchEngine`` of
K x M copies. ``run(state, first)`` puts every copy at the single env's ``state`` (one value,
``AllocationEnv.get_state``), gives copy ``(k, j)`` the sampled future ``j``, plays candidate
``k``'s first decision, lets the base policy decide every later period for all copies at once,
and returns the K x M returns (sum of the env's rewards over the H periods, or to the episode's
end), optionally each copy's KPIs. Lookahead rules, DCL and the bounds share this one call.

Why the futures are honest: future ``j`` is an episode drawn from seed ``future_seed(rollout_seed,
j)`` (at or above ``FUTURE_SEEDS``, far from every train, validation and test block), never the
episode's own; from the decision's period on it replaces the copy's demand (the orders already
known included) and supplier lead times (``BatchEngine.follow_future``). Every candidate meets
the same M futures (common random numbers), so differences between candidates are the
candidates'. Forecasts stay the episode's: the policy sees them anyway.

Base policies decide for the whole batch (``BatchPolicy``): a constant action of an action mode
(``ConstantAction``: base-stock is a constant ``targets`` action, its parameters decoded once and
its units for every copy in one compiled call) or any rule copy by copy
(``allocsim.baselines.batch_rules``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.action_modes import ActionMode
from allocsim.envs.actions import Fractions
from allocsim.envs.demand import EpisodeDemand, sample_episode
from allocsim.envs.engine.core import BatchEngine
from allocsim.envs.engine.state import LOG_FIELDS, EngineState

if TYPE_CHECKING:
    from allocsim.envs.allocation_env import AllocationEnv

FloatArray = NDArray[np.float64]

#: Futures are drawn from seeds here and above: far from the train, validation and test blocks.
FUTURE_SEEDS = 7_000_000_000
#: Futures of one rollout seed spread over this many seeds above ``FUTURE_SEEDS``.
FUTURE_SPAN = 2**60


def future_seed(rollout_seed: int, j: int) -> int:
    """The demand seed of sampled future ``j`` under ``rollout_seed`` (never an evaluation seed)."""
    word = np.random.SeedSequence([0xA110C, int(rollout_seed), int(j)]).generate_state(1, np.uint64)[0]
    return FUTURE_SEEDS + int(word) % FUTURE_SPAN


class BatchPolicy(Protocol):
    """A policy that decides for every copy of a batched engine at once."""

    def fractions(self, engine: BatchEngine) -> Fractions:
        """The fractions of every copy's decision now (the compiled decode makes them units)."""
        ...


@dataclass(frozen=True)
class ConstantAction:
    """The same action of ``mode`` for every copy: e.g. base-stock as a constant ``targets`` action
    (validated and decoded to its parameters once, ``ActionMode.constant``)."""

    mode: ActionMode
    action: FloatArray  # (n,) in [-1, 1]
    decide: Callable[[BatchEngine], Fractions] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "decide", self.mode.constant(self.action))

    def fractions(self, engine: BatchEngine) -> Fractions:
        return self.decide(engine)


@dataclass(frozen=True)
class RolloutResult:
    """``returns[k, j]``: candidate ``k``'s return on future ``j``; ``kpis[k][j]`` when asked (the
    episode's KPIs so far at the rollout's end, without breakdowns)."""

    returns: FloatArray
    kpis: list[list[dict[str, Any]]] | None = None
    periods: int = 0  # periods simulated, summed over copies


class Rollouts:
    """K candidates x M futures x H periods from one single-env state (see the module docstring)."""

    def __init__(self, env: AllocationEnv, candidates: int, samples: int, horizon: int,
                 base: BatchPolicy | Callable[[BatchEngine], BatchPolicy] | None = None,
                 rollout_seed: int = 0, threads: bool | int = False) -> None:
        """``base``: the batch policy after the first period, or a factory of it given the engine
        (a rule that decides copy by copy needs the engine); None only for one-period rollouts.
        ``threads``: the batch's copies stepped on that many threads (``BatchEngine``; same returns)."""
        env = env.unwrapped
        if env.scenario.timing.mode != "aggregated":
            raise ValueError("rollouts run on the batched engine, which plays the aggregated timing mode "
                             "only (this env is in events mode)")
        for name, value in (("candidates", candidates), ("samples", samples), ("horizon", horizon)):
            if not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"rollouts: {name} must be a whole number >= 1, got {str(value)[:40]}")
        self.candidates, self.samples, self.horizon = int(candidates), int(samples), int(horizon)
        self.net, self.profile = env.network, env.profile
        self.engine = BatchEngine(env.network, env.profile, env.reward_function.weights, 1.0,
                                  batch=self.candidates * self.samples, keep_log=False, threads=threads)
        self.base: BatchPolicy | None = base if base is None or hasattr(base, "fractions") \
            else base(self.engine)  # type: ignore[operator]
        self.rollout_seed = int(rollout_seed)
        self._futures: list[EpisodeDemand] | None = None
        #: the demand seed of each sampled future (what ``BatchEngine.follow_future`` takes)
        self.future_seeds = [future_seed(self.rollout_seed, j) for j in range(self.samples)]

    @property
    def futures(self) -> list[EpisodeDemand]:
        """The M sampled futures (whole episodes; a rollout from period t plays them from t on)."""
        if self._futures is None:
            self._futures = [sample_episode(self.profile, self.net, seed) for seed in self.future_seeds]
        return self._futures

    def start(self, state: EngineState) -> None:
        """Every copy at ``state`` (a single env's, batch of one), copy (k, j) on future j from now.

        The first candidate's M copies are set and sent on their futures; the other candidates' copies
        are then copies of them (before the first decision, the K copies of future j are one state), so
        the futures' demand is drawn M times, not K x M."""
        if state.batch != 1:
            raise ValueError(f"rollouts start from one env's state (batch 1), got a batch of {state.batch}")
        m, fields = self.samples, []
        for name, dst, src in zip(EngineState._fields, self.engine.state, state, strict=True):
            if name in LOG_FIELDS and dst.shape[1] == 0:
                continue
            if dst.shape[1:] != src.shape[1:]:
                raise ValueError(f"state field {name!r} has shape {src.shape[1:]}, these rollouts need "
                                 f"{dst.shape[1:]} (a state of another scenario?)")
            dst[:m] = src
            fields.append(dst)
        self._give_futures()
        for k in range(1, self.candidates):
            for dst in fields:
                dst[k * m : (k + 1) * m] = dst[:m]

    def _give_futures(self) -> None:
        """The first candidate's copy ``j``'s demand and supplier leads from now on: future ``j``'s (its
        own seed); ``start`` copies them to the other candidates."""
        self.engine.follow_future(range(self.samples), self.future_seeds)

    def first_fractions(self, first: Fractions | object) -> Fractions:
        """Candidate first decisions, (K, n) ``shares`` actions or K-row fractions, tiled to K x M copies."""
        k, m = self.candidates, self.samples
        if not isinstance(first, Fractions):
            first = self.engine.actions.fractions(self.engine.actions.validate_batch(first, k))
        if first.allocation.shape[0] != k:
            raise ValueError(f"rollouts: {first.allocation.shape[0]} candidate decisions, expected {k}")

        def tile(a: FloatArray | None) -> FloatArray | None:
            return None if a is None else np.ascontiguousarray(np.repeat(a, m, axis=0))

        return Fractions(tile(first.allocation), tile(first.transfers), tile(first.orders),  # type: ignore[arg-type]
                         tile(first.holdback))

    def run(self, state: EngineState, first: Fractions | object, kpis: bool = False) -> RolloutResult:
        """The K x M returns of the candidates ``first`` from ``state`` (see the module docstring)."""
        frac = self.first_fractions(first)
        self.start(state)
        engine = self.engine
        total = np.zeros(engine.batch)
        periods = 0
        for h in range(self.horizon):
            running = ~engine.state.done
            if not running.any():
                break
            if h > 0:
                if self.base is None:
                    raise ValueError("rollouts over more than one period need a base policy")
                frac = self.base.fractions(engine)
            reward = engine.step_fractions(frac)
            total += np.where(running, reward, 0.0)
            periods += int(running.sum())
        rows = None
        if kpis:
            rows = [[engine.kpis(k * self.samples + j, breakdowns=False) for j in range(self.samples)]
                    for k in range(self.candidates)]
        return RolloutResult(total.reshape(self.candidates, self.samples), rows, periods)
