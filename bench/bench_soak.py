"""Soak: 1,000,000 single-env steps on retail-medium played the way ``allocsim benchmark`` plays them,
resident memory growth printed (target < 10 MB).

Where ``bench_engine.py``'s memory section steps the bare env with random actions, this
soak goes through the evaluation path users run: a policy built afresh per episode
(``build_policy``), each episode played by ``run_episode`` and its KPI dict (with
breakdowns) made and dropped. A fresh subprocess warms up for a few episodes, then
RSS is read after each tenth of the steps. Usage:
``python bench/bench_soak.py [--steps N] [--policy NAME] [--scenario S] [--json PATH]``.
Exit code 1 when the growth misses the target.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench_engine import RSS_MB, run_child
from harness import REFERENCE_PRESET, print_targets, say, section, target, write_results

TARGET_MB = 10.0

SOAK_CHILD = RSS_MB + """
import gc, json, math, sys, time
from allocsim.experiments.evaluation import PolicySpec, build_policy, env_for, run_episode
from allocsim.envs.scenario import load_scenario
scenario, steps, name = load_scenario(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
spec, env = PolicySpec(name), env_for(scenario)
episodes = math.ceil(steps / scenario.periods)
profit = 0.0
def play(seed):
    global profit
    profit += run_episode(env, build_policy(spec, env, seed), seed)["profit"]
for seed in range(5):  # warm-up: first-call allocations stay out of the growth
    play(10_000 + seed)
gc.collect()
out = {"start": rss_mb(), "trace": [], "episodes": episodes, "periods": scenario.periods}
began = time.perf_counter()
for k in range(episodes):
    play(k)
    if (k + 1) % max(1, episodes // 10) == 0:
        out["trace"].append(round(rss_mb(), 2))
out["seconds"] = time.perf_counter() - began
gc.collect()
out["end"] = rss_mb()
out["mean_profit"] = profit / (episodes + 5)
print(json.dumps(out))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000, help="env steps (whole episodes)")
    parser.add_argument("--policy", default="random",
                        help="the policy that plays (random: cheap, hits every decode path)")
    parser.add_argument("--scenario", default=REFERENCE_PRESET)
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="write the figures here (default bench/results/bench_soak.json)")
    args = parser.parse_args(argv)
    section(f"soak: {args.steps:,} single-env steps, {args.scenario}, {args.policy}, run_episode per seed")
    res = run_child(SOAK_CHILD, [args.scenario, str(args.steps), args.policy], dict(os.environ), timeout=7200)
    if "error" in res:
        say(f"FAILED ({res['wall_s']:.1f} s): {res['error'][:160]}")
        return 1
    growth = res["end"] - res["start"]
    steps = res["episodes"] * res["periods"]
    say(f"{res['episodes']:,} episodes x {res['periods']} periods = {steps:,} steps in "
        f"{res['seconds']:.0f} s "
        f"({steps / res['seconds']:,.0f} steps/s): RSS {res['start']:.1f} -> {res['end']:.1f} MB, "
        f"growth {growth:+.2f} MB")
    say("RSS (MB) after each tenth of the episodes: " + " ".join(f"{v:.1f}" for v in res["trace"]))
    judged = target(f"RSS growth, {steps:,} steps via run_episode", growth, "<", TARGET_MB, "MB")
    print_targets([judged])
    write_results("bench_soak", {**res, "growth_mb": growth, "target": judged}, args.json,
                  f"python bench/bench_soak.py --steps {args.steps} --policy {args.policy}")
    return 0 if judged["status"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
