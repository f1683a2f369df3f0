"""Clairvoyant bound: a perfect-foresight LP over the whole horizon on one seed's realised demand.

What: for scenario and seed, the LP knows the episode's demand per lane and period,
its supplier lead time per order period and its forecasts, and plans shipments,
transfers, supplier orders, sales (new and backordered), backlog waiting and
contract shortfalls to maximise the ``profit`` KPI: revenue - cogs - holding (DC
and locations at each close) - shipping - transfer - write-off - shortage
penalties (lost units, backorder waiting per close, contract shortfall) +
``(salvage_value - unit_cost)`` x units on hand and in transit to locations at
the last close. Timing follows ``allocsim.envs.engine``: a shipment or transfer
sent at ``t`` with lead ``d`` is on hand from the decision at ``t + d`` (lead 0:
before period ``t``'s demand); a supplier order from ``t + lead`` (lead 0: after
period ``t``'s allocation); orders due after the horizon never arrive.

Why it is an upper bound: every trajectory the simulator can produce on this seed
(whatever the policy, non-anticipative or not) gives a feasible LP point whose
LP objective is at least its profit, so the LP optimum is at least the profit of
any policy on this seed. The LP is exact up to these relaxations, each of which
only widens the feasible set or raises the objective of that point:

* integrality is dropped; the channel service order (priority, backorders first,
  oldest first) becomes free: the LP may serve any waiting or new demand, and may
  even leave stock on the shelf that a customer would have taken (e.g. to meet
  tomorrow's contract), where the simulator serves greedily;
* the backordered share ``floor(f x unmet)`` becomes any amount in ``[f x unmet - 1, f x unmet]``;
* a transfer is either at most the approval threshold with the lane's lead time
  or any amount with the approval delay added (the simulator does one of the two);
* DC replenishment rules: any order between 0 and what the rule could order at
  most: supplier capacity (and ``max_order`` for policy orders), and, for
  base-stock / min-max, DC inventory position + order <= max(level, initial
  position) -- true of every simulated period, since the rule only orders up to
  its level and the position falls otherwise;
* the working-capital cap is kept as network value at cost + orders <= cap when
  the network starts under the cap (it then stays under it in every trajectory),
  and dropped otherwise; the days-of-supply cap is kept only as shipment <=
  ceil(forecast x days), the safety reserve is dropped;
* markdowns are ignored (full price), and expiry is replaced by free-to-choose
  disposal at ``max(unit_cost - salvage_value, 0)`` per unit, at most the
  write-off at unit cost that expiry charges; the simulator's expired units are
  one such disposal, so aging needs no cohorts in the LP.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from allocsim.baselines.lp_builder import LPBuilder
from allocsim.envs.demand import DemandProfile, EpisodeDemand, sample_episode
from allocsim.envs.network import BIG, Network
from allocsim.envs.scenario.entities import BaseStockReplenishment, MinMaxReplenishment, NoReplenishment

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
SPLIT_TOLERANCE = 1e-6  # the model floors f x unmet + 1e-9

#: the most a DC rule ever raises the inventory position to, per replenishment type
RULE_CEILING: dict[type, Callable[..., dict[str, int]]] = {
    BaseStockReplenishment: lambda rule: rule.level,
    MinMaxReplenishment: lambda rule: rule.max,
}


@dataclass(frozen=True)
class BoundResult:
    """The bound of one seed, its LP's size and timing (build: sampling + sparse matrix; solve: HiGHS)."""

    seed: int
    bound: float
    rows: int
    cols: int
    nnz: int
    build_seconds: float
    solve_seconds: float


def _shifted(index: IntArray, due: IntArray, *rest: IntArray) -> IntArray:
    """``index[due, *rest]`` where ``0 <= due < len(index)``, else -1 (broadcast)."""
    ok = (due >= 0) & (due < index.shape[0])
    return np.where(ok, index[(np.clip(due, 0, index.shape[0] - 1), *rest)], -1)


def contract_rows(lp: LPBuilder, net: Network, asked: FloatArray,
                  sold: Sequence[tuple[IntArray, IntArray, IntArray | int, IntArray]]) -> None:
    """Charge each contract's penalty per unit short: ``short >= min(asked, rights) - sold`` per (T, S, C).

    ``asked`` (T, S, C) is the contracted demand summed over the locations that sell it; ``sold`` lists
    sales columns with the period each sale happens in, its SKU and channel (broadcast with the columns),
    so a sale counts towards the period it is served in, as the engine's ``contract_penalty`` counts it.
    """
    rights = net.contract_rights
    due = np.minimum(asked, rights[None])
    owed = (due > 0) & (rights > 0)[None]
    short = lp.cols(due.shape, gain=-np.broadcast_to(net.contract_penalty, due.shape), mask=owed)
    rows = lp.rows(due.shape, lower=due, mask=owed)
    lp.put(rows, short, 1.0)
    for cols, when, sku, chan in sold:
        lp.put(_shifted(rows, when, sku, chan), cols, 1.0)


class ClairvoyantLP:
    """The LP of one episode, built block by block (see the module docstring)."""

    def __init__(self, net: Network, episode: EpisodeDemand) -> None:
        self.net, self.ep, self.lp = net, episode, LPBuilder()
        self.T, self.L, self.S, self.C = episode.demand.shape
        self.t = np.arange(self.T)
        self.end = net.salvage_value - net.unit_cost  # revaluation of a unit left at the last close
        last = (self.t == self.T - 1)[:, None]
        end = np.where(last, self.end[None, :], 0.0)
        self.keep = -net.dc_holding_cost[None, :] + end  # per unit held at the DC (T, S)
        self.keep_at = -net.location_holding_cost[None] + end[:, None, :]  # at each location (T, L, S)
        self.orders = not isinstance(net.scenario.supplier.replenishment, NoReplenishment)

    def first(self, values: ArrayLike) -> FloatArray:
        """``values`` in period 0 and 0 afterwards, with a leading period axis (initial stock terms)."""
        values = np.asarray(values, dtype=np.float64)
        start = (self.t == 0).reshape(-1, *([1] * values.ndim))
        return np.where(start, values[None], 0.0)

    # ----------------------------------------------------------- stock flows
    def stock(self) -> None:
        net, lp, T, L, S = self.net, self.lp, self.T, self.L, self.S
        t3 = self.t[:, None, None]
        arrive = t3 + net.lead_time[None, :, None]
        days = net.scenario.guardrails.max_days_of_supply
        ceiling = np.ceil(self.ep.forecast[:T] * days) if days is not None else np.inf
        self.ship = lp.cols((T, L, S), gain=-net.shipping_cost[None, :, None]
                            + np.where(arrive >= T, self.end[None, None, :], 0.0), upper=ceiling)
        self.inv = lp.cols((T, L, S), gain=self.keep_at)
        self.dc = lp.cols((T, S), gain=self.keep)
        init = self.first(net.initial_location_stock)
        self.bal = lp.rows((T, L, S), lower=init, upper=init)
        lp.put(self.bal, self.inv, 1.0)
        lp.put(self.bal[1:], self.inv[:-1], -1.0)
        l_, s_ = np.arange(L)[None, :, None], np.arange(S)[None, None, :]
        lp.put(_shifted(self.bal, arrive, l_, s_), self.ship, -1.0)
        receipts = net.planned_receipts + self.first(net.initial_dc_stock)
        self.dcbal = lp.rows((T, S), lower=receipts, upper=receipts)
        lp.put(self.dcbal, self.dc, 1.0)
        lp.put(self.dcbal[1:], self.dc[:-1], -1.0)
        lp.put(self.dcbal[:, None, :], self.ship, 1.0)
        self.sends = [(self.ship, arrive, np.broadcast_to(l_, (T, L, S)))]  # (cols, arrival, target)
        if net.has_shelf_life:
            loss = np.maximum(net.unit_cost - net.salvage_value, 0.0)
            self.drop_arrival = lp.cols((T, L, S), gain=-loss[None, None, :])
            self.drop_close = lp.cols((T, L, S), gain=-loss[None, None, :])
            self.drop_dc = lp.cols((T, S), gain=-loss[None, :])
            lp.put(self.bal, self.drop_arrival, 1.0)
            lp.put(self.bal, self.drop_close, 1.0)
            lp.put(self.dcbal, self.drop_dc, 1.0)

    def transfers(self) -> None:
        net, lp, T, S = self.net, self.lp, self.T, self.S
        if not net.n_lanes:
            return
        K = net.n_lanes
        t3, s_ = self.t[:, None, None], np.arange(S)[None, None, :]
        approval = (net.lane_threshold < BIG) & (net.lane_delay > 0)
        variants = [(np.where(approval, net.lane_threshold, np.inf), net.lane_lead, np.ones(K, bool)),
                    (np.inf, net.lane_lead + net.lane_delay, approval)]
        src = np.broadcast_to(net.lane_source[None, :, None], (T, K, S))
        dst = np.broadcast_to(net.lane_target[None, :, None], (T, K, S))
        is_source = np.isin(np.arange(net.n_locations), net.lane_source)[None, :, None]
        start = self.first(net.initial_location_stock)
        out_rows = lp.rows((T, net.n_locations, S), upper=start, mask=is_source)
        lp.put(out_rows[1:], self.inv[:-1], -1.0)
        for upper, lead, mask in variants:
            arrive = t3 + lead[None, :, None]
            gain = -net.lane_cost[None, :, None] + np.where(arrive >= T, self.end[None, None, :], 0.0)
            most = np.broadcast_to(np.asarray(upper, dtype=float), (K,))[None, :, None]
            moved = lp.cols((T, K, S), gain=gain, upper=most, mask=mask[None, :, None])
            lp.put(self.bal[t3, src, s_], moved, 1.0)
            lp.put(_shifted(self.bal, arrive, dst, s_), moved, -1.0)
            lp.put(out_rows[t3, src, s_], moved, 1.0)
            self.sends.append((moved, arrive, dst))
        for cols, arrive, target in self.sends:  # what reaches a source before its decision funds moves
            early = arrive > self.t[:, None, None]
            lp.put(_shifted(out_rows, np.where(early, arrive, -1), target, s_), cols, -1.0)
        if net.has_shelf_life:
            lp.put(out_rows, self.drop_arrival, 1.0)

    def capacity(self) -> None:
        net, lp, T = self.net, self.lp, self.T
        limit = np.where(net.capacity >= BIG, np.inf, net.capacity).astype(float)
        if not net.scenario.guardrails.enforce_capacity or not np.isfinite(limit).any():
            return
        room = limit[None, :] - self.first(net.initial_location_stock.sum(axis=1))
        rows = lp.rows((T, net.n_locations), upper=room, mask=np.isfinite(limit)[None, :])
        lp.put(rows[1:, :, None], self.inv[:-1], 1.0)
        for cols, arrive, target in self.sends:  # in transit from sending to arrival, both included
            sent = np.broadcast_to(self.t[:, None, None], cols.shape)
            for j in range(int((arrive - sent).max()) + 1):
                due = np.where(sent + j <= arrive, sent + j, -1)
                lp.put(_shifted(rows, due, target), cols, 1.0)
        if net.has_shelf_life:
            lp.put(rows[:, :, None], self.drop_arrival, -1.0)

    # ---------------------------------------------------------------- demand
    def demand(self) -> None:
        net, lp, T = self.net, self.lp, self.T
        demand = self.ep.demand.astype(np.float64)
        pen, bc, frac = net.shortage_penalty, net.backorder_cost, net.backorder_fraction
        margin = net.price - net.unit_cost[:, None] + pen[None, :]  # (S, C) per unit sold
        lp.constant -= float((demand * pen).sum())
        self.new = lp.cols(demand.shape, gain=margin[None, None], upper=demand, mask=demand > 0)
        lp.put(self.bal[..., None], self.new, 1.0)
        self.sold = [(self.new, np.broadcast_to(self.t[:, None, None, None], demand.shape))]
        self.queued = self.later = None  # backorder cohorts (T, L, S, C) and their service k periods later
        waits = (demand > 0) & (frac > 0)[None, None, None, :]
        if waits.any():
            last = np.minimum(net.patience[None, :], T - 1 - self.t[:, None])  # (T, C) periods it may wait
            queued = lp.cols(demand.shape, gain=-(bc[None, :] * (last + 1))[:, None, None, :], mask=waits)
            share = np.broadcast_to(frac, demand.shape)
            low = np.where(share >= 1.0, demand, share * demand - 1.0)
            high = np.where(share >= 1.0, demand, share * demand + SPLIT_TOLERANCE)
            split = lp.rows(demand.shape, lower=low, upper=high, mask=waits)
            lp.put(split, queued, 1.0)
            lp.put(split, self.new, share)
            k = np.arange(1, int(net.patience.max()) + 1)
            served_at = self.t[:, None, None, None, None] + k
            last5 = last[:, None, None, :, None]
            gain = margin[None, None, :, :, None] + bc[None, None, None, :, None] * (last5 + 1 - k)
            later = lp.cols((*demand.shape, len(k)), gain=gain, mask=waits[..., None] & (k <= last5))
            cohort = lp.rows(demand.shape, upper=0.0, mask=waits)
            lp.put(cohort[..., None], later, 1.0)
            lp.put(cohort, queued, -1.0)
            l_, s_ = np.arange(self.L)[:, None, None, None], np.arange(self.S)[None, :, None, None]
            lp.put(_shifted(self.bal, served_at, l_[None], s_[None]), later, 1.0)
            self.sold.append((later, served_at))
            self.queued, self.later = queued, later
        self.contracts(demand)

    def contracts(self, demand: FloatArray) -> None:
        if not self.net.contract_rights.any():
            return
        sold = []
        for cols, when in self.sold:
            tail = (None,) * (cols.ndim - 4)
            sku = np.arange(self.S)[(None, None, slice(None), None, *tail)]
            chan = np.arange(self.C)[(None, None, None, slice(None), *tail)]
            sold.append((cols, when, sku, chan))
        contract_rows(self.lp, self.net, demand.sum(axis=1), sold)

    # ------------------------------------------------------------ supplier
    def supplier(self) -> None:
        net, lp, T, S = self.net, self.lp, self.T, self.S
        if not self.orders:
            return
        arrive = self.t + self.ep.supplier_lead
        cap = np.where(net.supplier_capacity >= BIG, np.inf, net.supplier_capacity).astype(float)
        if net.policy_orders:
            cap = np.minimum(cap, net.max_order)
        self.order = lp.cols((T, S), upper=cap[None, :], mask=(arrive < T)[:, None])
        s_ = np.arange(S)[None, :]
        lp.put(_shifted(self.dcbal, arrive[:, None], s_), self.order, -1.0)
        if (self.ep.supplier_lead == 0).any():  # lead-0 receipts come after the allocation
            avail = lp.rows((T, S), upper=net.planned_receipts + self.first(net.initial_dc_stock))
            lp.put(avail[:, None, :], self.ship, 1.0)
            lp.put(avail[1:], self.dc[:-1], -1.0)
            early = np.where(arrive > self.t, arrive, -1)
            lp.put(_shifted(avail, early[:, None], s_), self.order, -1.0)
        rule = net.scenario.supplier.replenishment
        ceiling_of = RULE_CEILING.get(type(rule))
        if ceiling_of is not None:
            start = net.initial_dc_stock + net.planned_receipts.sum(axis=0)
            level = np.array([ceiling_of(rule).get(s, 0) for s in net.skus], dtype=float)
            pending = np.cumsum(net.planned_receipts[::-1], axis=0)[::-1]  # planned due at >= t
            upper = np.maximum(level, start)[None, :] - pending - self.first(net.initial_dc_stock)
            position = lp.rows((T, S), upper=upper)
            lp.put(position[1:], self.dc[:-1], 1.0)
            for j in range(int(self.ep.supplier_lead.max()) + 1):
                due = np.where(self.t + j <= arrive, self.t + j, -1)
                lp.put(_shifted(position, due[:, None], s_), self.order, 1.0)
        self.capital()

    def capital(self) -> None:
        net, lp, T = self.net, self.lp, self.T
        cap = net.scenario.guardrails.working_capital_cap
        units = net.initial_dc_stock + net.initial_location_stock.sum(axis=0) + net.planned_receipts.sum(0)
        start = float(units @ net.unit_cost)
        if cap is None or start > cap:
            return
        fixed = self.t == 0  # network value at cost, incl. on order, at each decision
        value = lp.cols((T,), lower=np.where(fixed, start, -np.inf), upper=np.where(fixed, start, np.inf))
        step = lp.rows((T,), lower=0.0, upper=0.0, mask=self.t > 0)
        lp.put(step, value, 1.0)
        lp.put(step[1:], value[:-1], -1.0)
        lp.put(step[1:, None], self.order[:-1], -net.unit_cost[None, :])
        for cols, when in self.sold:
            sku = np.arange(self.S)[(None, None, slice(None), None) + (None,) * (cols.ndim - 4)]
            lp.put(_shifted(step, when + 1), cols, net.unit_cost[sku])
        if net.has_shelf_life:
            for cols in (self.drop_arrival, self.drop_close):
                lp.put(_shifted(step, self.t[:, None, None] + 1), cols, net.unit_cost[None, None, :])
            lp.put(_shifted(step, self.t[:, None] + 1), self.drop_dc, net.unit_cost[None, :])
        room = lp.rows((T,), upper=cap)
        lp.put(room, value, 1.0)
        lp.put(room[:, None], self.order, net.unit_cost[None, :])


def build(net: Network, episode: EpisodeDemand) -> ClairvoyantLP:
    """The clairvoyant LP of one episode (see the module docstring for its rows)."""
    plan = ClairvoyantLP(net, episode)
    plan.stock()
    plan.transfers()
    plan.capacity()
    plan.demand()
    plan.supplier()
    return plan


def clairvoyant_bound(net: Network, seed: int, profile: DemandProfile | None = None) -> BoundResult:
    """The perfect-foresight upper bound on the profit of any policy on episode ``seed``."""
    started = time.perf_counter()
    episode = sample_episode(profile or DemandProfile.build(net), net, seed)
    sol = build(net, episode).lp.solve()
    total = time.perf_counter() - started
    return BoundResult(seed=seed, bound=sol.objective, rows=sol.rows, cols=sol.cols, nnz=sol.nnz,
                       build_seconds=total - sol.solve_seconds, solve_seconds=sol.solve_seconds)


def played_decisions(env: Any, policy: Any, seed: int) -> tuple[FloatArray, FloatArray]:
    """(shipments (T, L, S), supplier orders (T, S)) ``policy`` makes on ``env``'s episode ``seed``:
    the decisions to pin in the LP to price a played episode (``env.kpis()`` then holds its KPIs)."""
    from allocsim.envs.episode import play

    ships, orders = [], []

    def act(obs: Any) -> Any:
        action, _ = policy.predict(obs)
        decision = env.preview(action)
        ships.append(decision.allocation)
        orders.append(decision.orders)
        return action

    for _ in play(env, act, seed):
        pass
    return np.array(ships, float), np.array(orders, float)
