"""The decision log kept as arrays by the kernels, turned into ``Trim`` rows when read."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.engine.state import EngineState
from allocsim.envs.guardrails import Trim

IntArray = NDArray[np.int64]

# (rule, part, array name, stage before, stage after), in the order the guardrails apply
_STAGES = (
    ("max_days_of_supply", "allocation", "log_allocation", 0, 1),
    ("capacity", "allocation", "log_allocation", 1, 2),
    ("capacity", "transfers", "log_transfers", 0, 1),
    ("supplier_capacity", "orders", "log_orders", 0, 1),
    ("working_capital_cap", "orders", "log_orders", 1, 2),
)


def decision_trims(state: EngineState, b: int, first: int = 0) -> list[Trim]:
    """Guardrail trims of copy ``b`` from period ``first`` to the last closed one (none without a log)."""
    trims: list[Trim] = []
    if state.log_allocation.shape[1] == 0:
        return trims
    for period in range(first, int(state.closes[b])):
        trims += period_trims(period, int(state.log_flags[b, period]), state.log_allocation[b, period],
                              state.log_transfers[b, period], state.log_orders[b, period])
    return trims


def period_trims(period: int, flags: int, allocation: IntArray, transfers: IntArray, orders: IntArray
                 ) -> list[Trim]:
    """The trims of one period from its log rows: ``flags`` (bit i: stage i changed the decision) and the
    stages (3, ...) of the allocation, transfers and orders; the trims hold copies of the rows."""
    trims: list[Trim] = []
    if not flags:
        return trims
    stages_of = {"log_allocation": allocation, "log_transfers": transfers, "log_orders": orders}
    for bit, (rule, part, name, before, after) in enumerate(_STAGES):
        if flags >> bit & 1:
            stages = stages_of[name]
            trims.append(Trim(period, rule, part, stages[before].copy(), stages[after].copy()))
    if flags >> len(_STAGES) & 1:
        delay = transfers[2]
        trims.append(Trim(period, "approval", "transfer_delay", np.zeros_like(delay), delay.copy()))
    return trims
