"""The history-priced Lagrangian bound (``allocsim.baselines.lagrangian_history``) on one preset.

Fits the prices per (period, bucket of the SKU's network demand so far) from the flat fitted prices
and prints, per round, ``L`` at the query point, the best ``L`` so far and the master's value; then
the flat ``L`` (exact DC), the fitted bound (exact: no sampling error) and the DP optimum where
there is one. ``--out`` writes the figures (json) and the prices (npy beside it).

Usage: ``python bench/bench_bound_history.py --preset retail-small --K 8 --J 3 --width 0.6``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from allocsim.baselines import dp
from allocsim.baselines.lagrangian_bound import Split
from allocsim.baselines.lagrangian_history import WIDTH, HistoryPieces, J, K, fit_history, walk
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.lagrangian_store import multipliers_for


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="tiny-dp")
    ap.add_argument("--K", type=int, default=K)
    ap.add_argument("--J", type=int, default=J)
    ap.add_argument("--width", type=float, default=WIDTH)
    ap.add_argument("--rounds", type=int, default=400)
    ap.add_argument("--budget", type=float, default=3600.0)
    ap.add_argument("--box", type=float, default=2.0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    env = AllocationEnv(a.preset)
    net, profile = env.network, env.profile
    split = Split.of(net, profile)
    flat = multipliers_for(load_scenario(a.preset)).price
    pieces = HistoryPieces(net, split, walk(net, split, a.K, a.J, a.width))
    started = time.perf_counter()
    pieces.solve(np.repeat(flat.T[:, :, None], pieces.walk.size, axis=2))
    solve_s = time.perf_counter() - started
    log: list = []
    fitted = fit_history(pieces, flat, a.rounds, a.budget, a.box, log=log)
    for row in log[:: max(len(log) // 20, 1)] + log[-1:]:
        print(f"round {row['round']:4d} L {row['L']:12.4f} best {row['best']:12.4f} "
              f"model {row['model']:12.4f} box {row['box']:7.3f} {row['seconds']:7.1f} s")
    optimum = dp.solution_for(net, profile).value if dp.refusal(net) is None else None
    result = {"preset": a.preset, "K": a.K, "J": a.J, "width": a.width, "flat_L": fitted.flat,
              "history_L": fitted.bound, "model": fitted.model, "rounds": fitted.rounds,
              "fit_s": round(fitted.seconds, 1), "solve_s": round(solve_s, 2), "dp_optimum": optimum}
    print(json.dumps(result))
    if a.out:
        with open(a.out, "w") as fh:
            json.dump({**result, "log": log}, fh)
        np.save(a.out.replace(".json", ".npy"), fitted.price)


if __name__ == "__main__":
    main()
