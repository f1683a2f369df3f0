"""The sample-average LP of ``sp-mpc``: H periods x W demand scenarios, one first-period decision.

What: from the state now, every scenario ``w`` gets its own plan for periods ``h = 0 .. H-1``
(shipments, transfers, supplier orders where the policy orders, sales per channel, stock at each
close, disposals of expiring units, contract shortfalls), except that the shipments, transfers and
policy orders of the first ``shared`` periods (at least the first) are one set of columns shared
by every scenario (non-anticipativity; past the first period this takes away the clairvoyant
recourse that lets a plan keep stock back for the future that needs it). The objective is the
scenarios' mean profit, in the ``profit`` KPI's terms: sales at price - unit cost, shortage
penalties per unit not served (lost sales), contract penalties per unit short, holding at each
close, shipping and transfer costs, write-off at unit cost of units that expire unsold (oldest
first), and a concave value of the network's stock at the end of the lookahead (on hand at the DC
and locations, in transit, on order): ``terminal`` per unit up to ``cover`` units, ``beyond`` per
unit past it (and, with ``location_cover``, a location's own stock only up to what it can sell
itself; ``aging`` charges a markdown accrual).

Timing follows the engine: a shipment or transfer decided at ``h`` with lead ``d`` is on hand
for period ``h + d``'s demand; a supplier order is on hand at the DC from ``h + max(lead, 1)``
(a lead-0 receipt comes after that period's allocation); an order that would arrive after the
episode's end never arrives (and is not allowed), and only the first period's order may arrive
after the lookahead (later ones would buy terminal value meant for the demand right after it).

Approximations (the LP is a planning model, not a bound): unmet demand is lost (a backordered
unit is valued as lost; waiting backorders take the stock on hand first, the rest joins the next
period's demand); markdowns are
ignored; capacity and the days-of-supply cap bind the first period only (``headroom`` and
``supply_room``, as the guardrails compute them); units shipped during the lookahead do not age;
the working-capital cap binds policy orders, with a period's inventory position at cost falling by
the units sold or written off. Where the scenario's DC rule orders, its order now is fixed and its
later orders are free within supplier capacity and the rule's ceiling on the DC position (the
relaxation the clairvoyant bound uses), so shipping out of the DC lets the rule refill it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocsim.baselines.lp_builder import LPBuilder, LPSolution
from allocsim.envs.network import Network

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Lookahead:
    """Everything the LP needs beyond the network's prices and costs (shapes: W scenarios, H periods)."""

    demand: FloatArray  # (W, H, L, S, C) units asked per lane in each scenario
    supplier_lead: IntArray  # (W, H) lead of a policy order placed at h
    periods_left: int  # periods of the episode from now on (>= H)
    on_hand: FloatArray  # (L, S) location stock at the decision
    dc_on_hand: FloatArray  # (S,)
    dc_available: FloatArray  # (S,) what may be allocated now (on hand minus the safety reserve)
    arrivals: FloatArray  # (H, L, S) units already in transit to locations, by arrival (h = 0: booked)
    dc_arrivals: FloatArray  # (H, S) DC receipts already due (supplier orders, planned receipts), by arrival
    expiring: FloatArray  # (H, L, S) units now at locations that expire at close h unless issued
    dc_expiring: FloatArray  # (H, S)
    terminal: FloatArray  # (S,) profit per unit of network stock at the lookahead's end, up to ``cover``
    cover: FloatArray  # (S,) units of network stock at the end that earn ``terminal`` each
    beyond: FloatArray  # (S,) profit per unit of network stock at the end past ``cover``
    pending: FloatArray  # (S,) units on their way that arrive after the lookahead, within its cover
    headroom: FloatArray  # (L,) units each location may still receive now (inf: no capacity)
    supply_room: FloatArray | None  # (L, S) room under the days-of-supply cap now
    order_cap: FloatArray | None  # (S,) supplier orders per period at most; None: nobody orders
    rule: DCRule | None  # the scenario's DC rule places the orders (None: the policy does)
    transfer_cap: FloatArray | None  # (K,) units per lane and SKU a transfer may move (approval threshold)
    capital: tuple[float, float] | None  # (working-capital cap, inventory position at cost now)
    shared: int = 1  # periods h < shared decide once for every scenario (1: only the decision now)
    aging: FloatArray | None = None  # (L, S) markdown accrued per unit and close at a location, if any
    location_cover: FloatArray | None = None  # (L, S) end stock a location can sell itself; past it: salvage
    # (L, S, C) backorders waiting now that join period 1's ``demand``: served, they count toward that
    # period's contract rights as the engine counts them, but they owe no rights of their own
    carried: FloatArray | None = None

    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        w, h, n_l, n_s, n_c = self.demand.shape
        return w, h, n_l, n_s, n_c


@dataclass(frozen=True)
class DCRule:
    """A DC order-up-to rule: its order now (fixed) and, later, orders that keep the DC position
    (on hand + on order) at most ``ceiling`` (a linear stand-in for "order up to the level once the
    position is at or below the reorder point": shipping out lowers the position, the rule refills)."""

    first: FloatArray  # (S,) what the rule orders this period
    position: FloatArray  # (S,) DC on hand + on order now
    ceiling: FloatArray  # (S,)


@dataclass(frozen=True)
class FirstPeriod:
    """The shared first-period decision (fractional units) and the LP's mean profit."""

    shipments: FloatArray  # (L, S)
    transfers: FloatArray  # (K, S)
    orders: FloatArray  # (S,)
    objective: float
    solution: LPSolution
    # (L, S) of the shipment now, the mean units the plan keeps at a location past the period it lands
    # while demand there goes unserved (the engine would sell them then; see ``kept_from_demand``)
    withheld: FloatArray


def _shared(first: IntArray, rest: IntArray, common: IntArray | None = None) -> IntArray:
    """Column indices (W, H, ...): the h = 0 slice is the shared ``first`` (...), the next ones the
    shared ``common`` (k, ...) if given, the rest ``rest`` (W, H - 1 - k, ...) one per scenario."""
    w = rest.shape[0]
    parts = [np.broadcast_to(first[None, None], (w, 1, *first.shape))]
    if common is not None:
        parts.append(np.broadcast_to(common[None], (w, *common.shape)))
    return np.concatenate([*parts, rest], axis=1)


def _arrival_rows(rows: IntArray, due: IntArray, place: tuple[IntArray, ...]) -> IntArray:
    """``rows[w, due, *place]`` where ``0 <= due < H`` else -1; ``rows`` is (W, H, ...)."""
    w = np.arange(rows.shape[0]).reshape(-1, *([1] * (due.ndim - 1)))
    ok = (due >= 0) & (due < rows.shape[1])
    return np.where(ok, rows[(w, np.clip(due, 0, rows.shape[1] - 1), *place)], -1)


class SampleAverageLP:
    """The LP of one decision, built block by block (see the module docstring)."""

    def __init__(self, net: Network, look: Lookahead) -> None:
        self.net, self.look, self.lp = net, look, LPBuilder()
        self.W, self.H, self.L, self.S, self.C = look.shape
        self.h = np.arange(self.H)
        self.weight = 1.0 / self.W
        self.end = (self.h == self.H - 1)
        self.k = max(1, min(look.shared, self.H))  # periods decided once for every scenario
        self.left: list[tuple[IntArray, IntArray]] = []  # (columns, their SKU) left at the end
        self.left_at: list[tuple[IntArray, IntArray, IntArray]] = []  # (columns, location, SKU) at the end

    def gain(self, cols: IntArray, per_scenario: FloatArray | float) -> None:
        """Add a scenario's profit per unit; shared columns collect it from every scenario (the mean)."""
        self.lp.add_gain(cols, np.asarray(per_scenario, dtype=np.float64) * self.weight)

    # ----------------------------------------------------------- stock
    def stock(self) -> None:
        net, lp, look = self.net, self.lp, self.look
        W, H, L, S = self.W, self.H, self.L, self.S
        h4 = self.h[None, :, None, None]
        self.inv = lp.cols((W, H, L, S))
        aging = 0.0 if look.aging is None else look.aging
        self.gain(self.inv, -(net.location_holding_cost + aging)[None, None])
        self.dc = lp.cols((W, H, S))
        self.gain(self.dc, -net.dc_holding_cost[None, None])
        s4 = np.arange(S)[None, None, None, :]
        l4 = np.arange(L)[None, None, :, None]
        self.left.append((self.dc[:, -1:], np.arange(S)[None, None, :]))
        self.left_at.append((self.inv[:, -1:], l4, s4))
        first_cap = np.broadcast_to(look.dc_available[None, :], (L, S)).astype(np.float64)
        if look.supply_room is not None:
            first_cap = np.minimum(first_cap, look.supply_room)
        k = self.k
        self.ship = _shared(lp.cols((L, S), upper=first_cap), lp.cols((W, H - k, L, S)),
                            lp.cols((k - 1, L, S)))
        arrive = h4 + net.lead_time[None, None, :, None]
        self.gain(self.ship, -net.shipping_cost[None, None, :, None])
        self.left_at.append((np.where(arrive >= H, self.ship, -1), l4, s4))
        start = np.where(self.h[:, None, None] == 0, look.on_hand[None], look.arrivals)
        self.bal = lp.rows((W, H, L, S), lower=start[None], upper=start[None])
        lp.put(self.bal, self.inv, 1.0)
        lp.put(self.bal[:, 1:], self.inv[:, :-1], -1.0)
        l_, s_ = np.arange(L)[None, None, :, None], np.arange(S)[None, None, None, :]
        lp.put(_arrival_rows(self.bal, np.broadcast_to(arrive, self.ship.shape), (l_, s_)), self.ship, -1.0)
        dc_start = np.where(self.h[:, None] == 0, look.dc_on_hand[None], look.dc_arrivals)
        self.dcbal = lp.rows((W, H, S), lower=dc_start[None], upper=dc_start[None])
        lp.put(self.dcbal, self.dc, 1.0)
        lp.put(self.dcbal[:, 1:], self.dc[:, :-1], -1.0)
        lp.put(self.dcbal[:, :, None, :], self.ship, 1.0)
        lp.put(lp.rows((S,), upper=look.dc_available)[None, :], self.ship[0, 0], 1.0)
        room = np.where(np.isfinite(look.headroom), np.maximum(look.headroom, 0.0), np.inf)
        self.room = lp.rows((L,), upper=room, mask=np.isfinite(room))
        lp.put(self.room[:, None], self.ship[0, 0], 1.0)
        self.out = [self.ship]  # what leaves a location or the DC, for the oldest-first expiry rows

    def transfers(self) -> None:
        net, lp, look = self.net, self.lp, self.look
        K = net.n_lanes
        self.moved = None
        if not K:
            return
        W, H, S = self.W, self.H, self.S
        cap = np.inf if look.transfer_cap is None else look.transfer_cap[:, None]
        first = np.minimum(np.broadcast_to(cap, (K, S)), look.on_hand[net.lane_source])
        k = self.k
        self.moved = _shared(lp.cols((K, S), upper=first), lp.cols((W, H - k, K, S), upper=cap),
                             lp.cols((k - 1, K, S), upper=cap))
        arrive = self.h[None, :, None, None] + net.lane_lead[None, None, :, None]
        self.gain(self.moved, -net.lane_cost[None, None, :, None])
        s_ = np.arange(S)[None, None, None, :]
        self.left_at.append((np.where(arrive >= H, self.moved, -1), net.lane_target[None, None, :, None], s_))
        src, dst = net.lane_source[None, None, :, None], net.lane_target[None, None, :, None]
        w_, h_ = np.arange(W)[:, None, None, None], self.h[None, :, None, None]
        lp.put(self.bal[w_, h_, src, s_], self.moved, 1.0)
        landing = _arrival_rows(self.bal, np.broadcast_to(arrive, self.moved.shape), (dst, s_))
        lp.put(landing, self.moved, -1.0)
        source = lp.rows((self.L, S), upper=look.on_hand)
        lp.put(source[net.lane_source], self.moved[0, 0], 1.0)
        lp.put(self.room[net.lane_target][:, None], self.moved[0, 0], 1.0)

    # ---------------------------------------------------------- demand
    def demand(self) -> None:
        net, lp, look = self.net, self.lp, self.look
        demand = look.demand
        margin = net.price - net.unit_cost[:, None] + net.shortage_penalty[None, :]  # (S, C)
        lp.constant -= float((demand * net.shortage_penalty).sum()) * self.weight
        self.sales = lp.cols(demand.shape, upper=demand, mask=demand > 0)
        self.gain(self.sales, margin)
        lp.put(self.bal[..., None], self.sales, 1.0)
        rights = net.contract_rights
        if rights.any():
            new = demand.copy()
            if look.carried is not None and self.H > 1:
                new[:, 1] = np.maximum(new[:, 1] - look.carried, 0.0)
            due = np.minimum(new.sum(axis=2), rights)  # (W, H, S, C): rights owed on the new orders
            owed = (due > 0) & (rights > 0)
            short = lp.cols(due.shape, mask=owed)
            self.gain(short, -np.broadcast_to(net.contract_penalty, due.shape))
            rows = lp.rows(due.shape, lower=due, mask=owed)
            lp.put(rows, short, 1.0)
            lp.put(rows[:, :, None], self.sales, 1.0)

    def expiry(self) -> None:
        """Oldest first: what leaves a node by close ``h`` (sold, sent, disposed) covers what expires."""
        net, lp, look = self.net, self.lp, self.look
        if not net.has_shelf_life:
            return
        W, H, L, S = self.W, self.H, self.L, self.S
        loss = -net.unit_cost
        drop = lp.cols((W, H, L, S))
        self.gain(drop, loss)
        lp.put(self.bal, drop, 1.0)
        dc_drop = lp.cols((W, H, S))
        self.gain(dc_drop, loss)
        lp.put(self.dcbal, dc_drop, 1.0)
        due = np.cumsum(look.expiring, axis=0)
        rows = lp.rows((W, H, L, S), lower=due[None], mask=(due > 0)[None])
        later = self.h[None, :] >= self.h[:, None]  # (j, h): leaving in period j counts for row h
        for j in range(H):
            rows_j = np.where(later[j][None, :, None, None], rows, -1)
            lp.put(rows_j, drop[:, j : j + 1], 1.0)
            lp.put(rows_j[..., None], self.sales[:, j : j + 1], 1.0)
            if self.moved is not None:
                src = net.lane_source[None, None, :, None]
                lp.put(rows_j[np.arange(W)[:, None, None, None], self.h[None, :, None, None], src,
                              np.arange(S)[None, None, None, :]], self.moved[:, j : j + 1], 1.0)
        dc_due = np.cumsum(look.dc_expiring, axis=0)
        dc_rows = lp.rows((W, H, S), lower=dc_due[None], mask=(dc_due > 0)[None])
        for j in range(H):
            rows_j = np.where(later[j][None, :, None], dc_rows, -1)
            lp.put(rows_j, dc_drop[:, j : j + 1], 1.0)
            lp.put(rows_j[:, :, None, :], self.ship[:, j : j + 1], 1.0)
        self.drops = (drop, dc_drop)

    # -------------------------------------------------------- supplier
    def supplier(self) -> None:
        lp, look = self.lp, self.look
        if look.order_cap is None:
            return
        W, H, S = self.W, self.H, self.S
        lead = np.maximum(look.supplier_lead, 1)
        arrive = self.h[None, :] + lead  # (W, H)
        never = arrive >= look.periods_left  # arrives after the episode: not allowed
        # a later order that lands after the lookahead would only buy terminal value, which is meant
        # for the demand right after it: only the first period's order may (its lead may exceed H)
        late = never | ((arrive >= H) & (self.h[None, :] > 0))
        upper = np.where(late[..., None], 0.0, look.order_cap[None, None, :])
        if look.rule is None:
            first = lp.cols((S,), upper=np.where(never[:, 0].any(), 0.0, look.order_cap))
        else:  # the rule's own order now: not the policy's to choose
            first = lp.cols((S,), lower=look.rule.first, upper=look.rule.first)
        k = self.k if look.rule is None else 1  # the scenario's rule reacts to each future on its own
        self.order = _shared(first, lp.cols((W, H - k, S), upper=upper[:, k:]),
                             lp.cols((k - 1, S), upper=upper[:, 1:k].min(axis=0)))
        s_ = np.arange(S)[None, None, :]
        self.left.append((np.where((arrive >= H)[..., None], self.order, -1), s_))
        lp.put(_arrival_rows(self.dcbal, np.broadcast_to(arrive[..., None], self.order.shape), (s_,)),
               self.order, -1.0)
        if look.rule is not None:
            self.rule_ceiling(look.rule)
        elif look.capital is not None:
            self.capital(*look.capital)

    def rule_ceiling(self, rule: DCRule) -> None:
        """The DC rule's later orders: shipping out lowers the DC position, and the rule refills it."""
        lp = self.lp
        W, H, S = self.W, self.H, self.S
        position = lp.cols((W, H, S), lower=-np.inf)
        start = np.where(self.h[:, None] == 0, rule.position[None], 0.0)[None]
        step = lp.rows((W, H, S), lower=start, upper=start)
        lp.put(step, position, 1.0)
        lp.put(step[:, 1:], position[:, :-1], -1.0)
        lp.put(step[:, 1:], self.order[:, :-1], -1.0)
        lp.put(step[:, 1:, None, :], self.ship[:, :-1], 1.0)
        if self.net.has_shelf_life:
            lp.put(step[:, 1:], self.drops[1][:, :-1], 1.0)
        room = lp.rows((W, H, S), upper=rule.ceiling[None, None], mask=(self.h > 0)[None, :, None])
        lp.put(room, position, 1.0)
        lp.put(room, self.order, 1.0)

    def capital(self, cap: float, position: float) -> None:
        """Position at cost before each period's order, plus the order, stays under the cap."""
        net, lp = self.net, self.lp
        W, H = self.W, self.H
        cost = net.unit_cost
        value = lp.cols((W, H), lower=-np.inf)
        step = lp.rows((W, H), lower=np.where(self.h == 0, position, 0.0)[None],
                       upper=np.where(self.h == 0, position, 0.0)[None])
        lp.put(step, value, 1.0)
        lp.put(step[:, 1:], value[:, :-1], -1.0)
        lp.put(step[:, 1:, None], self.order[:, :-1], -cost)
        lp.put(step[:, 1:, None, None, None], self.sales[:, :-1], cost[None, None, None, :, None])
        if net.has_shelf_life:
            drop, dc_drop = self.drops
            lp.put(step[:, 1:, None, None], drop[:, :-1], cost)
            lp.put(step[:, 1:, None], dc_drop[:, :-1], cost)
        slack = max(position - cap, 0.0)  # a position already over the cap only blocks orders
        room = lp.rows((W, H), upper=np.where(self.h == 0, cap, cap + slack)[None])
        lp.put(room, value, 1.0)
        lp.put(room[..., None], self.order, cost)

    def terminal(self) -> None:
        """The network's stock at the end, per scenario and SKU, valued in two segments (concave); with
        ``location_cover`` a location's own stock counts only up to what it can sell itself."""
        lp, look = self.lp, self.look
        W, S = self.W, self.S
        row = lp.rows((W, S), lower=-look.pending[None], upper=-look.pending[None])
        for cols, sku in self.left:
            w_idx = np.arange(W).reshape(-1, *([1] * (cols.ndim - 1)))
            lp.put(row[w_idx, sku], cols, 1.0)
        at = row[:, None, :]  # (W, 1, S): a location's stock counts straight into the network's
        if look.location_cover is not None:  # ... or only up to its own cover, past it at salvage
            at = lp.rows((W, self.L, S), lower=0.0, upper=0.0)
            mine = lp.cols((W, self.L, S), upper=look.location_cover[None])
            stranded = lp.cols((W, self.L, S))
            self.gain(stranded, look.beyond[None, None])
            lp.put(at, mine, -1.0)
            lp.put(at, stranded, -1.0)
            lp.put(row[:, None, :], mine, 1.0)
        for cols, loc, sku in self.left_at:
            w_idx = np.arange(W).reshape(-1, *([1] * (cols.ndim - 1)))
            lp.put(at[w_idx, loc if look.location_cover is not None else 0, sku], cols, 1.0)
        within = lp.cols((W, S), upper=look.cover[None])
        past = lp.cols((W, S))
        self.gain(within, look.terminal[None])
        self.gain(past, look.beyond[None])
        lp.put(row, within, -1.0)
        lp.put(row, past, -1.0)

    def solve(self) -> FirstPeriod:
        sol = self.lp.solve()
        pick = lambda idx: np.where(idx >= 0, sol.x[np.maximum(idx, 0)], 0.0)  # noqa: E731
        transfers = (np.zeros((0, self.S)) if self.moved is None else pick(self.moved[0, 0]))
        orders = pick(self.order[0, 0]) if self.look.order_cap is not None else np.zeros(self.S)
        withheld = self.kept_from_demand(pick)
        return FirstPeriod(pick(self.ship[0, 0]), transfers, orders, sol.objective, sol, withheld)

    def kept_from_demand(self, pick: Callable[[IntArray], FloatArray]) -> FloatArray:
        """(L, S) mean over scenarios of min(stock kept at close, demand left unserved) at each location
        in the period the shipment now lands there: the LP may keep units where selling them is worth
        less than keeping them (a contract's orders past its rights), but the engine serves whatever
        demand meets stock on hand, so those units would sell there at that low value."""
        locs = np.flatnonzero(self.net.lead_time < self.H)
        land = self.net.lead_time[locs]  # the period each location's shipment lands
        sales, inv = pick(self.sales)[:, land, locs], pick(self.inv)[:, land, locs]  # (W, L', S[, C])
        unserved = np.maximum(self.look.demand[:, land, locs].sum(axis=-1) - sales.sum(axis=-1), 0.0)
        out = np.zeros((self.L, self.S))
        out[locs] = np.minimum(inv, unserved).mean(axis=0)
        return out


def solve_first_period(net: Network, look: Lookahead) -> FirstPeriod:
    """Build and solve the sample-average LP; the first period's shared decision."""
    model = SampleAverageLP(net, look)
    model.stock()
    model.transfers()
    model.demand()
    model.expiry()
    model.supplier()
    model.terminal()
    return model.solve()
