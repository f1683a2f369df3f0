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
from allocsim.envs.engine.jit import inline_kernel, inner_kernel, kernel
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


@inner_kernel
def write_off(writeoff_open, counters, node: int, units: int, unit_cost: float) -> None:  # type: ignore[no-untyped-def]
    """Expense ``units`` at ``unit_cost`` at ``node`` (L for the DC) in the open period (one copy's rows)."""
    writeoff_open[node] += units * unit_cost
    counters[WRITTEN_OFF] += units


@inner_kernel
def take_cohorts(cohorts, quantity: int, taken, record: bool, by_age) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Remove ``quantity`` units oldest-first from one position's ``cohorts`` (A,) and from the copy's
    units by age ``by_age`` (A,); with ``record``, ``taken`` (A,) gets the units of every age (0 for
    ages not touched). Returns (units removed, age-weighted units removed) for the lane's totals."""
    weight = 0
    removed = 0
    a = cohorts.shape[0] - 1
    if quantity > 0 and not record:  # the empty oldest cohorts first, in a loop that only compares
        while a >= 0 and cohorts[a] == 0:
            a -= 1
    while a >= 0 and (quantity != 0 or record):
        take = min(quantity, cohorts[a])
        if record:
            taken[a] = take
        if take:
            cohorts[a] -= take
            quantity -= take
            removed += take
            weight += a * take
            by_age[a] -= take
        a -= 1
    return removed, weight


@inline_kernel
def take_stock(stock, on_hand, age_weight, by_age, loc: int, k: int, quantity: int, taken,  # type: ignore[no-untyped-def]
               record: bool) -> None:
    """``take_cohorts`` at (``loc``, ``k``) of one copy's cohorts ``stock`` (L, S, A), the lane's totals
    ``on_hand`` and ``age_weight`` (L, S) and the units by age ``by_age`` (A,) kept."""
    # int64 and bool, not literals (a literal ``True`` or ``0`` compiles take_cohorts once more)
    removed, weight = take_cohorts(stock[loc, k], np.int64(quantity), taken, np.bool_(record), by_age)
    on_hand[loc, k] -= removed
    age_weight[loc, k] -= weight


@inline_kernel
def arrive(expired, unit_cost, writeoff_open, counters, stock, on_hand, age_weight, by_age, inbound,  # type: ignore[no-untyped-def]
           a: int, loc: int, k: int, units: int) -> None:
    """Book ``units`` of age ``a`` arriving at location ``loc`` of one copy (its rows of the state:
    write-offs, unit counters, cohorts, totals, inbound); expired ones (``p.expired``) are written off."""
    if expired[a, k]:
        write_off(writeoff_open, counters, loc, np.int64(units), unit_cost[k])  # int64: one write_off
    else:
        stock[loc, k, a] += units
        on_hand[loc, k] += units
        age_weight[loc, k] += a * units
        by_age[a] += units
    inbound[loc, k] -= units


@inline_kernel
def book_purchase(unit_cost, payable_delay: int, dc, dc_on_hand, by_age, on_order, counters, totals,  # type: ignore[no-untyped-def]
                  cash_out_due, t: int, k: int, units: int) -> None:
    """Supplier units reach the DC of one copy in period ``t`` (its rows of the state); they are
    payable ``payable_delay`` periods later."""
    dc[k, 0] += units
    dc_on_hand[k] += units
    by_age[0] += units
    on_order[k] -= units
    counters[RECEIVED] += units
    totals[PERIOD_RECEIVED] += units
    value = units * unit_cost[k]
    totals[PAYABLES] += value
    cash_out_due[t + payable_delay] += value


@inline_kernel
def receive(p: EngineParams, s: EngineState, b: int) -> None:
    """Step 1 of a period: open its accounts and book the receipts due now at every node whose
    receipts come at the period's start (all of them unless the events engine times them)."""
    totals = s.totals[b]
    totals[PERIOD_SHIPPING] = 0.0
    totals[PERIOD_TRANSFER] = 0.0
    totals[PERIOD_RECEIVED] = 0.0
    _book_receipts(p, s, b, p.receipt_late, np.bool_(False))


@inline_kernel
def book_receipts(p: EngineParams, s: EngineState, b: int, nodes, flag: bool) -> None:  # type: ignore[no-untyped-def]
    """Book the receipts due this period at the nodes where ``nodes`` (L + 1,) equals ``flag``: the
    DC (last) from the supplier, the locations from the DC and the lanes (``_book_receipts``).

    ``flag`` reaches the kernel as a plain bool: the literal ``False`` of ``receive`` and ``True`` of
    the BOOK phase would otherwise type (and compile) it twice."""
    _book_receipts(p, s, b, nodes, np.bool_(flag))


@inner_kernel  # not inlined: both receive and the BOOK phase call it, and it runs once or twice a period
def _book_receipts(p: EngineParams, s: EngineState, b: int, nodes, flag: bool) -> None:  # type: ignore[no-untyped-def]
    """``book_receipts``, compiled once."""
    t = s.period[b]
    n_l = s.stock.shape[1]
    expired, unit_cost, payable_delay = p.expired, p.unit_cost, p.payable_delay
    transit_slots, transit_start = p.transit_slots, p.transit_start
    dc, dc_on_hand, dc_due, on_order = s.dc[b], s.dc_on_hand[b], s.dc_due[b], s.on_order[b]
    stock, on_hand, age_weight, by_age = s.stock[b], s.on_hand[b], s.age_weight[b], s.units_by_age[b]
    writeoff_open, counters = s.writeoff_open[b], s.units[b]
    totals, cash_out_due = s.totals[b], s.cash_out_due[b]
    inbound, transit, transit_lane = s.inbound[b], s.transit[b], s.transit_lane[b]
    has_shelf_life = p.has_shelf_life
    if nodes[n_l] == flag:
        for k in range(dc.shape[0]):
            units = dc_due[t, k]
            if units:
                dc_due[t, k] = 0
                book_purchase(unit_cost, payable_delay, dc, dc_on_hand, by_age, on_order, counters, totals,
                              cash_out_due, t, k, units)
    for loc in range(n_l):
        if nodes[loc] != flag or transit_slots[loc] == 0:
            continue
        row = transit_start[loc] + t % transit_slots[loc]
        ring, lanes = transit[row], transit_lane[row]
        for k in range(ring.shape[0]):
            if lanes[k] == 0:
                continue
            lanes[k] = 0
            if has_shelf_life:  # some ages are written off on arrival
                for a in range(ring.shape[1]):
                    units = ring[k, a]
                    if units:
                        ring[k, a] = 0
                        arrive(expired, unit_cost, writeoff_open, counters, stock, on_hand, age_weight,
                               by_age, inbound, a, loc, k, units)
                continue
            # every age goes on the shelf: ``arrive`` of each age, its sums once, no branch per age
            cells, moved, weight = stock[loc, k], 0, 0
            for a in range(ring.shape[1]):
                units = ring[k, a]
                ring[k, a] = 0
                cells[a] += units
                by_age[a] += units
                moved += units
                weight += a * units
            on_hand[loc, k] += moved
            age_weight[loc, k] += weight
            inbound[loc, k] -= moved


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
    # moves[i] = (age, location, sku, units, lead) of everything leaving this period
    moves, taken, slot_now = w.moves[b], w.cohort[b], w.slot_now[b]
    t = s.period[b]
    lead_low, lead_high, seed = p.lead_low, p.lead_high, s.demand_seed[b]
    n_ages, shipping_cost, lead_time = p.n_ages, p.shipping_cost, p.lead_time
    expired, unit_cost, periods, payable_delay = p.expired, p.unit_cost, p.periods, p.payable_delay
    transit_start, transit_slots = p.transit_start, p.transit_slots
    lane_source, lane_target, lane_lead, lane_cost = p.lane_source, p.lane_target, p.lane_lead, p.lane_cost
    dc, dc_on_hand, dc_due, on_order = s.dc[b], s.dc_on_hand[b], s.dc_due[b], s.on_order[b]
    stock, on_hand, age_weight, by_age = s.stock[b], s.on_hand[b], s.age_weight[b], s.units_by_age[b]
    writeoff_open, counters = s.writeoff_open[b], s.units[b]
    totals, cash_out_due = s.totals[b], s.cash_out_due[b]
    inbound, transit, transit_lane, node_cost = s.inbound[b], s.transit[b], s.transit_lane[b], s.node_cost[b]
    lead = supplier_lead(lead_low, lead_high, seed, t)  # inlined: after the last read of p and s
    n_moves = np.int64(0)  # not a literal: one compiled _move
    shipping = 0.0
    for loc in range(n_l):  # each location's ring slot now: one division per location, not per move
        slot_now[loc] = t % transit_slots[loc] if transit_slots[loc] > 0 else 0
    for loc in range(n_l):
        shipped = 0  # summed here, not by ``ndarray.sum`` (its generic loops compile once per shape)
        for k in range(n_s):
            shipped += alloc[loc, k]
        cost = shipped * shipping_cost[loc]
        node_cost[SHIPPING, loc] += cost
        shipping += cost
    for k in range(n_s):
        a = n_ages - 1
        for loc in range(n_l):
            wanted = alloc[loc, k]
            while wanted > 0 and a >= 0:  # a >= 0 holds for any allocation within DC stock
                if dc[k, a] == 0:
                    a -= 1
                    continue
                take = min(wanted, dc[k, a])
                dc[k, a] -= take
                dc_on_hand[k] -= take
                by_age[a] -= take
                wanted -= take
                n_moves = _move(moves, n_moves, a, loc, k, take, lead_time[loc])
        if n_moves:
            n_moves = _depart(expired, unit_cost, transit_start, transit_slots, writeoff_open, counters,
                              stock, on_hand, age_weight, by_age, inbound, transit, transit_lane, slot_now,
                              moves, n_moves)
    totals[PERIOD_SHIPPING] = shipping
    transfer_cost = 0.0
    for q in range(lane_source.shape[0]):
        src, dst = lane_source[q], lane_target[q]
        moved = 0
        for k in range(n_s):
            if transfers[q, k] == 0:
                continue
            moved += transfers[q, k]
            take_stock(stock, on_hand, age_weight, by_age, src, k, transfers[q, k], taken, True)
            for a in range(n_ages):
                n_moves = _move(moves, n_moves, a, dst, k, taken[a], lane_lead[q] + delay[q, k])
            n_moves = _depart(expired, unit_cost, transit_start, transit_slots, writeoff_open, counters,
                              stock, on_hand, age_weight, by_age, inbound, transit, transit_lane, slot_now,
                              moves, n_moves)
        cost = moved * lane_cost[q]
        node_cost[TRANSFER, src] += cost
        transfer_cost += cost
    totals[PERIOD_TRANSFER] = transfer_cost
    for k in range(n_s):
        units = orders[k]
        if units == 0:
            continue
        on_order[k] += units
        if lead <= 0:
            book_purchase(unit_cost, payable_delay, dc, dc_on_hand, by_age, on_order, counters, totals,
                          cash_out_due, t, k, units)
        elif t + lead < periods:
            dc_due[t + lead, k] += units


@inner_kernel
def _move(moves, n: int, age: int, loc: int, k: int, units: int, lead: int) -> int:  # type: ignore[no-untyped-def]
    """Append a departure to ``moves``; returns the new count."""
    if units == 0:
        return n
    moves[n, 0], moves[n, 1], moves[n, 2], moves[n, 3], moves[n, 4] = age, loc, k, units, lead
    return n + 1


@inline_kernel
def _depart(expired, unit_cost, transit_start, transit_slots, writeoff_open, counters, stock, on_hand,  # type: ignore[no-untyped-def]
            age_weight, by_age, inbound, transit, transit_lane, slot_now, moves, n: int) -> int:
    """Put the ``n`` departures of ``moves`` of one copy in transit (or book them now if lead 0); returns
    0. The arrays are the parameters' and the copy's rows ``arrive`` takes, its transit rows, and each
    location's ring slot of the period now ``slot_now`` (L,) (period % its slots): a move of lead ``lead``
    (at most the slots, ``layout.transit_layout``) arrives in slot (period + lead) % slots."""
    n_ages = by_age.shape[0]
    for i in range(n):
        age, loc, k, units, lead = moves[i, 0], moves[i, 1], moves[i, 2], moves[i, 3], moves[i, 4]
        inbound[loc, k] += units
        aged = min(age + lead, n_ages - 1)
        if lead == 0:
            arrive(expired, unit_cost, writeoff_open, counters, stock, on_hand, age_weight, by_age, inbound,
                   aged, loc, k, units)
        else:
            slot, slots = slot_now[loc] + lead, transit_slots[loc]
            while slot >= slots > 0:
                slot -= slots
            row = transit_start[loc] + slot
            transit[row, k, aged] += units
            transit_lane[row, k] += units
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
def age_stock(dc, dc_on_hand, stock, on_hand, age_weight, by_age) -> None:  # type: ignore[no-untyped-def]
    """Every unit on hand of one copy (its rows: DC and location cohorts, their totals, units by age)
    one period older, totals kept; empty positions are skipped (their cohorts are all 0)."""
    n = by_age.shape[0]
    for k in range(dc.shape[0]):
        if dc_on_hand[k]:
            age_row(dc[k])
    for loc in range(stock.shape[0]):
        for k in range(stock.shape[1]):
            units = on_hand[loc, k]
            if units:
                row = stock[loc, k]
                age_weight[loc, k] += units - row[n - 1]  # the oldest bucket does not age
                age_row(row)
    age_row(by_age)
