"""Two versions of allocsim in alternated subprocess rounds: what a change to the engine bought.

On a machine whose speed drifts (a shared 2-core box), absolute figures of two runs an hour
apart say little; rounds alternated between the versions (before, after, before, ...) see
the same load. Each round of a case is a fresh interpreter (warm numba cache) that times one
figure, by the wall clock and by the thread's CPU time (which the other processes of a busy
machine do not inflate); the medians and the median of the per-round ratios are printed and
written to ``bench/results/bench_versions.json``.

``REFERENCE`` is a folder holding another copy of the package as ``REFERENCE/allocsim`` (e.g.
``mkdir -p /tmp/ref/allocsim && git archive HEAD~1 | tar -x -C /tmp/ref/allocsim``); it is put
first on ``PYTHONPATH`` for the 'before' rounds, the 'after' rounds run this checkout.
Usage: ``python bench/bench_versions.py REFERENCE [--rounds N] [--cases CASE ...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import median, paired_ratio, say, section, write_results

BENCH = Path(__file__).resolve().parent

#: One figure per child: ``case`` -> (what it prints, higher is better).
CASES = {
    "vector256": ("env steps/s, retail-medium, 256 copies, one episode with its autoreset", True),
    "vector16": ("env steps/s, retail-medium, 16 copies, one episode", True),
    "single": ("steps/s, retail-medium single env (gym.make), 3 episodes", True),
    "single_targets": ("steps/s, retail-medium single env, action_mode targets, 3 episodes", True),
    "single_residual": ("steps/s, retail-medium single env, action_mode residual, 3 episodes", True),
    "reset": ("ms per reset, retail-medium single env, median of 200", False),
    "big_single": ("steps/s, 100 x 50 synthetic single env, one episode", True),
    "big_vector64": ("env steps/s, 100 x 50 synthetic, 64 copies, one episode", True),
}

CHILD = """
import json, statistics, sys, time, gc
sys.path.insert(0, sys.argv[2])
import gymnasium as gym, numpy as np
import allocsim.envs
from bench_env import synthetic_scenario
case = sys.argv[1]
big = case.startswith("big")
scenario = synthetic_scenario(100, 50) if big else "retail-medium"
def vector(copies):
    venv = gym.make_vec(allocsim.envs.ENV_ID, num_envs=copies, scenario=scenario)
    venv.action_space.seed(0)
    acts = [venv.action_space.sample() for _ in range(8)]
    venv.reset(seed=0)
    for i in range(3):
        venv.step(acts[i % 8])
    horizon = venv.unwrapped.network.periods
    gc.disable()
    start, cpu = time.perf_counter(), time.thread_time()
    for i in range(horizon):
        venv.step(acts[i % 8])
    return copies * horizon / (time.perf_counter() - start), copies * horizon / (time.thread_time() - cpu)
def single(episodes, mode="shares"):
    env = gym.make(allocsim.envs.ENV_ID, scenario=scenario, action_mode=mode)
    env.action_space.seed(0)
    acts = [env.action_space.sample() for _ in range(64)]
    env.reset(seed=0)
    env.step(acts[0])
    steps, spent, cpu = 0, 0.0, 0.0
    gc.disable()
    for e in range(episodes):
        env.reset(seed=e + 1)
        done = False
        start, cpu0 = time.perf_counter(), time.thread_time()
        while not done:
            done = env.step(acts[steps % 64])[2]
            steps += 1
        spent += time.perf_counter() - start
        cpu += time.thread_time() - cpu0
    return (steps / spent, steps / cpu), env
if case in ("vector256", "vector16", "big_vector64"):
    figure = vector({"vector256": 256, "vector16": 16, "big_vector64": 64}[case])
elif case in ("single", "big_single"):
    figure = single(1 if big else 3)[0]
elif case.startswith("single_"):  # single_targets, single_residual
    figure = single(3, case.split("_", 1)[1])[0]
else:
    _, env = single(1)
    times, cpus = [], []
    for i in range(200):
        start, cpu0 = time.perf_counter(), time.thread_time()
        env.reset(seed=1000 + i)
        times.append(time.perf_counter() - start)
        cpus.append(time.thread_time() - cpu0)
    figure = 1e3 * statistics.median(times), 1e3 * statistics.median(cpus)
print(json.dumps({"figure": figure[0], "cpu": figure[1]}))
"""


def run_round(case: str, pythonpath: str | None) -> tuple[float, float]:
    """One figure of ``case`` from a fresh interpreter (``pythonpath`` first on the path if given):
    (by the wall clock, by CPU time)."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-c", CHILD, case, str(BENCH)], env=env, capture_output=True,
                          text=True, check=False, cwd="/")
    if done.returncode != 0:
        raise SystemExit(f"bench_versions: case {case} failed: {done.stderr.strip().splitlines()[-1:]}")
    row = json.loads(done.stdout.strip().splitlines()[-1])
    return float(row["figure"]), float(row["cpu"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("reference", type=Path, help="folder holding the 'before' copy as REFERENCE/allocsim")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=["vector256", "single", "reset"])
    parser.add_argument("--json", type=Path, metavar="PATH", help="default bench/results/bench_versions.json")
    args = parser.parse_args(argv)
    if not (args.reference / "allocsim" / "__init__.py").is_file():
        print(f"bench_versions: {args.reference}/allocsim/__init__.py not found: not a reference copy",
              file=sys.stderr)
        return 2
    out: dict[str, Any] = {}
    for case in args.cases:
        label, higher = CASES[case]
        section(f"{case}: {label}")
        run_round(case, str(args.reference))  # warm-up: both caches filled (compiles on a cold one)
        run_round(case, None)
        rows: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            rows["before"].append(run_round(case, str(args.reference)))
            rows["after"].append(run_round(case, None))
        out[case] = {"label": label}
        for i, clock in enumerate(("wall", "cpu")):
            before, after = [r[i] for r in rows["before"]], [r[i] for r in rows["after"]]
            gain = paired_ratio(after, before) if higher else paired_ratio(before, after)
            out[case][clock] = {"before": before, "after": after, "before_median": median(before),
                                "after_median": median(after), "speedup_paired": gain}
            say(f"{clock}: before {median(before):,.3f}, after {median(after):,.3f}: {gain:.2f}x faster "
                f"(median of {args.rounds} paired rounds)")
    write_results("bench_versions", {"reference": str(args.reference), "rounds": args.rounds, "cases": out},
                  args.json, "python bench/bench_versions.py REFERENCE --cases " + " ".join(args.cases))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
