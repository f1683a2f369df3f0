"""Per-seed work on a process pool, results in seed order: the bounds' one loop over seeds."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from typing import Any

from allocsim.core.processes import process_pool


def per_seed(
    work: Callable[..., list[Any]], args: tuple[Any, ...], seeds: Sequence[int], n_workers: int | None,
    on_done: Callable[[int], None] | None,
) -> list[Any]:
    """``work(*args, chunk)``-style results for every seed, in seed order, on a process pool."""
    workers = min(max(1, n_workers or os.cpu_count() or 1), len(seeds))
    results: list[Any] = []
    if workers <= 1:
        for seed in seeds:
            results += work(args[0], [seed], *args[1:])
            if on_done:
                on_done(1)
    else:  # a task per seed, so progress moves seed by seed (each worker keeps its env: env_for)
        with process_pool(workers) as pool:
            futures = [pool.submit(work, args[0], [seed], *args[1:]) for seed in seeds]
            for future in as_completed(futures):
                done = future.result()
                results += done
                if on_done:
                    on_done(len(done))
    order = {seed: i for i, seed in enumerate(seeds)}
    return sorted(results, key=lambda r: order[r.seed])
