"""Rollouts from a state (issue 23 item 6): simulated periods/s of one ``Rollouts.run`` call.

retail-medium, three periods into an episode under tuned base-stock; K candidate first
decisions (the tuned rules') x M sampled futures x H periods, tuned base-stock deciding for
every copy after the first period (batched: a constant ``targets`` action). A figure is
simulated copy-periods / wall time of whole ``run`` calls (state tiling, futures, base
decisions and compiled steps all included), the median of the rounds; the first call is
untimed (compilation and futures). Target: >= 100,000 simulated periods/s.
Also printed: periods per CPU second of the calling thread (what a loaded machine still measures).
Usage: ``python bench/bench_rollouts.py [--scenario NAME] [--samples M] [--horizon H] [--rounds N]
[--threads T]``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np
from harness import median, print_targets, section, target, write_results  # beside this file (on sys.path)

from allocsim.baselines.batch_rules import batch_policy
from allocsim.baselines.registry import make_policy
from allocsim.baselines.tuned_params import load_tuned
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.rollouts import Rollouts

RULES = ("base-stock", "priority", "proportional", "balanced", "min-max", "hold", "base-stock", "priority")
TARGET = 100_000.0


def tuned(scenario: str, name: str) -> dict[str, Any]:
    return {} if name == "hold" else (load_tuned(scenario, name) or {})


def measure(scenario: str, samples: int, horizon: int, rounds: int, threads: int = 1) -> dict[str, Any]:
    """Periods/s of ``rounds`` timed ``run`` calls from one state, and the set-up."""
    env = AllocationEnv(scenario)
    obs, _ = env.reset(seed=40_001)
    rule = make_policy("base-stock", env, **tuned(scenario, "base-stock"))
    for _ in range(3):
        obs, *_ = env.step(rule.predict(obs)[0])
    first = np.stack([make_policy(n, env, **tuned(scenario, n)).predict(obs)[0] for n in RULES])
    base = tuned(scenario, "base-stock")
    rollouts = Rollouts(env, len(RULES), samples, horizon, base=lambda e: batch_policy("base-stock", e, base),
                        threads=threads)
    state = env.get_state()
    rollouts.run(state, first)  # untimed: compilation, futures
    rates, seconds, cpu = [], [], []
    for _ in range(rounds):
        start, main = time.perf_counter(), time.thread_time()
        result = rollouts.run(state, first)
        elapsed, main = time.perf_counter() - start, time.thread_time() - main
        rates.append(result.periods / elapsed)
        seconds.append(elapsed)
        cpu.append(result.periods / main)
    return {"scenario": scenario, "candidates": len(RULES), "samples": samples, "horizon": horizon,
            "copies": len(RULES) * samples, "threads": threads, "base": type(rollouts.base).__name__,
            "periods_per_call": result.periods, "call_seconds_median": median(seconds),
            "periods_per_second": median(rates), "rounds": rates,
            "periods_per_calling_thread_cpu_second": median(cpu), "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="retail-medium")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="threads the batch is stepped on")
    args = parser.parse_args()
    section(f"rollouts: {args.scenario}, {len(RULES)} candidates x {args.samples} futures x "
            f"{args.horizon} periods")
    f = measure(args.scenario, args.samples, args.horizon, args.rounds, args.threads)
    print(f"{f['copies']} copies on {f['threads']} thread(s), base {f['base']}: "
          f"{f['periods_per_second']:,.0f} simulated periods/s ({f['call_seconds_median'] * 1e3:.1f} ms per "
          f"call of {f['periods_per_call']:,} periods); "
          f"{f['periods_per_calling_thread_cpu_second']:,.0f} per CPU second of the calling thread "
          f"(load average {f['load']:.1f})")
    figures = f
    targets = [target(f"rollouts on {args.scenario}", figures["periods_per_second"], ">=", TARGET, "steps/s")]
    print_targets(targets)
    command = (f"python bench/bench_rollouts.py --scenario {args.scenario} --samples {args.samples} "
               f"--horizon {args.horizon} --rounds {args.rounds} --threads {args.threads}")
    write_results("bench_rollouts", {"figures": figures, "targets": targets}, command=command)


if __name__ == "__main__":
    main()
