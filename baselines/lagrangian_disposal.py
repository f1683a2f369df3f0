"""Disposal in the Lagrangian lanes' DPs: what makes dropping shelf life a relaxation.

The lane DPs (``allocsim.baselines.lagrangian_lanes``, ``lagrangian_pipeline``,
``lagrangian_backorder``) have no age state: shelf life is dropped. In the engine a unit
past its shelf life is written off at its unit cost ``c`` at the period's close (or on
arrival, if it expired in transit) and pays no holding from then on; a DP lane without
expiry would keep it and pay holding ``h`` every period to the horizon, so on its own it
could be worth less than the real lane. A lane of a SKU with a shelf life therefore may
dispose of any units on hand at each decision, at ``d = c - h`` a unit (holding taken as
``min(h, c)`` there, so ``d >= 0``), and of any left at the last close at ``c``
(``end`` taken as ``max(end, -d)``: the last holding is paid either way).

Why the relaxed lane is worth at least the real one: let it send the real lane's
shipments and, at each decision, dispose of as many of the units the real lane has
written off since the last decision (plus any it could not dispose of before) as it
holds beyond what serves its backlog. An expired unit then costs it at most ``h`` (held
through the close the real lane wrote it off at) plus ``d``, that is ``c``, the real
write-off; it disposes of no more units than the real lane writes off, holds no more
than the real lane at any close, and sells at least as much on every demand path
(``lagrangian_backorder``'s induction goes through with its stock at least the real
stock less its extra sales, which is all it uses). Markdowns only lower the real lane's
revenue, so dropping them needs nothing. Lanes of SKUs without shelf life keep their
exact DP (``d < 0``: no disposal).

In a DP over on hand ``x`` at the decision the option is the envelope
``V~(x) = max_{y <= x} V(y) - d (x - y)``, a running maximum of ``V(y) + d y`` (``O(states)``).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

import allocsim.envs.engine  # noqa: F401  (sets numba's cache folder before anything compiles)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def disposal_cost(unit_cost: float, holding: float, shelf_life: bool) -> tuple[float, float]:
    """(holding, disposal cost) a lane's DP uses: ``(h, -1)`` (no disposal) without shelf life, else
    ``(min(h, c), c - min(h, c))``; lowering holding to ``c`` where it is larger only relaxes."""
    if not shelf_life:
        return holding, -1.0
    hold = min(holding, unit_cost)
    return hold, unit_cost - hold


def terminal(end: float, dispose: float) -> float:
    """A unit's value after the last close's holding: ``end``, or ``-d`` if disposing of it is better."""
    return max(end, -dispose) if dispose >= 0.0 else end


@njit(cache=True)
def envelope(v: FloatArray, dispose: float, lo: int, keep: IntArray) -> None:
    """In place: ``v[i] = max_{lo <= j <= i} v[j] - dispose (i - j)`` for ``i >= lo``, and ``keep[i]`` the
    ``j`` taken (``i`` itself on ties: no disposal unless it gains); ``dispose < 0``: ``keep[i] = i``."""
    for i in range(v.shape[0]):
        keep[i] = i
    if dispose < 0.0:
        return
    best, arg = -np.inf, lo
    for i in range(lo, v.shape[0]):
        f = v[i] + dispose * (i - lo)
        if f >= best:
            best, arg = f, i
        else:
            v[i] = best - dispose * (i - lo)
        keep[i] = arg
