"""Compiled decision rules: whole units from fractions (largest remainder) and the guardrails.

The continuous part of the decode (action -> fractions) is ``allocsim.envs.actions``;
everything here works on one copy ``b`` of the batch, writes into preallocated work
arrays and keeps the decision log as arrays (proposed, then after each guardrail).
"""

from __future__ import annotations

import math

from allocsim.core import same_day, unit_decode
from allocsim.envs.engine.jit import compile_shared, inline_kernel, inner_kernel, kernel
from allocsim.envs.engine.params import BIG, EngineParams
from allocsim.envs.engine.state import EngineState

# The decode's arithmetic lives in ``allocsim.core.unit_decode``, shared with the ONNX runtime.
available_to_allocate = kernel(unit_decode.available_to_allocate)
# the remainder rule of both roundings, then the roundings with it (and the cut with its rounding)
raise_smallest = kernel(unit_decode.raise_smallest)
largest_remainder_row = compile_shared(unit_decode.largest_remainder_row, raise_smallest=raise_smallest)
round_to_total = compile_shared(unit_decode.round_to_total, raise_smallest=raise_smallest)
transfer_units = kernel(unit_decode.transfer_units)
# the one capacity cut (rules, the targets decode, the env), with the rounding it calls compiled too
cut_rows = compile_shared(unit_decode.cut_rows, round_to_total=round_to_total)
policy_order = kernel(unit_decode.policy_order)
holdback_units = kernel(unit_decode.holdback_units)
# The stock a decided holdback applies to lives in ``allocsim.core.same_day``, shared with the runtime.
transfer_delay = kernel(same_day.transfer_delay)
on_shelf_today = kernel(same_day.on_shelf_today)


@inner_kernel
def _copy1(dst, src) -> None:  # type: ignore[no-untyped-def]
    """``dst[:] = src`` without the temporary numba makes for a possible overlap."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@inner_kernel
def _copy2(dst, src) -> None:  # type: ignore[no-untyped-def]
    """``dst[:, :] = src`` without the temporary numba makes for a possible overlap."""
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            dst[i, j] = src[i, j]


@inner_kernel
def cut_transfers(lane_target, transfers, headroom, into, share, row, order) -> None:  # type: ignore[no-untyped-def]
    """The transfers (K, S) into each location above its ``headroom`` (L,) cut to exactly
    ``max(headroom, 0)`` units by ``cut_rows``, over one row of every (lane, SKU) entry into it
    (in proportion, by largest remainder). ``into`` (1, K x S) int and ``share``, ``row``, ``order``
    (K x S) are scratch."""
    n_k, n_s = transfers.shape[0], transfers.shape[1]
    for dst in range(headroom.shape[0]):
        total = 0
        for q in range(n_k):
            if lane_target[q] == dst:
                for k in range(n_s):
                    total += transfers[q, k]
        if total <= max(headroom[dst], 0):
            continue
        for q in range(n_k):
            for k in range(n_s):
                into[0, q * n_s + k] = transfers[q, k] if lane_target[q] == dst else 0
        cut_rows(into, headroom[dst : dst + 1], into, share, row, order)
        for q in range(n_k):
            if lane_target[q] == dst:
                for k in range(n_s):
                    transfers[q, k] = into[0, q * n_s + k]


@inline_kernel
def rooms(p: EngineParams, s: EngineState, w, b: int) -> float:  # type: ignore[no-untyped-def]
    """The guardrails' room for copy ``b`` now, into ``w``; returns the inventory position at cost.

    ``w.supply_room`` (L, S): units the days-of-supply ceiling still
    allows (BIG when the scenario sets none); ``w.headroom`` (L,): units a location can
    still receive before its capacity (BIG when capacity is not enforced; may be < 0).
    """
    n_l, n_s = s.inbound.shape[1], s.inbound.shape[2]
    t = s.period[b]
    on_hand, supply, headroom = s.on_hand[b], w.supply_room[b], w.headroom[b]
    inbound, on_order, dc_on_hand = s.inbound[b], s.on_order[b], s.dc_on_hand[b]
    rates = s.forecast_ring[b, t % s.forecast_ring.shape[1]]
    unit_cost, capacity, enforce_capacity = p.unit_cost, p.capacity, p.enforce_capacity
    max_days_of_supply = p.max_days_of_supply
    position_value = 0.0
    for k in range(n_s):
        units = dc_on_hand[k] + on_order[k]
        for loc in range(n_l):
            units += on_hand[loc, k] + inbound[loc, k]
        position_value += units * unit_cost[k]
    has_ceiling = not math.isnan(max_days_of_supply)
    for loc in range(n_l):
        headroom[loc] = capacity[loc] if enforce_capacity else BIG
        for k in range(n_s):
            if enforce_capacity:
                headroom[loc] -= on_hand[loc, k] + inbound[loc, k]
            supply[loc, k] = BIG
            if has_ceiling:
                # a product like 0.28 x 25 = 7.000000000000001 must not round up to 8
                ceiling = math.ceil(rates[loc, k] * max_days_of_supply - 1e-9)
                supply[loc, k] = max(ceiling - on_hand[loc, k] - inbound[loc, k], 0)
    return position_value


@inline_kernel
def decide(p: EngineParams, s: EngineState, w, b: int, alloc_frac, transfer_frac, order_frac,  # type: ignore[no-untyped-def]
           holdback_frac, position_value: float) -> None:
    """Whole units of copy ``b`` from its fractions, trimmed by the guardrails, into ``w``.

    ``alloc_frac`` (S, L + 1) rows sum to 1 (last column: keep at the DC);
    ``transfer_frac`` (K, S) shares of the source's stock; ``order_frac`` (S,) shares
    of ``max_order``; ``holdback_frac`` (L, S) shares of the stock on hand after this decision's
    same-period moves held back (used when the scenario has a holdback decision). The caller runs
    ``rooms`` first (``w.headroom``, ``w.supply_room``) and passes the ``position_value`` it returns.
    Writes ``w.allocation`` (L, S), ``w.transfers`` (K, S),
    ``w.orders`` (S,) and ``w.delay`` (K, S) for copy ``b``, and the period's ``s.protect``.
    """
    n_l, n_s = s.inbound.shape[1], s.inbound.shape[2]
    t = s.period[b]
    keep_log = s.log_allocation.shape[1] > 0
    log_alloc, log_transfers = s.log_allocation[b], s.log_transfers[b]
    log_orders, log_flags = s.log_orders[b], s.log_flags[b]
    alloc, transfers, orders, delay = w.allocation[b], w.transfers[b], w.orders[b], w.delay[b]
    on_hand, units_row, order = s.on_hand[b], w.units_row[b], w.order[b]
    dc_on_hand, on_order = s.dc_on_hand[b], s.on_order[b]
    supply_room, headroom, lane_units = w.supply_room[b], w.headroom[b], w.lane_units[b]
    share, row, cut_order = w.cut_share[b], w.cut_row[b], w.cut_order[b]
    safety_reserve, lane_source, lane_target = p.safety_reserve, p.lane_source, p.lane_target
    order_up_to, order_below, max_order = p.order_up_to, p.order_below, p.max_order
    max_days_of_supply, enforce_capacity, working_capital_cap = (p.max_days_of_supply, p.enforce_capacity,
                                                                 p.working_capital_cap)
    supplier_capacity, unit_cost, lane_threshold, lane_delay = (p.supplier_capacity, p.unit_cost,
                                                                p.lane_threshold, p.lane_delay)
    holdback_below, levels, lead_time, lane_lead = p.holdback_below, p.protect, p.lead_time, p.lane_lead
    protect, today = s.protect[b], w.scratch[b]
    holds_back = _any_positive(holdback_below)  # not ``.any()``: numba's compiles an iterator per shape
    # whole units before guardrails
    for k in range(n_s):
        free = available_to_allocate(dc_on_hand[k], safety_reserve[k])
        largest_remainder_row(free, alloc_frac[k], units_row, order)
        for loc in range(n_l):
            alloc[loc, k] = units_row[loc]
    transfer_units(transfer_frac, lane_source, on_hand, transfers)
    delay[:, :] = 0
    for k in range(n_s):  # the policy's order plus the DC rule's order-up-to
        position = dc_on_hand[k] + on_order[k]
        rule = max(order_up_to[k] - position, 0) if position <= order_below[k] else 0
        orders[k] = policy_order(order_frac[k], max_order[k]) + rule
    if keep_log:
        _copy2(log_alloc[t, 0], alloc)
        _copy2(log_transfers[t, 0], transfers)
        _copy1(log_orders[t, 0], orders)
    # max days of supply
    if not math.isnan(max_days_of_supply):
        for loc in range(n_l):
            for k in range(n_s):
                alloc[loc, k] = min(alloc[loc, k], supply_room[loc, k])
    if keep_log:
        _copy2(log_alloc[t, 1], alloc)
    # location capacity: rows above their room cut to exactly the room, by largest remainder
    if enforce_capacity:
        # the scratch of a row of S entries is S long: the rounding reads every entry it is given
        cut_rows(alloc, headroom, alloc, share[:n_s], row[:n_s], cut_order[:n_s])
        if _any_positive(transfers):  # then what the DC ships has taken its share of the room
            for loc in range(n_l):
                for k in range(n_s):
                    headroom[loc] -= alloc[loc, k]
            n_row = lane_units.shape[1]
            cut_transfers(lane_target, transfers, headroom, lane_units, share[:n_row], row[:n_row],
                          cut_order[:n_row])
    if keep_log:
        _copy2(log_alloc[t, 2], alloc)
        _copy2(log_transfers[t, 1], transfers)
    # supplier capacity, then the working-capital cap
    value = 0.0
    for k in range(n_s):
        orders[k] = min(orders[k], supplier_capacity[k])
        value += orders[k] * unit_cost[k]
    if keep_log:
        _copy1(log_orders[t, 1], orders)
    if not math.isnan(working_capital_cap) and value > 0.0:
        room = working_capital_cap - position_value
        if value > room:
            for k in range(n_s):
                orders[k] = math.floor(orders[k] * max(room, 0.0) / value)
    if keep_log:
        _copy1(log_orders[t, 2], orders)
    # approval: transfers above a lane's threshold wait its delay
    transfer_delay(transfers, lane_threshold, lane_delay, delay)
    if keep_log:
        _copy2(log_transfers[t, 2], delay)
        log_flags[t] = _changed_stages(log_alloc[t], log_transfers[t], log_orders[t])
    if holds_back:  # once the moves are final: the share covers what they bring today
        protect_decided(levels, holdback_below, lead_time, lane_source, lane_target, lane_lead, protect,
                        holdback_frac, on_hand, alloc, transfers, delay, today)


@inner_kernel
def protect_decided(levels, holdback_below, lead_time, lane_source, lane_target, lane_lead, protect,  # type: ignore[no-untyped-def]
                    holdback_frac, on_hand, alloc, transfers, delay, today) -> None:
    """This period's ``protect`` (L, S, C) of one copy (its row of ``s.protect``): the decided holdback
    units are kept from the channels in ``holdback_below`` (``p.holdback_below``), nested over the
    scenario's static ``levels`` (``p.protect``). The share applies to the stock
    on hand once this decision's same-period moves are done: ``on_hand`` at the decision, plus what
    it ships or transfers in with lead time 0 (on the shelf before today's demand), less what it
    transfers out. Counting ``on_hand`` alone, a share could never protect a unit the decision
    itself delivers today (a store restocked from zero would protect nothing). The rule is
    ``allocsim.core.same_day.on_shelf_today`` (shared with the runtime); ``today`` (L, S) is scratch."""
    on_shelf_today(on_hand, alloc, transfers, delay, lead_time, lane_source, lane_target, lane_lead, today)
    for loc in range(on_hand.shape[0]):
        for k in range(on_hand.shape[1]):
            units = holdback_units(holdback_frac[loc, k], today[loc, k])
            for c in range(levels.shape[2]):
                level = levels[loc, k, c]
                if holdback_below[c]:
                    level = max(level, units)
                protect[loc, k, c] = level


@inner_kernel
def _changed_stages(alloc, transfers, orders) -> int:  # type: ignore[no-untyped-def]
    """Bit i set when log stage i (in ``allocsim.envs.engine.log`` order) changed the decision."""
    flags = 0
    for i, (stages, before, after) in enumerate(((alloc, 0, 1), (alloc, 1, 2), (transfers, 0, 1))):
        if _differ(stages[before], stages[after]):
            flags |= 1 << i
    for i, (before, after) in enumerate(((0, 1), (1, 2))):
        if _differ(orders[before], orders[after]):
            flags |= 1 << (3 + i)
    if _any_positive(transfers[2]):
        flags |= 1 << 5
    return flags


@inner_kernel
def _differ(a, b) -> bool:  # type: ignore[no-untyped-def]
    """Whether two arrays of one shape differ anywhere (without allocating a mask)."""
    for x, y in zip(a.flat, b.flat):  # noqa: SIM110, B905 (numba: no generator in any(), no strict=)
        if x != y:
            return True
    return False


@inner_kernel
def _any_positive(a) -> bool:  # type: ignore[no-untyped-def]
    """Whether any entry of ``a`` is above 0 (without allocating a mask)."""
    for x in a.flat:  # noqa: SIM110 (numba compiles no generator into any())
        if x > 0:
            return True
    return False
