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
from allocsim.envs import cohorts
from allocsim.envs.accounting import EpisodeAccounts
from allocsim.envs.actions import ActionLayout
from allocsim.envs.demand import DemandProfile, EpisodeDemand, sample_episode
from allocsim.envs.guardrails import Decision, DecisionContext, DecisionLog
from allocsim.envs.network import Network
from allocsim.envs.replenishment import rule_orders
from numpy.typing import NDArray
from simpy.events import URGENT

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
        self._patience_lost = backlog_ages[None, :] > net.patience[:, None]  # (C, P)
        self._aged_from = min(net.scenario.guardrails.aging_goal + 1, net.age_buckets - 1)

    # ----------------------------------------------------------------- episode
    def reset(self, seed: int) -> None:
        """Start an episode whose randomness comes from ``seed`` alone."""
        net = self.net
        n_l, n_s, n_c, n_a = net.n_locations, net.n_skus, net.n_channels, net.age_buckets
        self.episode: EpisodeDemand = sample_episode(self.profile, net, seed)
        self.env = simpy.Environment()
        self.dc = np.zeros((n_s, n_a), dtype=np.int64)
        self.dc[:, 0] = net.initial_dc_stock
        self.stock = np.zeros((n_l, n_s, n_a), dtype=np.int64)
        self.stock[:, :, 0] = net.initial_location_stock
        self.inbound = np.zeros((n_l, n_s), dtype=np.int64)
        self.on_order = net.planned_receipts.sum(axis=0).astype(np.int64)
        self.backlog = np.zeros((n_l, n_s, n_c, net.max_patience + 2), dtype=np.int64)
        self.initial_units = int(net.initial_dc_stock.sum() + net.initial_location_stock.sum())
        self.received_units = 0
        self.sold_units = 0
        self.written_off_units = 0
        self.accounts = EpisodeAccounts(net)
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
            costs = self._dispatch(period, decision)
            flows = self._serve(period)
            self._outcome = self._close(period, costs, flows)
            if period == self.net.periods - 1:
                self.finished = True
                return
            yield self.env.timeout(1)

    # ---------------------------------------------------------------- decision
    def position_value(self) -> float:
        """Inventory at cost on hand, in transit and on order (for the capital cap)."""
        units = self.dc.sum(axis=1) + self.stock.sum(axis=(0, 2)) + self.inbound.sum(axis=0)
        return float((units + self.on_order) @ self.net.unit_cost)

    def dc_available(self) -> IntArray:
        return np.maximum(self.dc.sum(axis=1) - self.net.safety_reserve, 0)

    def context(self) -> DecisionContext:
        """The facts the decoder and guardrails see now."""
        dc_on_hand = self.dc.sum(axis=1)
        return DecisionContext(
            dc_available=np.maximum(dc_on_hand - self.net.safety_reserve, 0),
            location_on_hand=self.stock.sum(axis=2),
            location_inbound=self.inbound,
            forecast_rate=self.episode.forecast[self.period],
            network_value=self.position_value(),
            rule_orders=rule_orders(self.net, dc_on_hand + self.on_order),
        )

    def _dispatch(self, period: int, decision: Decision) -> dict[str, FloatArray]:
        net = self.net
        shipping = np.zeros(net.n_locations + 1)
        transfer_cost = np.zeros(net.n_locations + 1)
        alloc = decision.allocation
        if alloc.any():
            shipped = cohorts.split_oldest(self.dc, alloc)
            for lead, idx in self._lead_groups:
                self._ship(idx, cohorts.aged_by(shipped[idx], int(lead)), int(lead))
            shipping[:-1] = alloc.sum(axis=1) * net.shipping_cost
        if decision.transfers.any():
            for lane in np.flatnonzero(decision.transfers.sum(axis=1)):
                src, dst = int(net.lane_source[lane]), int(net.lane_target[lane])
                moved = cohorts.take_oldest(self.stock[src], decision.transfers[lane])
                total_lead = net.lane_lead[lane] + decision.transfer_delay[lane]
                for lead in np.unique(total_lead):
                    part = np.where((total_lead == lead)[:, None], moved, 0)
                    self._ship(np.array([dst]), cohorts.aged_by(part[None], int(lead)), int(lead))
                transfer_cost[src] += decision.transfers[lane].sum() * net.lane_cost[lane]
        if decision.orders.any():
            self.on_order += decision.orders
            lead = int(self.episode.supplier_lead[period])
            self._schedule_dc_receipt(period + lead, decision.orders, planned=False)
        return {"shipping_cost": shipping, "transfer_cost": transfer_cost}

    def _ship(self, idx: IntArray, moving: IntArray, lead: int) -> None:
        """Put cohorts ``moving`` (len(idx), S, A) in transit to locations ``idx``."""
        units = moving.sum(axis=2)
        if not units.any():
            return
        self.inbound[idx] += units

        def book() -> None:
            arrived = moving.copy()
            if self.net.has_shelf_life:
                expired = cohorts.remove_expired(arrived, self.net.expired_mask)
                self.written_off_units += self._write_off(expired, idx)
            self.stock[idx] += arrived
            self.inbound[idx] -= units

        if lead == 0:
            book()
        else:
            Arrival(self.env, lead, book)

    def _write_off(self, expired: IntArray, idx: IntArray | None) -> int:
        """Expense expired units (L', S) at cost at nodes ``idx`` (None: the DC)."""
        value = expired @ self.net.unit_cost
        node = self.accounts.nodes["writeoff_cost"]
        if idx is None:
            node[-1] += float(value.sum())
        else:
            np.add.at(node, idx, value)
        return int(expired.sum())

    def _schedule_dc_receipt(self, due: int, quantity: IntArray, planned: bool) -> None:
        quantity = quantity.astype(np.int64)

        def book() -> None:
            self.dc[:, 0] += quantity
            self.on_order -= quantity
            self.received_units += int(quantity.sum())
            self.accounts.book_purchase(int(self.env.now), float(quantity @ self.net.unit_cost))

        delay = due - int(self.env.now)
        if delay <= 0 and not planned:
            book()
        elif due < self.net.periods:
            Arrival(self.env, delay, book)

    # ------------------------------------------------------------------ demand
    def _serve(self, period: int) -> dict[str, FloatArray]:
        net = self.net
        demand = self.episode.demand[period]  # (L, S, C)
        on_hand = self.stock.sum(axis=2)
        remaining = on_hand.copy()
        served = np.zeros_like(demand)
        backordered = np.zeros_like(demand)
        lost = np.zeros_like(demand)
        for c in net.priority_order:
            from_backlog = 0
            if net.backorder_fraction[c] > 0:
                waiting = self.backlog[:, :, c, :]
                from_backlog = np.minimum(waiting.sum(axis=2), remaining)
                cohorts.take_oldest(waiting, from_backlog)
                remaining -= from_backlog
            new = np.minimum(demand[:, :, c], remaining)
            remaining -= new
            served[:, :, c] = new + from_backlog
            unmet = demand[:, :, c] - new
            if net.backorder_fraction[c] > 0:
                backordered[:, :, c] = np.floor(unmet * net.backorder_fraction[c] + 1e-9)
                self.backlog[:, :, c, 0] += backordered[:, :, c]
            lost[:, :, c] = unmet - backordered[:, :, c]
        sold = on_hand - remaining
        issued = cohorts.take_oldest(self.stock, sold)
        self.sold_units += int(sold.sum())
        gross = served * net.price[None]  # (L, S, C) at full price
        markdown = np.zeros_like(gross)
        if net.has_markdown:
            given_up = (issued * net.markdown[None]).sum(axis=2)  # (L, S) unit-equivalents
            markdown = gross * (given_up / np.maximum(sold, 1))[:, :, None]
        contract_short = np.zeros(net.n_channels)
        rights = net.contract_rights
        if rights.any():
            due = np.minimum(demand.sum(axis=0), rights)  # (S, C)
            met = np.minimum(served.sum(axis=0), due)
            contract_short = (due - met).sum(axis=0) * net.contract_penalty
            self.accounts.contract_due += float(due.sum())
            self.accounts.contract_met += float(met.sum())
            self.accounts.contract_penalty += contract_short
        return {
            "units_requested": demand.sum(axis=1),
            "units_fulfilled": served.sum(axis=1),
            "lost_sales_units": lost.sum(axis=1),
            "backorder_units": backordered.sum(axis=1),
            "revenue": (gross - markdown).sum(axis=1),
            "cogs": (served * net.unit_cost[None, :, None]).sum(axis=1),
            "markdown_cost": markdown.sum(axis=1),
            "shortage_penalty": lost.sum(axis=1) * net.shortage_penalty[None, :],
            "contract_penalty": contract_short,
        }

    # ------------------------------------------------------------------- close
    def _close(
        self, period: int, costs: dict[str, FloatArray], flows: dict[str, FloatArray]
    ) -> PeriodOutcome:
        net, acc = self.net, self.accounts
        last = period == net.periods - 1
        if net.backorder_channels:
            waiting = self.backlog.sum(axis=3)  # (L, S, C)
            flows["shortage_penalty"] = flows["shortage_penalty"] + (
                waiting.sum(axis=1) * net.backorder_cost[None, :]
            )
            cohorts.age_in_place(self.backlog)
            expiring = self.backlog.copy() if last else np.where(self._patience_lost, self.backlog, 0)
            gone = expiring.sum(axis=(1, 3))  # (L, C)
            self.backlog -= expiring
            flows["lost_sales_units"] = flows["lost_sales_units"] + gone
            flows["shortage_penalty"] = flows["shortage_penalty"] + gone * net.shortage_penalty[None, :]
        for key, value in acc.flows.items():
            value += flows[key]
        dc_units = self.dc.sum(axis=1)
        loc_units = self.stock.sum(axis=2)
        holding = np.empty(net.n_locations + 1)
        holding[:-1] = loc_units @ net.holding_cost
        holding[-1] = dc_units @ net.holding_cost
        acc.nodes["holding_cost"] += holding
        acc.nodes["shipping_cost"] += costs["shipping_cost"]
        acc.nodes["transfer_cost"] += costs["transfer_cost"]
        writeoff_before = float(acc.nodes["writeoff_cost"].sum())
        cohorts.age_in_place(self.dc)
        cohorts.age_in_place(self.stock)
        if net.has_shelf_life:
            expired_dc = cohorts.remove_expired(self.dc, net.expired_mask)[None]
            self.written_off_units += self._write_off(expired_dc, None)
            self.written_off_units += self._write_off(
                cohorts.remove_expired(self.stock, net.expired_mask), np.arange(net.n_locations)
            )
            dc_units = self.dc.sum(axis=1)
            loc_units = self.stock.sum(axis=2)
        writeoff = float(acc.nodes["writeoff_cost"].sum()) - writeoff_before
        # inventory, age, imbalance and working capital at close
        node_value = np.empty(net.n_locations + 1)
        node_value[:-1] = loc_units @ net.unit_cost
        node_value[-1] = dc_units @ net.unit_cost
        transit_value = float(self.inbound.sum(axis=0) @ net.unit_cost)
        acc.inventory_value_sum += node_value
        acc.transit_value_sum += transit_value
        ages = np.arange(net.age_buckets)
        acc.unit_age_sum += float(self.stock.sum(axis=(0, 1)) @ ages + self.dc.sum(axis=0) @ ages)
        acc.unit_sum += float(loc_units.sum() + dc_units.sum())
        acc.imbalance_sum += self._imbalance(loc_units, self.episode.forecast[period])
        revenue_by_channel = flows["revenue"].sum(axis=0)
        acc.book_sales(period, revenue_by_channel)
        acc.settle(period)
        inventory_value = float(node_value.sum()) + transit_value
        acc.working_capital_sum += inventory_value + acc.receivables - acc.payables
        acc.closes += 1
        salvage = 0.0
        if last:
            units = dc_units + loc_units.sum(axis=0) + self.inbound.sum(axis=0)
            salvage = float(units @ (net.salvage_value - net.unit_cost))
            acc.salvage = salvage
        revenue = float(revenue_by_channel.sum())
        cogs = float(flows["cogs"].sum())
        shortage = float(flows["shortage_penalty"].sum() + flows["contract_penalty"].sum())
        profit = (
            revenue - cogs - float(holding.sum()) - float(costs["shipping_cost"].sum())
            - float(costs["transfer_cost"].sum()) - writeoff - shortage + salvage
        )
        lost = float(flows["lost_sales_units"].sum())
        aged = float(self.stock[:, :, self._aged_from :].sum() + self.dc[:, self._aged_from :].sum())
        components = {
            "profit": profit,
            "lost_units": -lost,
            "inventory_value": -inventory_value,
            "aged_units": -aged,
        }
        requested = float(flows["units_requested"].sum())
        fulfilled = float(flows["units_fulfilled"].sum())
        kpis = {
            "units_requested": requested,
            "units_fulfilled": fulfilled,
            "lost_sales_units": lost,
            "revenue": revenue,
            "profit": profit,
            "inventory_value": inventory_value,
        }
        return PeriodOutcome(components=components, kpis=kpis)

    @staticmethod
    def _imbalance(loc_units: IntArray, rate: FloatArray) -> float:
        """Mean over SKUs of the coefficient of variation of days of supply across locations."""
        active = rate > 1e-9
        counts = active.sum(axis=0)
        use = counts >= 2
        if not use.any():
            return 0.0
        cover = np.where(active, loc_units / np.where(active, rate, 1.0), 0.0)
        mean = cover.sum(axis=0) / np.maximum(counts, 1)
        var = (np.where(active, (cover - mean) ** 2, 0.0)).sum(axis=0) / np.maximum(counts, 1)
        cv = np.sqrt(var) / np.maximum(mean, 1e-9)
        return float(np.where(use & (mean > 0), cv, 0.0).sum() / use.sum())

    # -------------------------------------------------------------- invariants
    def units_accounted(self) -> tuple[int, int]:
        """(initial + received, on hand + in transit + sold + written off): equal always."""
        held = int(self.dc.sum() + self.stock.sum() + self.inbound.sum())
        return (
            self.initial_units + self.received_units,
            held + self.sold_units + self.written_off_units,
        )
