"""The period as one compiled call over the batch: reset, receive, decide-to-close, observe.

``run_copies(..., STEP, ...)`` runs one whole period for every copy in one call: the vector env
on its batch (or each thread on its span of it), the single env's SimPy process on a batch of one.
Both paths run the very same per-copy functions, so copy ``b`` of a batch and the single env
cannot differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from allocsim.core import observation_blocks
from allocsim.core.observation_blocks import N_CALENDAR, WEEK
from allocsim.envs.engine import draws
from allocsim.envs.engine.decide import available_to_allocate, decide, rooms
from allocsim.envs.engine.flows import book_receipts, dispatch, receive
from allocsim.envs.engine.jit import OPTIONS, inline_kernel, inner_kernel
from allocsim.envs.engine.params import EngineParams
from allocsim.envs.engine.period import close, contract_penalty, serve
from allocsim.envs.engine.state import EngineState

write_observation = inner_kernel(observation_blocks.write_observation)
#: The period's entry point: a kernel that releases the GIL, so threads can run spans of one batch
#: (Python calls it through its Python wrapper; no C wrapper of its ~1,000 flattened arguments).
span_kernel = njit(nogil=True, no_cfunc_wrapper=True, **OPTIONS)


class Work(NamedTuple):
    """Preallocated scratch arrays of the kernels (nothing is allocated per step)."""

    allocation: NDArray[np.int64]  # (B, L, S)
    transfers: NDArray[np.int64]  # (B, K, S)
    orders: NDArray[np.int64]  # (B, S)
    delay: NDArray[np.int64]  # (B, K, S)
    units_row: NDArray[np.int64]  # (B, L + 1)
    order: NDArray[np.int64]  # (B, L + 1)
    headroom: NDArray[np.int64]  # (B, L)
    scratch: NDArray[np.int64]  # (B, L, S)
    lane_units: NDArray[np.int64]  # (B, 1, K S) the transfers into one location (the capacity cut's row)
    cut_share: NDArray[np.float64]  # (B, max(S, K S)) the capacity cut's scratch (``cut_rows``)
    cut_row: NDArray[np.int64]  # (B, max(S, K S))
    cut_order: NDArray[np.int64]  # (B, max(S, K S))
    cohort: NDArray[np.int64]  # (B, A)
    moves: NDArray[np.int64]  # (B, L + A + 1, 5) departures of one SKU: age, location, sku, units, lead
    waiting: NDArray[np.int64]  # (B, L, C) backorders waiting at the close
    supply_room: NDArray[np.int64]  # (B, L, S) room under the days-of-supply ceiling
    served: NDArray[np.int64]  # (B, L, S, C)
    lost: NDArray[np.int64]  # (B, L, S, C)
    markdown: NDArray[np.float64]  # (B, L, S, C)
    reward: NDArray[np.float64]  # (B,)
    dc_units: NDArray[np.int64]  # (B, S) observed: DC on hand
    dc_free: NDArray[np.int64]  # (B, S) observed: DC available to allocate
    backlog_units: NDArray[np.int64]  # (B, L, S) observed: backorders waiting
    avg_age: NDArray[np.float64]  # (B, L, S) observed: mean age of stock on hand
    book_node: NDArray[np.bool_]  # (B, L + 1) nodes whose receipts the BOOK phase books (DC last)
    exogenous: NDArray[np.float32]  # (B, 3 L S + N_CALENDAR) observed: forecast, open-order, calendar rows
    window: NDArray[np.float64]  # (B, L, S) the forecast window's sum (``exogenous_row``)
    slot_now: NDArray[np.int64]  # (B, L) each location's transit ring slot of the period (``dispatch``)


def allocate_work(p: EngineParams, batch: int) -> Work:
    """Scratch arrays for ``batch`` copies."""
    n_l, n_s, n_c = p.shape
    n_cut = max(n_s, p.n_lanes * n_s)

    def ints(*shape: int) -> NDArray[np.int64]:
        return np.zeros((batch, *shape), dtype=np.int64)

    return Work(
        allocation=ints(n_l, n_s), transfers=ints(p.n_lanes, n_s), orders=ints(n_s),
        delay=ints(p.n_lanes, n_s), units_row=ints(n_l + 1), order=ints(n_l + 1),
        headroom=ints(n_l), scratch=ints(n_l, n_s), lane_units=ints(1, p.n_lanes * n_s),
        cut_share=np.zeros((batch, n_cut)), cut_row=ints(n_cut), cut_order=ints(n_cut), cohort=ints(p.n_ages),
        moves=ints(n_l + p.n_ages + 1, 5), waiting=ints(n_l, n_c), supply_room=ints(n_l, n_s),
        served=ints(n_l, n_s, n_c), lost=ints(n_l, n_s, n_c),
        markdown=np.zeros((batch, n_l, n_s, n_c)), reward=np.zeros(batch),
        dc_units=ints(n_s), dc_free=ints(n_s), backlog_units=ints(n_l, n_s),
        avg_age=np.zeros((batch, n_l, n_s)), book_node=np.zeros((batch, n_l + 1), dtype=np.bool_),
        exogenous=np.zeros((batch, 3 * n_l * n_s + N_CALENDAR), dtype=np.float32),
        window=np.zeros((batch, n_l, n_s)), slot_now=ints(n_l),
    )


@inline_kernel
def exogenous_row(p: EngineParams, s: EngineState, b: int, row, window) -> None:  # type: ignore[no-untyped-def]
    """Copy ``b``'s forecast-now, forecast-window, open-order and calendar blocks into ``row`` (float32),
    scaled as ``allocsim.core.observation_blocks.exogenous_rows`` scales them (same arithmetic, in order).

    ``window`` (L, S) is scratch: the window is summed period by period over all lanes (each lane's
    sum in the same order as one lane at a time, so the same bits), and ring slots step without a
    division: both let the loops over lanes run as vector code."""
    n_l, n_s, n_c = p.demand_code.shape
    location_scale, notice, periods, calendar = p.location_scale, p.notice, p.periods, p.calendar
    t = s.period[b]
    forecasts, demand = s.forecast_ring[b], s.demand_ring[b]
    horizon, span = forecasts.shape[0], demand.shape[0]
    size = n_l * n_s
    now, demand_now = t % horizon, t % span
    for loc in range(n_l):
        for k in range(n_s):
            window[loc, k] = 0.0
    for h in range(horizon):
        slot = now + h if now + h < horizon else now + h - horizon
        for loc in range(n_l):
            for k in range(n_s):
                window[loc, k] += forecasts[slot, loc, k]
    for loc in range(n_l):
        for k in range(n_s):
            j = loc * n_s + k
            scale = location_scale[loc, k]
            row[j] = np.float32(forecasts[now, loc, k] * WEEK / scale)
            row[size + j] = np.float32(window[loc, k] / horizon * WEEK / scale)
    for loc in range(n_l):
        for k in range(n_s):
            known = 0.0
            for c in range(n_c):
                if notice[c] > 0:
                    units = 0
                    slot = demand_now
                    for _ in range(t, min(t + notice[c] + 1, periods)):  # periods t, t + 1, ...
                        units += demand[slot, loc, k, c]
                        slot = slot + 1 if slot + 1 < span else 0
                    known += units
            row[2 * size + loc * n_s + k] = np.float32(known / location_scale[loc, k])
    for i in range(N_CALENDAR):
        row[3 * size + i] = np.float32(calendar[t, i])


@inline_kernel
def observe(p: EngineParams, s: EngineState, w: Work, b: int, out) -> None:  # type: ignore[no-untyped-def]
    """The normalised observation of copy ``b`` (layout: ``allocsim.envs.observation``) into ``out``,
    once ``exogenous_row`` has written its exogenous rows (``w.exogenous``).

    Reads the totals kept beside the cohorts; the arithmetic of the blocks is
    ``allocsim.core.observation_blocks``.
    """
    n_l, n_s = s.inbound.shape[1], s.inbound.shape[2]
    n_c = s.backlog.shape[3]
    dc_units, dc_free, on_hand = w.dc_units[b], w.dc_free[b], s.on_hand[b]
    backlog, avg_age, exogenous = w.backlog_units[b], w.avg_age[b], w.exogenous[b]
    dc_on_hand, age_weight, waiting, on_order, inbound = (s.dc_on_hand[b], s.age_weight[b], s.waiting[b],
                                                          s.on_order[b], s.inbound[b])
    safety_reserve, has_backorders = p.safety_reserve, p.has_backorders
    inv_dc_scale, inv_location_scale, inv_oldest_age = p.inv_dc_scale, p.inv_location_scale, p.inv_oldest_age
    for k in range(n_s):
        dc_units[k] = dc_on_hand[k]
        dc_free[k] = available_to_allocate(dc_units[k], safety_reserve[k])
    for loc in range(n_l):
        for k in range(n_s):
            units = on_hand[loc, k]
            avg_age[loc, k] = float(age_weight[loc, k]) / max(units, 1)
            queued = 0
            if has_backorders:
                for c in range(n_c):
                    queued += waiting[loc, k, c]
            backlog[loc, k] = queued
    write_observation(out, dc_units, dc_free, on_order, inv_dc_scale, on_hand, inbound,
                      backlog, avg_age, inv_location_scale, inv_oldest_age, exogenous)


# One compiled entry point runs any sequence of a period's phases over the copies in
# ``which``. Every per-copy function is inlined exactly once, so the kernels compile
# once, and a call crosses the big parameter and state tuples once per batch. Four are called,
# not inlined: the draws (``draws.refresh``) and receipts (``flows._book_receipts``), each called
# from several phases, and the episode start (``_start``) and the period close
# (``period.close``): numba's passes over one function grow faster than its size, and those two
# were a third of the time compiling ``run_copies`` took (close alone 30 %); compiled apart they
# cost a fraction of that, and a call per copy and period (close) is too little to be measured.
(START, DECIDE, DISPATCH, SERVE, CLOSE, FINISH, ADVANCE, RECEIVE, OBSERVE, ROOMS,
 BOOK, REDRAW, MOVE) = (1 << i for i in range(13))
SERVE_CLOSE = SERVE | CLOSE
#: Phase sets of the two doors: both step a period with STEP (the single env on its SimPy clock,
#: once the decision is in); the events mode enters the next period with BEGIN.
RESET = START | RECEIVE | OBSERVE
BEGIN = MOVE | RECEIVE | OBSERVE
STEP = DECIDE | DISPATCH | SERVE_CLOSE | ADVANCE | RECEIVE | OBSERVE


@span_kernel
def run_copies(p: EngineParams, s: EngineState, w: Work, phases: int, which,  # type: ignore[no-untyped-def]
               alloc_frac, transfer_frac, order_frac, holdback_frac, obs, first: int, last: int) -> None:
    """Run ``phases`` (bit flags, in the order below) for the copies ``first .. last - 1`` where ``which``
    is True: the whole batch, or one thread's span of it (``BatchEngine`` cuts the batch; the GIL is
    released, so spans of one batch run at once on Python threads, each on its own rows).

    START: zero the episode (its seeds already written) and draw what it sees first; REDRAW: draw
    the demand a copy sees from now on again (its ``demand_seed`` changed); DECIDE: whole units and
    guardrails from the fractions; DISPATCH; SERVE_CLOSE: demand, then the period close
    (rewards into ``w.reward``, 0 for the other copies); FINISH: mark copies that closed
    the last period done; ADVANCE: FINISH, else move to the next period; RECEIVE: book
    receipts due now (after ADVANCE: for the copies that moved on); MOVE: the next period
    (the events mode, after its close; never with ADVANCE); OBSERVE; ROOMS: the
    guardrails' room now (``w.headroom``, ``w.supply_room``), as rules see it (run alone; DECIDE
    computes it first too); BOOK: book the
    receipts of the nodes flagged in ``w.book_node`` (the events engine, at their time of day).
    SERVE and CLOSE are the two halves of SERVE_CLOSE (the events engine serves in between).
    START and REDRAW share one call of the draws, ADVANCE and MOVE another: every call over the
    tuples passes their ~1,170 flattened fields (~0.1 s of compile each).

    Copy by copy, all phases at once: a copy's arrays stay in cache while it is worked on.
    """
    for b in range(first, last):
        if phases & CLOSE:
            w.reward[b] = 0.0
        if not which[b]:
            continue
        if phases & START:
            _start(p, s, b)
        if phases & (START | REDRAW):  # START's draws include REDRAW's
            draws.refresh(p, s, b, draws.FILL if phases & START else draws.REDRAW_DEMAND)
        if phases & (DECIDE | ROOMS):  # rooms inlined once
            position_value = rooms(p, s, w, b)
            if phases & DECIDE:
                decide(p, s, w, b, alloc_frac[b], transfer_frac[b], order_frac[b], holdback_frac[b],
                       position_value)
        if phases & DISPATCH:
            dispatch(p, s, w, b)
        if phases & SERVE:
            serve(p, s, w, b)
        if phases & BOOK:
            book_receipts(p, s, b, w.book_node[b], True)
        if phases & CLOSE:
            close(p, s, w, b, contract_penalty(p, s, w, b))
        receipts_due = True
        moves_on = phases & MOVE != 0
        if phases & (FINISH | ADVANCE):
            receipts_due = False
            if s.period[b] == p.periods - 1:
                s.done[b] = True
            elif phases & ADVANCE:
                moves_on = True
                receipts_due = True
        if moves_on:
            s.period[b] += 1
            draws.refresh(p, s, b, draws.ADVANCE)
        if phases & RECEIVE and receipts_due:
            receive(p, s, b)
        if phases & OBSERVE:
            exogenous_row(p, s, b, w.exogenous[b], w.window[b])
            observe(p, s, w, b, obs[b])


def compiled_entry(kernel: Any, args: tuple[Any, ...]) -> Callable[..., Any]:
    """The machine-code entry ``kernel`` runs for ``args``' types (compiled already).

    numba's dispatcher types every argument on every call; for the engine's tuples of
    about a hundred arrays that costs ~20 us, more than a small period itself. The
    caller must only pass arguments of the same types (``BatchEngine._run`` checks).
    """
    return kernel.overloads[tuple(kernel.typeof_pyval(a) for a in args)].entry_point


@inner_kernel
def _start(p: EngineParams, s: EngineState, b: int) -> None:
    """Period 0 of a fresh episode for copy ``b`` (its episode inputs already written).

    Every field is read from ``p`` and ``s`` once, before the first branch or loop: the tuples are
    then never copied into a stack slot (numba keeps a value used within one block in a register),
    which is what makes the period kernel compile fast (see ``allocsim.envs.engine.jit``)."""
    initial_dc, initial_location, planned = p.initial_dc_stock, p.initial_location_stock, p.planned_receipts
    periods, protect = p.periods, p.protect
    dc, dc_on_hand, stock, on_hand = s.dc[b], s.dc_on_hand[b], s.stock[b], s.on_hand[b]
    units_by_age, dc_due, on_order, units = s.units_by_age[b], s.dc_due[b], s.on_order[b], s.units[b]
    copy_protect = s.protect[b]
    s.period[b] = 0
    s.done[b] = False
    s.closes[b] = 0
    dc[:] = 0
    stock[:] = 0
    s.age_weight[b] = 0
    units_by_age[:] = 0
    s.inbound[b] = 0
    s.transit[b] = 0
    s.transit_lane[b] = 0
    on_order[:] = 0
    s.backlog[b] = 0
    s.waiting[b] = 0
    units[:] = 0
    s.cash_in_due[b] = 0.0
    s.cash_out_due[b] = 0.0
    s.totals[b] = 0.0
    s.flows[b] = 0.0
    s.node_cost[b] = 0.0
    s.writeoff_open[b] = 0.0
    s.node_value[b] = 0.0
    s.contract_penalty[b] = 0.0
    s.age_units[b] = 0
    s.step_record[b] = 0.0
    s.period_location[b] = 0.0
    s.log_allocation[b] = 0
    s.log_transfers[b] = 0
    s.log_orders[b] = 0
    s.log_flags[b] = 0
    for k in range(initial_dc.shape[0]):
        dc[k, 0] = initial_dc[k]
        dc_on_hand[k] = initial_dc[k]
        units_by_age[0] += initial_dc[k]
    for loc in range(initial_location.shape[0]):
        for k in range(initial_location.shape[1]):
            stock[loc, k, 0] = initial_location[loc, k]
            on_hand[loc, k] = initial_location[loc, k]
            units_by_age[0] += initial_location[loc, k]
    for t in range(periods):
        for k in range(planned.shape[1]):
            dc_due[t, k] = planned[t, k]
            on_order[k] += planned[t, k]
    units[0] = units_by_age[0]  # the initial stock (summed above; no ndarray.sum to compile)
    for loc in range(protect.shape[0]):
        for k in range(protect.shape[1]):
            for c in range(protect.shape[2]):
                copy_protect[loc, k, c] = protect[loc, k, c]
