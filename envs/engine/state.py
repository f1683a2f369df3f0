"""The world's state as one value: a ``NamedTuple`` of arrays with a leading batch axis.

Everything that changes during an episode lives here, copy ``b`` of the batch in row
``b`` of every array: stock by age cohort, stock in transit by arrival period (each location
a ring of as many slots as periods a shipment to it can travel), DC receipts by due period,
backlog by age, counters, the
finance ledger, the KPI accumulators, the decision log, and rings of the episode's
demand and forecasts for the periods a copy can see (drawn period by period from its
seeds, ``allocsim.envs.engine.draws``). Copying the tuple copies the episodes;
restoring it and replaying the same actions replays the same future. The unit cells
(cohorts, transit, the supplier pipeline, backlog) are int32 when the scenario's bounds allow,
else int64 (``allocsim.envs.engine.layout``); totals and counters are int64.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.engine.params import STEP_RECORD_SIZE, EngineParams

IntArray = NDArray[np.int64]
CellArray = NDArray[np.signedinteger]  # int32 or int64: ``EngineParams.cell_dtype``
FloatArray = NDArray[np.float64]

#: Rows of ``units``: the unit-conservation counters.
UNIT_COUNTERS = ("initial", "received", "sold", "written_off")
#: Rows of ``flows`` (per location x channel, summed over SKUs and periods so far).
FLOWS = ("units_requested", "units_fulfilled", "lost_sales_units", "backorder_units", "gross_revenue",
         "markdown_cost", "cogs", "shortage_penalty")
#: Rows of ``node_cost`` (per location, DC last), as in the KPI names.
NODE_COSTS = ("holding_cost", "shipping_cost", "transfer_cost", "writeoff_cost")
#: Entries of ``totals``.
TOTALS = ("receivables", "payables", "contract_due", "contract_met", "transit_value", "working_capital",
          "imbalance", "salvage", "reward", "period_shipping", "period_transfer", "period_received")
#: Rows of ``period_location``: the last closed period's accounts by location (DC last).
PERIOD_LOCATION = ("units_requested", "units_fulfilled", "lost_sales_units", "inventory_value")
# Row indices the kernels use, derived from the names above (one place for each).
INITIAL, RECEIVED, SOLD, WRITTEN_OFF = (UNIT_COUNTERS.index(n) for n in UNIT_COUNTERS)
REQUESTED, FULFILLED, LOST, BACKORDERED, GROSS, MARKDOWN, COGS, SHORTAGE = (FLOWS.index(n) for n in FLOWS)
HOLDING, SHIPPING, TRANSFER, WRITEOFF = (NODE_COSTS.index(n) for n in NODE_COSTS)
(RECEIVABLES, PAYABLES, CONTRACT_DUE, CONTRACT_MET, TRANSIT_VALUE, WORKING_CAPITAL, IMBALANCE, SALVAGE,
 REWARD, PERIOD_SHIPPING, PERIOD_TRANSFER, PERIOD_RECEIVED) = (TOTALS.index(n) for n in TOTALS)
AT_REQUESTED, AT_FULFILLED, AT_LOST, AT_VALUE = (PERIOD_LOCATION.index(n) for n in PERIOD_LOCATION)
#: Stages kept per period in the decision log: proposed, then after each guardrail.
LOG_STAGES = 3
#: The decision-log fields (period axis second; of length 0 when no log is kept).
LOG_FIELDS = frozenset({"log_allocation", "log_transfers", "log_orders", "log_flags"})


class EngineState(NamedTuple):
    """B copies of an episode; see the module docstring. Shapes name the axes."""

    seed: IntArray  # (B,) the episode seed (common random numbers): forecasts follow it
    demand_seed: IntArray  # (B,) demand and supplier leads follow it (the seed, or a rollout's future)
    period: IntArray  # (B,) the period being decided (T - 1 once done)
    done: NDArray[np.bool_]  # (B,) the last period has closed
    closes: IntArray  # (B,) periods closed so far
    dc: CellArray  # (B, S, A) age last, so a position's cohorts are contiguous
    stock: CellArray  # (B, L, S, A)
    # totals kept beside the cohorts, updated where units move (``sync_totals`` re-derives them)
    dc_on_hand: IntArray  # (B, S) = dc.sum(-1)
    on_hand: IntArray  # (B, L, S) = stock.sum(-1)
    age_weight: IntArray  # (B, L, S) = sum over a of a x stock[..., a]
    units_by_age: IntArray  # (B, A) = stock.sum((1, 2)) + dc.sum(1): units on hand now by age
    waiting: IntArray  # (B, L, S, C) = backlog.sum(-1)
    inbound: IntArray  # (B, L, S) units in transit to each location
    # in transit by arrival, already aged: location l's units arriving at period p in row
    # transit_start[l] + p % transit_slots[l] (``EngineParams``; ``BatchEngine.in_transit`` reads it)
    transit: CellArray  # (B, R, S, A), R = the locations' slots
    transit_lane: CellArray  # (B, R, S) = transit.sum(-1): a receipt reads only the rows with units
    dc_due: CellArray  # (B, T, S) supplier receipts by due period
    on_order: IntArray  # (B, S)
    backlog: CellArray  # (B, L, S, C, P) backorders by age
    units: IntArray  # (B, 4) UNIT_COUNTERS
    cash_in_due: FloatArray  # (B, span)
    cash_out_due: FloatArray  # (B, span)
    totals: FloatArray  # (B, len(TOTALS))
    flows: FloatArray  # (B, len(FLOWS), L, C)
    node_cost: FloatArray  # (B, 4, L + 1) over closed periods
    writeoff_open: FloatArray  # (B, L + 1) write-offs of the open period, booked at its close
    node_value: FloatArray  # (B, L + 1) inventory value at cost summed over closes
    contract_penalty: FloatArray  # (B, C)
    age_units: IntArray  # (B, A) units by age summed over closes
    step_record: FloatArray  # (B, STEP_RECORD_SIZE) reward components, then PERIOD_KPIS, of the last close
    period_location: FloatArray  # (B, len(PERIOD_LOCATION), L + 1) the last close's accounts by location
    log_allocation: IntArray  # (B, T or 0, 3, L, S)
    log_transfers: IntArray  # (B, T or 0, 3, K, S)
    log_orders: IntArray  # (B, T or 0, 3, S)
    log_flags: IntArray  # (B, T or 0) bit i: log stage i changed the decision (engine.log order)
    demand_ring: IntArray  # (B, R, L, S, C) demand of periods t .. t + R - 1 in slot period % R
    # (R = 1 + the longest advance notice: the orders a policy already sees)
    protect: IntArray  # (B, L, S, C) units an order of channel c must leave on hand (holdbacks)
    forecast_ring: FloatArray  # (B, H, L, S) the noisy forecast of periods t .. t + H - 1, slot period % H

    @property
    def batch(self) -> int:
        return len(self.seed)

    def forecast_window(self) -> FloatArray:
        """(B, H, L, S): each copy's forecast for its period and the H - 1 after it, in period order."""
        horizon = self.forecast_ring.shape[1]
        slots = (self.period[:, None] + np.arange(horizon)[None, :]) % horizon
        return self.forecast_ring[np.arange(self.batch)[:, None], slots]

    def demand_at(self, b: int, t: int) -> IntArray:
        """(L, S, C) copy ``b``'s demand in period ``t`` (its period up to R - 1 periods ahead: a view)."""
        return self.demand_ring[b, t % self.demand_ring.shape[1]]

    def sync_totals(self) -> None:
        """Re-derive the totals kept beside the cohorts from the cohorts (after writing cohorts by hand)."""
        ages = np.arange(self.stock.shape[-1])
        self.dc_on_hand[...] = self.dc.sum(axis=-1)
        self.on_hand[...] = self.stock.sum(axis=-1)
        self.age_weight[...] = self.stock @ ages
        self.units_by_age[...] = self.stock.sum(axis=(1, 2)) + self.dc.sum(axis=1)
        self.waiting[...] = self.backlog.sum(axis=-1)
        self.transit_lane[...] = self.transit.sum(axis=-1)

    def copy(self) -> EngineState:
        """A deep copy (every array copied)."""
        return EngineState(*(a.copy() for a in self))

    def row(self, b: int) -> EngineState:
        """Copy ``b`` alone, as a batch of one (a deep copy)."""
        return EngineState(*(a[b : b + 1].copy() for a in self))

    def restore(self, other: EngineState) -> None:
        """Overwrite every array in place with ``other``'s values; nothing is written unless all fit.

        A state without a decision log (a vector env's copy) restores into one that keeps a
        log: the log then starts empty. Anything else of another shape is a ValueError. The totals
        kept beside the cohorts are re-derived, so cohorts written by hand are taken as they are.
        """
        if not isinstance(other, EngineState):
            raise ValueError(f"expected an EngineState (from get_state()), got {type(other).__name__}")
        for name, mine, theirs in zip(self._fields, self, other, strict=True):
            unlogged = name in LOG_FIELDS and theirs.shape[1] == 0
            if mine.shape != theirs.shape and not unlogged:
                raise ValueError(f"state field {name!r} has shape {theirs.shape}, this env needs "
                                 f"{mine.shape} (a state of another scenario or batch size?)")
        for name, mine, theirs in zip(self._fields, self, other, strict=True):
            mine[...] = 0 if name in LOG_FIELDS and theirs.shape[1] == 0 else theirs
        self.sync_totals()


def allocate_state(p: EngineParams, batch: int, horizon: int, keep_log: bool) -> EngineState:
    """Zeroed arrays for ``batch`` copies (forecasts ``horizon`` periods ahead); ``keep_log`` keeps
    the per-period decision log."""
    n_l, n_s, n_c = p.shape
    t, a, k = p.periods, p.n_ages, p.n_lanes
    t_log = t if keep_log else 0

    def ints(*shape: int) -> IntArray:
        return np.zeros((batch, *shape), dtype=np.int64)

    def cells(*shape: int) -> CellArray:
        return np.zeros((batch, *shape), dtype=p.cell_dtype)

    def floats(*shape: int) -> FloatArray:
        return np.zeros((batch, *shape), dtype=np.float64)

    return EngineState(
        seed=ints(),
        demand_seed=ints(),
        period=ints(),
        done=np.zeros(batch, dtype=np.bool_),
        closes=ints(),
        dc=cells(n_s, a),
        stock=cells(n_l, n_s, a),
        dc_on_hand=ints(n_s),
        on_hand=ints(n_l, n_s),
        age_weight=ints(n_l, n_s),
        units_by_age=ints(a),
        waiting=ints(n_l, n_s, n_c),
        inbound=ints(n_l, n_s),
        transit=cells(p.transit_rows, n_s, a),
        transit_lane=cells(p.transit_rows, n_s),
        dc_due=cells(t, n_s),
        on_order=ints(n_s),
        backlog=cells(n_l, n_s, n_c, p.n_backlog_ages),
        units=ints(len(UNIT_COUNTERS)),
        cash_in_due=floats(p.ledger_span),
        cash_out_due=floats(p.ledger_span),
        totals=floats(len(TOTALS)),
        flows=floats(len(FLOWS), n_l, n_c),
        node_cost=floats(len(NODE_COSTS), n_l + 1),
        writeoff_open=floats(n_l + 1),
        node_value=floats(n_l + 1),
        contract_penalty=floats(n_c),
        age_units=ints(a),
        step_record=floats(STEP_RECORD_SIZE),
        period_location=floats(len(PERIOD_LOCATION), n_l + 1),
        log_allocation=ints(t_log, LOG_STAGES, n_l, n_s),
        log_transfers=ints(t_log, LOG_STAGES, k, n_s),
        log_orders=ints(t_log, LOG_STAGES, n_s),
        log_flags=ints(t_log),
        demand_ring=ints(1 + int(p.notice.max(initial=0)), n_l, n_s, n_c),
        protect=ints(n_l, n_s, n_c),
        forecast_ring=floats(horizon, n_l, n_s),
    )
