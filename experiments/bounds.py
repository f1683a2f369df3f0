"""How far from the best possible: the DP optimum and the clairvoyant bound, for the CLI and the benchmark.

* ``dp_value``: the exact DP's optimal expected profit where the scenario is small
  enough (``allocsim.baselines.dp``), else None with the reason;
* ``seed_bounds``: the perfect-foresight LP bound of each seed
  (``allocsim.baselines.clairvoyant``), on a process pool like the evaluation;
* ``attach_gaps`` / ``gap_closed``: the benchmark's columns. Per episode row,
  ``gap_to_bound_pct = 100 x (bound - profit) / |bound|`` on that row's seed and,
  where the DP exists, ``gap_to_optimal_pct = 100 x (dp_value - profit) / |dp_value|``
  (an expectation against one episode, so single rows can be negative; the mean
  is the gap of the mean). Per policy, ``bound_gap_closed_pct`` is the share of
  the gap between the best rule's mean profit and the mean bound that the policy
  closes: 0 for the best rule, 100 at the bound, negative below the best rule.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from allocsim.baselines import dp
from allocsim.baselines.clairvoyant import BoundResult, clairvoyant_bound
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import Row, env_for
from allocsim.experiments.files import atomic_write
from allocsim.processes import process_pool

GAP_KPIS = ("gap_to_bound_pct", "gap_to_optimal_pct")
CLOSED = "bound_gap_closed_pct"


@dataclass(frozen=True)
class DPValue:
    """The DP optimum of a scenario, or why there is none."""

    value: float | None
    note: str | None
    seconds: float = 0.0
    states: int = 0  # pre-decision states per period (largest)
    actions: int = 0  # candidate decisions per state (allocations x policy orders)
    pairs: int = 0  # feasible state-allocation pairs per period (largest)


def dp_value(scenario: Scenario) -> DPValue:
    """The optimal expected profit from the initial state, where the exact DP accepts the scenario."""
    env = env_for(scenario)
    reason = dp.refusal(env.network)
    if reason is not None:
        return DPValue(None, reason)
    sol = dp.solution_for(env.network, env.profile)
    return DPValue(sol.value, None, sol.seconds, sol.states, sol.decisions, sol.pairs)


def dp_table(scenario: Scenario) -> list[dict[str, Any]]:
    """The DP's optimal policy on every state it reaches (ValueError where there is no DP)."""
    env = env_for(scenario)
    return dp.solution_for(env.network, env.profile).table()


def write_dp_table(scenario: Scenario, path: Path) -> int:
    """Write the DP's policy table to CSV (atomically); the number of states written."""
    rows = dp_table(scenario)
    atomic_write(path, lambda tmp: pd.DataFrame(rows).to_csv(tmp, index=False))
    return len(rows)


def _bound_chunk(scenario: Scenario, seeds: Sequence[int]) -> list[BoundResult]:
    env = env_for(scenario)
    return [clairvoyant_bound(env.network, seed, env.profile) for seed in seeds]


def seed_bounds(
    scenario: Scenario,
    seeds: Sequence[int],
    n_workers: int | None = 1,
    on_done: Callable[[int], None] | None = None,
) -> list[BoundResult]:
    """The clairvoyant bound of every seed, in seed order, whatever ``n_workers``."""
    workers = max(1, n_workers or os.cpu_count() or 1)
    chunks = [list(seeds[i :: workers]) for i in range(min(workers, len(seeds)))]
    results: list[BoundResult] = []
    if len(chunks) <= 1:
        for seed in seeds:
            results += _bound_chunk(scenario, [seed])
            if on_done:
                on_done(1)
    else:
        with process_pool(len(chunks)) as pool:
            futures = [pool.submit(_bound_chunk, scenario, chunk) for chunk in chunks]
            for future in as_completed(futures):
                done = future.result()
                results += done
                if on_done:
                    on_done(len(done))
    order = {seed: i for i, seed in enumerate(seeds)}
    return sorted(results, key=lambda r: order[r.seed])


def bound_report(
    scenario: Scenario, seeds: Sequence[int], n_workers: int | None = 1,
    on_done: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The ``allocsim bound --json`` document: DP value (or null) and the bound per seed.

    ``on_done`` receives counts of bounded seeds as they finish.
    """
    optimum = dp_value(scenario)
    bounds = seed_bounds(scenario, seeds, n_workers, on_done)
    return {
        "scenario": scenario.name,
        "dp_value": optimum.value,
        "dp_note": optimum.note,
        "dp_states": optimum.states, "dp_actions": optimum.actions, "dp_pairs": optimum.pairs,
        "dp_seconds": round(optimum.seconds, 3),
        "bounds": [
            {"seed": r.seed, "bound": r.bound, "rows": r.rows, "cols": r.cols, "nnz": r.nnz,
             "solve_seconds": round(r.solve_seconds, 4)}
            for r in bounds
        ],
    }


def bound_summary(report: dict[str, Any], seconds: float) -> str:
    """One closing line: seeds bounded, mean and range of the bound, the DP optimum, wall time."""
    values = [row["bound"] for row in report["bounds"]]
    mean = sum(values) / len(values)
    line = (f"{report['scenario']}: clairvoyant bound on {len(values)} seed(s), mean {mean:,.2f} "
            f"(min {min(values):,.2f}, max {max(values):,.2f})")
    if report["dp_value"] is not None:
        line += f"; DP optimum {report['dp_value']:,.2f}"
    return f"{line}; {seconds:.1f} s"


def _gap(reference: float, profit: float) -> float:
    return 100.0 * (reference - profit) / abs(reference) if reference else math.nan


def attach_gaps(rows: Sequence[Row], bounds: dict[int, float], optimum: float | None) -> None:
    """Add ``bound``, ``gap_to_bound_pct`` and (with a DP) ``gap_to_optimal_pct`` to each episode row."""
    for row in rows:
        bound = bounds[row["seed"]]
        row["bound"] = bound
        row["gap_to_bound_pct"] = _gap(bound, row["profit"])
        if optimum is not None:
            row["gap_to_optimal_pct"] = _gap(optimum, row["profit"])


def gap_closed(summary: pd.DataFrame, rules: Collection[str]) -> pd.DataFrame:
    """``summary`` with ``bound_gap_closed_pct``: each policy's share of the best-rule-to-bound gap."""
    if "bound_mean" not in summary:
        return summary
    out = summary.copy()
    ranked = out[out["policy"].isin(list(rules))]
    if ranked.empty:
        out[CLOSED] = math.nan
        return out
    best = float(ranked["profit_mean"].max())
    gap = float(out["bound_mean"].iloc[0]) - best
    out[CLOSED] = 100.0 * (out["profit_mean"] - best) / gap if gap > 1e-9 else math.nan
    return out
