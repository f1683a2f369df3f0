"""Resampling a replayed demand history across seeds: a moving-block bootstrap that keeps the weekday.

With ``demand: {csv: ...}`` every seed would otherwise replay the same history, and
confidence intervals across seeds would shrink to forecast noise. The bootstrap
(Künsch 1989) cuts the horizon into consecutive blocks of ``block_length`` periods;
block j (target periods ``j*b .. j*b+len-1``) is filled with a contiguous slice of
the history of the same length whose first period falls on the same weekday
(start ``s`` with ``s ≡ j*b (mod 7)``), drawn uniformly among all such slices. So
within-week patterns and short runs (promotions, trends inside a block) survive,
while which weeks an episode sees varies with the seed. The draw comes from the
episode's own counter-based stream, so it depends on the seed alone (common random numbers).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.demand_stream import BLOCK, uniform_int

WEEK = 7
IntArray = NDArray[np.int64]


def block_starts(periods: int, block_length: int, seed: int) -> list[tuple[int, int, int]]:
    """``(target start, source start, length)`` for every block covering ``periods``, weekday kept;
    block ``j``'s source is one draw of the episode's ``BLOCK`` stream in "period" ``j``."""
    if block_length < 1:
        raise ValueError(f"block_length must be >= 1, got {block_length}")
    blocks = []
    for j, target in enumerate(range(0, periods, block_length)):
        length = min(block_length, periods - target)
        candidates = np.arange(target % WEEK, periods - length + 1, WEEK)  # never empty: holds `target`
        blocks.append((target, int(candidates[uniform_int(seed, BLOCK, j, 0, len(candidates) - 1)]), length))
    return blocks


def block_bootstrap(history: IntArray, block_length: int, seed: int) -> IntArray:
    """A resampled copy of ``history`` (periods first) built from weekday-aligned contiguous blocks."""
    out = np.empty_like(history)
    for target, source, length in block_starts(history.shape[0], block_length, seed):
        out[target : target + length] = history[source : source + length]
    return out


def describe(resample: str, block_length: int) -> str:
    """One sentence for the console and the report on how seeds vary a replayed history."""
    if resample == "none":
        return ("every seed replays the same single history (--resample none): confidence intervals "
                "reflect forecast noise only, not demand uncertainty")
    return (f"each seed replays a moving-block bootstrap of the history (blocks of {block_length} periods, "
            "weekday kept, drawn from the episode seed)")
