"""Performance of the events mode (issue 15) on retail-medium, one process, wall-clock figures.

Prints steps/s and order events/s of the single env in events mode (``gym.make(...,
timing="events")``, FCFS, every order a SimPy event), the events per step, and the
aggregated single env measured in alternated rounds in the same process (so machine
load hits both alike); then the issue's targets as PASS / MISS lines. Random actions are
sampled once up front; only time in ``step`` is counted (``harness.timed_episode``).
Usage: ``python bench/bench_events.py [--quick] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import gymnasium as gym
from harness import gc_paused, median, sample_actions, target, timed_episode, write_results

from allocsim.envs import ENV_ID
from allocsim.envs.allocation_env import AllocationEnv

PRESET = "retail-medium"
TARGET_STEPS = 500.0
TARGET_ORDERS = 200_000.0


def _round(env: AllocationEnv, actions: Any, k: int, seed: int,
           episodes: int) -> tuple[int, dict[str, float]]:
    """``episodes`` whole episodes; (next action index, steps, seconds, orders, receipts)."""
    events = env.events
    orders0 = events.desk.orders if events else 0
    receipts0 = events.receipt_events if events else 0
    steps, seconds = 0, 0.0
    with gc_paused():
        for e in range(episodes):
            k2, spent = timed_episode(env, actions, k, seed + e)
            steps, seconds, k = steps + (k2 - k), seconds + spent, k2
    return k, {"steps": steps, "seconds": seconds,
               "orders": (events.desk.orders - orders0) if events else 0,
               "receipts": (events.receipt_events - receipts0) if events else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--json", type=Path, help="write the figures here (default bench/results/)")
    args = parser.parse_args()
    rounds, episodes = (3, 1) if args.quick else (5, 3)
    envs = {mode: gym.make(ENV_ID, scenario=PRESET, timing=mode).unwrapped
            for mode in ("events", "aggregated")}
    actions = sample_actions(envs["events"].action_space, 0)
    for env in envs.values():  # warm-up: compiled code loaded, first-call costs out of the figures
        timed_episode(env, actions, 0, 1)
    figures: dict[str, list[dict[str, float]]] = {mode: [] for mode in envs}
    k = 0
    for r in range(rounds):  # alternated: events, aggregated, events, ...
        for mode, env in envs.items():
            k, row = _round(env, actions, k, 1000 * (r + 1), episodes)
            figures[mode].append(row)
    ev = figures["events"]
    steps_s = median(x["steps"] / x["seconds"] for x in ev)
    orders_s = median(x["orders"] / x["seconds"] for x in ev)
    per_step = sum(x["orders"] for x in ev) / sum(x["steps"] for x in ev)
    receipts_step = sum(x["receipts"] for x in ev) / sum(x["steps"] for x in ev)
    aggregated = median(x["steps"] / x["seconds"] for x in figures["aggregated"])
    load = os.getloadavg()[0]
    print(f"events mode, {PRESET}, single env, FCFS, random actions ({rounds} rounds x {episodes} episodes, "
          f"median; load average {load:.1f} on {os.cpu_count()} CPUs)")
    print(f"  steps/s            {steps_s:12,.0f}")
    print(f"  order events/s     {orders_s:12,.0f}")
    print(f"  order events/step  {per_step:12,.1f}   (+ {receipts_step:.2f} timed receipt events, one close)")
    print(f"  aggregated steps/s {aggregated:12,.0f}   (same process, alternated rounds)")
    print(f"  events / aggregated time per step: {aggregated / steps_s:.1f}x")
    targets = [target("events steps/s", steps_s, ">=", TARGET_STEPS, "steps/s"),
               target("order events/s", orders_s, ">=", TARGET_ORDERS, "events/s")]
    for t in targets:
        print(f"{t['status']}: {t['target']} {t['measured']:,.0f} (target >= {t['threshold']:,.0f})")
    write_results("bench_events", {"steps_per_s": steps_s, "orders_per_s": orders_s,
                                   "orders_per_step": per_step, "aggregated_steps_per_s": aggregated,
                                   "load_average": load,
                                   "rounds": figures, "targets": targets},
                  args.json, "python bench/bench_events.py" + (" --quick" if args.quick else ""))


if __name__ == "__main__":
    main()
