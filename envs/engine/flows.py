"""Compiled movements of stock within a period: receipts, dispatch and FIFO cohorts.

Age cohorts: the LAST axis ``a`` counts period closes seen (so one position's
cohorts are contiguous); the last bucket holds every older unit. Stock put in
transit is aged by its lead time when it leaves, so it arrives with the age it
will have, and is written off on arrival if it expired on the way.

Every change to the cohorts here (``arrive``, ``book_purchase``, ``dispatch`` with
``take_cohorts``, ``age_stock``) keeps the state's totals (on hand per lane and at the DC, units
by age, age-weighted units) in step, so no phase re-sums the cohorts. The helpers that are not
inlined take arrays, not the state: a kernel over the whole state tuple costs compile time.
"""

from __future__ import annotations

import numpy as np

from allocsim.envs.engine.draws import supplier_lead
from allocsim.envs.engine.jit import inline_kernel, kernel
from allocsim.envs.engine.params import EngineParams
from allocsim.envs.engine.state import (
    PAYABLES,
    PERIOD_RECEIVED,
    PERIOD_SHIPPING,
    PERIOD_TRANSFER,
    RECEIVED,
    SHIPPING,
    TRANSFER,
    WRITTEN_OFF,
    EngineState,
)


@kernel
def write_off(writeoff_open, counters, node: int, units: int, unit_cost: float) -> None:  # type: ignore[no-untyped-def]
    """Expense ``units`` at ``unit_cost`` at ``node`` (L for the DC) in the open period (one copy's rows)."""
    writeoff_open[node] += units * unit_cost
    counters[WRITTEN_OFF] += units


@kernel
def take_cohorts(cohorts, quantity: int, taken, record: bool, by_age) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Remove ``quantity`` units oldest-first from one position's ``cohorts`` (A,) and from the copy's
    units by age ``by_age`` (A,); with ``record``, ``taken`` (A,) gets the units of every age (0 for
    ages not touched). Returns (units removed, age-weighted units removed) for the lane's totals."""
    weight = 0
    removed = 0
    for a in range(cohorts.shape[0] - 1, -1, -1):
        if quantity == 0 and not record:
            break
        take = min(quantity, cohorts[a])
        if record:
            taken[a] = take
        if take:
            cohorts[a] -= take
            quantity -= take
            removed += take
            weight += a * take
            by_age[a] -= take
    return removed, weight


@inline_kernel
def take_stock(s: EngineState, b: int, loc: int, k: int, quantity: int, taken, record: bool) -> None:  # type: ignore[no-untyped-def]
    """``take_cohorts`` at (``loc``, ``k``) of copy ``b``, the lane's totals kept."""
    removed, weight = take_cohorts(s.stock[b, loc, k], quantity, taken, record, s.units_by_age[b])
    s.on_hand[b, loc, k] -= removed
    s.age_weight[b, loc, k] -= weight


@inline_kernel
def arrive(p: EngineParams, s: EngineState, b: int, a: int, loc: int, k: int, units: int) -> None:
    """Book ``units`` of age ``a`` arriving at location ``loc``; expired ones are written off."""
    if p.expired[a, k]:
        write_off(s.writeoff_open[b], s.units[b], loc, units, p.unit_cost[k])
    else:
        s.stock[b, loc, k, a] += units
        s.on_hand[b, loc, k] += units
        s.age_weight[b, loc, k] += a * units
        s.units_by_age[b, a] += units
    s.inbound[b, loc, k] -= units


@inline_kernel
def book_purchase(p: EngineParams, s: EngineState, b: int, k: int, units: int) -> None:
    """Supplier units reach the DC; they are payable ``payable_days`` later."""
    s.dc[b, k, 0] += units
    s.dc_on_hand[b, k] += units
    s.units_by_age[b, 0] += units
    s.on_order[b, k] -= units
    s.units[b, RECEIVED] += units
    s.totals[b, PERIOD_RECEIVED] += units
    value = units * p.unit_cost[k]
    s.totals[b, PAYABLES] += value
    s.cash_out_due[b, s.period[b] + p.payable_delay] += value


@inline_kernel
def receive(p: EngineParams, s: EngineState, b: int) -> None:
    """Step 1 of a period: open its accounts and book the receipts due now at every node whose
    receipts come at the period's start (all of them unless the events engine times them)."""
    s.totals[b, PERIOD_SHIPPING] = 0.0
    s.totals[b, PERIOD_TRANSFER] = 0.0
    s.totals[b, PERIOD_RECEIVED] = 0.0
    book_receipts(p, s, b, p.receipt_late, False)


@inline_kernel
def book_receipts(p: EngineParams, s: EngineState, b: int, nodes, flag: bool) -> None:  # type: ignore[no-untyped-def]
    """Book the receipts due this period at the nodes where ``nodes`` (L + 1,) equals ``flag``: the
    DC (last) from the supplier, the locations from the DC and the lanes (``_book_receipts``).

    ``flag`` reaches the kernel as a plain bool: the literal ``False`` of ``receive`` and ``True`` of
    the BOOK phase would otherwise type (and compile) it twice."""
    _book_receipts(p, s, b, nodes, np.bool_(flag))


@kernel  # not inlined: both receive and the BOOK phase call it, and it runs once or twice a period
def _book_receipts(p: EngineParams, s: EngineState, b: int, nodes, flag: bool) -> None:  # type: ignore[no-untyped-def]
    """``book_receipts``, compiled once."""
    t = s.period[b]
    n_l = s.stock.shape[1]
    if nodes[n_l] == flag:
        for k in range(s.dc.shape[1]):
            units = s.dc_due[b, t, k]
            if units:
                s.dc_due[b, t, k] = 0
                book_purchase(p, s, b, k, units)
    for loc in range(n_l):
        if nodes[loc] != flag or p.transit_slots[loc] == 0:
            continue
        row = p.transit_start[loc] + t % p.transit_slots[loc]
        ring, lanes = s.transit[b, row], s.transit_lane[b, row]
        for k in range(ring.shape[0]):
            if lanes[k] == 0:
                continue
            lanes[k] = 0
            for a in range(ring.shape[1]):
                units = ring[k, a]
                if units:
                    ring[k, a] = 0
                    arrive(p, s, b, a, loc, k, units)


@kernel
def take_oldest(cohorts, quantity: int, taken) -> None:  # type: ignore[no-untyped-def]
    """Remove ``quantity`` units oldest-first from ``cohorts`` (A,) in place; ``taken`` gets them."""
    for a in range(cohorts.shape[0] - 1, -1, -1):
        take = min(quantity, cohorts[a])
        taken[a] = take
        cohorts[a] -= take
        quantity -= take


@inline_kernel
def dispatch(p: EngineParams, s: EngineState, w, b: int) -> None:  # type: ignore[no-untyped-def]
    """Ship the allocation (oldest stock to the first location first), transfer, order.

    What leaves is aged by its lead time and put in the target's transit row of its arrival
    period (``allocsim.envs.engine.layout``); with lead time 0 it arrives at once.
    """
    n_l, n_s = s.inbound.shape[1], s.inbound.shape[2]
    alloc, transfers, delay, orders = w.allocation[b], w.transfers[b], w.delay[b], w.orders[b]
    t = s.period[b]
    # moves[i] = (age, location, sku, units, lead) of everything leaving this period
    moves, n_moves = w.moves[b], 0
    shipping = 0.0
    for loc in range(n_l):
        cost = alloc[loc].sum() * p.shipping_cost[loc]
        s.node_cost[b, SHIPPING, loc] += cost
        shipping += cost
    for k in range(n_s):
        a = p.n_ages - 1
        for loc in range(n_l):
            wanted = alloc[loc, k]
            while wanted > 0 and a >= 0:  # a >= 0 holds for any allocation within DC stock
                if s.dc[b, k, a] == 0:
                    a -= 1
                    continue
                take = min(wanted, s.dc[b, k, a])
                s.dc[b, k, a] -= take
                s.dc_on_hand[b, k] -= take
                s.units_by_age[b, a] -= take
                wanted -= take
                n_moves = _move(moves, n_moves, a, loc, k, take, p.lead_time[loc])
        if n_moves:
            n_moves = _depart(p, s, b, moves, n_moves)
    s.totals[b, PERIOD_SHIPPING] = shipping
    taken = w.cohort[b]
    transfer_cost = 0.0
    for q in range(p.lane_source.shape[0]):
        src, dst = p.lane_source[q], p.lane_target[q]
        moved = 0
        for k in range(n_s):
            if transfers[q, k] == 0:
                continue
            moved += transfers[q, k]
            take_stock(s, b, src, k, transfers[q, k], taken, True)
            for a in range(p.n_ages):
                n_moves = _move(moves, n_moves, a, dst, k, taken[a], p.lane_lead[q] + delay[q, k])
            n_moves = _depart(p, s, b, moves, n_moves)
        cost = moved * p.lane_cost[q]
        s.node_cost[b, TRANSFER, src] += cost
        transfer_cost += cost
    s.totals[b, PERIOD_TRANSFER] = transfer_cost
    lead = supplier_lead(p, s, b, t)
    for k in range(n_s):
        units = orders[k]
        if units == 0:
            continue
        s.on_order[b, k] += units
        if lead <= 0:
            book_purchase(p, s, b, k, units)
        elif t + lead < p.periods:
            s.dc_due[b, t + lead, k] += units


@kernel
def _move(moves, n: int, age: int, loc: int, k: int, units: int, lead: int) -> int:  # type: ignore[no-untyped-def]
    """Append a departure to ``moves``; returns the new count."""
    if units == 0:
        return n
    moves[n, 0], moves[n, 1], moves[n, 2], moves[n, 3], moves[n, 4] = age, loc, k, units, lead
    return n + 1


@inline_kernel
def _depart(p: EngineParams, s: EngineState, b: int, moves, n: int) -> int:  # type: ignore[no-untyped-def]
    """Put the ``n`` departures of ``moves`` in transit (or book them now if lead 0); returns 0."""
    for i in range(n):
        age, loc, k, units, lead = moves[i, 0], moves[i, 1], moves[i, 2], moves[i, 3], moves[i, 4]
        s.inbound[b, loc, k] += units
        aged = min(age + lead, p.n_ages - 1)
        if lead == 0:
            arrive(p, s, b, aged, loc, k, units)
        else:
            row = p.transit_start[loc] + (s.period[b] + lead) % p.transit_slots[loc]
            s.transit[b, row, k, aged] += units
            s.transit_lane[b, row, k] += units
    return 0


@kernel
def age_row(row) -> None:  # type: ignore[no-untyped-def]
    """Advance every unit of one position's cohorts ``row`` (A,) by one period; the last bucket absorbs."""
    n = row.shape[0]
    row[n - 1] += row[n - 2]
    for a in range(n - 2, 0, -1):
        row[a] = row[a - 1]
    row[0] = 0


@inline_kernel
def age_stock(s: EngineState, b: int) -> None:
    """Every unit on hand of copy ``b`` (DC and locations) one period older, totals kept; empty
    positions are skipped (their cohorts are all 0)."""
    n = s.units_by_age.shape[1]
    for k in range(s.dc.shape[1]):
        if s.dc_on_hand[b, k]:
            age_row(s.dc[b, k])
    for loc in range(s.stock.shape[1]):
        for k in range(s.stock.shape[2]):
            units = s.on_hand[b, loc, k]
            if units:
                row = s.stock[b, loc, k]
                s.age_weight[b, loc, k] += units - row[n - 1]  # the oldest bucket does not age
                age_row(row)
    age_row(s.units_by_age[b])
