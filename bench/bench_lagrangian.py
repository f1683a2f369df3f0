"""How long the Lagrangian bound takes and where it lands: per preset, fit once, then per seed.

Prints, per preset it applies to, the one-off fit (column-generation rounds, seconds, fit
seeds), the DP lanes' part (computed once per evaluation run), the per-seed time of the DC
and fallback pieces (median and max), and the bound's mean over the seeds (with the DP
optimum where there is one); then the target: the bound on retail-medium <= 10 s per seed
(the DP lanes' once-per-run part is divided over the seeds, the one-off fit is not).

Usage: ``python bench/bench_lagrangian.py [--seeds N] [--presets a,b]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
from harness import print_targets, target, write_results  # beside this file (on sys.path)

from allocsim.baselines import dp
from allocsim.baselines.lagrangian_bound import Split, fit_multipliers, lagrangian_bound, lanes_value, refusal
from allocsim.envs.allocation_env import AllocationEnv

PRESETS = ("tiny-dp", "small-dp", "retail-small", "retail-medium", "seasonal-aging")
FIT_SEEDS = list(range(19_996, 20_000))  # the end of the tuning block, as allocsim bound fits
TARGET = ("retail-medium", 10.0)  # seconds per seed


def figures(name: str, seeds: list[int]) -> dict[str, Any] | None:
    """Fit, lanes and per-seed timings of one preset (None where the bound is refused)."""
    env = AllocationEnv(name)
    net, profile = env.network, env.profile
    why = refusal(net, profile)
    if why is not None:
        print(f"{name:22s} refused: {why}")
        return None
    fitted = fit_multipliers(net, profile, FIT_SEEDS)
    started = time.perf_counter()
    split = Split.of(net, profile)
    lanes = lanes_value(net, profile, fitted.price)
    lanes_s = time.perf_counter() - started
    results = [lagrangian_bound(net, profile, fitted.price, seed, lanes, split) for seed in seeds]
    per_seed = [r.seconds for r in results]
    optimum = dp.solution_for(net, profile).value if dp.refusal(net) is None else None
    row = {"preset": name, "rounds": fitted.rounds, "fit_s": fitted.seconds,
           "fit_seeds": len(fitted.fitted_on), "lanes_s": lanes_s,
           "seed_median_s": statistics.median(per_seed), "seed_max_s": max(per_seed),
           "per_seed_s": max(per_seed) + lanes_s / len(seeds),
           "mean": float(np.mean([r.bound for r in results])), "dp_optimum": optimum}
    dp_text = f", DP optimum {optimum:,.2f}" if optimum is not None else ""
    print(f"{name:22s} fit {fitted.rounds:4d} rounds {fitted.seconds:7.1f} s on {len(fitted.fitted_on)} "
          "seed(s); "
          f"lanes {lanes_s:6.2f} s; per seed {row['seed_median_s']:.3f} s (max {row['seed_max_s']:.3f}); "
          f"mean {row['mean']:,.2f}{dp_text}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per preset (default 5)")
    parser.add_argument("--presets", default=",".join(PRESETS), help="comma-separated presets")
    args = parser.parse_args()
    seeds = list(range(40_000, 40_000 + args.seeds))  # the benchmark's test block
    rows = [row for name in args.presets.split(",") if (row := figures(name, seeds)) is not None]
    medium = next((r for r in rows if r["preset"] == TARGET[0]), None)
    targets = [target("Lagrangian bound on retail-medium per seed", medium and medium["per_seed_s"], "<=",
                      TARGET[1], "s")]
    print_targets(targets)
    write_results("bench_lagrangian", {"seeds": args.seeds, "presets": rows, "targets": targets})


if __name__ == "__main__":
    main()
