"""The lane-penalty bound per seed (``allocsim.baselines.lane_penalty``), for ``allocsim bound`` and
``rerender --lane-penalty``.

Its lanes' value functions come from the history-priced Lagrangian bound where its prices are shipped or
cached (``allocsim.baselines.lane_penalty_history``: lane and DC values per bucket of the demand so far;
never fitted here), else from the flat Lagrangian prices (``lane_penalty``). Either is a valid bound;
the history-priced one is the tighter on tiny-dp and small-dp (docs/bounds.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from allocsim.baselines import dp, lane_penalty
from allocsim.baselines.lagrangian_bound import Split, refusal
from allocsim.baselines.lagrangian_history import walk
from allocsim.baselines.lane_penalty_history import HistoryPenalty
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import env_for
from allocsim.experiments.lagrangian_store import multipliers_for
from allocsim.experiments.seed_pool import per_seed

SMALL_GRID = 10_000  # DP states per period up to which the bound takes EXTRA_SEEDS seeds (tiny-dp: 250)
EXTRA_SEEDS = 200


@dataclass(frozen=True)
class SeedBound:
    """One seed's value of a bound and the seconds it took."""

    seed: int
    bound: float
    seconds: float


#: Where the lanes' value functions come from (``lane_prices``): the bound JSON's ``lane_penalty_prices``.
HISTORY, FLAT = "history", "flat"
_BUILT: dict[tuple[str, str, bytes], Callable[[int], float]] = {}  # per process: the seed -> bound function


def _bound_of(scenario: Scenario, kind: str, price: Any) -> Callable[[int], float]:
    """The seed -> bound function at these prices, built once per process (workers keep theirs)."""
    key = (scenario.content_hash(), kind, np.asarray(price, dtype=np.float64).tobytes())
    if key not in _BUILT:
        env = env_for(scenario)
        net, profile = env.network, env.profile
        split = Split.of(net, profile)
        if kind == HISTORY:
            _BUILT[key] = HistoryPenalty(net, profile, split, walk(net, split),
                                         np.asarray(price, dtype=np.float64)).bound
        else:
            values = lane_penalty.penalty_values(net, profile, split, price)
            _BUILT[key] = lambda seed: lane_penalty.lane_penalty_bound(values, seed)
    return _BUILT[key]


def _lane_penalty_chunk(scenario: Scenario, seeds: Sequence[int], kind: str, price: Any) -> list[SeedBound]:
    bound_of = _bound_of(scenario, kind, price)
    out = []
    for seed in seeds:
        started = time.perf_counter()
        bound = bound_of(seed)
        out.append(SeedBound(seed, bound, time.perf_counter() - started))
    return out


def lane_prices(scenario: Scenario) -> tuple[str, Any] | None:
    """The prices the lane-penalty bound takes its value functions from, and their kind: the history
    prices (``HISTORY``, S x T x buckets) where shipped or cached, else the flat fitted ones (``FLAT``,
    T x S, fitted if need be); None where the flat bound is refused."""
    from allocsim.experiments.history_store import history_for  # it imports SeedBound from here

    history = history_for(scenario, fit=False)
    if history is not None:
        return HISTORY, history.price
    fitted = multipliers_for(scenario)
    return (FLAT, fitted.price) if fitted is not None else None


def lane_penalty_seeds(scenario: Scenario, seeds: Sequence[int]) -> list[int]:
    """``seeds``, and on a small DP grid (at most ``SMALL_GRID`` states, a fraction of a second a seed)
    the seeds after the last up to ``EXTRA_SEEDS`` in all: the bound is random, so its upper
    confidence limit, by which the tightest bound is chosen, needs them."""
    env = env_for(scenario)
    if len(seeds) >= EXTRA_SEEDS or dp.refusal(env.network) is not None:
        return list(seeds)
    if dp.grid_of(env.network).states() > SMALL_GRID:
        return list(seeds)
    last = max(seeds)
    return [*seeds, *range(last + 1, last + 1 + EXTRA_SEEDS - len(seeds))]


def seed_lane_penalty(scenario: Scenario, seeds: Sequence[int], n_workers: int | None = 1,
                      on_done: Callable[[int], None] | None = None) -> tuple[list[SeedBound], str | None]:
    """The lane-penalty bound of every seed in seed order (its value functions from ``lane_prices``: the
    flat Lagrangian prices fitted first if needed), or no results and why it does not apply."""
    env = env_for(scenario)
    split = Split.of(env.network, env.profile)
    why = refusal(env.network, env.profile) or lane_penalty.refusal(env.network, split)
    chosen = lane_prices(scenario) if why is None else None
    if chosen is None:
        return [], why
    return per_seed(_lane_penalty_chunk, (scenario, *chosen), seeds, n_workers, on_done), None


def lane_record(results: Sequence[SeedBound], why: str | None, seconds: float,
                prices: str | None = None) -> dict[str, Any] | None:
    """``run.json``'s ``lane_penalty_bound`` (``rerender --lane-penalty``; ``lagrangian_bound`` the same way,
    ``rerender --lagrangian``): the seed-mean, its Student-t 95 % half-width, the seeds it was solved on,
    the prices of its value functions (``HISTORY`` or ``FLAT``) and the wall time; None where it does not
    apply (``why``)."""
    from allocsim.experiments.bound_choice import mean_ci95

    if not results:
        return None
    value, ci = mean_ci95([r.bound for r in results])
    seeds = [r.seed for r in results]
    return {"value": value, "ci95": ci, "seeds": {"first": seeds[0], "last": seeds[-1], "count": len(seeds)},
            "prices": prices, "seconds": round(seconds, 1), "note": why}
