"""What the planner's benchmark costs: every rule set on retail-small, and one myopic-lp decision.

* ``run_benchmark`` with every tuned rule on retail-small, ``--episodes`` episodes each,
  on ``--workers`` processes, with and without the clairvoyant bound (target: <= 60 s for
  100 episodes on 2 cores, files not included);
* ``myopic-lp`` ``predict`` on retail-medium over whole episodes: p50 and p99 of one
  decision (target <= 5 ms).

Usage: ``python bench/bench_rules.py [--episodes N] [--workers W] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from harness import write_results  # beside this file (on sys.path)

from allocsim.baselines.registry import make_policy
from allocsim.baselines.tuned_params import load_tuned
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.benchmark import run_benchmark
from allocsim.experiments.seeds import seed_block, seed_range

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK_TARGET_S, DECISION_TARGET_MS = 60.0, 5.0


def benchmark_seconds(episodes: int, workers: int, bound: bool) -> float:
    scenario = load_scenario("retail-small")
    seeds = seed_range(seed_block("test").start, episodes)
    started = time.perf_counter()
    run_benchmark(scenario, seeds, tuned_dir=None, n_workers=workers, bound=bound)
    return time.perf_counter() - started


def myopic_lp_decisions(episodes: int) -> dict[str, float]:
    env = AllocationEnv("retail-medium")
    params = load_tuned(env.unwrapped.scenario, "myopic-lp", None) or {}
    times = []
    for k in range(episodes):
        seed = 40000 + k
        obs, _ = env.reset(seed=seed)
        policy = make_policy("myopic-lp", env, seed=seed, **params)
        done = False
        while not done:
            started = time.perf_counter()
            action, _ = policy.predict(obs, deterministic=True)
            times.append(time.perf_counter() - started)
            obs, _, done, _, _ = env.step(action)
    ms = np.array(times) * 1000
    p50, p99 = np.percentile(ms, [50, 99])
    return {"decisions": len(ms), "p50_ms": float(p50), "p99_ms": float(p99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lp-episodes", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    without = benchmark_seconds(args.episodes, args.workers, bound=False)
    with_bound = benchmark_seconds(args.episodes, args.workers, bound=True)
    lp = myopic_lp_decisions(args.lp_episodes)
    print(f"all rule sets on retail-small, {args.episodes} episodes each, {args.workers} workers:")
    print(f"  {without:.1f} s without bounds, {with_bound:.1f} s with the clairvoyant bound per seed")
    print(f"myopic-lp on retail-medium, {lp['decisions']} decisions: p50 {lp['p50_ms']:.2f} ms, "
          f"p99 {lp['p99_ms']:.2f} ms")
    print(f"  {'PASS' if with_bound <= BENCHMARK_TARGET_S else 'MISS'} benchmark <= 60 s")
    print(f"  {'PASS' if lp['p50_ms'] <= DECISION_TARGET_MS else 'MISS'} myopic-lp decision <= 5 ms (p50)")
    result = {"benchmark_s": without, "benchmark_with_bound_s": with_bound, "myopic_lp": lp}
    write_results("bench_rules", result, args.json,
                  f"python bench/bench_rules.py --episodes {args.episodes} --workers {args.workers}")


if __name__ == "__main__":
    main()
