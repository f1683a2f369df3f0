"""Compiled service of single orders and of a location's waiting backorders (the events mode).

The rules are the engine's own, applied one order at a time: the holdback rule
(``may_take`` over ``EngineState.protect``), oldest units issued first (``take_oldest``)
and the channel's backorder split (``backordered``, applied to the period's cumulative
unmet units of the lane, so a period's split equals the aggregated one). Results go where
the engine's ``serve`` writes them (``Work.served``/``lost``/``markdown``, the backlog, the
SOLD counter), so the engine's close books them unchanged. ``Desk`` holds views of copy
0's arrays: one tuple crosses into compiled code per order.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.engine.flows import take_oldest
from allocsim.envs.engine.jit import kernel
from allocsim.envs.engine.params import EngineParams
from allocsim.envs.engine.period import backordered, may_take
from allocsim.envs.engine.state import BACKORDERED, SOLD, EngineState

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


class Desk(NamedTuple):
    """Views of one copy's state and period accounts, and the rules' parameters."""

    stock: IntArray  # (L, S, A)
    on_hand: IntArray  # (L, S) the totals kept beside the cohorts (``EngineState``)
    age_weight: IntArray  # (L, S)
    units_by_age: IntArray  # (A,)
    waiting: IntArray  # (L, S, C)
    backlog: IntArray  # (L, S, C, P)
    protect: IntArray  # (L, S, C)
    units: IntArray  # (4,) UNIT_COUNTERS
    flows: FloatArray  # (len(FLOWS), L, C)
    served: IntArray  # (L, S, C) this period
    lost: IntArray  # (L, S, C) this period
    markdown: FloatArray  # (L, S, C) this period
    unmet: IntArray  # (L, S, C) new units unmet so far this period
    taken: IntArray  # (A,) scratch: ages issued
    backorder_fraction: FloatArray  # (C,)
    priority: IntArray  # channel indices, highest first
    price: FloatArray  # (S, C)
    discount: FloatArray  # (A, S) markdown share by age


def make_desk(p: EngineParams, s: EngineState, work, b: int = 0) -> Desk:  # type: ignore[no-untyped-def]
    """A desk over copy ``b`` of ``s`` and ``work`` (views: it sees and writes the engine's arrays)."""
    return Desk(stock=s.stock[b], on_hand=s.on_hand[b], age_weight=s.age_weight[b],
                units_by_age=s.units_by_age[b], waiting=s.waiting[b], backlog=s.backlog[b],
                protect=s.protect[b], units=s.units[b],
                flows=s.flows[b], served=work.served[b], lost=work.lost[b], markdown=work.markdown[b],
                unmet=np.zeros_like(work.served[b]), taken=np.zeros(p.n_ages, dtype=np.int64),
                backorder_fraction=p.backorder_fraction, priority=p.priority, price=p.price,
                discount=p.markdown)


@kernel
def _issue(d: Desk, loc: int, k: int, c: int, units: int) -> None:
    """Hand ``units`` of (loc, k) to channel ``c``, oldest first, at the markdown of their ages."""
    take_oldest(d.stock[loc, k], units, d.taken)
    given_up = 0.0
    weight = 0
    for a in range(d.taken.shape[0]):
        given_up += d.taken[a] * d.discount[a, k]
        weight += a * d.taken[a]
        d.units_by_age[a] -= d.taken[a]
    d.on_hand[loc, k] -= units
    d.age_weight[loc, k] -= weight
    d.markdown[loc, k, c] += given_up * d.price[k, c]
    d.served[loc, k, c] += units
    d.units[SOLD] += units


@kernel
def serve_order(d: Desk, loc: int, k: int, c: int, units: int) -> int:
    """Serve one order of ``units`` from stock on hand now; the unmet units are lost or
    backordered by the channel's rule. Returns the units served."""
    got = may_take(d.on_hand[loc, k], d.protect[loc, k, c], units)
    if got:
        _issue(d, loc, k, c, got)
    unmet = units - got
    if unmet:
        fraction = d.backorder_fraction[c]
        before = d.unmet[loc, k, c]
        d.unmet[loc, k, c] = before + unmet
        queued = backordered(before + unmet, fraction) - backordered(before, fraction) if fraction > 0 else 0
        d.backlog[loc, k, c, 0] += queued
        d.waiting[loc, k, c] += queued
        d.flows[BACKORDERED, loc, c] += queued
        d.lost[loc, k, c] += unmet - queued
    return got


@kernel
def serve_backorders(d: Desk, loc: int) -> int:
    """Serve the backorders waiting at ``loc`` from its stock now: oldest first, channels in
    priority order within an age, each under its holdback. Returns the units served."""
    served = 0
    n_s, n_p = d.stock.shape[1], d.backlog.shape[3]
    for k in range(n_s):
        left = d.on_hand[loc, k]
        for age in range(n_p - 1, -1, -1):
            for j in range(d.priority.shape[0]):
                c = d.priority[j]
                count = d.backlog[loc, k, c, age]
                if count == 0 or left == 0:
                    continue
                got = may_take(left, d.protect[loc, k, c], count)
                if got:
                    d.backlog[loc, k, c, age] -= got
                    d.waiting[loc, k, c] -= got
                    _issue(d, loc, k, c, got)
                    left -= got
                    served += got
    return served
