"""How long the bounds take: clairvoyant LP per preset and the exact DP on each DP preset (one process).

Prints, per preset, the clairvoyant LP's size (rows, columns, non-zeros of the first
seed), its build and HiGHS solve time per seed (median and max over the seeds), the
penalised (information-relaxation) bound's mean, its seconds per seed (slowest) and the
one-off seconds to fit its penalty, and the gap between the best rule (tuned parameters
where ``tuned/`` has them, as the benchmark runs it) and the mean bound on the same
seeds; then the exact DP on each DP preset (states and decisions per period, feasible
state-decision pairs per period, value, solve time from scratch); then the issue's
targets as PASS / MISS lines: bound on retail-medium <= 10 s per seed (zero-penalty and
penalised), DP on each DP preset <= 60 s.

Usage: ``python bench/bench_bounds.py [--seeds N] [--no-gaps] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from harness import write_results  # beside this file (on sys.path)

from allocsim.baselines import dp
from allocsim.baselines.clairvoyant import clairvoyant_bound
from allocsim.baselines.info_relaxation import penalised_bound
from allocsim.baselines.registry import best_tuned_rule
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import load_scenario, preset_names
from allocsim.experiments.benchmark import rule_specs
from allocsim.experiments.bounds import penalty_for
from allocsim.experiments.evaluation import evaluate

BOUND_TARGET = ("retail-medium", 10.0)  # seconds per seed
DP_PRESETS = ("tiny-dp", "small-dp")
DP_TARGET = 60.0  # seconds per DP solve


def bound_figures(name: str, seeds: list[int]) -> dict[str, Any]:
    """LP size of the first seed and build / solve seconds per seed."""
    env = AllocationEnv(name)
    results = [clairvoyant_bound(env.network, seed, env.profile) for seed in seeds]
    total = [r.build_seconds + r.solve_seconds for r in results]
    started = time.perf_counter()
    penalty = penalty_for(load_scenario(name))
    fit_s = time.perf_counter() - started
    penalised = [penalised_bound(env.network, seed, env.profile, penalty) for seed in seeds]
    return {
        "preset": name, "rows": results[0].rows, "cols": results[0].cols, "nnz": results[0].nnz,
        "build_s": statistics.median(r.build_seconds for r in results),
        "solve_s": statistics.median(r.solve_seconds for r in results),
        "max_total_s": max(total), "bound_mean": float(np.mean([r.bound for r in results])),
        "penalised_mean": float(np.mean([r.penalised for r in penalised])),
        "penalised_max_s": max(r.seconds for r in penalised), "fit_s": fit_s,
    }


def best_rule(name: str, seeds: list[int], workers: int) -> tuple[str, float]:
    """The best tuned rule (``registry.best_tuned_rule``) of the rule sets on ``seeds`` and its mean."""
    specs, _ = rule_specs(name, None, Path("tuned"))
    rows = evaluate(load_scenario(name), specs, seeds, n_workers=workers)
    profits: dict[str, list[float]] = {}
    for row in rows:
        profits.setdefault(row["policy"], []).append(row["profit"])
    means = {label: float(np.mean(values)) for label, values in profits.items()}
    label = best_tuned_rule(means)
    assert label is not None, "no tuned rule played"
    return label, means[label]


def dp_figures(name: str, repeats: int = 3) -> dict[str, Any]:
    """State, allocation and pair counts per period, value and solve time (median) of one DP preset."""
    env = AllocationEnv(name)
    dp.solve(env.network, env.profile)  # compiles the kernels (cached on disk) before timing
    times, sol = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        sol = dp.solve(env.network, env.profile)
        times.append(time.perf_counter() - started)
    assert sol is not None
    return {"preset": name, "states_per_period": sol.states, "decisions": sol.decisions,
            "pairs_per_period": sol.pairs, "value": sol.value, "seconds": statistics.median(times),
            "policy_rows": len(sol.table())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per preset (default 5)")
    parser.add_argument("--no-gaps", action="store_true", help="skip running the rules for the gap column")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    seeds = list(range(40_000, 40_000 + args.seeds))  # the benchmark's test block
    workers = os.cpu_count() or 1
    print(f"clairvoyant LP bound, {args.seeds} seeds per preset (HiGHS via scipy.optimize.linprog)")
    names = (("rows", 7), ("cols", 7), ("nnz", 8), ("build s", 8), ("solve s", 8), ("max s", 7),
             ("mean bound", 12), ("penalised", 12), ("pen max s", 9), ("fit s", 7))
    print(f"{'preset':22s} " + " ".join(f"{n:>{w}s}" for n, w in names) + "  best rule (mean profit) / gap")
    figures: list[dict[str, Any]] = []
    for name in preset_names():
        row = bound_figures(name, seeds)
        line = (f"{name:22s} {row['rows']:7d} {row['cols']:7d} {row['nnz']:8d} {row['build_s']:8.3f} "
                f"{row['solve_s']:8.3f} {row['max_total_s']:7.3f} {row['bound_mean']:12.2f} "
                f"{row['penalised_mean']:12.2f} {row['penalised_max_s']:9.3f} {row['fit_s']:7.1f}")
        if not args.no_gaps:
            label, profit = best_rule(name, seeds, workers)
            row.update(best_rule=label, best_profit=profit,
                       gap_pct=100 * (row["bound_mean"] - profit) / abs(row["bound_mean"]))
            line += f"  {label} ({profit:,.2f}) / {row['gap_pct']:.2f} %"
        print(line, flush=True)
        figures.append(row)
    exact = [dp_figures(name) for name in DP_PRESETS]
    print()
    for row in exact:
        print(f"exact DP on {row['preset']}: {row['states_per_period']:,} states and "
              f"{row['decisions']:,} decisions per period, {row['pairs_per_period']:,} feasible "
              f"state-decision pairs per period, value {row['value']:.4f}, {row['seconds']:.3f} s "
              f"(median of 3), policy table {row['policy_rows']:,} rows")
    medium = next(r for r in figures if r["preset"] == BOUND_TARGET[0])
    checks = [
        (f"bound on {BOUND_TARGET[0]} <= {BOUND_TARGET[1]:.0f} s per seed (slowest seed, build + solve)",
         medium["max_total_s"], BOUND_TARGET[1]),
        (f"penalised bound on {BOUND_TARGET[0]} <= {BOUND_TARGET[1]:.0f} s per seed (slowest seed, without "
         "the one-off fit)", medium["penalised_max_s"], BOUND_TARGET[1]),
        *((f"DP on {row['preset']} <= {DP_TARGET:.0f} s", row["seconds"], DP_TARGET) for row in exact),
    ]
    print()
    for label, value, target in checks:
        print(f"{'PASS' if value <= target else 'MISS'}  {label}: {value:.3f} s")
    write_results("bench_bounds", {"bounds": figures, "dp": exact}, args.json,
                  f"python bench/bench_bounds.py --seeds {args.seeds}"
                  + (" --no-gaps" if args.no_gaps else ""))


if __name__ == "__main__":
    main()
