"""Compiled service and period close: demand in priority order, backorders, aging, accounts.

Service (per location and SKU): channels in priority order, each channel's backorders
(oldest first) before its new orders, stock issued oldest-first; an order of a channel
leaves at least its holdback protection (``may_take``) on hand. Close: backorder
patience, aging and expiry, holding cost, the finance ledger, the KPI accumulators,
reward components and the per-step record.
"""

from __future__ import annotations

import math

from allocsim.envs.engine.flows import age_row, age_stock, take_stock, write_off
from allocsim.envs.engine.jit import inline_kernel, kernel
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
    for loc in range(n_l):
        for k in range(n_s):
            left = s.on_hand[b, loc, k]
            sold = 0
            for j in range(n_c):
                c = p.priority[j]
                new = demand[loc, k, c]
                queues = p.backorder_fraction[c] > 0  # lost-sales channels never have a backlog
                waiting = s.waiting[b, loc, k, c] if queues else 0
                request = new + waiting
                got = may_take(left, s.protect[b, loc, k, c], request)
                left -= got
                if queues:
                    from_backlog = min(got, waiting)
                    s.waiting[b, loc, k, c] -= from_backlog
                    age = n_p - 1
                    while from_backlog > 0:  # oldest backorders first
                        take = min(from_backlog, s.backlog[b, loc, k, c, age])
                        s.backlog[b, loc, k, c, age] -= take
                        from_backlog -= take
                        age -= 1
                    unmet_new = new - (got - min(got, waiting))
                    queued = backordered(unmet_new, p.backorder_fraction[c])
                    s.backlog[b, loc, k, c, 0] += queued
                    s.waiting[b, loc, k, c] += queued
                    s.flows[b, BACKORDERED, loc, c] += queued
                    lost[loc, k, c] = unmet_new - queued
                else:
                    lost[loc, k, c] = request - got
                served[loc, k, c] = got
                sold += got
            take_stock(s, b, loc, k, sold, issued, p.has_markdown)  # the markdown needs the ages issued
            s.units[b, SOLD] += sold
            if p.has_markdown:
                given_up = 0.0
                for a in range(p.n_ages):
                    given_up += issued[a] * p.markdown[a, k]
                given_up /= max(sold, 1)
                for c in range(n_c):
                    markdown[loc, k, c] = served[loc, k, c] * p.price[k, c] * given_up
            else:
                for c in range(n_c):
                    markdown[loc, k, c] = 0.0


@inline_kernel
def contract_penalty(p: EngineParams, s: EngineState, w, b: int) -> float:  # type: ignore[no-untyped-def]
    """Penalty of the period for contracted rights not served (per unit short, by channel)."""
    if not p.has_contracts:
        return 0.0
    n_l, n_s, n_c = p.demand_code.shape
    t = s.period[b]
    total = 0.0
    for c in range(n_c):
        short = 0.0
        for k in range(n_s):
            asked = 0
            got = 0
            for loc in range(n_l):
                asked += s.demand_ring[b, t % s.demand_ring.shape[1], loc, k, c]
                got += w.served[b, loc, k, c]
            due = min(asked, p.contract_rights[k, c])
            met = min(got, due)
            short += due - met
            s.totals[b, CONTRACT_DUE] += due
            s.totals[b, CONTRACT_MET] += met
        penalty = short * p.contract_penalty[c]
        s.contract_penalty[b, c] += penalty
        total += penalty
    return total


@inline_kernel
def _imbalance(s: EngineState, b: int, t: int, location_units) -> float:  # type: ignore[no-untyped-def]
    """Mean over SKUs of the CV of days of supply across locations that expect demand."""
    n_l, n_s = location_units.shape
    used = 0
    total = 0.0
    for k in range(n_s):
        count = 0
        cover_sum = 0.0
        for loc in range(n_l):
            rate = s.forecast_ring[b, t % s.forecast_ring.shape[1], loc, k]
            if rate > 1e-9:
                count += 1
                cover_sum += location_units[loc, k] / rate
        if count < 2:
            continue
        used += 1
        mean = cover_sum / count
        var = 0.0
        for loc in range(n_l):
            rate = s.forecast_ring[b, t % s.forecast_ring.shape[1], loc, k]
            if rate > 1e-9:
                var += (location_units[loc, k] / rate - mean) ** 2
        var /= count
        if mean > 0:
            total += math.sqrt(var) / max(mean, 1e-9)
    return total / max(used, 1)


@inline_kernel
def _expire(p: EngineParams, s: EngineState, b: int) -> None:
    """Write off every unit on hand of copy ``b`` past its SKU's shelf life (just aged), totals kept."""
    n_l, n_s = s.stock.shape[1], s.stock.shape[2]
    for a in range(p.n_ages):
        for k in range(n_s):
            if p.expired[a, k]:
                units = s.dc[b, k, a]
                if units:
                    write_off(s.writeoff_open[b], s.units[b], n_l, units, p.unit_cost[k])
                    s.dc[b, k, a] = 0
                    s.dc_on_hand[b, k] -= units
                    s.units_by_age[b, a] -= units
                for loc in range(n_l):
                    units = s.stock[b, loc, k, a]
                    if units:
                        write_off(s.writeoff_open[b], s.units[b], loc, units, p.unit_cost[k])
                        s.stock[b, loc, k, a] = 0
                        s.on_hand[b, loc, k] -= units
                        s.age_weight[b, loc, k] -= a * units
                        s.units_by_age[b, a] -= units


@inline_kernel
def close(p: EngineParams, s: EngineState, w, b: int, contract: float) -> None:  # type: ignore[no-untyped-def]
    """Period close of copy ``b``: patience, aging, expiry, costs, ledger, accounts, reward."""
    n_l, n_s, n_c = p.demand_code.shape
    t = s.period[b]
    last = t == p.periods - 1
    served, lost, markdown = w.served[b], w.lost[b], w.markdown[b]
    waiting_cost = 0.0
    if p.has_backorders:
        backlog = s.backlog[b]
        n_p = backlog.shape[3]
        waiting = w.waiting[b]
        waiting[:, :] = 0
        for loc in range(n_l):
            for k in range(n_s):
                for c in range(n_c):
                    queued = s.waiting[b, loc, k, c]
                    if queued == 0:
                        continue  # nothing waits (always so for a lost-sales channel)
                    row = backlog[loc, k, c]
                    waiting[loc, c] += queued  # waiting through this period, then one period older
                    age_row(row)
                    # past the channel's patience (all of them at the horizon) they are lost
                    for age in range(0 if last else p.patience[c] + 1, n_p):
                        lost[loc, k, c] += row[age]
                        queued -= row[age]
                        row[age] = 0
                    s.waiting[b, loc, k, c] = queued
        for loc in range(n_l):
            for c in range(n_c):
                cost = waiting[loc, c] * p.backorder_cost[c]
                s.flows[b, SHORTAGE, loc, c] += cost
                waiting_cost += cost
    age_stock(s, b)
    if p.has_shelf_life:
        _expire(p, s, b)
    location_units = s.on_hand[b]
    holding = 0.0
    inventory_value = 0.0
    transit_value = 0.0
    salvage = 0.0
    dc_hold = 0.0
    dc_value = 0.0
    ages = s.age_units[b]
    aged = 0
    for a in range(p.n_ages):
        ages[a] += s.units_by_age[b, a]
        if a >= p.aged_from:
            aged += s.units_by_age[b, a]
    for loc in range(n_l):
        loc_hold = 0.0
        loc_value = 0.0
        for k in range(n_s):
            units = location_units[loc, k]
            loc_hold += units * p.location_holding_cost[loc, k]
            loc_value += units * p.unit_cost[k]
        s.node_cost[b, HOLDING, loc] += loc_hold
        s.node_value[b, loc] += loc_value
        s.period_location[b, AT_VALUE, loc] = loc_value
        holding += loc_hold
        inventory_value += loc_value
    for k in range(n_s):
        units = s.dc_on_hand[b, k]
        in_transit = 0
        for loc in range(n_l):
            in_transit += s.inbound[b, loc, k]
        dc_hold += units * p.dc_holding_cost[k]
        dc_value += units * p.unit_cost[k]
        transit_value += in_transit * p.unit_cost[k]
        if last:
            network = units + in_transit
            for loc in range(n_l):
                network += location_units[loc, k]
            salvage += network * p.salvage_margin[k]
    s.node_cost[b, HOLDING, n_l] += dc_hold
    s.node_value[b, n_l] += dc_value
    at_location = s.period_location[b]
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
                asked += s.demand_ring[b, t % s.demand_ring.shape[1], loc, k, c]
                got += units
                gone += lost[loc, k, c]
                gross += units * p.price[k, c]
                md += markdown[loc, k, c]
                lane_cogs += units * p.unit_cost[k]
            penalty = gone * p.shortage_penalty[c]
            channel_revenue += gross - md
            cogs += lane_cogs
            requested += asked
            fulfilled += got
            lost_units += gone
            shortage += penalty
            at_location[AT_REQUESTED, loc] += asked
            at_location[AT_FULFILLED, loc] += got
            at_location[AT_LOST, loc] += gone
            flows = s.flows[b]
            flows[REQUESTED, loc, c] += asked
            flows[FULFILLED, loc, c] += got
            flows[LOST, loc, c] += gone
            flows[GROSS, loc, c] += gross
            flows[MARKDOWN, loc, c] += md
            flows[COGS, loc, c] += lane_cogs
            flows[SHORTAGE, loc, c] += penalty
        s.cash_in_due[b, t + p.receivable_delay[c]] += channel_revenue
        s.totals[b, RECEIVABLES] += channel_revenue
        revenue += channel_revenue
    s.totals[b, RECEIVABLES] -= s.cash_in_due[b, t]
    s.totals[b, PAYABLES] -= s.cash_out_due[b, t]
    working_capital = inventory_value + s.totals[b, RECEIVABLES] - s.totals[b, PAYABLES]
    s.totals[b, WORKING_CAPITAL] += working_capital
    s.totals[b, TRANSIT_VALUE] += transit_value
    s.totals[b, SALVAGE] += salvage
    s.totals[b, IMBALANCE] += _imbalance(s, b, t, location_units)
    s.closes[b] = t + 1
    costs = holding + s.totals[b, PERIOD_SHIPPING] + s.totals[b, PERIOD_TRANSFER]
    for node in range(n_l + 1):  # the period's write-offs, booked now that it closes
        costs += s.writeoff_open[b, node]
        s.node_cost[b, WRITEOFF, node] += s.writeoff_open[b, node]
        s.writeoff_open[b, node] = 0.0
    profit = revenue - cogs - costs - shortage + salvage
    record = s.step_record[b]
    record[0] = profit
    record[1] = -float(lost_units)
    record[2] = -inventory_value
    record[3] = -float(aged)
    reward = 0.0
    for i in range(p.reward_weights.shape[0]):
        reward += p.reward_weights[i] * record[i]
    s.totals[b, REWARD] += reward
    record[4] = requested
    record[5] = fulfilled
    record[6] = lost_units
    record[7] = revenue
    record[8] = profit
    record[9] = inventory_value
    record[10] = working_capital
    record[11] = s.totals[b, PERIOD_RECEIVED]
    w.reward[b] = reward
