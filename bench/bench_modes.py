"""Vector env steps/s per action mode: ``shares`` / ``targets`` / ``residual`` at 64 and 256 copies.

Alternated rounds (shares, targets, residual, shares, ...), whole episodes per round
(so each round holds its autoreset), random actions sampled up front; the median of
the rounds is printed as env steps/s (copies x batch steps / step time). Then the decode
alone (``targets``): the batched ``fractions`` against the per-copy path (``shares_action`` on
each copy's ``AllocationState``, what the vector env did before it was batched), alternated,
in ms per batch step.
Usage: ``python bench/bench_modes.py [--scenario NAME] [--rounds N] [--copies 64 256]``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from harness import median, write_results  # beside this file (on sys.path)

from allocsim.envs.action_modes import ACTION_MODES, TargetsMode
from allocsim.envs.state import AllocationState
from allocsim.envs.vector_env import AllocationVectorEnv


def episode_rate(venv: AllocationVectorEnv, actions: np.ndarray) -> float:
    """Env steps/s of one whole episode of every copy (step time only)."""
    venv.reset(seed=0)
    periods = venv.network.periods
    start = time.perf_counter()
    for t in range(periods):
        venv.step(actions[t % len(actions)])
    return venv.num_envs * periods / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="retail-medium")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--copies", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()
    print(f"vector env steps/s by action mode on {args.scenario} (median of {args.rounds} alternated rounds)")
    print(f"{'copies':>8}" + "".join(f"{m:>12}" for m in ACTION_MODES))
    figures: dict[str, Any] = {"scenario": args.scenario, "rounds": args.rounds, "steps_per_s": {},
                               "targets_decode_ms": {}}
    for copies in args.copies:
        envs = {m: AllocationVectorEnv(copies, args.scenario, action_mode=m) for m in ACTION_MODES}
        rng = np.random.default_rng(0)
        acts = {m: rng.uniform(-1, 1, (16, copies, e.single_action_space.shape[0])).astype(np.float32)
                for m, e in envs.items()}
        for m, e in envs.items():  # warm-up (compiles on a cold cache)
            episode_rate(e, acts[m])
        rates: dict[str, list[float]] = {m: [] for m in envs}
        for _ in range(args.rounds):
            for m, e in envs.items():
                rates[m].append(episode_rate(e, acts[m]))
        figures["steps_per_s"][copies] = {m: median(rates[m]) for m in envs}
        print(f"{copies:>8}" + "".join(f"{median(rates[m]):>12,.0f}" for m in envs), flush=True)
    print("targets decode alone, ms per batch step (median, alternated): batched vs per copy")
    for copies in args.copies:
        venv = AllocationVectorEnv(copies, args.scenario, action_mode="targets")
        venv.reset(seed=0)
        actions = np.random.default_rng(1).uniform(-1, 1, (copies, venv.single_action_space.shape[0]))
        batched, per_copy = decode_ms(venv, actions, 5 * args.rounds)
        figures["targets_decode_ms"][copies] = {"batched": batched, "per_copy": per_copy}
        print(f"{copies:>8}{batched:>12.2f}{per_copy:>12.2f}   ({per_copy / batched:.1f}x)", flush=True)
    write_results("bench_modes", figures, None, "python bench/bench_modes.py " + " ".join(
        [f"--scenario {args.scenario}", f"--rounds {args.rounds}", "--copies", *map(str, args.copies)]))


def decode_ms(venv: AllocationVectorEnv, actions: np.ndarray, rounds: int) -> tuple[float, float]:
    """Median ms of one decode of all copies: (batched, per copy), alternated over ``rounds``."""
    mode, engine = venv.action_mode, venv.engine
    assert isinstance(mode, TargetsMode)
    valid = mode.validate_batch(actions, venv.num_envs)

    def per_copy() -> None:
        rooms = engine.rooms()
        rows = [mode.shares_action(AllocationState.of(engine, b, rooms), a) for b, a in enumerate(valid)]
        mode.shares.fractions(mode.shares.validate_batch(np.stack(rows), len(rows)))

    timings: dict[str, list[float]] = {"batched": [], "per copy": []}
    for _ in range(rounds):
        for name, call in (("batched", lambda: mode.fractions(engine, valid)), ("per copy", per_copy)):
            start = time.perf_counter()
            call()
            timings[name].append(1000 * (time.perf_counter() - start))
    return median(timings["batched"]), median(timings["per copy"])


if __name__ == "__main__":
    main()
