"""The engine benchmark's threads section: the vector env on one thread against two, alternated rounds of
whole episodes, with each thread's CPU time per step (so a loaded machine still says what an idle one
would give). ``bench_engine.py --only threads`` calls it."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from harness import (  # beside this file (on sys.path)
    REFERENCE_PRESET,
    Budget,
    alternated,
    gc_paused,
    median,
    paired_ratio,
    sample_actions,
    say,
    section,
)

from allocsim.envs import ENV_ID


def thread_cpu_seconds() -> dict[str, float]:
    """CPU seconds run so far by each thread of this process (Linux ``/proc/self/task/*/schedstat``,
    nanoseconds; empty elsewhere)."""
    out = {}
    for task in Path("/proc/self/task").glob("*"):
        try:
            out[task.name] = int((task / "schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue
    return out


def run_threads(budget: Budget, copies: int = 256) -> dict[str, Any]:
    """Section: the vector env on one thread against two, whole episodes in alternated rounds.

    Besides env steps/s (wall), each round records CPU seconds per step: the calling thread's and the
    busiest other thread's. On a loaded machine the wall ratio says little; the CPU figure says what
    an idle one would give: one thread's CPU per step over the two-thread step's critical path (the
    larger of the two threads' CPU per step). The cores the process kept busy (CPU over wall time)
    tell whether a second core was free at all."""
    section(f"threads: vector env, {REFERENCE_PRESET}, {copies} copies, 1 vs 2 threads")
    envs = {n: gym.make_vec(ENV_ID, num_envs=copies, scenario=REFERENCE_PRESET, threads=n) for n in (1, 2)}
    actions = sample_actions(envs[1].action_space, 0, 8).astype(np.float32)
    horizon = int(envs[1].unwrapped.network.periods)
    cpu: dict[int, list[tuple[float, float]]] = {1: [], 2: []}  # (calling thread, busiest other) s/step
    busy: dict[int, list[float]] = {1: [], 2: []}  # cores the process kept busy (CPU s per wall s)

    def episode(n: int) -> float:
        venv = envs[n]
        with gc_paused():
            before, main = thread_cpu_seconds(), time.thread_time()
            start = time.perf_counter()
            for i in range(horizon):
                venv.step(actions[i % len(actions)])
            elapsed = time.perf_counter() - start
            main, after = time.thread_time() - main, thread_cpu_seconds()
        me = str(threading.get_native_id())
        others = [after[t] - before.get(t, 0.0) for t in after if t != me]
        cpu[n].append((main / horizon, max(others, default=0.0) / horizon))
        busy[n].append((main + sum(others)) / elapsed)
        return copies * horizon / elapsed

    for n, venv in envs.items():  # warm-up (the first call loads the kernel)
        venv.reset(seed=0)
        episode(n)
        cpu[n].clear()
        busy[n].clear()
    rounds = alternated(budget.repeats, {str(n): (lambda n=n: episode(n)) for n in envs})
    one, two = rounds["1"], rounds["2"]
    ratio = paired_ratio(two, one)
    cpu_ratio = median([a[0] / max(b) for a, b in zip(cpu[1], cpu[2], strict=True)])
    load = os.getloadavg()[0]
    say(f"1 thread {median(one):,.0f}, 2 threads {median(two):,.0f} env steps/s: {ratio:.2f}x (median of "
        f"{budget.repeats} paired rounds; load average {load:.1f} on {os.cpu_count()} CPUs)")
    say(f"CPU ms per step: 1 thread {median([c[0] for c in cpu[1]]) * 1e3:.2f}; 2 threads calling thread "
        f"{median([c[0] for c in cpu[2]]) * 1e3:.2f}, other {median([c[1] for c in cpu[2]]) * 1e3:.2f}: "
        f"{cpu_ratio:.2f}x on CPU time (what an idle machine gives, hand-off latency aside)")
    say(f"cores kept busy with 2 threads: {median(busy[2]):.2f} (near 1: the machine had no second core "
        "free, and the wall ratio cannot show the gain)")
    return {"copies": copies, "one": one, "two": two, "speedup_paired": ratio, "speedup_cpu": cpu_ratio,
            "cpu_ms_per_step": {str(n): [[x * 1e3 for x in c] for c in cpu[n]] for n in cpu},
            "cores_busy_two_threads": busy[2], "load": load}
