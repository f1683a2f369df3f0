"""What a sweep costs on the local backend: overhead per cell and the speed-up of 2 workers over 1.

Overhead per cell: a sweep of ``--cells`` retail-small cells on one worker process
(pool start, pickling, hashing, the atomic result file, gathering) against
``run_cell`` called directly in this process on a warm env, divided by the cells.
Speed-up: a 40-cell sweep (retail-medium, 4 rule sets x 10 seeds) on 2 workers
against 1, each into a fresh folder, best of ``--repeat``. Targets as PASS / MISS
lines: overhead <= 50 ms per cell, speed-up >= 1.7x.

Usage: ``python bench/bench_sweep.py [--cells N] [--repeat R] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import write_results as write_figures  # beside this file (on sys.path)

from allocsim.experiments.sweep import expand, gather, run_cell, run_sweep, write_results
from allocsim.experiments.sweep_config import parse_config

ROOT = Path(__file__).resolve().parents[1]
OVERHEAD_TARGET = 0.050  # seconds per cell
SPEEDUP_TARGET = 1.7


def cells_of(scenario: str, policies: list[str], seeds: list[int]) -> list[dict[str, Any]]:
    config = {"scenarios": [scenario], "policies": policies, "seeds": seeds}
    return expand(parse_config(config), ROOT / "bench.yaml")


def timed_sweep(cells: list[dict[str, Any]], workers: int) -> float:
    """Wall seconds of a whole sweep into a fresh folder, results.csv and parquet included."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        report = run_sweep(cells, Path(tmp), workers=workers)
        write_results(gather(cells, Path(tmp)), Path(tmp))
        seconds = time.perf_counter() - started
    assert not report.failed, report.failed
    return seconds


def overhead(n: int, repeat: int) -> dict[str, float]:
    cells = cells_of("retail-small", ["proportional"], list(range(1000, 1000 + n)))
    run_cell(cells[0])  # warm env in this process
    direct = min(_direct(cells) for _ in range(repeat))
    swept = min(timed_sweep(cells, 1) for _ in range(repeat))
    return {"cells": n, "direct_s": direct, "sweep_1_worker_s": swept,
            "overhead_ms_per_cell": 1000 * (swept - direct) / n}


def _direct(cells: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    for cell in cells:
        assert run_cell(cell)["ok"]
    return time.perf_counter() - started


def speedup(repeat: int) -> dict[str, float]:
    cells = cells_of("retail-medium", ["proportional", "priority", "balanced", "base-stock"], list(range(10)))
    one = min(timed_sweep(cells, 1) for _ in range(repeat))
    two = min(timed_sweep(cells, 2) for _ in range(repeat))
    return {"cells": len(cells), "one_worker_s": one, "two_workers_s": two, "speedup": one / two}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    print(f"CPUs: {os.cpu_count()}")
    over = overhead(args.cells, args.repeat)
    print(f"overhead: {over['cells']} retail-small cells, direct {over['direct_s']:.2f} s, "
          f"sweep on 1 worker {over['sweep_1_worker_s']:.2f} s "
          f"-> {over['overhead_ms_per_cell']:.1f} ms per cell")
    speed = speedup(args.repeat)
    print(f"speed-up: {speed['cells']} retail-medium cells, 1 worker {speed['one_worker_s']:.2f} s, "
          f"2 workers {speed['two_workers_s']:.2f} s -> {speed['speedup']:.2f}x")
    ok_over = over["overhead_ms_per_cell"] <= 1000 * OVERHEAD_TARGET
    ok_speed = speed["speedup"] >= SPEEDUP_TARGET
    print(f"{'PASS' if ok_over else 'MISS'} local overhead per cell <= {1000 * OVERHEAD_TARGET:.0f} ms")
    print(f"{'PASS' if ok_speed else 'MISS'} 40 cells on 2 workers >= {SPEEDUP_TARGET}x faster than on 1"
          + ("" if (os.cpu_count() or 1) >= 2 else " (this machine has one CPU)"))
    write_figures("bench_sweep", {"overhead": over, "speedup": speed}, args.json,
                  f"python bench/bench_sweep.py --cells {args.cells} --repeat {args.repeat}")


if __name__ == "__main__":
    main()
