"""The engine benchmark's sections that run in fresh interpreters: compilation (cold and warm,
import to first steps on a given ``NUMBA_CACHE_DIR``, with the CPU time numba spent on each function it
compiled: on the warm run, any entry is a cache miss) and memory (RSS around a vector env and the
single env's growth). ``bench_engine.py`` calls them; a child's last stdout line is its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import REFERENCE_PRESET, Budget, say, section  # beside this file (on sys.path)

MEMORY_COPIES = 256
COMPILE_COPIES = 8  # copies of the vector env in the compilation subprocesses
COMPILE_SHOWN = 8  # compiled functions printed, the costliest first (the JSON keeps them all)


COMPILE_CHILD = """
import json, sys, time
start = time.perf_counter()
from numba.core import event

class SelfTime(event.Listener):  # CPU seconds of each compilation less the compilations nested in it
    def __init__(self):
        self.open, self.seconds, self.count = [], {}, {}
    def on_start(self, ev):
        self.open.append([time.process_time(), 0.0])
    def on_end(self, ev):
        began, nested = self.open.pop()
        spent = time.process_time() - began
        if self.open:
            self.open[-1][1] += spent
        fn = getattr(ev.data.get("dispatcher"), "py_func", None)
        name = f"{fn.__module__}.{fn.__qualname__}" if fn else "?"
        self.seconds[name] = self.seconds.get(name, 0.0) + spent - nested
        self.count[name] = self.count.get(name, 0) + 1

compiled = SelfTime()
event.register("numba:compile", compiled)
import gymnasium, allocsim.envs
imported = time.perf_counter()
env = gymnasium.make(allocsim.envs.ENV_ID, scenario=sys.argv[1])
env.reset(seed=0)
env.step(env.action_space.sample())
single = time.perf_counter()
venv = gymnasium.make_vec(allocsim.envs.ENV_ID, num_envs=int(sys.argv[2]), scenario=sys.argv[1])
venv.reset(seed=0)
venv.step(venv.action_space.sample())
vector = time.perf_counter()
from allocsim.envs.engine import cache_dir
top = sorted(compiled.seconds, key=compiled.seconds.get, reverse=True)
print(json.dumps({"import_s": imported - start, "single_s": single - imported, "vector_s": vector - single,
                  "total_s": vector - start, "cpu_s": time.process_time(), "cache_dir": str(cache_dir()),
                  "compiled": [{"name": n, "cpu_s": compiled.seconds[n], "times": compiled.count[n]}
                               for n in top]}))
"""

#: ``rss_mb()`` for the child scripts: resident set size now (VmRSS), else the peak.
RSS_MB = """
import resource
def rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak, Linux kB
"""

MEMORY_CHILD = RSS_MB + """
import gc, json, sys, time
import gymnasium, numpy as np, allocsim.envs
scenario, copies, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = {"after_import": rss_mb()}
small = gymnasium.make_vec(allocsim.envs.ENV_ID, num_envs=1, scenario=scenario)
small.reset(seed=0)
small.step(small.action_space.sample())
out["engine_loaded"] = rss_mb()
venv = gymnasium.make_vec(allocsim.envs.ENV_ID, num_envs=copies, scenario=scenario)
venv.reset(seed=0)
venv.action_space.seed(0)
acts = np.stack([venv.action_space.sample() for _ in range(4)]).astype(np.float32)
n = 0
while True:  # one whole episode, then the step that follows its autoreset
    terminated = venv.step(acts[n % 4])[2]
    n += 1
    if terminated.any() or n > 100_000:
        break
venv.step(acts[n % 4])
out["vector_stepped"] = rss_mb()
out["vector_batch_steps"] = n + 1
del venv, small
gc.collect()
env = gymnasium.make(allocsim.envs.ENV_ID, scenario=scenario)
env.action_space.seed(0)
actions = np.stack([env.action_space.sample() for _ in range(512)])
episode = 0
def run(count, trace=None, every=1):
    global episode
    env.reset(seed=episode)
    for k in range(count):
        if env.step(actions[k % 512])[2]:
            episode += 1
            env.reset(seed=episode)
        if trace is not None and (k + 1) % every == 0:
            trace.append(round(rss_mb(), 2))
run(1000)  # warm-up: first-call allocations stay out of the growth
gc.collect()
out["single_start"] = rss_mb()
trace = []
began = time.perf_counter()
run(steps, trace, max(1, steps // 10))
out["single_seconds"] = time.perf_counter() - began
gc.collect()
out["single_end"] = rss_mb()
out["single_trace"] = trace
out["single_episodes"] = episode
print(json.dumps(out))
"""


def run_child(code: str, args: list[str], env: dict[str, str], timeout: float = 900) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; its last stdout line as JSON, plus ``wall_s`` (or ``error``)."""
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s", "wall_s": time.perf_counter() - start}
    wall = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        return {"error": f"exit {done.returncode}: {tail}", "wall_s": wall}
    return {**json.loads(lines[-1]), "wall_s": wall}


def files_in(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def run_compile(cache: Path) -> dict[str, Any]:
    """Section: cold then warm import-to-first-steps, in subprocesses on the cache folder ``cache``."""
    section("compilation: fresh subprocess, import to first single + vector step")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    say(f"NUMBA_CACHE_DIR = {cache} (empty)")
    out: dict[str, Any] = {}
    for kind in ("cold", "warm"):
        before = files_in(cache)
        res = run_child(COMPILE_CHILD, [REFERENCE_PRESET, str(COMPILE_COPIES)], env)
        res["cache_files_before"], res["cache_files_after"] = before, files_in(cache)
        out[kind] = res
        if "error" in res:
            say(f"{kind}: FAILED ({res['wall_s']:.1f} s): {res['error'][:160]}")
            continue
        say(f"{kind}: {res['total_s']:6.2f} s = import {res['import_s']:.2f} + single "
            f"{res['single_s']:.2f} + vector {res['vector_s']:.2f} (process {res['wall_s']:.1f} s; "
            f"CPU {res['cpu_s']:.1f} s, which a busy machine does not inflate)")
        say(f"  cache files {before} -> {res['cache_files_after']}")
        compiled = res.get("compiled", [])
        if compiled:  # on a warm cache every entry is a cache miss (compiled again)
            times = sum(c["times"] for c in compiled)
            say(f"  compiled {times} times ({len(compiled)} functions); CPU s of each, less what it compiled "
                "inside it:")
            for c in compiled[:COMPILE_SHOWN]:
                say(f"    {c['cpu_s']:6.2f}  {c['name']}" + (f" (x{c['times']})" if c["times"] > 1 else ""))
    cold, warm = out["cold"], out["warm"]
    if "error" not in cold and "error" not in warm:
        if cold["cache_dir"] != warm["cache_dir"]:
            out["note"] = "engine source changed between the runs: the warm run was not warm"
        elif warm["cache_files_after"] > warm["cache_files_before"]:
            out["note"] = "the warm run wrote to the cache: something was compiled again"
        if "note" in out:
            say(f"  WARNING: {out['note']}")
    return out


def run_memory(budget: Budget, quick: bool, cache: Path) -> dict[str, Any]:
    """Section: RSS of a fresh subprocess around a vector env, and the single env's growth."""
    section("memory: fresh subprocess, resident set size (VmRSS)")
    steps = budget.memory_steps
    res = run_child(MEMORY_CHILD, [REFERENCE_PRESET, str(MEMORY_COPIES), str(steps)],
                    {**os.environ, "NUMBA_CACHE_DIR": str(cache)})
    if "error" in res:
        say(f"FAILED ({res['wall_s']:.1f} s): {res['error'][:160]}")
        return res
    res["vector_increase_mb"] = res["vector_stepped"] - res["after_import"]
    res["copies_increase_mb"] = res["vector_stepped"] - res["engine_loaded"]
    res["single_growth_mb"] = res["single_end"] - res["single_start"]
    rows = [("after import gymnasium, allocsim.envs", res["after_import"]),
            ("after a 1-copy vector env stepped (kernels in)", res["engine_loaded"]),
            (f"after {MEMORY_COPIES} copies created, reset, {res['vector_batch_steps']} steps",
             res["vector_stepped"])]
    for label, mb in rows:
        print(f"{label:<56}{mb:>10.1f} MB")
    increase, copies = res["vector_increase_mb"], res["copies_increase_mb"]
    say(f"increase since import {increase:.1f} MB, of which {copies:.1f} MB after the kernels were in "
        f"(the {MEMORY_COPIES} copies themselves)")
    note = " (--quick: not 1,000,000)" if quick else ""
    start, end, growth = res["single_start"], res["single_end"], res["single_growth_mb"]
    say(f"single env, {steps:,} steps{note}, {res['single_episodes']:,} resets, "
        f"{res['single_seconds']:.1f} s: RSS {start:.1f} -> {end:.1f} MB, growth {growth:+.2f} MB")
    say("RSS (MB) after each tenth of the steps: " + " ".join(f"{v:.1f}" for v in res["single_trace"]))
    say(f"(subprocess {res['wall_s']:.1f} s)")
    return res
