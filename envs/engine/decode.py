"""The continuous half of the ``shares`` decode, compiled: actions (B, n) to fractions, in one call.

Same arithmetic as numpy's, in the same order, so the fractions are bit-identical to
the numpy decode it replaces (``allocsim.envs.actions.ActionLayout.fractions``): an
allocation row's total is summed as numpy sums a contiguous row (pairwise, eight
accumulators from eight entries on), and every other entry is one product or maximum.
The vector env and rollouts call it from Python; the single env's one-call ``shares`` step
(``allocsim.envs.engine.single_step``) calls it and ``clip_finite`` from compiled code.
"""

from __future__ import annotations

import numpy as np

from allocsim.envs.engine.jit import kernel


@kernel
def numpy_row_sum(row) -> float:  # type: ignore[no-untyped-def]
    """The float64 sum numpy's ``add.reduce`` gives for a contiguous row of at most 128 entries."""
    n = row.shape[0]
    if n < 8:
        total = -0.0
        for i in range(n):
            total += row[i]
        return total
    r0, r1, r2, r3 = row[0], row[1], row[2], row[3]
    r4, r5, r6, r7 = row[4], row[5], row[6], row[7]
    i = 8
    while i < n - (n % 8):
        r0 += row[i]
        r1 += row[i + 1]
        r2 += row[i + 2]
        r3 += row[i + 3]
        r4 += row[i + 4]
        r5 += row[i + 5]
        r6 += row[i + 6]
        r7 += row[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += row[i]
        i += 1
    return total


@kernel
def clip_finite(values, out) -> int:  # type: ignore[no-untyped-def]
    """``out`` (n,) float64 = ``values`` (n,) clipped to [-1, 1] (as ``numpy.clip``); returns the index of
    the first entry that is NaN or infinite, or -1 (the action checks of ``allocsim.envs.actions``)."""
    for i in range(values.shape[0]):
        x = np.float64(values[i])
        if not np.isfinite(x):
            return i
        out[i] = -1.0 if x < -1.0 else (1.0 if x > 1.0 else x)
    return -1


@kernel
def shares_fractions(actions, transfers_at: int, orders_at: int, holdback_at: int, alloc, transfers,  # type: ignore[no-untyped-def]
                     orders, holdback, weights) -> None:
    """Fractions of validated ``shares`` actions (B, n) into ``alloc`` (B, S, L + 1), ``transfers``
    (B, K, S), ``orders`` (B, S) and ``holdback`` (B, L, S) (empty blocks: sizes 0); ``weights``
    (L + 1,) is scratch. The blocks start at 0, ``transfers_at``, ``orders_at``, ``holdback_at``."""
    n_s, width = alloc.shape[1], alloc.shape[2]
    n_k, n_l = transfers.shape[1], holdback.shape[1]
    for b in range(actions.shape[0]):
        a = actions[b]
        for k in range(n_s):
            for j in range(width):
                weights[j] = (a[k * width + j] + 1.0) * 0.5
            total = numpy_row_sum(weights)
            for j in range(width):
                if total > 0:
                    alloc[b, k, j] = weights[j] / total
                else:
                    alloc[b, k, j] = 1.0 if j == width - 1 else 0.0
        for q in range(n_k):
            for k in range(n_s):
                transfers[b, q, k] = max(a[transfers_at + q * n_s + k], 0.0)
        if holdback_at > orders_at:
            for k in range(n_s):
                orders[b, k] = (a[orders_at + k] + 1.0) * 0.5
        for loc in range(n_l):
            for k in range(n_s):
                holdback[b, loc, k] = (a[holdback_at + loc * n_s + k] + 1.0) * 0.5
