"""The lane-penalty bound per seed (``allocsim.baselines.lane_penalty``), for ``allocsim bound``."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from allocsim.baselines import dp, lane_penalty
from allocsim.baselines.lagrangian_bound import Split, refusal
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


def _lane_penalty_chunk(scenario: Scenario, seeds: Sequence[int], price: Any) -> list[SeedBound]:
    env = env_for(scenario)
    values = lane_penalty.penalty_values(env.network, env.profile, Split.of(env.network, env.profile), price)
    out = []
    for seed in seeds:
        started = time.perf_counter()
        bound = lane_penalty.lane_penalty_bound(values, seed)
        out.append(SeedBound(seed, bound, time.perf_counter() - started))
    return out


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
    """The lane-penalty bound of every seed in seed order (the Lagrangian prices fitted first if
    needed), or no results and why it does not apply."""
    env = env_for(scenario)
    split = Split.of(env.network, env.profile)
    why = refusal(env.network, env.profile) or lane_penalty.refusal(env.network, split)
    fitted = multipliers_for(scenario) if why is None else None
    if fitted is None:
        return [], why
    return per_seed(_lane_penalty_chunk, (scenario, fitted.price), seeds, n_workers, on_done), None


def lane_record(results: Sequence[SeedBound], why: str | None, seconds: float) -> dict[str, Any] | None:
    """``run.json``'s ``lane_penalty_bound`` (``rerender --lane-penalty``): the seed-mean, its Student-t 95 %
    half-width, the seeds it was solved on and the wall time; None where it does not apply (``why``)."""
    from allocsim.experiments.bound_choice import mean_ci95

    if not results:
        return None
    value, ci = mean_ci95([r.bound for r in results])
    seeds = [r.seed for r in results]
    return {"value": value, "ci95": ci, "seeds": {"first": seeds[0], "last": seeds[-1], "count": len(seeds)},
            "seconds": round(seconds, 1), "note": why}
