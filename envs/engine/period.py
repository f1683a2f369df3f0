"""Compiled service and period close: demand in priority order, backorders, aging, accounts.

Service (per location and SKU): channels in priority order, each channel's backorders
(oldest first) before its new orders, stock issued oldest-first; an order of a channel
leaves at least its holdback protection (``may_take``) on hand. Close: backorder
patience, aging and expiry, holding cost, the finance ledger, the KPI accumulators,
reward components and the per-step record.
"""

from __future__ import annotations

import math

import numpy as np

from allocsim.envs.engine.flows import age_row, age_stock, take_stock, write_off
from allocsim.envs.engine.jit import inline_kernel, inner_kernel, kernel
from allocsim.envs.engine.params import EngineParams
from allocsim.envs.engine.state import (
    AT_FULFILLED,
    AT_LOST,
    AT_REQUESTED,
    AT_VALUE,
    BACKORDERED,
    COGS,
    CONTRACT_DUE,
    CONTRACT_MET,
    FULFILLED,
    GROSS,
    HOLDING,
    IMBALANCE,
    LOST,
    MARKDOWN,
    PAYABLES,
    PERIOD_RECEIVED,
    PERIOD_SHIPPING,
    PERIOD_TRANSFER,
    RECEIVABLES,
    REQUESTED,
    REWARD,
    SALVAGE,
    SHORTAGE,
    SOLD,
    TRANSIT_VALUE,
    WORKING_CAPITAL,
    WRITEOFF,
    EngineState,
)


@kernel
def may_take(on_hand: int, protect: int, wanted: int) -> int:
    """The holdback rule: of ``wanted`` units, those an order may take so that at least
    ``protect`` (its channel's entry of ``EngineState.protect``) stay on hand."""
    return min(max(on_hand - protect, 0), wanted)


@kernel
def backordered(unmet: int, fraction: float) -> int:
    """Units of ``unmet`` new demand the channel's rule queues as backorders; the rest are lost."""
    return math.floor(unmet * fraction + 1e-9)


@inline_kernel
def serve(p: EngineParams, s: EngineState, w, b: int) -> None:  # type: ignore[no-untyped-def]
    """Serve period ``t``'s demand of copy ``b``; fills ``w.served``, ``w.lost``, ``w.markdown``."""
    n_l, n_s, n_c = p.demand_code.shape
    t = s.period[b]
    demand = s.demand_ring[b, t % s.demand_ring.shape[1]]
    served, lost, markdown, issued = w.served[b], w.lost[b], w.markdown[b], w.cohort[b]
    n_p = s.backlog.shape[4]
    priority, backorder_fraction, has_markdown = p.priority, p.backorder_fraction, p.has_markdown
    n_ages, discount, price = p.n_ages, p.markdown, p.price
    stock, on_hand, age_weight, by_age = s.stock[b], s.on_hand[b], s.age_weight[b], s.units_by_age[b]
    waiting, backlog, protect = s.waiting[b], s.backlog[b], s.protect[b]
    flows, counters = s.flows[b], s.units[b]
    for loc in range(n_l):
        for k in range(n_s):
            left = on_hand[loc, k]
            sold = 0
            for j in range(n_c):
                c = priority[j]
                new = demand[loc, k, c]
                queues = backorder_fraction[c] > 0  # lost-sales channels never have a backlog
                queued_before = waiting[loc, k, c] if queues else 0
                request = new + queued_before
                if request == 0:  # nothing asked (a lane the location does not serve): nothing moves
                    lost[loc, k, c] = 0
                    served[loc, k, c] = 0
                    continue
                got = may_take(left, protect[loc, k, c], request)
                left -= got
                if queues:
                    from_backlog = min(got, queued_before)
                    waiting[loc, k, c] -= from_backlog
                    age = n_p - 1
                    while from_backlog > 0:  # oldest backorders first
                        take = min(from_backlog, backlog[loc, k, c, age])
                        backlog[loc, k, c, age] -= take
                        from_backlog -= take
                        age -= 1
                    unmet_new = new - (got - min(got, queued_before))
                    queued = backordered(unmet_new, backorder_fraction[c])
                    backlog[loc, k, c, 0] += queued
                    waiting[loc, k, c] += queued
                    flows[BACKORDERED, loc, c] += queued
                    lost[loc, k, c] = unmet_new - queued
                else:
                    lost[loc, k, c] = request - got
                served[loc, k, c] = got
                sold += got
            # the markdown needs the ages issued
            take_stock(stock, on_hand, age_weight, by_age, loc, k, sold, issued, has_markdown)
            counters[SOLD] += sold
            if has_markdown:
                given_up = 0.0
                for a in range(n_ages):
                    given_up += issued[a] * discount[a, k]
                given_up /= max(sold, 1)
                for c in range(n_c):
                    markdown[loc, k, c] = served[loc, k, c] * price[k, c] * given_up
            else:
                for c in range(n_c):
                    markdown[loc, k, c] = 0.0


@inline_kernel
def contract_penalty(p: EngineParams, s: EngineState, w, b: int) -> float:  # type: ignore[no-untyped-def]
    """Penalty of the period for contracted rights not served (per unit short, by channel)."""
    has_contracts, rights, per_unit = p.has_contracts, p.contract_rights, p.contract_penalty
    n_l, n_s, n_c = p.demand_code.shape
    t = s.period[b]
    demand, served = s.demand_ring[b, t % s.demand_ring.shape[1]], w.served[b]
    totals, penalties = s.totals[b], s.contract_penalty[b]
    if not has_contracts:
        return 0.0
    total = 0.0
    for c in range(n_c):
        short = 0.0
        for k in range(n_s):
            asked = 0
            got = 0
            for loc in range(n_l):
                asked += demand[loc, k, c]
                got += served[loc, k, c]
            due = min(asked, rights[k, c])
            met = min(got, due)
            short += due - met
            totals[CONTRACT_DUE] += due
            totals[CONTRACT_MET] += met
        penalty = short * per_unit[c]
        penalties[c] += penalty
        total += penalty
    return total


@inline_kernel
def _imbalance(rates, location_units) -> float:  # type: ignore[no-untyped-def]
    """Mean over SKUs of the CV of days of supply across locations that expect demand (the period's
    forecast ``rates`` (L, S))."""
    n_l, n_s = location_units.shape
    used = 0
    total = 0.0
    for k in range(n_s):
        count = 0
        cover_sum = 0.0
        for loc in range(n_l):
            rate = rates[loc, k]
            if rate > 1e-9:
                count += 1
                cover_sum += location_units[loc, k] / rate
        if count < 2:
            continue
        used += 1
        mean = cover_sum / count
        var = 0.0
        for loc in range(n_l):
            rate = rates[loc, k]
            if rate > 1e-9:
                var += (location_units[loc, k] / rate - mean) ** 2
        var /= count
        if mean > 0:
            total += math.sqrt(var) / max(mean, 1e-9)
    return total / max(used, 1)


@inline_kernel
def _expire(expired, unit_cost, dc, dc_on_hand, stock, on_hand, age_weight, by_age, writeoff_open,  # type: ignore[no-untyped-def]
            counters) -> None:
    """Write off every unit on hand of one copy (its rows of the state) past its SKU's shelf life
    (``p.expired``; just aged), totals kept."""
    n_l, n_s = stock.shape[0], stock.shape[1]
    for a in range(by_age.shape[0]):
        for k in range(n_s):
            if expired[a, k]:
                units = dc[k, a]
                if units:
                    write_off(writeoff_open, counters, n_l, np.int64(units), unit_cost[k])
                    dc[k, a] = 0
                    dc_on_hand[k] -= units
                    by_age[a] -= units
                for loc in range(n_l):
                    units = stock[loc, k, a]
                    if units:
                        write_off(writeoff_open, counters, loc, np.int64(units), unit_cost[k])
                        stock[loc, k, a] = 0
                        on_hand[loc, k] -= units
                        age_weight[loc, k] -= a * units
                        by_age[a] -= units


@inner_kernel
def close(p: EngineParams, s: EngineState, w, b: int, contract: float) -> None:  # type: ignore[no-untyped-def]
    """Period close of copy ``b``: patience, aging, expiry, costs, ledger, accounts, reward.

    Compiled on its own and called by ``run_copies`` (not inlined: see ``allocsim.envs.engine.kernels``)."""
    n_l, n_s, n_c = p.demand_code.shape
    t = s.period[b]
    last = t == p.periods - 1
    served, lost, markdown, waiting = w.served[b], w.lost[b], w.markdown[b], w.waiting[b]
    has_backorders, patience, backorder_cost = p.has_backorders, p.patience, p.backorder_cost
    has_shelf_life, expired, unit_cost = p.has_shelf_life, p.expired, p.unit_cost
    n_ages, aged_from = p.n_ages, p.aged_from
    location_holding_cost, dc_holding_cost, salvage_margin = (p.location_holding_cost, p.dc_holding_cost,
                                                              p.salvage_margin)
    price, shortage_penalty, receivable_delay = p.price, p.shortage_penalty, p.receivable_delay
    reward_weights = p.reward_weights
    backlog, queued_now, flows = s.backlog[b], s.waiting[b], s.flows[b]
    dc, dc_on_hand, stock, on_hand = s.dc[b], s.dc_on_hand[b], s.stock[b], s.on_hand[b]
    age_weight, by_age = s.age_weight[b], s.units_by_age[b]
    writeoff_open, counters = s.writeoff_open[b], s.units[b]
    ages, node_cost, node_value = s.age_units[b], s.node_cost[b], s.node_value[b]
    at_location, inbound, totals = s.period_location[b], s.inbound[b], s.totals[b]
    cash_in_due, cash_out_due = s.cash_in_due[b], s.cash_out_due[b]
    demand = s.demand_ring[b, t % s.demand_ring.shape[1]]
    rates = s.forecast_ring[b, t % s.forecast_ring.shape[1]]
    record, closes, rewards = s.step_record[b], s.closes, w.reward
    waiting_cost = 0.0
    if has_backorders:
        n_p = backlog.shape[3]
        waiting[:, :] = 0
        for loc in range(n_l):
            for k in range(n_s):
                for c in range(n_c):
                    queued = queued_now[loc, k, c]
                    if queued == 0:
                        continue  # nothing waits (always so for a lost-sales channel)
                    row = backlog[loc, k, c]
                    waiting[loc, c] += queued  # waiting through this period, then one period older
                    age_row(row)
                    # past the channel's patience (all of them at the horizon) they are lost
                    for age in range(0 if last else patience[c] + 1, n_p):
                        lost[loc, k, c] += row[age]
                        queued -= row[age]
                        row[age] = 0
                    queued_now[loc, k, c] = queued
        for loc in range(n_l):
            for c in range(n_c):
                cost = waiting[loc, c] * backorder_cost[c]
                flows[SHORTAGE, loc, c] += cost
                waiting_cost += cost
    age_stock(dc, dc_on_hand, stock, on_hand, age_weight, by_age)
    if has_shelf_life:
        _expire(expired, unit_cost, dc, dc_on_hand, stock, on_hand, age_weight, by_age, writeoff_open,
                counters)
    location_units = on_hand
    holding = 0.0
    inventory_value = 0.0
    transit_value = 0.0
    salvage = 0.0
    dc_hold = 0.0
    dc_value = 0.0
    aged = 0
    for a in range(n_ages):
        ages[a] += by_age[a]
        if a >= aged_from:
            aged += by_age[a]
    for loc in range(n_l):
        loc_hold = 0.0
        loc_value = 0.0
        for k in range(n_s):
            units = location_units[loc, k]
            loc_hold += units * location_holding_cost[loc, k]
            loc_value += units * unit_cost[k]
        node_cost[HOLDING, loc] += loc_hold
        node_value[loc] += loc_value
        at_location[AT_VALUE, loc] = loc_value
        holding += loc_hold
        inventory_value += loc_value
    for k in range(n_s):
        units = dc_on_hand[k]
        in_transit = 0
        for loc in range(n_l):
            in_transit += inbound[loc, k]
        dc_hold += units * dc_holding_cost[k]
        dc_value += units * unit_cost[k]
        transit_value += in_transit * unit_cost[k]
        if last:
            network = units + in_transit
            for loc in range(n_l):
                network += location_units[loc, k]
            salvage += network * salvage_margin[k]
    node_cost[HOLDING, n_l] += dc_hold
    node_value[n_l] += dc_value
    at_location[AT_VALUE, n_l] = dc_value
    for row in (AT_REQUESTED, AT_FULFILLED, AT_LOST):
        for node in range(n_l + 1):
            at_location[row, node] = 0.0
    holding += dc_hold
    inventory_value += dc_value + transit_value
    # flows, revenue and the ledger
    revenue = 0.0
    cogs = 0.0
    lost_units = 0
    requested = 0
    fulfilled = 0
    shortage = contract + waiting_cost
    for c in range(n_c):
        channel_revenue = 0.0
        for loc in range(n_l):
            asked = got = gone = 0
            gross = md = lane_cogs = 0.0
            for k in range(n_s):
                units = served[loc, k, c]
                asked += demand[loc, k, c]
                got += units
                gone += lost[loc, k, c]
                gross += units * price[k, c]
                md += markdown[loc, k, c]
                lane_cogs += units * unit_cost[k]
            penalty = gone * shortage_penalty[c]
            channel_revenue += gross - md
            cogs += lane_cogs
            requested += asked
            fulfilled += got
            lost_units += gone
            shortage += penalty
            at_location[AT_REQUESTED, loc] += asked
            at_location[AT_FULFILLED, loc] += got
            at_location[AT_LOST, loc] += gone
            flows[REQUESTED, loc, c] += asked
            flows[FULFILLED, loc, c] += got
            flows[LOST, loc, c] += gone
            flows[GROSS, loc, c] += gross
            flows[MARKDOWN, loc, c] += md
            flows[COGS, loc, c] += lane_cogs
            flows[SHORTAGE, loc, c] += penalty
        cash_in_due[t + receivable_delay[c]] += channel_revenue
        totals[RECEIVABLES] += channel_revenue
        revenue += channel_revenue
    totals[RECEIVABLES] -= cash_in_due[t]
    totals[PAYABLES] -= cash_out_due[t]
    working_capital = inventory_value + totals[RECEIVABLES] - totals[PAYABLES]
    totals[WORKING_CAPITAL] += working_capital
    totals[TRANSIT_VALUE] += transit_value
    totals[SALVAGE] += salvage
    totals[IMBALANCE] += _imbalance(rates, location_units)
    closes[b] = t + 1
    costs = holding + totals[PERIOD_SHIPPING] + totals[PERIOD_TRANSFER]
    for node in range(n_l + 1):  # the period's write-offs, booked now that it closes
        costs += writeoff_open[node]
        node_cost[WRITEOFF, node] += writeoff_open[node]
        writeoff_open[node] = 0.0
    profit = revenue - cogs - costs - shortage + salvage
    record[0] = profit
    record[1] = -float(lost_units)
    record[2] = -inventory_value
    record[3] = -float(aged)
    reward = 0.0
    for i in range(reward_weights.shape[0]):
        reward += reward_weights[i] * record[i]
    totals[REWARD] += reward
    record[4] = requested
    record[5] = fulfilled
    record[6] = lost_units
    record[7] = revenue
    record[8] = profit
    record[9] = inventory_value
    record[10] = working_capital
    record[11] = totals[PERIOD_RECEIVED]
    rewards[b] = reward
