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
   (copies x batch steps / s) over whole episodes, so each repeat holds its autoreset; and
   256 copies on one thread against two (``threads=2``), in alternated rounds;
4. a synthetic 100 locations x 50 SKUs scenario (single env and 64 copies), and the single
   env's cost per step for L in (5, 20, 50, 100) at S = 50, per lane (a location x SKU pair);
5. the single env's reset time on retail-medium;
6. memory, in a fresh subprocess: RSS before (after the imports) and after a 256-copy
   vector env is created, reset and stepped through an episode (the target is judged on
   that whole increase, which includes loading numba and the kernels; the copies' own
   share, measured after a 1-copy env, is printed too), and RSS growth of the single env over 1,000,000
   steps (100,000 with --quick);
7. the state's bytes per copy (``EngineState`` of a vector env), retail-medium and 100 x 50;
8. with --ppo: PPO end to end through ``allocsim.agents.training.train`` with the
   retail-medium hyperparameters on a few rollouts (warm start dropped, no evaluator).

It ends with the targets of issue 23 as PASS / MISS / SKIP lines and writes every figure to
``bench/results/bench_engine.json``. Helpers come from ``harness.py`` beside this file (the
script's folder is on ``sys.path``). Usage:
``python bench/bench_engine.py [--quick] [--ppo] [--only SECTION ...] [--copies N ...] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from bench_env import synthetic_scenario
from engine_children import run_compile, run_memory
from engine_threads import run_threads
from harness import (  # beside this file (on sys.path)
    FULL,
    QUICK,
    REFERENCE_PRESET,
    Budget,
    EpisodeTimer,
    alternated,
    gc_paused,
    machine_info,
    make_peer,
    median,
    paired_ratio,
    print_targets,
    sample_actions,
    say,
    section,
    target,
    write_results,
)

from allocsim.envs import ENV_ID
from allocsim.envs.scenario import Scenario

VECTOR_COPIES = (1, 16, 64, 256, 1024)
LANE_LOCATIONS = (5, 20, 50, 100)
LANE_SKUS = 50
BIG = (100, 50)  # locations x SKUs of the large synthetic scenario
BIG_COPIES = 64
VECTOR_ACTION_VALUES = 1 << 18  # pre-sampled vector actions: about this many floats in all


# ------------------------------------------------------------ single env
def median_rate(timer: EpisodeTimer, budget: Budget) -> tuple[float, list[float]]:
    """Median steps/s of ``budget.repeats`` rounds, and the rounds."""
    rates = [timer.round(budget) for _ in range(budget.repeats)]
    return median(rates), rates


def make_single(scenario: str | Scenario) -> gym.Env[Any, Any]:
    """The allocsim single env as users get it: ``gym.make`` with its default wrappers."""
    return gym.make(ENV_ID, scenario=scenario)


def fmt_rates(rates: list[float]) -> str:
    return ", ".join(f"{r:,.0f}" for r in rates)


def run_single_vs_peer(budget: Budget) -> dict[str, Any]:
    """Section: our single env against gym-invmgmt's, rounds alternated in this process."""
    section(f"single env: {REFERENCE_PRESET} vs gym-invmgmt, gym.make (wrappers kept)")
    ours = EpisodeTimer(make_single(REFERENCE_PRESET))
    peer_env, detail = make_peer()
    players = {"allocsim": lambda: ours.round(budget)}
    if peer_env is not None:
        peer = EpisodeTimer(peer_env)
        players["gym_invmgmt"] = lambda: peer.round(budget)
    rounds = alternated(budget.repeats, players)
    ours_rates = rounds["allocsim"]
    ours_med = median(ours_rates)
    say(f"rounds alternated, {budget.repeats} each, >= {budget.min_seconds} s of steps per round")
    say(f"allocsim {REFERENCE_PRESET} (action dim {ours.actions.shape[1]}): {ours_med:,.0f} steps/s")
    say(f"  rounds: {fmt_rates(ours_rates)}")
    result: dict[str, Any] = {"allocsim": {"steps_per_s": ours_med, "rounds": ours_rates,
                                           "action_dim": int(ours.actions.shape[1])}}
    if peer_env is None:
        say(f"gym-invmgmt SKIPPED: {detail}")
        result["gym_invmgmt"] = {"skipped": detail}
        result["ratio"] = None
    else:
        peer_rates = rounds["gym_invmgmt"]
        peer_med = median(peer_rates)
        say(f"gym-invmgmt {detail} MultiEchelon-v0 (action dim {peer.actions.shape[1]}): "
            f"{peer_med:,.0f} steps/s")
        say(f"  rounds: {fmt_rates(peer_rates)}")
        result["gym_invmgmt"] = {"version": detail, "steps_per_s": peer_med, "rounds": peer_rates,
                                 "action_dim": int(peer.actions.shape[1])}
        result["ratio"] = ours_med / peer_med
        result["ratio_paired_rounds"] = paired = paired_ratio(ours_rates, peer_rates)
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
    actions = sample_actions(venv.action_space, seed, rows).astype(np.float32)
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
    return {"copies": copies, "steps_per_s": median(rates), "repeats": rates,
            "episodes_finished": finished, "episodes_expected": expected}


def run_vector(budget: Budget, copies_list: list[int]) -> list[dict[str, Any]]:
    """Section: the vector env on the reference preset for each number of copies."""
    section(f"vector env: {REFERENCE_PRESET}, gym.make_vec, one process")
    print("env steps/s = copies x batch steps / s, whole episodes incl. autoresets")
    print(f"{'copies':>8}{'env steps/s':>14}{'batch steps/s':>15}{'repeats':>9}   autoresets seen")
    rows = []
    for copies in copies_list:
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
def state_bytes(scenario: str | Scenario) -> dict[str, Any]:
    """Bytes per copy of the engine state (``EngineState``) of a vector env, in all and by field."""
    venv = gym.make_vec(ENV_ID, num_envs=2, scenario=scenario)
    state = venv.unwrapped.engine.state
    fields = {name: int(a.nbytes) // 2 for name, a in zip(state._fields, state, strict=True)}
    venv.close()
    return {"bytes_per_copy": sum(fields.values()), "by_field": fields}


def run_state() -> dict[str, Any]:
    """Section: the state's footprint per copy (vector env, no decision log)."""
    section("state: bytes per copy of EngineState (vector env)")
    out = {REFERENCE_PRESET: state_bytes(REFERENCE_PRESET),
           f"{BIG[0]}x{BIG[1]}": state_bytes(synthetic_scenario(*BIG))}
    for name, row in out.items():
        top = sorted(row["by_field"].items(), key=lambda kv: -kv[1])[:4]
        say(f"{name}: {row['bytes_per_copy'] / 1024:,.1f} KB per copy; largest: "
            + ", ".join(f"{k} {v / 1024:,.1f} KB" for k, v in top))
    return out


def _get(section_figures: dict[str, Any] | None, *keys: str) -> Any:
    """``section_figures[k1][k2]...`` or None when the section did not run or the key is missing."""
    value: Any = section_figures
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def judge(fig: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets of issue 23 with their measured figures (SKIP for sections not run)."""
    peer = _get(fig, "single", "gym_invmgmt", "steps_per_s")
    v256 = next((r["steps_per_s"] for r in fig.get("vector") or [] if r["copies"] == 256), None)
    return [
        target(f"single env / gym-invmgmt, {REFERENCE_PRESET}", _get(fig, "single", "ratio"), ">=", 3.0, "x"),
        target("vector env, 256 copies, one thread", v256, ">=", 150_000, "steps/s"),
        target("vector env, 256 copies, 2 threads / 1", _get(fig, "threads", "speedup_paired"), ">=", 1.7,
               "x"),
        target("vector 256 copies / gym-invmgmt single", v256 / peer if v256 and peer else None, ">=", 25.0,
               "x"),
        target(f"single env, {BIG[0]}x{BIG[1]} synthetic", _get(fig, "scale", "big_single"), ">=", 5_000,
               "steps/s"),
        target(f"vector env {BIG_COPIES} copies, {BIG[0]}x{BIG[1]}", _get(fig, "scale", "big_vector",
                                                                          "steps_per_s"),
               ">=", 20_000, "steps/s"),
        target(f"single env reset, {REFERENCE_PRESET}", _get(fig, "reset", "median_ms"), "<=", 0.1, "ms"),
        target(f"state per copy, {REFERENCE_PRESET}", _kb(_get(fig, "state", REFERENCE_PRESET,
                                                                "bytes_per_copy")), "<=", 40.0, "KB"),
        target("cold: import to first steps", _get(fig, "compilation", "cold", "total_s"), "<=", 20.0, "s"),
        target("warm: import to first steps", _get(fig, "compilation", "warm", "total_s"), "<=", 1.0, "s"),
        target("RSS growth, single steps", _get(fig, "memory", "single_growth_mb"), "<", 10.0, "MB"),
        target("PPO end to end after set-up", _get(fig, "ppo", "steady_steps_per_s"), ">=", 5_000, "steps/s"),
    ]


def _kb(value: float | None) -> float | None:
    return None if value is None else value / 1024


SECTIONS = ("compile", "single", "vector", "threads", "scale", "reset", "state", "memory", "ppo")


def main(argv: list[str] | None = None) -> int:
    """Run the sections asked for, print the figures and targets, write JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter loops")
    parser.add_argument("--ppo", action="store_true", help="also time PPO end to end (a few rollouts)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, metavar="SECTION",
                        help=f"run only these sections ({', '.join(SECTIONS)}); reset needs single")
    parser.add_argument("--copies", type=int, nargs="+", default=list(VECTOR_COPIES),
                        help="vector env batch sizes (default %(default)s)")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="write the figures here (default bench/results/bench_engine.json)")
    args = parser.parse_args(argv)
    wanted = set(args.only or [s for s in SECTIONS if s != "ppo" or args.ppo])
    budget, mode = (QUICK, "quick") if args.quick else (FULL, "full")
    began = time.perf_counter()
    machine = machine_info()
    say(f"allocsim engine benchmark ({mode}); sections: {', '.join(s for s in SECTIONS if s in wanted)}")
    say(f"cpus {machine['cpus']} (usable {machine['cpus_usable']}), python {machine['python']}, "
        f"numpy {machine['numpy']}, numba {machine['numba']}, gym-invmgmt {machine['gym_invmgmt']}, "
        "load average " + " ".join(f"{x:.2f}" for x in machine["load_avg"]))
    fig: dict[str, Any] = {"mode": mode, "budget": asdict(budget)}
    cache = Path(tempfile.mkdtemp(prefix="allocsim-bench-numba-"))
    try:
        if "compile" in wanted:
            fig["compilation"] = run_compile(cache)
            if "numba" in sys.modules:  # numba would later reload its config from the changed environment
                say("note: numba was imported already; this process keeps its own cache")
            else:
                os.environ["NUMBA_CACHE_DIR"] = str(cache)  # this process and later children reuse the cache
        if "single" in wanted:
            fig["single"] = run_single_vs_peer(budget)
            timer: EpisodeTimer = fig["single"].pop("timer")
            if "reset" in wanted:
                section(f"reset: single env, {REFERENCE_PRESET}, gym.make")
                reset_ms, resets = timer.reset_ms(budget.resets)
                say(f"median {reset_ms:.3f} ms over {resets} seeds")
                fig["reset"] = {"median_ms": reset_ms, "resets": resets}
        if "vector" in wanted:
            fig["vector"] = run_vector(budget, args.copies)
        if "threads" in wanted:
            fig["threads"] = run_threads(budget)
        if "scale" in wanted:
            fig["scale"] = run_scale(budget)
        if "state" in wanted:
            fig["state"] = run_state()
        if "memory" in wanted:
            fig["memory"] = run_memory(budget, args.quick, cache)
        if "ppo" in wanted:
            fig["ppo"] = run_ppo(budget)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    fig["targets"] = judge(fig)
    print_targets(fig["targets"])
    seconds = time.perf_counter() - began
    fig["seconds"] = round(seconds, 1)
    fig["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\ntotal {seconds:.0f} s; load average at the end "
          + " ".join(f"{x:.2f}" for x in fig["load_avg_end"]))
    command = "python bench/bench_engine.py" + " ".join(["", *(argv if argv is not None else sys.argv[1:])])
    write_results("bench_engine", fig, args.json, command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
