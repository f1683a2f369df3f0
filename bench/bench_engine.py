"""Performance benchmark of the compiled engine: single env, vector env, scale, compilation, memory.

Prints, in one run (medians over repeats, one process unless said otherwise):

1. compilation, run first: a subprocess with ``NUMBA_CACHE_DIR`` set to a fresh empty
   folder times ``import gymnasium, allocsim.envs`` up to after the first ``step`` of a
   single env and of a vector env of retail-medium (cold); a second subprocess does the
   same on the now-filled cache (warm). This process and its later subprocesses then
   use that cache too, so the benchmark compiles once and never writes to ~/.cache;
2. the single env from ``gym.make`` (default wrappers kept) on retail-medium against
   gym-invmgmt's ``GymInvMgmt/MultiEchelon-v0`` from ``gym.make``, in alternated rounds
   (A, B, A, B, ...); steps/s counts step time only, random actions are sampled up front;
3. the vector env (``gym.make_vec``) on retail-medium for 1 .. 1024 copies: env steps/s
   (copies x batch steps / s) over whole episodes, so each repeat holds its autoreset;
4. a synthetic 100 locations x 50 SKUs scenario (single env and 64 copies), and the single
   env's cost per step for L in (5, 20, 50, 100) at S = 50, per lane (a location x SKU pair);
5. the single env's reset time on retail-medium;
6. memory, in a fresh subprocess: RSS before (after the imports) and after a 256-copy
   vector env is created, reset and stepped through an episode (the target is judged on
   that whole increase, which includes loading numba and the kernels; the copies' own
   share, measured after a 1-copy env, is printed too), and RSS growth of the single env over 1,000,000
   steps (100,000 with --quick);
7. with --ppo: PPO end to end through ``allocsim.agents.training.train`` with the
   retail-medium hyperparameters on a few rollouts (warm start dropped, no evaluator).

It ends with the targets as PASS / MISS / SKIP lines. Helpers come from ``bench_env.py``
beside this file (the script's folder is on ``sys.path``). Usage:
``python bench/bench_engine.py [--quick] [--ppo] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from bench_env import (
    INVMGMT_ID,
    REFERENCE_PRESET,
    gc_paused,
    synthetic_scenario,
    timed_episode,
    write_json_atomic,
)
from numpy.typing import NDArray

from allocsim.envs import ENV_ID
from allocsim.envs.scenario import Scenario

WIDTH = 80
VECTOR_COPIES = (1, 16, 64, 256, 1024)
LANE_LOCATIONS = (5, 20, 50, 100)
LANE_SKUS = 50
BIG = (100, 50)  # locations x SKUs of the large synthetic scenario
BIG_COPIES = 64
MEMORY_COPIES = 256
COMPILE_COPIES = 8  # copies of the vector env in the compilation subprocesses
ACTION_ROWS = 512  # pre-sampled single-env actions, used in a cycle
VECTOR_ACTION_VALUES = 1 << 18  # pre-sampled vector actions: about this many floats in all


@dataclass(frozen=True)
class Budget:
    """How long to measure."""

    repeats: int  # rounds / repeats per figure (the median is reported)
    min_seconds: float  # per repeat: whole episodes until this much step time
    vector_seconds: float  # per vector figure: no new repeat once this much time is spent (>= 1 repeat)
    resets: int  # reset calls timed (stops early past 1 s, with at least 20)
    memory_steps: int  # single-env steps of the RSS growth run
    ppo_rollouts: int  # PPO rollouts of the --ppo run


FULL = Budget(repeats=5, min_seconds=0.5, vector_seconds=8.0, resets=300, memory_steps=1_000_000,
              ppo_rollouts=4)
QUICK = Budget(repeats=3, min_seconds=0.15, vector_seconds=2.0, resets=60, memory_steps=100_000,
               ppo_rollouts=2)


# ------------------------------------------------------------------ output
def section(title: str) -> None:
    """A section header, 80 columns wide."""
    print(f"\n{f'-- {title} ':-<{WIDTH}}", flush=True)


def say(text: str) -> None:
    """Free text wrapped at 80 columns (continuation lines indented)."""
    print(textwrap.fill(text, WIDTH, subsequent_indent="    ", break_long_words=False,
                        break_on_hyphens=False), flush=True)


def shown(value: float | None, unit: str) -> str:
    """A figure with its unit, short enough for the targets table."""
    if value is None:
        return "n/a"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "steps/s":
        return f"{value:,.0f}/s"
    if unit == "ms":
        return f"{value:.3f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.1f} {unit}"


def target(name: str, measured: float | None, op: str, threshold: float, unit: str) -> dict[str, Any]:
    """One target judged PASS / MISS (SKIP when not measured); ``op`` is '>=', '<=' or '<'."""
    checks: dict[str, Callable[[float, float], bool]] = {
        ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b,
    }
    status = "SKIP" if measured is None else "PASS" if checks[op](measured, threshold) else "MISS"
    return {"target": name, "measured": measured, "op": op, "threshold": threshold, "unit": unit,
            "status": status}


def print_targets(targets: list[dict[str, Any]]) -> None:
    """The targets table: status, target, measured figure, threshold (80 columns)."""
    section("targets")
    print(f"{'':<6}{'':<44}{'figure':>15}{'target':>15}")
    for t in targets:
        bound = f"{t['op']} {shown(t['threshold'], t['unit'])}".replace(",000/s", "k/s")
        print(f"{t['status']:<6}{t['target']:<44}{shown(t['measured'], t['unit']):>15}{bound:>15}")


# ------------------------------------------------------------ single env
def sample_rows(space: gym.Space[Any], seed: int, rows: int) -> NDArray[Any]:
    """``rows`` random actions of ``space`` drawn before any timing."""
    space.seed(seed)
    return np.stack([np.asarray(space.sample()) for _ in range(rows)])


class EpisodeTimer:
    """Whole episodes of one single env under pre-sampled actions; times ``step`` only.

    The first episode is played untimed (first-call costs stay out of the figures).
    Each episode starts on a new seed; the garbage collector is off while timing.
    """

    def __init__(self, env: gym.Env[Any, Any], seed: int = 0) -> None:
        self.env = env
        self.actions = sample_rows(env.action_space, seed, ACTION_ROWS)
        self.seed = seed
        self.k = 0  # steps taken, walks the actions
        self.episodes = 0
        with warnings.catch_warnings():  # the checker wrappers warn on first calls only
            warnings.simplefilter("ignore")
            self.play(1)

    def play(self, min_episodes: int, min_seconds: float = 0.0) -> float:
        """Play whole episodes (at least ``min_episodes``, at least ``min_seconds`` of steps); steps/s."""
        k0, episodes, elapsed = self.k, 0, 0.0
        with gc_paused():
            while episodes < min_episodes or elapsed < min_seconds:
                self.k, seconds = timed_episode(self.env, self.actions, self.k, self.seed + self.episodes)
                self.episodes += 1
                elapsed += seconds
                episodes += 1
        return (self.k - k0) / elapsed

    def reset_ms(self, count: int, max_seconds: float = 1.0) -> tuple[float, int]:
        """Median reset time in ms over up to ``count`` seeds, and how many were timed."""
        times: list[float] = []
        with gc_paused():
            begin = time.perf_counter()
            for i in range(count):
                start = time.perf_counter()
                self.env.reset(seed=self.seed + 500_000 + i)
                times.append(time.perf_counter() - start)
                if i >= 19 and time.perf_counter() - begin > max_seconds:
                    break
        return statistics.median(times) * 1e3, len(times)


def median_rate(timer: EpisodeTimer, budget: Budget) -> tuple[float, list[float]]:
    """Median steps/s of ``budget.repeats`` repeats, and the repeats."""
    rates = [timer.play(1, budget.min_seconds) for _ in range(budget.repeats)]
    return statistics.median(rates), rates


def make_single(scenario: str | Scenario) -> gym.Env[Any, Any]:
    """The allocsim single env as users get it: ``gym.make`` with its default wrappers."""
    return gym.make(ENV_ID, scenario=scenario)


def make_peer() -> tuple[gym.Env[Any, Any] | None, str]:
    """gym-invmgmt's MultiEchelon env from ``gym.make`` (wrappers kept), or None and the reason."""
    try:
        module = importlib.import_module("gym_invmgmt")
    except ImportError as err:
        return None, f"gym-invmgmt cannot be imported ({err}); pip install -e '.[bench]'"
    if INVMGMT_ID not in gym.registry:
        return None, f"gym-invmgmt does not register {INVMGMT_ID}"
    return gym.make(INVMGMT_ID), str(getattr(module, "__version__", "?"))


def fmt_rates(rates: list[float]) -> str:
    return ", ".join(f"{r:,.0f}" for r in rates)


def run_single_vs_peer(budget: Budget) -> dict[str, Any]:
    """Section: our single env against gym-invmgmt's, rounds alternated in this process."""
    section(f"single env: {REFERENCE_PRESET} vs gym-invmgmt, gym.make (wrappers kept)")
    ours = EpisodeTimer(make_single(REFERENCE_PRESET))
    peer_env, detail = make_peer()
    peer = EpisodeTimer(peer_env) if peer_env is not None else None
    ours_rates: list[float] = []
    peer_rates: list[float] = []
    for _ in range(budget.repeats):  # A, B, A, B, ...
        ours_rates.append(ours.play(1, budget.min_seconds))
        if peer is not None:
            peer_rates.append(peer.play(1, budget.min_seconds))
    ours_med = statistics.median(ours_rates)
    say(f"rounds alternated, {budget.repeats} each, >= {budget.min_seconds} s of steps per round")
    say(f"allocsim {REFERENCE_PRESET} (action dim {ours.actions.shape[1]}): {ours_med:,.0f} steps/s")
    say(f"  rounds: {fmt_rates(ours_rates)}")
    result: dict[str, Any] = {"allocsim": {"steps_per_s": ours_med, "rounds": ours_rates,
                                           "action_dim": int(ours.actions.shape[1])}}
    if peer is None:
        say(f"gym-invmgmt SKIPPED: {detail}")
        result["gym_invmgmt"] = {"skipped": detail}
        result["ratio"] = None
    else:
        peer_med = statistics.median(peer_rates)
        say(f"gym-invmgmt {detail} {INVMGMT_ID} (action dim {peer.actions.shape[1]}): "
            f"{peer_med:,.0f} steps/s")
        say(f"  rounds: {fmt_rates(peer_rates)}")
        result["gym_invmgmt"] = {"version": detail, "steps_per_s": peer_med, "rounds": peer_rates,
                                 "action_dim": int(peer.actions.shape[1])}
        result["ratio"] = ours_med / peer_med
        paired = statistics.median(a / b for a, b in zip(ours_rates, peer_rates, strict=True))
        result["ratio_paired_rounds"] = paired
        say(f"ratio allocsim / gym-invmgmt: {result['ratio']:.2f}x of the medians "
            f"({paired:.2f}x median of the per-round ratios)")
    result["timer"] = ours  # kept for the reset figure; dropped before JSON
    return result


# ------------------------------------------------------------ vector env
def vector_rate(scenario: str | Scenario, copies: int, budget: Budget, seed: int = 0) -> dict[str, Any]:
    """Env steps/s of ``copies`` copies over whole episodes (each repeat holds its autoresets)."""
    venv = gym.make_vec(ENV_ID, num_envs=copies, scenario=scenario)
    horizon = int(venv.unwrapped.network.periods)
    rows = max(2, min(64, VECTOR_ACTION_VALUES // (copies * venv.single_action_space.shape[0])))
    actions = sample_rows(venv.action_space, seed, rows).astype(np.float32)
    step = venv.step
    venv.reset(seed=seed)
    for i in range(3):  # warm-up; any `horizon` consecutive batch steps then hold one autoreset each
        step(actions[i % rows])
    k = 3
    rates: list[float] = []
    finished = expected = 0
    began = time.perf_counter()
    while len(rates) < budget.repeats and (not rates or time.perf_counter() - began < budget.vector_seconds):
        elapsed, batch_steps = 0.0, 0
        with gc_paused():
            while not batch_steps or elapsed < budget.min_seconds:
                start = time.perf_counter()
                for _ in range(horizon):
                    _, _, terminated, _, _ = step(actions[k % rows])
                    k += 1
                    finished += int(terminated.sum())
                elapsed += time.perf_counter() - start
                batch_steps += horizon
                expected += copies
        rates.append(copies * batch_steps / elapsed)
    venv.close()
    return {"copies": copies, "steps_per_s": statistics.median(rates), "repeats": rates,
            "episodes_finished": finished, "episodes_expected": expected}


def run_vector(budget: Budget) -> list[dict[str, Any]]:
    """Section: the vector env on the reference preset for each number of copies."""
    section(f"vector env: {REFERENCE_PRESET}, gym.make_vec, one process")
    print("env steps/s = copies x batch steps / s, whole episodes incl. autoresets")
    print(f"{'copies':>8}{'env steps/s':>14}{'batch steps/s':>15}{'repeats':>9}   autoresets seen")
    rows = []
    for copies in VECTOR_COPIES:
        row = vector_rate(REFERENCE_PRESET, copies, budget)
        rows.append(row)
        seen = f"{row['episodes_finished']:,}/{row['episodes_expected']:,}"
        print(f"{copies:>8}{row['steps_per_s']:>14,.0f}{row['steps_per_s'] / copies:>15,.1f}"
              f"{len(row['repeats']):>9}   {seen}", flush=True)
    return rows


# ------------------------------------------------------------- scale
def run_scale(budget: Budget) -> dict[str, Any]:
    """Section: the large synthetic scenario and the single env's cost per lane."""
    section(f"scale: synthetic L locations x {LANE_SKUS} SKUs, 60 periods, single env")
    print("lane = one (location, SKU) pair; us = microseconds")
    print(f"{'L':>5}{'lanes':>7}{'steps/s':>10}{'us/step':>10}{'us/step/lane':>14}{'reset ms':>10}")
    cells = []
    for n_loc in LANE_LOCATIONS:
        timer = EpisodeTimer(make_single(synthetic_scenario(n_loc, LANE_SKUS)))
        rate, rates = median_rate(timer, budget)
        reset, _ = timer.reset_ms(max(20, budget.resets // 5), 0.5)
        lanes = n_loc * LANE_SKUS
        us = 1e6 / rate
        cells.append({"locations": n_loc, "skus": LANE_SKUS, "lanes": lanes, "steps_per_s": rate,
                      "repeats": rates, "us_per_step": us, "us_per_step_per_lane": us / lanes,
                      "reset_ms": reset})
        print(f"{n_loc:>5}{lanes:>7}{rate:>10,.0f}{us:>10,.1f}{us / lanes:>14.3f}{reset:>10.2f}", flush=True)
    lanes_arr = np.array([c["lanes"] for c in cells], dtype=float)
    us_arr = np.array([c["us_per_step"] for c in cells])
    slope, intercept = np.polyfit(lanes_arr, us_arr, 1)
    fitted = slope * lanes_arr + intercept
    r2 = 1.0 - float(((us_arr - fitted) ** 2).sum() / ((us_arr - us_arr.mean()) ** 2).sum())
    say(f"linear fit: us/step = {intercept:,.1f} + {slope:.3f} x lanes (R^2 = {r2:.4f})")
    big = next(c for c in cells if (c["locations"], c["skus"]) == BIG)
    vec = vector_rate(synthetic_scenario(*BIG), BIG_COPIES, budget)
    say(f"{BIG[0]}x{BIG[1]}: single env {big['steps_per_s']:,.0f} steps/s; vector env {BIG_COPIES} copies "
        f"{vec['steps_per_s']:,.0f} env steps/s")
    say(f"  vector repeats: {fmt_rates(vec['repeats'])}; autoresets seen "
        f"{vec['episodes_finished']}/{vec['episodes_expected']}")
    return {"lanes": cells, "fit": {"intercept_us": intercept, "us_per_lane": slope, "r2": r2},
            "big_single": big["steps_per_s"], "big_vector": vec}


# ---------------------------------------------------------- subprocesses
COMPILE_CHILD = """
import json, sys, time
start = time.perf_counter()
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
print(json.dumps({"import_s": imported - start, "single_s": single - imported, "vector_s": vector - single,
                  "total_s": vector - start, "cache_dir": str(cache_dir())}))
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
            say(f"{kind}: FAILED ({res['wall_s']:.1f} s): {res['error'][:WIDTH * 2]}")
            continue
        say(f"{kind}: {res['total_s']:6.2f} s = import {res['import_s']:.2f} + single "
            f"{res['single_s']:.2f} + vector {res['vector_s']:.2f} (process {res['wall_s']:.1f} s)")
        say(f"  cache files {before} -> {res['cache_files_after']}")
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
        say(f"FAILED ({res['wall_s']:.1f} s): {res['error'][:WIDTH * 2]}")
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


# ------------------------------------------------------------------ PPO
def run_ppo(budget: Budget) -> dict[str, Any]:
    """Section: PPO end to end through ``train`` on a few rollouts in a temp folder."""
    section(f"PPO end to end: allocsim.agents.training.train on {REFERENCE_PRESET}")
    try:
        from allocsim.agents.hyperparams import load_hyperparams
        from allocsim.agents.training import SeedCycle, TrainConfig, train
        from allocsim.experiments.seeds import seed_block

        hp = load_hyperparams("ppo", REFERENCE_PRESET)
        dropped = hp.warm_start is not None
        hp = hp.model_copy(update={"warm_start": None})
        n_envs = int(hp.n_envs or 1)
        rollout = int(hp.n_steps or 2048) * n_envs
        block = seed_block("training")
        events: list[tuple[float, int]] = []
        with tempfile.TemporaryDirectory(prefix="allocsim-bench-ppo-") as tmp:
            config = TrainConfig(scenario=REFERENCE_PRESET, algo="ppo", seed=0, hyperparams=hp,
                                 seed_cycle=SeedCycle(block.start, block.size),
                                 timesteps=budget.ppo_rollouts * rollout, out=Path(tmp) / "run")
            start = time.perf_counter()
            result = train(config, on_progress=lambda n: events.append((time.perf_counter(), n)))
            wall = time.perf_counter() - start
            vectorization = str(getattr(config, "vectorization", "?"))
    except Exception as err:  # a broken optional section must not sink the benchmark
        say(f"SKIPPED: {type(err).__name__}: {err}")
        return {"skipped": f"{type(err).__name__}: {err}"}
    steady = None
    if len(events) >= 2 and events[-1][0] > events[0][0]:
        steady = sum(n for _, n in events[1:]) / (events[-1][0] - events[0][0])
    say(f"ppo defaults for {REFERENCE_PRESET}, {vectorization} vectorization, n_envs {n_envs}, "
        f"rollout {rollout:,} steps, {budget.ppo_rollouts} rollouts"
        + ("; warm start dropped (it needs a teacher rule and is a one-off cost)" if dropped else ""))
    say(f"{result.timesteps:,} env steps in {wall:.1f} s: {result.timesteps / wall:,.0f} steps/s end to end"
        " (incl. env and model set-up)")
    if steady is not None:
        say(f"after the first progress report: {steady:,.0f} steps/s")
    return {"n_envs": n_envs, "rollout": rollout, "timesteps": result.timesteps, "wall_s": wall,
            "steps_per_s": result.timesteps / wall, "steady_steps_per_s": steady,
            "warm_start_dropped": dropped, "vectorization": vectorization}


# ------------------------------------------------------------------ main
def machine_info() -> dict[str, Any]:
    """CPUs, versions and load; read from package metadata, so numba is not imported yet."""

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {"cpus": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "numpy": np.__version__, "numba": version("numba"),
            "gymnasium": gym.__version__, "gym_invmgmt": version("gym-invmgmt"),
            "platform": platform.platform(), "load_avg_start": [round(x, 2) for x in os.getloadavg()]}


def judge(single: dict[str, Any], vector: list[dict[str, Any]], scale: dict[str, Any], reset_ms: float,
          compiled: dict[str, Any], memory: dict[str, Any], memory_steps: int) -> list[dict[str, Any]]:
    """The targets with their measured figures."""
    peer = single["gym_invmgmt"].get("steps_per_s")
    v256 = next(r["steps_per_s"] for r in vector if r["copies"] == 256)
    cold, warm = compiled["cold"].get("total_s"), compiled["warm"].get("total_s")
    return [
        target(f"single env / gym-invmgmt, {REFERENCE_PRESET}", single["ratio"], ">=", 3.0, "x"),
        target("vector env, 256 copies", v256, ">=", 150_000, "steps/s"),
        target("vector 256 copies / gym-invmgmt single", v256 / peer if peer else None, ">=", 25.0, "x"),
        target(f"single env, {BIG[0]}x{BIG[1]} synthetic", scale["big_single"], ">=", 5_000, "steps/s"),
        target(f"vector env {BIG_COPIES} copies, {BIG[0]}x{BIG[1]}", scale["big_vector"]["steps_per_s"],
               ">=", 20_000, "steps/s"),
        target(f"single env reset, {REFERENCE_PRESET}", reset_ms, "<=", 0.3, "ms"),
        target("cold: import to first steps", cold, "<=", 20.0, "s"),
        target("warm: import to first steps", warm, "<=", 2.0, "s"),
        target(f"RSS of the {MEMORY_COPIES} copies (kernels loaded)", memory.get("copies_increase_mb"), "<=",
               200.0, "MB"),
        target(f"RSS growth, {memory_steps:,} single steps", memory.get("single_growth_mb"), "<", 10.0, "MB"),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run every section, print the figures and targets, optionally write JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter loops")
    parser.add_argument("--ppo", action="store_true", help="also time PPO end to end (a few rollouts)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here (atomically)")
    args = parser.parse_args(argv)
    budget, mode = (QUICK, "quick") if args.quick else (FULL, "full")
    began = time.perf_counter()
    machine = machine_info()
    say(f"allocsim engine benchmark ({mode})")
    say(f"cpus {machine['cpus']} (usable {machine['cpus_usable']}), python {machine['python']}, "
        f"numpy {machine['numpy']}, numba {machine['numba']}")
    say(f"gymnasium {machine['gymnasium']}, gym-invmgmt {machine['gym_invmgmt']}, load average "
        + " ".join(f"{x:.2f}" for x in machine["load_avg_start"]))
    say(f"{machine['platform']}")
    cache = Path(tempfile.mkdtemp(prefix="allocsim-bench-numba-"))
    try:
        compiled = run_compile(cache)
        if "numba" in sys.modules:  # numba would later reload its config from the changed environment
            say("note: numba was imported already; this process keeps its own cache")
        else:
            os.environ["NUMBA_CACHE_DIR"] = str(cache)  # this process and later children reuse the cache
        single = run_single_vs_peer(budget)
        timer: EpisodeTimer = single.pop("timer")
        vector = run_vector(budget)
        v256 = next(r["steps_per_s"] for r in vector if r["copies"] == 256)
        peer = single["gym_invmgmt"].get("steps_per_s")
        if peer:
            say(f"256 copies / gym-invmgmt single env: {v256 / peer:.1f}x")
        scale = run_scale(budget)
        section(f"reset: single env, {REFERENCE_PRESET}, gym.make")
        reset_ms, resets = timer.reset_ms(budget.resets)
        say(f"median {reset_ms:.3f} ms over {resets} seeds")
        memory = run_memory(budget, args.quick, cache)
        ppo = run_ppo(budget) if args.ppo else None
        if ppo is None:
            section("PPO end to end: not run (pass --ppo)")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    targets = judge(single, vector, scale, reset_ms, compiled, memory, budget.memory_steps)
    print_targets(targets)
    seconds = time.perf_counter() - began
    machine["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\ntotal {seconds:.0f} s; load average at the end "
          + " ".join(f"{x:.2f}" for x in machine["load_avg_end"]))
    if args.json is not None:
        write_json_atomic(args.json, {
            "mode": mode, "budget": asdict(budget), "machine": machine, "compilation": compiled,
            "single": single, "vector": vector, "scale": scale,
            "reset": {"median_ms": reset_ms, "resets": resets}, "memory": memory, "ppo": ppo,
            "targets": targets, "seconds": round(seconds, 1),
        })
        say(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
