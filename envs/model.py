"""The SimPy model of the allocation network: one process runs the period cycle.

Each period ``t`` occupies SimPy time ``[t, t + 1)``:

1. receipts due at ``t`` are booked first (``Arrival`` events, urgent priority);
2. the process waits on a decision event, which ``submit`` triggers with the
   decoded, guardrail-trimmed decision; shipments, transfers and supplier orders
   become ``Arrival`` events timed by their lead times;
3. the period's demand is served from local stock: per location, channels in
   priority order, each channel's backorders (oldest first) before its new
   orders, stock issued oldest-first (FIFO);
4. period close: backorder patience, holding cost, aging and expiry, contract
   penalties, the finance ledger, KPI accumulation; at the last close, leftover
   stock is revalued to its salvage value.

Demand is aggregated per lane and period, so the cost of a period grows with the
number of lanes, never with the number of units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy
from numpy.typing import NDArray
from simpy.events import URGENT

from allocsim.envs import cohorts
from allocsim.envs.accounting import EpisodeAccounts
from allocsim.envs.actions import ActionLayout
from allocsim.envs.demand import DemandProfile, EpisodeDemand, sample_episode
from allocsim.envs.guardrails import Decision, DecisionContext, DecisionLog
from allocsim.envs.network import Network
from allocsim.envs.replenishment import order_rule

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


class Arrival(simpy.Event):
    """Stock that arrives after ``delay`` periods; booked before any decision at that time."""

    def __init__(self, env: simpy.Environment, delay: int, book: Callable[[], None]) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        self.callbacks.append(lambda _event: book())
        env.schedule(self, URGENT, delay)


@dataclass
class PeriodOutcome:
    """What one period produced: reward components and headline period KPIs."""

    components: dict[str, float]
    kpis: dict[str, float]


class SupplyChainModel:
    """State and dynamics of one episode; ``reset`` then ``submit`` once per period."""

    def __init__(self, net: Network, profile: DemandProfile) -> None:
        self.net = net
        self.profile = profile
        self.layout = ActionLayout(net)
        leads = sorted(set(net.lead_time.tolist()))
        self._lead_groups = [(d, np.flatnonzero(net.lead_time == d)) for d in leads]
        # backorder age buckets: created at 0, lost once older than the channel's patience
        backlog_ages = np.arange(net.max_patience + 2)
        self._patience_lost = (backlog_ages[:, None] > net.patience[None, :])[:, None, None, :]  # P,1,1,C
        self._expired_at_locations = net.expired_mask[:, None, :]  # (A, 1, S)
        self._markdown_at_locations = net.markdown[:, None, :]  # (A, 1, S)
        self._aged_from = min(net.scenario.guardrails.aging_goal + 1, net.age_buckets - 1)
        self._has_contracts = bool(net.contract_rights.any())
        self._order_rule = order_rule(net)
        self._capital_cap = net.scenario.guardrails.working_capital_cap is not None
        self._all_locations = np.arange(net.n_locations)
        self._priority = np.array(net.priority_order, dtype=np.int64)
        self._has_backorders = bool(net.backorder_channels)
        self._backorder_fraction = net.backorder_fraction[self._priority]

    # ----------------------------------------------------------------- episode
    def reset(self, seed: int) -> None:
        """Start an episode whose randomness comes from ``seed`` alone."""
        net = self.net
        n_l, n_s, n_c, n_a = net.n_locations, net.n_skus, net.n_channels, net.age_buckets
        self.episode: EpisodeDemand = sample_episode(self.profile, net, seed)
        self.env = simpy.Environment()
        self.dc = np.zeros((n_a, n_s), dtype=np.int64)
        self.dc[0] = net.initial_dc_stock
        self.stock = np.zeros((n_a, n_l, n_s), dtype=np.int64)
        self.stock[0] = net.initial_location_stock
        self.inbound = np.zeros((n_l, n_s), dtype=np.int64)
        self.on_order = net.planned_receipts.sum(axis=0).astype(np.int64)
        self.backlog = np.zeros((net.max_patience + 2, n_l, n_s, n_c), dtype=np.int64)
        self.initial_units = int(net.initial_dc_stock.sum() + net.initial_location_stock.sum())
        self.received_units = 0
        self.sold_units = 0
        self.written_off_units = 0
        self.accounts = EpisodeAccounts(net, self.episode.demand, self.episode.forecast[: net.periods])
        self.log = DecisionLog()
        self.period = 0
        self.finished = False
        self._decision: simpy.Event | None = None
        self._outcome: PeriodOutcome | None = None
        for period in np.flatnonzero(net.planned_receipts.sum(axis=1)):
            self._schedule_dc_receipt(int(period), net.planned_receipts[period].copy(), planned=True)
        self.env.process(self._cycle())
        self._run_until_decision()

    def submit(self, action: object) -> PeriodOutcome:
        """Apply one period's action and run the model to the next decision."""
        if self.finished or self._decision is None:
            raise RuntimeError("the episode is over; call reset() first")
        decision = self.layout.decode(action, self.context(), self.period, self.log)
        event, self._decision = self._decision, None
        event.succeed(decision)
        self._run_until_decision()
        assert self._outcome is not None
        return self._outcome

    def _run_until_decision(self) -> None:
        while self._decision is None and not self.finished:
            self.env.step()

    def _cycle(self):  # type: ignore[no-untyped-def]
        """The period cycle as a SimPy process."""
        for period in range(self.net.periods):
            self.period = period
            self._decision = self.env.event()
            decision: Decision = yield self._decision
            shipping, transfer = self._dispatch(period, decision)
            contract = self._serve(period)
            self._outcome = self._close(period, shipping, transfer, contract)
            if period == self.net.periods - 1:
                self.finished = True
                return
            yield self.env.timeout(1)

    # ---------------------------------------------------------------- decision
    def position_value(self) -> float:
        """Inventory at cost on hand, in transit and on order (for the capital cap)."""
        units = self.dc.sum(axis=0) + self.stock.sum(axis=(0, 1)) + self.inbound.sum(axis=0)
        return float((units + self.on_order) @ self.net.unit_cost)

    def dc_available(self) -> IntArray:
        return np.maximum(self.dc.sum(axis=0) - self.net.safety_reserve, 0)

    def context(self) -> DecisionContext:
        """The facts the decoder and guardrails see now."""
        dc_on_hand = self.dc.sum(axis=0)
        return DecisionContext(
            dc_available=np.maximum(dc_on_hand - self.net.safety_reserve, 0),
            location_on_hand=self.stock.sum(axis=0),
            location_inbound=self.inbound,
            forecast_rate=self.episode.forecast[self.period],
            network_value=self.position_value() if self._capital_cap else 0.0,
            rule_orders=np.minimum(self._order_rule(dc_on_hand + self.on_order), self.net.supplier_capacity),
        )

    def _dispatch(self, period: int, decision: Decision) -> tuple[float, float]:
        """Ship, transfer and order; returns (shipping cost, transfer cost) of the period."""
        net = self.net
        costs = self.accounts.node_cost
        shipping = transfer = 0.0
        alloc = decision.allocation
        if alloc.any():
            shipped = cohorts.split_oldest(self.dc, alloc)
            for lead, idx in self._lead_groups:
                self._ship(idx, cohorts.aged_by(shipped[:, idx], int(lead)), int(lead))
            by_location = alloc.sum(axis=1) * net.shipping_cost
            costs[1, period, :-1] = by_location
            shipping = float(by_location.sum())
        if decision.transfers.any():
            for lane in np.flatnonzero(decision.transfers.sum(axis=1)):
                src, dst = int(net.lane_source[lane]), int(net.lane_target[lane])
                moved = cohorts.take_oldest(self.stock[:, src], decision.transfers[lane])
                total_lead = net.lane_lead[lane] + decision.transfer_delay[lane]
                for lead in np.unique(total_lead):
                    part = np.where((total_lead == lead)[None, :], moved, 0)
                    self._ship(np.array([dst]), cohorts.aged_by(part[:, None], int(lead)), int(lead))
                cost = float(decision.transfers[lane].sum() * net.lane_cost[lane])
                costs[2, period, src] += cost
                transfer += cost
        if decision.orders.any():
            self.on_order += decision.orders
            lead = int(self.episode.supplier_lead[period])
            self._schedule_dc_receipt(period + lead, decision.orders, planned=False)
        return shipping, transfer

    def _ship(self, idx: IntArray, moving: IntArray, lead: int) -> None:
        """Put cohorts ``moving`` (A, len(idx), S) in transit to locations ``idx``."""
        units = moving.sum(axis=0)
        if not units.any():
            return
        self.inbound[idx] += units

        def book() -> None:
            arrived = moving
            if self.net.has_shelf_life:
                arrived = moving.copy()
                expired = cohorts.remove_expired(arrived, self._expired_at_locations)
                self._write_off(expired, idx)
            self.stock[:, idx] += arrived
            self.inbound[idx] -= units

        if lead == 0:
            book()
        else:
            Arrival(self.env, lead, book)

    def _write_off(self, expired: IntArray, idx: IntArray | None) -> None:
        """Expense expired units (L', S) at cost at nodes ``idx`` (None: the DC)."""
        if not expired.any():
            return
        value = expired @ self.net.unit_cost
        row = self.accounts.node_cost[3, min(int(self.env.now), self.net.periods - 1)]
        if idx is None:
            row[-1] += float(value.sum())
        else:
            np.add.at(row, idx, value)
        self.written_off_units += int(expired.sum())

    def _schedule_dc_receipt(self, due: int, quantity: IntArray, planned: bool) -> None:
        quantity = quantity.astype(np.int64)

        def book() -> None:
            self.dc[0] += quantity
            self.on_order -= quantity
            self.received_units += int(quantity.sum())
            self.accounts.book_purchase(int(self.env.now), float(quantity @ self.net.unit_cost))

        delay = due - int(self.env.now)
        if delay <= 0 and not planned:
            book()
        elif due < self.net.periods:
            Arrival(self.env, delay, book)

    # ------------------------------------------------------------------ demand
    def _serve(self, period: int) -> float:
        """Serve the period's demand; records flows, returns the contract penalty.

        Vectorised over channels: in priority order, each channel's request (its
        backorders plus its new orders) gets what the higher-priority channels left,
        and within a channel the backorders are served before the new orders.
        """
        net, acc = self.net, self.accounts
        order = self._priority
        demand = self.episode.demand[period][:, :, order]  # (L, S, C) in priority order
        on_hand = self.stock.sum(axis=0)
        if self._has_backorders:
            backlog = self.backlog[..., order]
            waiting = backlog.sum(axis=0)
            request = demand + waiting
        else:
            request = demand
        ahead = np.cumsum(request, axis=2) - request
        served = np.minimum(np.maximum(on_hand[:, :, None] - ahead, 0), request)
        unmet = request - served
        if self._has_backorders:
            from_backlog = np.minimum(served, waiting)
            if from_backlog.any():
                cohorts.take_oldest(backlog, from_backlog)
            unmet_new = demand - (served - from_backlog)
            queued = np.floor(unmet_new * self._backorder_fraction + 1e-9).astype(np.int64)
            backlog[0] += queued
            self.backlog[..., order] = backlog
            acc.backordered[period][:, :, order] = queued
            lost = unmet_new - queued
        else:
            lost = unmet
        acc.served[period][:, :, order] = served
        acc.lost[period][:, :, order] = lost
        sold = served.sum(axis=2)
        issued = cohorts.take_oldest(self.stock, sold)
        self.sold_units += int(sold.sum())
        if acc.markdown is not None:
            given_up = (issued * self._markdown_at_locations).sum(axis=0) / np.maximum(sold, 1)  # (L, S)
            acc.markdown[period] = acc.served[period] * net.price[None] * given_up[:, :, None]
        if not self._has_contracts:
            return 0.0
        served_by_channel = acc.served[period].sum(axis=0)
        due = np.minimum(self.episode.demand[period].sum(axis=0), net.contract_rights)  # (S, C)
        met = np.minimum(served_by_channel, due)
        penalty = (due - met).sum(axis=0) * net.contract_penalty
        acc.contract_due += float(due.sum())
        acc.contract_met += float(met.sum())
        acc.contract_penalty[period] = penalty
        return float(penalty.sum())

    # ------------------------------------------------------------------- close
    def _close(self, period: int, shipping: float, transfer: float, contract: float) -> PeriodOutcome:
        net, acc = self.net, self.accounts
        last = period == net.periods - 1
        served, lost = acc.served[period], acc.lost[period]
        if net.backorder_channels:
            acc.waiting[period] = self.backlog.sum(axis=0)
            cohorts.age_in_place(self.backlog)
            expiring = self.backlog.copy() if last else np.where(self._patience_lost, self.backlog, 0)
            self.backlog -= expiring
            lost += expiring.sum(axis=0)
        cohorts.age_in_place(self.dc)
        cohorts.age_in_place(self.stock)
        if net.has_shelf_life:
            self._write_off(cohorts.remove_expired(self.dc, net.expired_mask)[None], None)
            expired = cohorts.remove_expired(self.stock, self._expired_at_locations)
            self._write_off(expired, self._all_locations)
        loc_units = self.stock.sum(axis=0)
        dc_units = self.dc.sum(axis=0)
        acc.location_units[period] = loc_units
        acc.dc_units[period] = dc_units
        acc.age_units[period] = self.stock.sum(axis=(1, 2)) + self.dc.sum(axis=1)
        holding = acc.node_cost[0, period]
        holding[:-1] = loc_units @ net.holding_cost
        holding[-1] = dc_units @ net.holding_cost
        transit_units = self.inbound.sum(axis=0)
        transit_value = float(transit_units @ net.unit_cost)
        acc.transit_value[period] = transit_value
        network_units = loc_units.sum(axis=0) + dc_units
        inventory_value = float(network_units @ net.unit_cost) + transit_value
        sales = served * net.price[None]
        if acc.markdown is not None:
            sales = sales - acc.markdown[period]
        revenue_by_channel = sales.sum(axis=(0, 1))
        acc.book_sales(period, revenue_by_channel)
        acc.settle(period)
        acc.working_capital[period] = inventory_value + acc.receivables - acc.payables
        acc.closes = period + 1
        salvage = 0.0
        if last:
            salvage = float((network_units + transit_units) @ (net.salvage_value - net.unit_cost))
            acc.salvage = salvage
        lost_by_channel = lost.sum(axis=(0, 1))
        shortage = float(lost_by_channel @ net.shortage_penalty) + contract
        if net.backorder_channels:
            shortage += float(acc.waiting[period].sum(axis=(0, 1)) @ net.backorder_cost)
        revenue = float(revenue_by_channel.sum())
        cogs = float(served.sum(axis=(0, 2)) @ net.unit_cost)
        writeoff = float(acc.node_cost[3, period].sum())
        profit = revenue - cogs - float(holding.sum()) - shipping - transfer - writeoff - shortage + salvage
        lost_units = float(lost_by_channel.sum())
        aged = float(acc.age_units[period, self._aged_from :].sum())
        components = {
            "profit": profit,
            "lost_units": -lost_units,
            "inventory_value": -inventory_value,
            "aged_units": -aged,
        }
        kpis = {
            "units_requested": float(self.episode.demand[period].sum()),
            "units_fulfilled": float(served.sum()),
            "lost_sales_units": lost_units,
            "revenue": revenue,
            "profit": profit,
            "inventory_value": inventory_value,
        }
        return PeriodOutcome(components=components, kpis=kpis)

    # -------------------------------------------------------------- invariants
    def units_accounted(self) -> tuple[int, int]:
        """(initial + received, on hand + in transit + sold + written off): equal always."""
        held = int(self.dc.sum() + self.stock.sum() + self.inbound.sum())
        return (
            self.initial_units + self.received_units,
            held + self.sold_units + self.written_off_units,
        )
